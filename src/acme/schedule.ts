// When the ACME renewer acts (pure: dates in, dates out; src/acme/schedule.test.ts).
//
// Renewal at two thirds of the lifetime (certbot's 30 days before the end of 90), plus jitter so a fleet whose
// certificates were issued in the same minute does not come back in the same minute; a certificate the CA did
// not issue for these names (keystore csr's placeholder, a self-signed one, other names) is ordered at once.
// A failure is retried with capped exponential backoff ("equal jitter": half fixed, half random), never sooner
// than retryMinMs, so a CA that is down is asked a few times an hour, not in a loop.

import type { AcmeConfig } from '../core/acme-config.js';

export interface ServedCertificate {
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DNS SANs, lower case. */
  readonly dnsNames: readonly string[];
  /** Issuer and subject are the same name (a placeholder or a self-signed certificate). */
  readonly selfIssued: boolean;
}

export type Due = { readonly at: Date; readonly why: string };

/** When to order next for the certificate being served. */
export function nextRenewal(cert: ServedCertificate, cfg: Pick<AcmeConfig, 'domains' | 'renewAtFraction' | 'jitterFraction'>, now: Date, random: () => number = Math.random): Due {
  if (cert.selfIssued) return { at: now, why: 'the served certificate is self-issued (keystore csr\'s placeholder?), not from the ACME CA' };
  const want = [...cfg.domains].sort().join(' ');
  const have = [...cert.dnsNames].sort().join(' ');
  if (want !== have) return { at: now, why: `the served certificate names ${have || 'no DNS name'}, server.acme.domains ${want}` };
  const life = cert.notAfter.getTime() - cert.notBefore.getTime();
  if (life <= 0) return { at: now, why: 'the served certificate has no lifetime' };
  const base = cert.notBefore.getTime() + life * cfg.renewAtFraction;
  // The jitter spreads over a share of the time left after the renewal point, so it never reaches the expiry.
  const at = base + random() * cfg.jitterFraction * (cert.notAfter.getTime() - base);
  if (at <= now.getTime()) return { at: now, why: `${Math.round(cfg.renewAtFraction * 100)}% of its lifetime has passed` };
  return { at: new Date(at), why: `${Math.round(cfg.renewAtFraction * 100)}% of its lifetime` };
}

/** The delay before attempt n+1 after n failures in a row (n >= 1). */
export function retryDelay(failures: number, cfg: Pick<AcmeConfig, 'retryMinMs' | 'retryMaxMs'>, random: () => number = Math.random): number {
  const cap = Math.min(cfg.retryMaxMs, cfg.retryMinMs * 2 ** Math.min(failures - 1, 30));
  return Math.max(cfg.retryMinMs, Math.round(cap / 2 + (random() * cap) / 2));
}

/** setTimeout takes at most 2^31-1 ms (24.8 days): longer waits are taken in steps. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
