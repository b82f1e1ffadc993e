// Unlocks a keystore in a worker thread (src/unlock-worker.ts), for reloads: the serving event loop stays free.
// The worker compiles the entry's own keystore part (one node-forge in the entry, not a second in the worker).
import { startInMemoryWorker } from './in-memory-worker.js';
import { hasParts, partSource } from '../late-runtime.js';
import type { UnlockWorkerData } from '../unlock-worker.js';
import { KeygateError, type ErrorCode } from '../errors.js';
import type { UnlockedKeystore, UnlockOptions } from './keystore.js';
import type { Secret } from './secret.js';

type Answer = { ok: UnlockedKeystore } | { error: { code: string; message: string; hint?: string } };

/**
 * Whether this build can unlock off the main thread (the bundle embeds the worker; sources run under tsx do
 * not). Asked of the bundle, not by decompressing the worker's part, which every start would then pay for.
 */
export const canUnlockOffThread = hasParts();

/**
 * How long a reload's unlock may take before the worker is terminated. Every key derivation is capped
 * (pkcs12-mac.ts MAX_KDF_ITERATIONS), so a sound keystore answers long before this; a worker still busy after
 * it is stuck on something we did not foresee, and a reload that never settles would block every later one.
 */
export const UNLOCK_TIMEOUT_MS = 20_000;

export interface OffThreadOptions {
  readonly timeoutMs?: number;
  /** The worker's code; the bundle's embedded unlock worker by default (tests pass one built from src/unlock-worker.ts). */
  readonly source?: string;
  /** The keystore code the worker compiles; the bundle's late/keystore part by default (tests pass their own build). */
  readonly keystoreSource?: string;
}

export function unlockOffThread(bytes: Buffer, secret: Secret, options: UnlockOptions, limits: OffThreadOptions = {}): Promise<UnlockedKeystore> {
  const keystore = limits.keystoreSource ?? partSource('late/keystore');
  if (keystore === undefined) return Promise.reject(new Error('unlockOffThread needs the bundle'));
  const workerData: UnlockWorkerData = { keystore };
  const worker = startInMemoryWorker('unlock', { source: limits.source, env: {}, stdout: true, stderr: true, workerData });
  if (worker === undefined) return Promise.reject(new Error('unlockOffThread needs the bundle'));
  const timeoutMs = limits.timeoutMs ?? UNLOCK_TIMEOUT_MS;
  return new Promise<UnlockedKeystore>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate(); // also stops a worker busy in a synchronous loop (V8 TerminateExecution)
      fn();
    };
    // The keystore, not the vault, is what stalled.
    const timer = setTimeout(
      () =>
        settle(() =>
          reject(
            new KeygateError('KEYSTORE_TIMEOUT', `failed to unlock ${options.name ?? 'the keystore'}: the unlock did not finish within ${timeoutMs} ms and was stopped`, {
              hint: 'check the keystore with: openssl pkcs12 -info -noout -in <keystore> (iteration counts, size); recreate it if it is unusual',
            }),
          ),
        ),
      timeoutMs,
    );
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
