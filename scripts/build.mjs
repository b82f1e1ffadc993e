// Bundles src/main.ts into one self-contained dist/main.js (the vault-hashed entry) and the
// generate-filelist bin. One file, so nothing outside it is loaded before verification (DESIGN.md rule 1).
import { build } from 'esbuild';
import { chmodSync, readFileSync } from 'node:fs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: false,
  minifyWhitespace: true, // ~40% less to parse at every start; identifiers stay, so stack traces stay readable
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies call require() for built-ins; give the ESM bundle one.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __kgCreateRequire } from 'node:module';\nconst require = __kgCreateRequire(import.meta.url);" },
};

await build({ ...common, entryPoints: { main: 'src/main.ts', 'generate-filelist': 'src/generate-filelist.ts' }, outdir: 'dist' });
for (const f of ['dist/main.js', 'dist/generate-filelist.js']) {
  chmodSync(f, 0o755);
  const text = readFileSync(f, 'utf8');
  const n = text.split('@@KEYGATE_PIN@@:').length - 1;
  if (n !== 1) throw new Error(`${f}: expected exactly one pin slot, found ${n}`);
}
