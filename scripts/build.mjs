// Bundles src/main.ts into one self-contained dist/main.js (the vault-hashed entry) and the
// generate-filelist bin. One file, so nothing outside it is loaded before verification (DESIGN.md rule 1).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants as zlibConstants } from 'node:zlib';
import { PARTS_CLOSE, PARTS_OPEN, PIN, UNPINNED_SLOT, earlySha256, textSha256 } from './entry-format.mjs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // CommonJS, not ESM: Node's CommonJS loader reads the entry synchronously, so nothing has used libuv's
  // thread pool when main.ts sizes it (UV_THREADPOOL_SIZE, for cold-cache reads), and no start pays for the ESM
  // loader (docs/performance.md). dist/package.json says so, whatever the project's own package.json says.
  format: 'cjs',
  sourcemap: false,
  minifyWhitespace: true, // less to parse at every start; identifiers stay, so stack traces stay readable
  minifySyntax: true,
  legalComments: 'none',
  // Not tsconfig.json (that is for tsc's checks): its "strict" makes esbuild put "use strict" into some lazily
  // initialised module wrappers and not others, differently from build to build, and a rebuild of the same
  // sources must give the same entry (the pin). The banners make the bundle and the workers strict instead.
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
  logLevel: 'warning',
  // The sources are ESM (tsx runs them as such in tests); import.meta.url becomes the bundle's own URL.
  define: { 'import.meta.url': '__kgSelfUrl' },
  banner: { js: "#!/usr/bin/env node\n'use strict';\nconst __kgSelfUrl = require('node:url').pathToFileURL(__filename).href;" },
};

// The late parts: modules only a start or `keystore create` needs, with the big dependencies they bring
// (node-forge, node:https; execa is a library part of its own, below). Each is bundled on its own and
// embedded as a string that src/late-runtime.ts compiles on first use, so verify/check/pin/generate never
// parse them, and a start parses each only when it gets there (node-forge while the vault client runs).
// Modules both sides use stay in the main part, passed in by these names: one KeygateError and one Secret class
// (instanceof), the one reader of the parts, and the one pin slot (`keygate pin` rewrites the entry's own; a copy
// inside a compressed part would still read as unpinned). Other modules a part shares with the main part are
// stateless and are bundled into the part as a copy.
const SHARED = {
  'src/errors.ts': 'keygate:errors',
  'src/adapters/secret.ts': 'keygate:secret',
  'src/late-runtime.ts': 'keygate:late-runtime',
  'src/pin-slot.ts': 'keygate:pin-slot',
};
/**
 * An esbuild plugin that resolves relative imports as usual and, when the file is a key of `table`, answers
 * `redirect(value)` instead; otherwise it leaves the import to the next plugin. `kinds`: the import kinds it
 * applies to (all when absent). Its own look-up is marked so that no redirect plugin sees it: two of them in one
 * build (a part redirects shared modules and late imports) would otherwise ask each other forever.
 */
