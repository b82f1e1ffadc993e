// server.acme in keygate.config.json: its type and its pure validation (called by src/core/config.ts, which
// lists its keys in KNOWN so unknown settings are refused). Problems are pushed as "<dot.path>: <message>".

export interface AcmeConfig {
  /** The ACME directory (RFC 8555 §7.1.1), https: step-ca, Vault PKI, an AD CS gateway, Let's Encrypt, pebble. */
  readonly directoryUrl: string;
  /** The names the certificate is for (subjectAltName dNSName); the first is its common name. */
  readonly domains: readonly string[];
  /** Contact for the account (mailto:); optional, as RFC 8555 allows. */
  readonly email?: string;
  /** http-01 only: keygate answers /.well-known/acme-challenge/ on this plain-HTTP port (nothing else). */
  readonly challenge: 'http-01';
  readonly httpPort: number;
  /** Where that listener binds; default server.host. */
  readonly httpHost?: string;
  /** PEM bundle the ACME server's own HTTPS certificate must chain to (a company CA); must be in the manifest. */
  readonly caFile?: string;
  /** Renew when this fraction of the certificate's lifetime has passed (2/3: certbot's 30 days of 90). */
  readonly renewAtFraction: number;
  /** Up to this share of the remaining time is added at random so a fleet does not renew in one second. */
  readonly jitterFraction: number;
  /** Backoff after a failed renewal: first delay, doubled each time up to the cap. */
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  /** Longest a whole order (account, order, challenge, finalize, download) may take before it counts as failed. */
  readonly orderTimeoutMs: number;
}

/**
 * The friendlyName of the ACME account key inside the keystore: a key bag without a certificate, under the same
 * password. The loader never serves it (src/adapters/keystore.ts) and every rewrite of the keystore keeps it.
 */
export const ACME_ACCOUNT_ALIAS = 'keygate-acme-account';

export const ACME_DEFAULTS = {
  challenge: 'http-01',
  httpPort: 80,
  renewAtFraction: 2 / 3,
  jitterFraction: 0.05,
  retryMinMs: 60_000,
  retryMaxMs: 6 * 3_600_000,
  orderTimeoutMs: 120_000,
} as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const P = 'server.acme';
// A DNS name as a CA would issue it: letters, digits, hyphens, dots. No "*." wildcard: only dns-01 proves one,
// and keygate answers http-01 only.
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Validates server.acme (undefined when absent); pushes every problem into errors. */
export function validateAcmeConfig(raw: unknown, errors: string[]): AcmeConfig | undefined {
  if (raw === undefined || !isObj(raw)) return undefined; // "must be an object" is reported by the KNOWN walk
  const d = ACME_DEFAULTS;
  let directoryUrl = '';
  const dir = raw['directoryUrl'];
  if (typeof dir !== 'string' || dir === '') errors.push(`${P}.directoryUrl: required, the ACME directory's https URL, e.g. "https://ca.example.com/acme/acme/directory"`);
  else {
    let url: URL | undefined;
    try {
      url = new URL(dir);
    } catch {
      errors.push(`${P}.directoryUrl: ${JSON.stringify(dir)} is not a URL`);
    }
    if (url && url.protocol !== 'https:') errors.push(`${P}.directoryUrl: must be https (RFC 8555 §6.1), not ${url.protocol.replace(':', '')}`);
    directoryUrl = dir;
  }
  let domains: string[] = [];
  const doms = raw['domains'];
  if (!Array.isArray(doms) || doms.length === 0) errors.push(`${P}.domains: required, the certificate's names, e.g. ["shop.example.com"]`);
  else {
    for (const [i, n] of doms.entries()) {
      if (typeof n !== 'string' || !DNS_NAME.test(n)) errors.push(`${P}.domains[${i}]: ${JSON.stringify(n)} is not a DNS name (http-01 cannot prove wildcards or IP addresses)`);
    }
    domains = doms.filter((n): n is string => typeof n === 'string').map((n) => n.toLowerCase());
    if (new Set(domains).size !== domains.length) errors.push(`${P}.domains: lists a name twice`);
  }
  const email = raw['email'];
  if (email !== undefined && (typeof email !== 'string' || !/^[^@\s:]+@[^@\s]+$/.test(email))) errors.push(`${P}.email: must be an e-mail address`);
  const challenge = raw['challenge'] ?? d.challenge;
  if (challenge !== 'http-01') errors.push(`${P}.challenge: must be "http-01" (the only one keygate answers)`);
  const int = (key: string, def: number, min: number, max: number): number => {
    const val = raw[key];
    if (val === undefined) return def;
    if (typeof val !== 'number' || !Number.isInteger(val) || val < min || val > max) {
      errors.push(`${P}.${key}: must be a whole number from ${min} to ${max}`);
      return def;
    }
    return val;
  };
  const fraction = (key: string, def: number, min: number, max: number): number => {
    const val = raw[key];
    if (val === undefined) return def;
    if (typeof val !== 'number' || !(val >= min && val <= max)) {
      errors.push(`${P}.${key}: must be a number from ${min} to ${max}`);
      return def;
    }
    return val;
  };
  const str = (key: string): string | undefined => {
    const val = raw[key];
    if (val === undefined) return undefined;
    if (typeof val !== 'string' || val === '' || val.includes('\0')) {
      errors.push(`${P}.${key}: must be a non-empty string`);
      return undefined;
    }
    return val;
  };
  const config: AcmeConfig = {
    directoryUrl,
    domains,
    ...(typeof email === 'string' ? { email } : {}),
    challenge: 'http-01',
    httpPort: int('httpPort', d.httpPort, 1, 65535),
    httpHost: str('httpHost'),
    caFile: str('caFile'),
    renewAtFraction: fraction('renewAtFraction', d.renewAtFraction, 0.01, 0.99),
    jitterFraction: fraction('jitterFraction', d.jitterFraction, 0, 0.5),
    retryMinMs: int('retryMinMs', d.retryMinMs, 100, 86_400_000),
    retryMaxMs: int('retryMaxMs', d.retryMaxMs, 100, 7 * 86_400_000),
    orderTimeoutMs: int('orderTimeoutMs', d.orderTimeoutMs, 1_000, 3_600_000),
  };
  if (config.retryMaxMs < config.retryMinMs) errors.push(`${P}.retryMaxMs: must not be less than retryMinMs`);
  return config;
}
