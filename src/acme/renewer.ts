// ACME renewal while serving (RFC 8555, docs/certificates.md "ACME"): a late part, loaded only when server.acme
// is set, after the gate passed and the server listens. The protocol is acme-client's (a maintained client:
// JWS, nonces, polling, badNonce retries), not keygate's.
//
// One renewal, start to end, and what never happens in it:
//   1. the vault is asked (cache bypassed: PAM may have rotated the password) and the keystore on disk unlocked
//      in memory: the server key and the ACME account key (ACME_ACCOUNT_ALIAS) are never written in the clear;
//   2. a CSR for server.acme.domains is signed with the keystore's own key (the key stays: keystore.spkiSha256
//      pins keep holding), the order's http-01 challenges are answered by src/acme/challenge-server.ts;
//   3. the chain the CA returns is checked as keystore import checks one (for this key, issuers in order and
//      signed, the names asked for, valid now), then written under the same password in one atomic rename with
//      the account key, and the running server picks it up through the reload path (no restart);
//   4. any failure (the CA down, a deactivated account, an order the CA refuses) is logged with its reason and
//      retried with backoff; the old certificate keeps serving, the keystore is left as it was.

import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { Agent, request as httpsRequest } from 'node:https';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { KeygateError, describeCause } from '../errors.js';
import type { Context } from '../context.js';
import type { Secret } from '../adapters/secret.js';
import { ACME_ACCOUNT_ALIAS, type AcmeConfig } from '../core/acme-config.js';
import { MAX_KEYSTORE_BYTES, readRegularFile } from '../adapters/read-regular-file.js';
import { besideKeystore, rewriteKeystore, writeAtomicIn } from '../adapters/files.js';
import { planImport, sanSet } from '../pki/chain.js';
import { MAX_TIMER_MS, nextRenewal, retryDelay, type ServedCertificate } from './schedule.js';
import { startChallengeResponder, type ChallengeResponder } from './challenge-server.js';
import * as acme from 'acme-client';

export interface AcmeRenewerOptions {
  readonly config: AcmeConfig;
  /** server.acme.caFile's verified bytes: the CA the ACME server's HTTPS certificate must chain to. */
  readonly caPem?: Buffer;
  readonly keystorePath: string;
  readonly alias?: string;
  /** The certificate being served now (PEM). */
  readonly servedPem: string;
  /** The listener's default host (server.host) when server.acme.httpHost is not set. */
  readonly host: string;
  /** The vault, cache bypassed, with its audit line. */
  readonly askSecret: () => Promise<Secret>;
  /** The reload path (src/server/reload-scheduler.ts): re-unlock the keystore and swap the TLS context. */
  readonly reload: (why: string) => void;
  readonly log: Context['log'];
}

export interface AcmeRenewer {
  /** The challenge listener's address. */
  readonly challengeUrl: string;
  /** The server swapped certificates (any reload): plan from the one now served. */
  served(pem: string): void;
  stop(): Promise<void>;
}

const G = { gate: 'acme' } as const;

export function describeServed(pem: string): ServedCertificate {
  const c = new X509Certificate(pem);
  return {
    notBefore: new Date(c.validFrom),
    notAfter: new Date(c.validTo),
    dnsNames: sanSet(c).filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
    selfIssued: c.issuer === c.subject,
  };
}

/**
 * Whether the ACME directory answers, and if not the transport's error code. acme-client reports a request that
 * got no answer at all (refused, reset, timed out) as a TypeError of its own retry code (reading 'config' of an
 * undefined response), which names nothing: this asks once more, to say what the user can fix.
 */
function probeDirectory(url: string, agent: Agent): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { method: 'GET', agent, timeout: 10_000 }, (res) => {
      res.resume();
      resolve(undefined);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer in 10 s'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`${e.code ?? 'error'}: ${e.message}`));
    req.end();
  });
}

/** One line for what went wrong with the CA: its problem document's detail, or the transport's error. */
function reasonOf(err: unknown): string {
  if (err instanceof KeygateError) return `${err.code}: ${err.message}`;
  const e = err as { code?: string; message?: string; response?: { status?: number } };
  if (e?.code && /^E[A-Z]+/.test(e.code)) return `the ACME server cannot be reached (${e.code}${e.message ? `: ${e.message.replace(/\s+/g, ' ').slice(0, 200)}` : ''})`;
  return describeCause(err).replace(/\s+/g, ' ').slice(0, 400);
}

