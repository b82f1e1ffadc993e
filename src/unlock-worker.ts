// A worker thread's entry: unlocks one keystore and posts back the PEMs, so a reload (SIGHUP, rotated keystore)
// does not stall the event loop that is serving requests (node-forge and the key derivation are synchronous).
// scripts/build.mjs bundles this file on its own and embeds it in dist/main.js as a part; src/adapters/
// unlock-off-thread.ts starts it from that text. The keystore code itself is not in this bundle: the main
// thread passes the source of the entry's one keystore part (late/keystore, with the entry's one node-forge) as
// workerData, run here by the same src/part-module.ts that runs the main thread's parts.
// The password reaches it by postMessage, in this process's memory: never argv, environment, disk or a log.
import { parentPort, workerData } from 'node:worker_threads';
import { runPartSource } from './part-module.js';
import type { UnlockOptions } from './adapters/keystore.js';
import * as secret from './adapters/secret.js';
import * as errors from './errors.js';

export interface UnlockJob {
  readonly bytes: Uint8Array;
  readonly password: string;
  readonly options: UnlockOptions;
}

/** What the main thread gives the worker at its start. */
export interface UnlockWorkerData {
  /** The late/keystore part's CommonJS source. */
  readonly keystore: string;
}

type Keystore = typeof import('./adapters/keystore.js');

/** The keystore part, run with this worker's errors and secret modules as its shared ones (one KeygateError). */
const loadKeystore = (source: string): Keystore =>
  runPartSource('late/keystore', source, { 'keygate:errors': errors, 'keygate:secret': secret }, require, '') as Keystore;

parentPort?.once('message', (job: UnlockJob) => {
  try {
    const { unlockKeystore } = loadKeystore((workerData as UnlockWorkerData).keystore);
    const unlocked = unlockKeystore(Buffer.from(job.bytes), new secret.Secret(job.password), job.options);
    parentPort!.postMessage({ ok: unlocked });
  } catch (err) {
    const error = err instanceof errors.KeygateError ? { code: err.code, message: err.message, hint: err.hint } : { code: 'INTERNAL', message: errors.describeCause(err) };
    parentPort!.postMessage({ error });
  }
});
