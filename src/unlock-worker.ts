// A worker thread's entry: unlocks one keystore and posts back the PEMs, so a reload (SIGHUP, rotated keystore)
// does not stall the event loop that is serving requests (node-forge and the key derivation are synchronous:
// ~30 ms at 10,000 iterations, seconds at 600,000). scripts/build.mjs bundles this file on its own (with its own
// copy of node-forge) and embeds it in dist/main.js as a part (src/late-runtime.ts); src/adapters/unlock-off-thread.ts
// starts it from that text.
// The password reaches it by postMessage, in this process's memory: never argv, environment, disk or a log.
import { parentPort } from 'node:worker_threads';
import { unlockKeystore, type UnlockOptions } from './adapters/keystore.js';
import { Secret } from './adapters/secret.js';
import { KeygateError, describeCause } from './errors.js';

export interface UnlockJob {
  readonly bytes: Uint8Array;
  readonly password: string;
  readonly options: UnlockOptions;
}

parentPort?.once('message', (job: UnlockJob) => {
  try {
    const unlocked = unlockKeystore(Buffer.from(job.bytes), new Secret(job.password), job.options);
    parentPort!.postMessage({ ok: unlocked });
  } catch (err) {
    const error = err instanceof KeygateError ? { code: err.code, message: err.message, hint: err.hint } : { code: 'INTERNAL', message: describeCause(err) };
    parentPort!.postMessage({ error });
  }
});
