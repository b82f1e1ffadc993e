// The parts of the bundle that not every run needs (scripts/build.mjs): the late modules (the vault adapter, the
// keystore adapter with node-forge, the HTTPS server, the PKI engine, the admin channel, backend
// mode's supervisor and proxy, yargs' command line), the worker threads' code, and the libraries the gate path
// does without (yargs, winston, fast-glob, picomatch, fast-xml-parser, execa). Each is bundled on its own and stored,
// brotli-compressed, in one comment at the end of the entry (`function __kgParts(){/* … */}`). Node scans that
// comment but never compiles it, which costs far less than parsing and running the JavaScript it holds
// (docs/performance.md).
//
// A part's bytes come from `__kgParts.toString()`: the source text Node compiled when it loaded the entry, so a
// part is the verified entry's own bytes, not a second read of the file. Modules both sides use are passed in
// (one KeygateError class, one Secret class, one pin slot, this module); built-ins come from Node. Under tsx
// (tests) there are no parts: the dynamic imports load the modules directly and lateLibrary() requires the package
// (importLibrary() imports it: an ES module whose own imports tsx's require hook cannot resolve).
import { createRequire } from 'node:module';
import { runPartSource } from './part-module.js';
import * as errors from './errors.js';
import * as secret from './adapters/secret.js';
import * as pinSlot from './pin-slot.js';
import * as self from './late-runtime.js';

/** Appended to the bundle by scripts/build.mjs; absent under tsx. */
declare const __kgParts: (() => void) | undefined;

/** Specifiers the parts leave to the main one (scripts/build.mjs SHARED marks them external: one instance each). */
const SHARED: Record<string, unknown> = { 'keygate:errors': errors, 'keygate:secret': secret, 'keygate:pin-slot': pinSlot, 'keygate:late-runtime': self };

let partIndex: Map<string, string> | undefined;

/** Every part taken out of the comment, in order: a module compiled here, or a worker's code started. */
const used = new Set<string>();

/** True when this is the built entry (parts embedded), false under tsx. */
export function hasParts(): boolean {
  return typeof __kgParts === 'function';
}

/** The source of one part (`late/vault`, `worker/hash`, `library/yargs`), or undefined under tsx. */
export function partSource(name: string): string | undefined {
  if (!hasParts()) return undefined;
  if (!partIndex) {
    partIndex = new Map();
    const text = Function.prototype.toString.call(__kgParts);
    // one line per part: `name:base64`; the comment's first and last lines hold no part
    for (const line of text.split('\n')) {
      const colon = line.indexOf(':');
      if (colon > 0 && /^[a-z]+\/[a-z-]+$/.test(line.slice(0, colon))) partIndex.set(line.slice(0, colon), line.slice(colon + 1));
    }
  }
  const packed = partIndex.get(name);
  if (packed === undefined) throw new Error(`no part ${name} in this build`); // a build bug
  used.add(name);
  // node:zlib only when a part is needed, so runs that need none do not load it
  return process.getBuiltinModule('node:zlib').brotliDecompressSync(Buffer.from(packed, 'base64')).toString('utf8');
}

/** The parts this run used (the `--debug` line `parts compiled`, test/gate-parts.e2e.test.ts). */
export function compiledParts(): string[] {
  return [...used];
}

const loaded = new Map<string, unknown>();

/** Compiles and runs a CommonJS part once; its exports. */
function runPart(name: string): unknown {
  if (loaded.has(name)) return loaded.get(name);
  const source = partSource(name);
  if (source === undefined) throw new Error(`no part ${name}: not the built entry`);
  const exports = runPartSource(name, source, SHARED, createRequire(import.meta.url), import.meta.url);
  loaded.set(name, exports);
  return exports;
}

/** A late module (scripts/build.mjs turns its dynamic imports into this). */
export function loadLate(name: string): unknown {
  return runPart(`late/${name}`);
}

export type LibraryName = 'yargs' | 'winston' | 'fast-glob' | 'picomatch' | 'fast-xml-parser' | 'execa';

/**
 * A library the gate path does without, loaded on first use: from its part in the built entry, else (tsx) from
 * node_modules. Synchronous, so a caller uses it as it would a plain import.
 */
export function lateLibrary<T>(name: LibraryName): T {
  const m = (hasParts() ? runPart(`library/${name}`) : createRequire(import.meta.url)(name)) as { default?: unknown; __esModule?: boolean; [Symbol.toStringTag]?: string };
  // an ES module (yargs) arrives as its namespace, bundled (__esModule) or through require(esm) (Module): its
  // default export is the library, as `import yargs from 'yargs'` gives it; a CommonJS one is its module.exports
  return (m !== null && typeof m === 'object' && 'default' in m && (m.__esModule === true || m[Symbol.toStringTag] === 'Module') ? m.default : m) as T;
}

/** lateLibrary for an ES-module-only library (execa) in async code: under tsx it is imported, not required. */
export async function importLibrary<T>(name: LibraryName): Promise<T> {
  return hasParts() ? lateLibrary<T>(name) : ((await import(name)) as T);
}
