// The secret stage of the gate (steps 6–7 of docs/serve.md): ask the vault for the keystore password and unlock
// the keystore, once more with the client's cache bypassed when the cached password is stale (PAM rotated it).
// One audit line per vault call and per unlock; never the answer. node-forge, execa and fast-xml-parser are
// loaded here only, through dynamic imports (in the bundle: late parts compiled on first use,
// src/late-runtime.ts), so verify, check, pin and generate never pay for them.

import { X509Certificate } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { KeygateError } from '../errors.js';
import type { Context } from '../context.js';
import type { Config } from '../core/config.js';
import { vaultClientPath } from '../core/vault-client.js';
import type { SecretProvider } from '../adapters/vault.js';
import type { Secret } from '../adapters/secret.js';
import type { UnlockedKeystore } from '../adapters/keystore.js';
import { MAX_KEYSTORE_BYTES, readRegularFile } from '../adapters/read-regular-file.js';
import { canUnlockOffThread, unlockOffThread } from '../adapters/unlock-off-thread.js';

const loadVault = () => import('../adapters/vault.js');
const loadKeystore = () => import('../adapters/keystore.js');

/** The configured vault provider (cspm A2A client or a command that prints the password). */
export async function providerFor(config: Config, base: string, env: Readonly<Record<string, string | undefined>>): Promise<SecretProvider> {
  const { cspmProvider, commandProvider } = await loadVault();
  const limits = { timeoutMs: config.vault.timeoutMs, maxOutputBytes: config.vault.maxOutputBytes };
  if (config.vault.provider === 'command') return commandProvider({ command: config.vault.command!, limits, env });
  const clientPath = vaultClientPath(config.vault, base, env);
  return cspmProvider({ clientPath, alias: config.vault.alias, output: config.vault.output, limits, env });
}

/** Steps 6–7: fetch and unlock, retrying once with the cache bypassed when the cached password is stale. */
export async function fetchAndUnlock(
  ctx: Context,
  provider: SecretProvider,
  keystorePath: string,
  opts: { alias?: string; allowExpired: boolean; bypassFirst?: boolean; offThread?: boolean; retry?: RetryPolicy },
): Promise<UnlockedKeystore> {
  // Open, fstat, refuse what is not a regular file, read at most the cap: a FIFO or /dev/zero in its place must
  // neither hang the start nor fill the memory.
  // keystore create writes keystore.path by default; the password must be the one the vault holds. Only when no file
  // is there: --force, because create refuses the .crt the lost keystore left beside it (a file that is there but
  // unreadable is never offered an overwrite).
  const gone = lstatSync(keystorePath, { throwIfNoEntry: false }) === undefined;
  const bytes = readRegularFile(keystorePath, MAX_KEYSTORE_BYTES, 'keystore', {
    code: 'KEYSTORE_UNREADABLE',
    hint: gone
      ? `check keystore.path in keygate.config.json, or create it: keygate keystore create --force --out ${keystorePath} --password-file <file holding the password the vault has for vault.alias>`
      : 'check keystore.path in keygate.config.json and that the file is a regular file the service user can read',
  });
  const unlock = async (bypassCache: boolean): Promise<UnlockedKeystore> => {
    const asked = askVaultWithRetries(ctx, provider, bypassCache, opts.retry); // the client is spawned before this returns
    // node-forge needs no secret to be evaluated: do it while the vault client runs, not after it answers.
    const preload = loadKeystore();
    const secret = await asked.finally(() => preload.catch(() => undefined));
    return await timedUnlock(bytes, secret, keystorePath, opts);
  };
  // After a rotation the client's cache is stale by definition: a reload goes straight to the vault.
  if (opts.bypassFirst) return unlock(true);
  try {
    return await unlock(false);
  } catch (err) {
    if (!(err instanceof KeygateError) || err.code !== 'KEYSTORE_BAD_PASSWORD') throw err;
    ctx.log.warn('the cached password does not open the keystore; asking the vault again with bypassCache=true', { gate: 'vault' });
    return unlock(true);
  }
}

/** Retries after a transient vault failure: how many, and the backoff's base and cap (vault.retries …). */
export interface RetryPolicy {
  readonly retries: number;
  readonly delayMs: number;
  readonly maxDelayMs: number;
}

/** A timeout or a crashed client may pass; a refusal (409), a bad answer or a missing client will not. */
const TRANSIENT = new Set(['VAULT_TIMEOUT', 'VAULT_FAILED']);

/**
 * "Full jitter" backoff: a uniform delay in [0, min(cap, base·2^(n-1))). Hosts that fail together (a fleet
 * booting while the vault is slow) then spread their retries instead of coming back in step.
 */
export function retryDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(policy.maxDelayMs, policy.delayMs * 2 ** (attempt - 1)));
}

