// Bundles src/main.ts into one self-contained dist/main.js (the vault-hashed entry) and the
// generate-filelist bin. One file, so nothing outside it is loaded before verification (DESIGN.md rule 1).
import { build } from 'esbuild';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // CommonJS, not ESM: Node's CommonJS loader reads the entry synchronously, so nothing has used libuv's
  // thread pool when main.ts sizes it (UV_THREADPOOL_SIZE, for cold-cache reads), and the ESM loader's ~12 ms
  // per start is saved. dist/package.json says so, whatever the project's own package.json says.
  format: 'cjs',
  sourcemap: false,
  minifyWhitespace: true, // ~40% less to parse at every start; identifiers stay, so stack traces stay readable
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  // The sources are ESM (tsx runs them as such in tests); import.meta.url becomes the bundle's own URL.
  define: { 'import.meta.url': '__kgSelfUrl' },
  banner: { js: "#!/usr/bin/env node\n'use strict';\nconst __kgSelfUrl = require('node:url').pathToFileURL(__filename).href;" },
};

await build({ ...common, entryPoints: { main: 'src/main.ts', 'generate-filelist': 'src/generate-filelist.ts' }, outdir: 'dist' });
writeFileSync('dist/package.json', '{"type":"commonjs"}\n');
for (const f of ['dist/main.js', 'dist/generate-filelist.js']) {
  chmodSync(f, 0o755);
  const text = readFileSync(f, 'utf8');
  const n = text.split('@@KEYGATE_PIN@@:').length - 1;
  if (n !== 1) throw new Error(`${f}: expected exactly one pin slot, found ${n}`);
}
