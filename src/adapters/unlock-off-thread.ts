// Unlocks a keystore in a worker thread (src/unlock-worker.ts), for reloads: the serving event loop stays free.
import { Worker } from 'node:worker_threads';
import { KeygateError, type ErrorCode } from '../errors.js';
import type { UnlockedKeystore, UnlockOptions } from './keystore.js';
import type { Secret } from './secret.js';

declare const UNLOCK_WORKER_SOURCE: string | undefined; // defined by scripts/build.mjs

type Answer = { ok: UnlockedKeystore } | { error: { code: string; message: string; hint?: string } };

/** Whether this build can unlock off the main thread (the bundle can; sources run under tsx cannot). */
export const canUnlockOffThread = typeof UNLOCK_WORKER_SOURCE === 'string';

export function unlockOffThread(bytes: Buffer, secret: Secret, options: UnlockOptions): Promise<UnlockedKeystore> {
  if (typeof UNLOCK_WORKER_SOURCE !== 'string') return Promise.reject(new Error('unlockOffThread needs the bundle'));
  const worker = new Worker(UNLOCK_WORKER_SOURCE, { eval: true, env: {}, stdout: true, stderr: true });
  return new Promise<UnlockedKeystore>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      fn();
    };
    worker.once('message', (answer: Answer) =>
      settle(() => {
        if ('ok' in answer) resolve(answer.ok);
        else reject(new KeygateError(answer.error.code as ErrorCode, answer.error.message, { hint: answer.error.hint }));
      }),
    );
    worker.once('error', (err) => settle(() => reject(new KeygateError('INTERNAL', `the keystore worker failed: ${err.message}`))));
    worker.once('exit', (code) => settle(() => reject(new KeygateError('INTERNAL', `the keystore worker exited with ${code} before answering`))));
    worker.postMessage({ bytes, password: secret.reveal(), options });
  });
}
