// The main entry (dist/main.js): the file the vault hashes. esbuild bundles everything keygate runs into
// this one file, so before verification passes the process has loaded no JavaScript but this file and
// Node's built-ins (DESIGN.md rule 1). It carries the pin (src/pin-slot.ts) and exits in exactly one place.

import { fileURLToPath } from 'node:url';
import { main } from './cli.js';
import { installSignals } from './server/signals.js';

const signals = installSignals();
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  nodePath: process.execPath,
  entry: fileURLToPath(import.meta.url),
  signal: signals.signal,
  onReload: signals.onReload,
  execArgv: process.execArgv,
});
signals.dispose();
