// `generate-filelist` as a bin of its own (seed 000's program name): same as `keygate generate-filelist`.

import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { main } from './cli.js';
import { sizeThreadPool } from './adapters/thread-pool.js';
import { directStream } from './adapters/direct-stream.js';

sizeThreadPool(process.env);

void main(['generate-filelist', ...process.argv.slice(2)], {
  stdout: directStream(1, () => process.stdout),
  stderr: directStream(2, () => process.stderr),
  env: process.env,
  cwd: process.cwd(),
  nodePath: process.execPath,
  entry: resolve(dirname(fileURLToPath(import.meta.url)), 'main.js'),
}).then((code) => {
  process.exitCode = code;
});