const LOOKUP = 'keygate-redirect-lookup';
const redirectFiles = (name, table, redirect, kinds) => ({
  name,
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (args.pluginData === LOOKUP || (kinds && !kinds.includes(args.kind))) return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: LOOKUP });
      const key = Object.keys(table).find((k) => r.path.endsWith(k));
      return key ? redirect(table[key]) : undefined;
    });
  },
});
const sharedExternal = redirectFiles('keygate-shared', SHARED, (id) => ({ path: id, external: true }));
// cli: src/cli-yargs.ts, yargs' path (help, version, the commands outside the gate: init, keystore, admin, pki,
// dev-setup); the gate's own commands are parsed by src/gate-args.ts in the main part.
const LATE = {
  'src/adapters/vault.ts': 'vault',
  'src/adapters/keystore.ts': 'keystore',
  'src/server/https-server.ts': 'server',
  'src/pki/engine.ts': 'pki',
  'src/admin/server.ts': 'admin',
  'src/cli-yargs.ts': 'cli',
  // backend mode (serve with server.backend): the process supervisor and the reverse proxy
  'src/backend/supervisor.ts': 'supervisor',
  'src/backend/proxy.ts': 'proxy',
  // privilege separation: the root half's orchestration and the serving half's view of the backend
  'src/backend/separation.ts': 'separation',
  // server.acme: renewal while serving, with acme-client (and its axios) bundled in this part only
  'src/acme/renewer.ts': 'acme',
};
const KEYGATE_VERSION = JSON.stringify(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
// In every part and in the main one, dynamic imports of the late modules become loads of the compiled parts
// (a part that imports another, like cli's commands importing the PKI engine, loads it the same way).
// Only dynamic imports: type-only imports vanish, and a static one is caught by the check after the build.
const lateImports = redirectFiles('keygate-late', LATE, (part) => ({ path: part, namespace: 'keygate-late' }), ['dynamic-import']);
const lateLoader = (runtime) => ({
  name: 'keygate-late-loader',
  setup(b) {
    b.onLoad({ filter: /.*/, namespace: 'keygate-late' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(runtime)}).loadLate(${JSON.stringify(args.path)});`,
      loader: 'js',
      // fileURLToPath, not .pathname: a checkout's path may hold a space, which .pathname gives as %20.
      resolveDir: fileURLToPath(new URL('..', import.meta.url)),
    }));
    b.onResolve({ filter: /^keygate:/ }, (args) => ({ path: args.path, external: true }));
  },
});
const lateSources = {};
/** Each part's esbuild metafile: what it was built from, for dist/parts.json. */
const partInputs = {};
for (const [file, name] of Object.entries(LATE)) {
  const r = await build({
    ...common,
    banner: undefined,
    // import.meta.url is the entry's own, passed in by src/late-runtime.ts as __kgSelfUrl
    define: { ...common.define, KEYGATE_VERSION },
    entryPoints: [file],
    write: false,
    outfile: `${name}.js`,
    plugins: [lateImports, lateLoader('keygate:late-runtime'), sharedExternal],
    metafile: true,
  });
  const inputs = Object.keys(Object.values(r.metafile.outputs)[0].inputs);
  const shared = inputs.filter((p) => Object.keys(SHARED).some((k) => p.endsWith(k)));
  if (shared.length) throw new Error(`late part ${name}: shared modules bundled as a copy: ${shared.join(', ')}`);
  lateSources[name] = r.outputFiles[0].text;
  partInputs[`late/${name}`] = r.metafile;
}
// The in-memory workers (src/adapters/in-memory-worker.ts), each a TypeScript entry bundled whole on its own:
// the hash worker (src/hash-worker.ts, the second hashing thread) and the keystore worker (src/unlock-worker.ts,
// reloads: it is handed the late/keystore part's source, so node-forge is in the entry once). iife: their top-level names stay in a function (a worker's eval code runs as a script, where
// `var crypto` would try to replace Node's global crypto).
const WORKERS = { hash: 'src/hash-worker.ts', unlock: 'src/unlock-worker.ts' };
const workerSources = {};
for (const [name, entry] of Object.entries(WORKERS)) {
  const r = await build({ ...common, format: 'iife', banner: { js: '"use strict";' }, define: {}, entryPoints: [entry], write: false, outfile: `${name}-worker.js`, metafile: true });
  workerSources[name] = r.outputFiles[0].text;
  partInputs[`worker/${name}`] = r.metafile;
  // The unlock worker compiles the late/keystore part it is handed: a node-forge of its own would be a second copy.
  const forge = Object.keys(Object.values(r.metafile.outputs)[0].inputs).filter((p) => p.includes('node_modules/node-forge/'));
  if (forge.length) throw new Error(`worker ${name}: node-forge bundled into a worker (late/keystore has it): ${forge[0]}`);
}
// The libraries only some runs need, each bundled on its own as a part (src/late-runtime.ts lateLibrary):
// yargs (the full command line: help, every command's flags; src/gate-args.ts parses the gate's commands
// without it), winston (--log-file only: stderr lines are formatted by src/adapters/logger.ts itself),
// fast-glob (glob lines in a template), picomatch (exclude lines), fast-xml-parser (the vault's answer:
// compiled while the vault client runs, not before it starts) and execa (the vault client and the admin
// channel's actions: one copy for both parts). On the gate path none is parsed.
const LIBRARIES = ['yargs', 'winston', 'fast-glob', 'picomatch', 'fast-xml-parser', 'execa'];
const librarySources = {};
for (const name of LIBRARIES) {
  const r = await build({
    ...common,
    banner: undefined,
    define: common.define, // yargs (ESM only) reads import.meta.url: the entry's, passed in by late-runtime.ts
    stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: fileURLToPath(new URL('..', import.meta.url)), loader: 'js' },
    write: false,
    outfile: `${name}.js`,
    metafile: true,
  });
  librarySources[name] = r.outputFiles[0].text;
  partInputs[`library/${name}`] = r.metafile;
}
const mainBuild = await build({
  ...common,
  entryPoints: { main: 'src/main.ts', 'generate-filelist': 'src/generate-filelist.ts' },
  outdir: 'dist',
  write: false,
  define: {
    ...common.define,
    // `keygate --version`: the number is part of the entry's bytes (the vault hashes them); nothing is read at run time.
    KEYGATE_VERSION,
  },
  plugins: [lateImports, lateLoader(fileURLToPath(new URL('../src/late-runtime.ts', import.meta.url)))],
  metafile: true,
});
for (const [out, meta] of Object.entries(mainBuild.metafile.outputs)) {
  const early = Object.keys(meta.inputs).filter((p) => /node_modules\/(acme-client|axios|node-forge|execa|fast-xml-parser|@peculiar|reflect-metadata|tsyringe|asn1js|yargs|yargs-parser|winston|logform|fast-glob|picomatch|micromatch)\//.test(p) || Object.keys(LATE).includes(p));
  if (early.length) throw new Error(`${out}: late modules bundled into the early part: ${early.slice(0, 3).join(', ')}`);
}
// KEYGATE_BUILD_REPORT=1: the largest inputs of the entry's early part (what every start parses).
if (process.env.KEYGATE_BUILD_REPORT) {
  const inputs = mainBuild.metafile.outputs['dist/main.js'].inputs;
  const byPackage = {};
  for (const [p, i] of Object.entries(inputs)) {
    const key = p.includes('node_modules/') ? p.split('node_modules/').pop().split('/').slice(0, p.split('node_modules/').pop().startsWith('@') ? 2 : 1).join('/') : p;
    byPackage[key] = (byPackage[key] ?? 0) + i.bytesInOutput;
  }
  for (const [k, v] of Object.entries(byPackage).sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${(v / 1024).toFixed(1).padStart(8)} KB  ${k}`);
}
/**
 * Writes a built file, unless the file there already holds the same code: an entry that differs only by its
 * pin is kept as it is, so rebuilding unchanged sources (npm test, bench and scan build first) leaves the demo
 * pinned and registered. Changed code gives a new, unpinned entry: it must be pinned and registered again.
 * Written through a temp file and a rename, so a concurrent reader never sees half an entry.
 */
function writeBuilt(file, text, mode) {
  const n = text.split('@@KEYGATE_PIN@@:').length - 1;
  if (n !== 1 && file.endsWith('.js')) throw new Error(`${file}: expected exactly one pin slot, found ${n}`);
  if (existsSync(file)) {
    const old = readFileSync(file, 'latin1');
    if (old === text || old.replace(PIN, UNPINNED_SLOT) === text) return;
  }
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, Buffer.from(text, 'latin1'), { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}
/**
 * Every part (late modules, workers, libraries) goes into one comment at the end of the entry, inside
 * `function __kgParts(){/* … *\/}`: one line per part, `name:` and its brotli-compressed UTF-8 as base64.
 * Why a comment and compressed: V8 scans a comment faster than a string literal, and less of it when packed
 * (docs/performance.md). src/late-runtime.ts takes the text from `__kgParts.toString()`, the very source Node
 * compiled, so a part is the verified entry's own bytes, read once by Node, never again from disk. Quality 11
 * and a fixed window so a rebuild gives the same bytes (the pin); test/build.e2e.test.ts holds Node 20 and 24
 * to the same entry.
 */
function partsComment(parts) {
  const lines = Object.entries(parts).map(([name, text]) => {
    const packed = brotliCompressSync(Buffer.from(text, 'utf8'), {
      params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_LGWIN]: 22, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: text.length },
    });
    packedBytes[name] = packed.length;
    return `${name}:${packed.toString('base64')}`;
  });
  return `${PARTS_OPEN}${lines.join('\n')}${PARTS_CLOSE}`;
}
const packedBytes = {};
/** name@version of each npm package among a build's inputs (read from its package.json). */
function packagesOf(inputs) {
  const dirs = new Set(inputs.filter((p) => p.includes('node_modules/')).map((p) => {
    const at = p.lastIndexOf('node_modules/') + 'node_modules/'.length;
    const rest = p.slice(at).split('/');
    return p.slice(0, at) + (rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]); // a nested copy keeps its own version
  }));
  return [...new Set([...dirs].map((d) => `${d.slice(d.lastIndexOf('node_modules/') + 13)}@${JSON.parse(readFileSync(`${d}/package.json`, 'utf8')).version}`))].sort();
}
/**
 * dist/parts.json, the parts' manifest: for each part its name, the sha256 and size of its JavaScript (what
 * `npm run parts -- extract` writes), its packed size, the npm packages and the source files it was built from
 * (esbuild's metafile, paths relative to the checkout). builtWith names the builder; nothing else in it, nor in
 * the entry, depends on which Node ran the build (test/build.e2e.test.ts).
 */
