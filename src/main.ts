// The main entry (dist/main.js): the file the vault hashes. esbuild bundles everything keygate runs into
// this one file, so before verification passes the process has loaded no JavaScript but this file and
// Node's built-ins (DESIGN.md rule 1). It carries the pin (src/pin-slot.ts) and exits in exactly one place.

import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { main } from './cli.js';
import { installSignals } from './server/signals.js';
import { sizeThreadPool } from './adapters/thread-pool.js';
import { directStream } from './adapters/direct-stream.js';
import { closeInheritedFds } from './adapters/inherited-fds.js';

// Before anything can be spawned: a descriptor the shell or a parent left open would reach every child.
closeInheritedFds(process.env);
sizeThreadPool(process.env);
const signals = installSignals();
const entry = fileURLToPath(import.meta.url);
const argv = process.argv.slice(2);
main(argv, {
  stdout: directStream(1, () => process.stdout),
  stderr: directStream(2, () => process.stderr),
  env: process.env,
  cwd: process.cwd(),
  nodePath: process.execPath,
  entry,
  invokedAs: process.argv[1] ? resolve(process.argv[1]) : undefined,
  signal: signals.signal,
  holdSignals: signals.hold,
  onReload: signals.onReload,
  execArgv: process.execArgv,
  argv,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // main() reports every error itself; this is the last guard for a bug, without a stack for the user.
    process.stderr.write(`keygate: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