export async function startAcmeRenewer(o: AcmeRenewerOptions): Promise<AcmeRenewer> {
  const { config, log } = o;
  // acme-client's HTTP is one axios instance: the company CA for its TLS, a bound on every request, and few retries
  // of its own (ours are the backoff below, logged).
  const agent = new Agent({ keepAlive: false, ...(o.caPem ? { ca: o.caPem.toString('utf8') } : {}) });
  acme.axios.defaults.httpsAgent = agent;
  acme.axios.defaults.timeout = 30_000;
  // No retry inside acme-client: its retry sleeps for whatever Retry-After the CA sends (hours on a 429) and
  // cannot be cancelled; the backoff below is ours, logged, and stop() ends it.
  Object.assign((acme.axios.defaults as unknown as { acmeSettings: object }).acmeSettings, { retryMaxAttempts: 0 });
  // stop() aborts every request in flight, so an order open at shutdown ends within its polling backoff (≤ ~10 s)
  const aborter = new AbortController();
  acme.axios.defaults.signal = aborter.signal;
  // a CA's answer is a few KB: a bound on what a compromised or broken one can make this process hold
  acme.axios.defaults.maxContentLength = 1024 * 1024;
  const httpHost = config.httpHost ?? o.host;
  const responder: ChallengeResponder = await startChallengeResponder(httpHost, config.httpPort, (m) => log.info(m, G));
  log.info(`ACME: answering http-01 challenges on ${responder.url} for ${config.domains.join(' ')}; CA ${config.directoryUrl}`, G);

  let served = describeServed(o.servedPem);
  /** The certificate written by the last renewal until a reload is seen serving it (then undefined). */
  let written: ServedCertificate | undefined;
  let confirmTimer: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let running: Promise<void> | undefined;
  let stopped = false;
  /** Set when the CA says the account is deactivated: the next attempt registers a new account key. */
  let newAccount = false;
  /** An account key made for a first order that has not succeeded yet: reused by the retries, not registered anew each time. */
  let unsavedAccountKey: string | undefined;
  /** Bumped when an attempt times out: a late answer of the abandoned attempt must not write the keystore. */
  let generation = 0;

  const schedule = (at: Date, why: string): void => {
    clearTimeout(timer);
    if (stopped) return;
    const wait = Math.max(0, at.getTime() - Date.now());
    if (wait > MAX_TIMER_MS) {
      timer = setTimeout(() => schedule(at, why), MAX_TIMER_MS);
    } else {
      timer = setTimeout(() => void attempt(why), wait);
    }
    timer.unref();
  };
  const planFromServed = (): void => {
    const basis = written ?? served;
    const planned = nextRenewal(basis, config, new Date());
    // never again sooner than retryMinMs after a success (a certificate issued already due must not loop)
    const floor = lastSuccess === undefined ? 0 : lastSuccess + config.retryMinMs;
    const due = planned.at.getTime() < floor ? { at: new Date(floor), why: `${planned.why}; not sooner than server.acme.retryMinMs after the last renewal` } : planned;
    if (due.at.getTime() <= Date.now()) log.info(`ACME: ordering a certificate now: ${due.why}`, G);
    else log.info(`ACME: next renewal ${due.at.toISOString()} (${due.why}); the certificate expires ${basis.notAfter.toISOString()}`, G);
    schedule(due.at, due.why);
  };

  let lastSuccess: number | undefined;
  const same = (a: ServedCertificate, b: ServedCertificate): boolean => a.notAfter.getTime() === b.notAfter.getTime() && a.notBefore.getTime() === b.notBefore.getTime();
  /**
   * The reload that follows a write may fail (the vault busy, a keystore that does not open): the renewed
   * certificate is then in the keystore but not served. Until a reload is seen serving it, ask again, with a
   * growing delay; the old certificate serves meanwhile.
   */
  const confirm = (delayMs: number): void => {
    clearTimeout(confirmTimer);
    confirmTimer = setTimeout(() => {
      if (stopped || !written) return;
      log.warn(`ACME: the renewed certificate (valid to ${written.notAfter.toISOString()}) is in the keystore but not served yet; reloading again`, G);
      o.reload('ACME renewal, again');
      confirm(Math.min(delayMs * 2, 15 * 60_000));
    }, delayMs);
    confirmTimer.unref();
  };

  const attempt = (why: string): Promise<void> => {
    if (running || stopped) return running ?? Promise.resolve();
    running = (async () => {
      const t = Date.now();
      try {
        const leaf = await withTimeout(renewOnce(why, generation), config.orderTimeoutMs, () => generation++);
        failures = 0;
        lastSuccess = Date.now();
        written = describeServed(leaf);
        unsavedAccountKey = undefined;
        log.info(`ACME: renewed in ${Date.now() - t} ms: ${config.domains.join(' ')}, valid to ${written.notAfter.toISOString()}; reloading the TLS context`, G);
        o.reload('ACME renewal');
        confirm(30_000);
        planFromServed();
      } catch (err) {
        failures++;
        const delay = retryDelay(failures, config);
        let reason = reasonOf(err);
        if (err instanceof TypeError && /reading 'config'/.test(err.message)) {
          const down = await probeDirectory(config.directoryUrl, agent);
          reason = `the ACME server ${config.directoryUrl} cannot be reached (${down ?? 'no answer to a request; it answers now'})`;
        }
        log.error(`ACME: renewal failed (attempt ${failures}), still serving the certificate valid to ${served.notAfter.toISOString()}: ${reason}; next attempt in ${Math.round(delay / 1000)} s`, {
          ...G,
          failures,
          ...(err instanceof KeygateError ? { code: err.code } : {}),
        });
        schedule(new Date(Date.now() + delay), 'retry after a failure');
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  /** One renewal: returns the new leaf (PEM) once the keystore holding it is written. */
  const renewOnce = async (why: string, gen: number): Promise<string> => {
    log.info(`ACME: renewing (${why})`, G);
    const secret = await o.askSecret();
    const [{ unlockKeystore }, e] = await Promise.all([import('../adapters/keystore.js'), import('../pki/engine.js')]);
    const readStat = statSync(o.keystorePath);
    const bytes = readRegularFile(o.keystorePath, MAX_KEYSTORE_BYTES, 'keystore', {
      code: 'KEYSTORE_UNREADABLE',
      hint: 'check keystore.path in keygate.config.json and that the service user can read it',
    });
    const held = unlockKeystore(bytes, secret, { name: o.keystorePath, allowExpired: true, ...(o.alias !== undefined ? { alias: o.alias } : {}) });
    let accountKeyPem = newAccount ? unsavedAccountKey : (held.acmeAccountKeyPem ?? unsavedAccountKey);
    const accountKeyIsNew = accountKeyPem === undefined;
    if (accountKeyPem === undefined) {
      accountKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      unsavedAccountKey = accountKeyPem;
      log.info(`ACME: registering a new account key (EC P-256, kept in the keystore as ${ACME_ACCOUNT_ALIAS})${newAccount ? ': the CA deactivated the previous account' : ''}`, G);
    }
    const key = createPrivateKey(held.keyPem);
    const csr = await e.createServerCsr([{ type: 'CN', value: config.domains[0]! }], key, config.domains.map((value) => ({ type: 'dns' as const, value })));
    const client = new acme.Client({ directoryUrl: config.directoryUrl, accountKey: accountKeyPem, backoffAttempts: 6, backoffMin: 500, backoffMax: 3_000 });
    let chainPem: string;
    try {
      await ensureAccount(client, accountKeyIsNew, config.email);
      chainPem = await client.auto({
        csr,
        ...(config.email ? { email: config.email } : {}),
        termsOfServiceAgreed: true,
        challengePriority: ['http-01'],
        // acme-client's own pre-check fetches http://<domain>/… through this host's resolver; the CA's view is
        // what counts (a host behind NAT or split DNS cannot see itself as the CA does).
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
          if (challenge.type !== 'http-01') throw new Error(`unexpected challenge type ${challenge.type}`);
          responder.set(challenge.token, keyAuthorization);
        },
        challengeRemoveFn: async (_authz, challenge) => {
          responder.delete(challenge.token);
        },
      });
    } catch (err) {
      if (/deactivated/i.test(describeCause(err))) {
        newAccount = true;
        unsavedAccountKey = undefined;
        throw new KeygateError('ACME_FAILED', `the CA says the ACME account is deactivated (${reasonOf(err)}); the next attempt registers a new account key`, { hint: 'none needed: the next attempt registers a new account (if the CA refuses new accounts too, ask its operator)' });
      }
      throw err;
    }
    newAccount = false;
    const certs = [...chainPem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]));
    if (certs.length === 0) throw new KeygateError('ACME_FAILED', 'the CA returned no certificate', { hint: 'check the ACME server\'s logs' });
    // The checks of keystore import: for this key, issuers in order and signed, exactly the names asked for.
    const plan = planImport({
      key,
      certs,
      ordered: true,
      roots: [],
      requested: config.domains.map((d) => `DNS:${d}`).sort(),
      file: 'the ACME certificate',
      rootOptional: true,
    });
    const now = new Date();
    if (new Date(plan.leaf.validTo) < now || new Date(plan.leaf.validFrom).getTime() > now.getTime() + 5 * 60_000) {
      throw new KeygateError('ACME_FAILED', `the CA issued a certificate valid ${plan.leaf.validFrom} to ${plan.leaf.validTo}, not now`, { hint: 'check this machine\'s clock' });
    }
    if (stopped || gen !== generation) throw new KeygateError('ACME_FAILED', 'the order was abandoned (stopped or timed out) before the keystore was written', { hint: 'none needed: the next attempt orders again' });
    if (plan.chain.length > 8) throw new KeygateError('ACME_FAILED', `the CA returned a chain of ${plan.chain.length + 1} certificates`, { hint: 'check the ACME server: a chain is the certificate and a few issuers' });
    if (plan.leaf.ca) throw new KeygateError('ACME_FAILED', 'the CA returned a CA certificate (CA:TRUE) as the server\'s certificate', { hint: 'check the ACME server\'s issuance profile' });
    const p12 = e.makePkcs12(held.keyPem, plan.leaf.toString(), plan.chain.map((c) => c.toString()), held.alias ?? 'keygate', secret, 'modern', [{ pem: accountKeyPem, alias: ACME_ACCOUNT_ALIAS }]);
    // What the reload and the next start will open: opened here first, so a keystore that would not serve is never written.
    if (p12.length > MAX_KEYSTORE_BYTES) throw new KeygateError('ACME_FAILED', `the new keystore would be ${p12.length} bytes, over the loader's limit`, { hint: 'check the chain the ACME server returns' });
    const check = unlockKeystore(p12, secret, { name: 'the renewed keystore', ...(o.alias !== undefined ? { alias: o.alias } : {}) });
    if (check.acmeAccountKeyPem === undefined || new X509Certificate(check.certPem).serialNumber !== plan.leaf.serialNumber) {
      throw new KeygateError('INTERNAL', 'the renewed keystore does not open to the certificate just issued', { hint: 'report it: the keystore was not written' });
    }
    // Someone replaced the keystore while the order ran (keystore import, csr --force): theirs wins.
    const now2 = statSync(o.keystorePath, { throwIfNoEntry: false });
    if (!now2 || now2.ino !== readStat.ino || now2.mtimeMs !== readStat.mtimeMs || now2.size !== readStat.size) {
      throw new KeygateError('ACME_FAILED', `${o.keystorePath} changed while the order ran; not overwriting it`, { hint: 'none needed: the next attempt starts from the keystore as it is now' });
    }
    rewriteKeystore(o.keystorePath, p12); // the old file's owner, group and mode (at most 0640)
    // The leaf beside it, as keystore import writes one (doctor reads the expiry there, without the password).
    const crt = besideKeystore(o.keystorePath, '.crt');
    try {
      writeAtomicIn(crt, plan.leaf.toString(), 0o644);
    } catch (err) {
      log.warn(`ACME: the certificate could not also be written to ${crt}: ${describeCause(err)} (the keystore holds it)`, G);
    }
    log.info(`ACME: wrote ${o.keystorePath} (${dirname(o.keystorePath)}): ${plan.leaf.subject.replace(/\n/g, ', ')}, serial ${plan.leaf.serialNumber}, issued by ${plan.leaf.issuer.replace(/\n/g, ', ')}`, G);
    return plan.leaf.toString();
  };

  planFromServed();
  return {
    challengeUrl: responder.url,
    served: (pem) => {
      const next = describeServed(pem);
      if (written && same(next, written)) {
        written = undefined;
        clearTimeout(confirmTimer);
      }
      if (same(next, served)) return;
      served = next;
      if (!running && !written) planFromServed();
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(confirmTimer);
      aborter.abort();
      await responder.close();
    },
  };
}

/**
 * The account for this key: a key from the keystore looks its account up (onlyReturnExisting, then a POST-as-GET:
 * acme-client's own path sends an "update" some CAs refuse as empty); a new key, or one the CA no longer knows
 * (a CA reset), registers one, agreeing to the terms of service.
 */
async function ensureAccount(client: acme.Client, keyIsNew: boolean, email: string | undefined): Promise<void> {
  const register = { termsOfServiceAgreed: true, ...(email ? { contact: [`mailto:${email}`] } : {}) };
  if (keyIsNew) {
    await client.createAccount(register);
    return;
  }
  try {
    await client.createAccount({ onlyReturnExisting: true });
  } catch (err) {
    if (/deactivated/i.test(describeCause(err))) throw err;
    await client.createAccount(register);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    t = setTimeout(() => (onTimeout(), reject(new KeygateError('ACME_FAILED', `the order did not finish within ${ms} ms (server.acme.orderTimeoutMs)`, { hint: 'check that the CA can reach the http-01 port' }))), ms);
    t.unref(); // a timeout must not hold the process open at shutdown
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(t));
}