function partsManifest(parts, early) {
  return {
    $comment: 'what each part of dist/main.js was built from (scripts/build.mjs); npm run parts -- list|extract <dir> reads them from the entry',
    builtWith: { node: process.version, esbuild: JSON.parse(readFileSync('node_modules/esbuild/package.json', 'utf8')).version },
    // The code before the parts comment, pin slot zeroed: what runs first, and what finds the parts.
    early,
    parts: Object.entries(parts).map(([name, text]) => {
      const inputs = Object.keys(Object.values(partInputs[name].outputs)[0].inputs).sort();
      return { name, sha256: textSha256(text), bytes: Buffer.byteLength(text), packedBytes: packedBytes[name], packages: packagesOf(inputs), sources: inputs.filter((p) => !p.includes('node_modules/')) };
    }),
  };
}
const partTexts = {
  ...Object.fromEntries(Object.entries(lateSources).map(([k, v]) => [`late/${k}`, v])),
  ...Object.fromEntries(Object.entries(workerSources).map(([k, v]) => [`worker/${k}`, v])),
  ...Object.fromEntries(Object.entries(librarySources).map(([k, v]) => [`library/${k}`, v])),
};
const parts = partsComment(partTexts);
mkdirSync('dist', { recursive: true });
const early = Object.fromEntries(
  mainBuild.outputFiles.map((out) => [out.path.split('/').pop(), earlySha256(Buffer.concat([out.contents, Buffer.from('\n')]))]),
);
writeBuilt('dist/parts.json', `${JSON.stringify(partsManifest(partTexts, early), null, 2)}\n`, 0o644);
for (const out of mainBuild.outputFiles) writeBuilt(out.path, Buffer.from(out.contents).toString('latin1') + parts, 0o755);
writeBuilt('dist/package.json', '{"type":"commonjs"}\n', 0o644);