async function askVaultWithRetries(ctx: Context, provider: SecretProvider, bypassCache: boolean, policy: RetryPolicy | undefined): Promise<Secret> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await askVault(ctx, provider, bypassCache);
    } catch (err) {
      const code = err instanceof KeygateError ? err.code : undefined;
      if (!policy || attempt > policy.retries || !code || !TRANSIENT.has(code) || ctx.io.signal?.aborted) throw err;
      const delay = retryDelayMs(attempt, policy);
      ctx.log.warn(`vault ${code}: retry ${attempt} of ${policy.retries} in ${delay} ms`, { gate: 'vault' });
      await sleep(delay, ctx.io.signal);
      if (ctx.io.signal?.aborted) throw err;
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** One audit line per vault call, ok or the error code; never the answer. */
export async function askVault(ctx: Context, provider: SecretProvider, bypassCache: boolean): Promise<Secret> {
  const t = process.hrtime.bigint();
  try {
    const secret = await provider.fetch({ bypassCache, signal: ctx.io.signal });
    ctx.log.info(`vault asked for ${provider.description}: ok`, { gate: 'vault', bypassCache, ms: Math.round(Number(process.hrtime.bigint() - t) / 1e6) });
    return secret;
  } catch (err) {
    const code = err instanceof KeygateError ? err.code : 'INTERNAL';
    ctx.log.warn(`vault asked for ${provider.description}: ${code}`, { gate: 'vault', bypassCache });
    throw err;
  }
}

type Timed<T> = T & { readonly ms: number; readonly offThread?: boolean };

/**
 * Unlocks and times it. offThread (reloads, while serving): in a worker thread, so requests are not stalled;
 * ms is then the wall time of the worker's run, not time the event loop was blocked.
 */
async function timedUnlock(bytes: Buffer, secret: Secret, name: string, opts: { alias?: string; allowExpired: boolean; offThread?: boolean }): Promise<Timed<UnlockedKeystore>> {
  const options = { alias: opts.alias, allowExpired: opts.allowExpired, name };
  if (opts.offThread && canUnlockOffThread) {
    const t = process.hrtime.bigint();
    const u = await unlockOffThread(bytes, secret, options);
    return { ...u, ms: Number(process.hrtime.bigint() - t) / 1e6, offThread: true };
  }
  const { unlockKeystore } = await loadKeystore();
  const t = process.hrtime.bigint();
  const u = unlockKeystore(bytes, secret, options);
  return { ...u, ms: Number(process.hrtime.bigint() - t) / 1e6 };
}

/** The served certificate's DNS and IP names as `DNS:x IP:y` (the leaf's, not its CA's), or '' when it has none. */
function servedNames(certPem: string): string {
  try {
    const san = new X509Certificate(certPem).subjectAltName ?? '';
    return san
      .split(', ')
      .map((p) => p.replace(/^IP Address:/, 'IP:'))
      .filter((p) => /^(DNS|IP):/.test(p))
      .join(' ');
  } catch {
    return '';
  }
}

/** The OU `keygate keystore csr` gives its placeholder certificate (src/commands/keystore-csr.ts PLACEHOLDER_OU). */
const PLACEHOLDER = 'OU=keygate placeholder until keystore import';

/**
 * The audit line for an unlock: the served certificate (subject and SANs, not the CA) and its expiry; a warning
 * from 30 days before it expires, a louder one from 7 days; a warning when it is keystore csr's placeholder.
 */
export function logUnlocked(ctx: Context, m: UnlockedKeystore & { ms?: number; offThread?: boolean }, now: Date = new Date()): void {
  const label = certificateLabel(m);
  ctx.log.info(`keystore unlocked: ${label}, expires ${m.notAfter.toISOString()} (in ${Math.max(0, daysLeft(m, now))} days)`, {
    gate: 'keystore',
    alias: m.alias ?? null,
    keyType: m.keyType,
    ...(m.ms !== undefined ? { ms: Math.round(m.ms) } : {}),
    ...(m.offThread ? { thread: 'worker' } : {}),
  });
  warnExpiry(ctx, m, now);
  if (m.subject.includes(PLACEHOLDER)) ctx.log.warn(`the served certificate ${label} is the placeholder keystore csr made: import the certificate your CA issued (keygate keystore import), or let ACME replace it (server.acme)`, { gate: 'keystore' });
}

/** The served certificate as the log names it: its subject and its own DNS/IP names (not its CA's). */
function certificateLabel(m: Pick<UnlockedKeystore, 'certPem' | 'subject'>): string {
  const names = servedNames(m.certPem);
  return `${m.subject}${names ? ` [${names}]` : ''}`;
}

const daysLeft = (m: Pick<UnlockedKeystore, 'notAfter'>, now: Date): number => Math.floor((m.notAfter.getTime() - now.getTime()) / 86_400_000);

/**
 * The expiry warnings alone: from 30 days before the end, louder from 7. logUnlocked gives them at each start
 * and reload; serve repeats them twice a day, so a server that runs for months without a reload still says so.
 */
export function warnExpiry(ctx: Context, m: Pick<UnlockedKeystore, 'certPem' | 'subject' | 'notAfter'>, now: Date = new Date(), when = ''): void {
  const days = daysLeft(m, now);
  if (days >= 30) return;
  const what = `${when}the served certificate ${certificateLabel(m)}`;
  if (days < 7) ctx.log.warn(`${what} expires in ${Math.max(0, days)} days (${m.notAfter.toISOString()}): renew it now (docs/certificates.md)`, { gate: 'keystore', expiresInDays: Math.max(0, days) });
  else ctx.log.warn(`${what} expires in ${days} days (${m.notAfter.toISOString()}): renew it (docs/certificates.md)`, { gate: 'keystore', expiresInDays: days });
}
