// Compiles the late part of the bundle (src/late.ts, embedded by scripts/build.mjs as LATE_SOURCE) on first
// use. It is part of the verified entry's own bytes, so no file is read. Modules both parts use are passed in
// (one KeygateError class, one Secret class); built-ins come from Node.
import { builtinModules, createRequire } from 'node:module';
import { compileFunction } from 'node:vm';
import * as errors from './errors.js';
import * as secret from './adapters/secret.js';
import type * as Late from './late.js';

declare const LATE_SOURCE: string;

/** Specifiers the late bundle leaves to the main one (scripts/build.mjs marks them external). */
const SHARED: Record<string, unknown> = { 'keygate:errors': errors, 'keygate:secret': secret };

let late: typeof Late | undefined;

export function loadLate(): typeof Late {
  if (late) return late;
  const nodeRequire = createRequire(import.meta.url);
  const requireLate = (id: string): unknown => {
    if (id in SHARED) return SHARED[id];
    if (id.startsWith('node:') || builtinModules.includes(id)) return nodeRequire(id);
    throw new Error(`the late bundle asked for ${id}, which is not a built-in: it must be bundled`); // a build bug
  };
  const mod = { exports: {} as typeof Late };
  const fn = compileFunction(LATE_SOURCE, ['require', 'module', 'exports', '__kgSelfUrl'], { filename: 'keygate:late' });
  fn(requireLate, mod, mod.exports, import.meta.url);
  late = mod.exports;
  return late;
}
