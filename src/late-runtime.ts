// The late parts of the bundle (scripts/build.mjs): the vault adapter (execa, fast-xml-parser), the keystore
// adapter (node-forge) and the HTTPS server (node:https), each bundled on its own and embedded in dist/main.js
// as a string. A part is compiled on first use: verify, check, pin and generate never parse them (~10 ms per
// command), and a start parses node-forge while the vault client runs. They are the verified entry's own bytes:
// no file is read. Modules both sides use are passed in (one KeygateError class, one Secret class); built-ins
// come from Node. Under tsx (tests) nothing of this runs: the dynamic imports load the modules directly.
import { builtinModules, createRequire } from 'node:module';
import { compileFunction } from 'node:vm';
import * as errors from './errors.js';
import * as secret from './adapters/secret.js';

declare const LATE_SOURCES: Record<string, string>;

/** Specifiers the late parts leave to the main one (scripts/build.mjs marks them external). */
const SHARED: Record<string, unknown> = { 'keygate:errors': errors, 'keygate:secret': secret };

const loaded = new Map<string, unknown>();

export function loadLate(name: string): unknown {
  if (loaded.has(name)) return loaded.get(name);
  const source = LATE_SOURCES[name];
  if (source === undefined) throw new Error(`no late part ${name} in this build`);
  const nodeRequire = createRequire(import.meta.url);
  const requireLate = (id: string): unknown => {
    if (id in SHARED) return SHARED[id];
    if (id.startsWith('node:') || builtinModules.includes(id)) return nodeRequire(id);
    throw new Error(`the late part ${name} asked for ${id}, which is not a built-in: it must be bundled`); // a build bug
  };
  const mod = { exports: {} as unknown };
  const fn = compileFunction(source, ['require', 'module', 'exports', '__kgSelfUrl'], { filename: `keygate:${name}` });
  fn(requireLate, mod, mod.exports, import.meta.url);
  loaded.set(name, mod.exports);
  return mod.exports;
}
