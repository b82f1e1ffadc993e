// server.clientAuth in keygate.config.json: its type and its pure validation (called by src/core/config.ts,
// which also lists its keys in KNOWN so unknown settings are refused). Problems are pushed as
// "<dot.path>: <message>", every one at once.

import type { DnFormat } from './client-identity.js';

export interface ClientAuthRoute {
  /** A path pattern: `*` one segment, `**` any number (also none): `/admin/**` covers `/admin` and below. */
  readonly path: string;
  /** true: a verified client certificate is needed (403 otherwise); false: not (an exception before a broader rule). */
  readonly require: boolean;
}

export interface ClientAuthConfig {
  /** off: no certificate asked; optional: asked, routes decide; required: the TLS handshake fails without one. */
  readonly mode: 'off' | 'optional' | 'required';
  /** PEM bundle of the CAs client certificates must chain to; must be in the manifest. */
  readonly caFile?: string;
  /** PEM CRLs (label X509 CRL) of those CAs; must be in the manifest; reloaded on SIGHUP or change. */
  readonly crlFiles: readonly string[];
  /** optional mode: first matching rule wins; no match = no certificate needed. */
  readonly routes: readonly ClientAuthRoute[];
  /** When set, a certificate is accepted only if its SHA-256 (lower-case hex) is listed, besides chaining to the CA. */
  readonly pinnedSha256?: readonly string[];
  readonly headers: {
    /** Also send SSL-Client-S-DN, SSL-Client-I-DN, SSL-Client-Verify (Apache's names) to a backend. */
    readonly legacy: boolean;
    /** The DN format of those two headers. */
    readonly dnFormat: DnFormat;
  };
}


type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const P = 'server.clientAuth';

/** Validates server.clientAuth (undefined when absent); pushes every problem into errors. */
export function validateClientAuthConfig(raw: unknown, errors: string[], warnings: string[]): ClientAuthConfig | undefined {
  if (raw === undefined) return undefined;
  if (!isObj(raw)) return undefined; // "must be an object" is reported by the KNOWN walk
  const mode = raw['mode'] ?? 'off';
  if (mode !== 'off' && mode !== 'optional' && mode !== 'required') errors.push(`${P}.mode: must be one of off, optional, required`);
  const path = (v: unknown, where: string): string | undefined => {
    if (typeof v !== 'string' || v === '') {
      errors.push(`${where}: must be a non-empty path`);
      return undefined;
    }
    if (v.includes('\0')) errors.push(`${where}: must not hold a NUL byte`);
    return v;
  };
  const caFile = raw['caFile'] === undefined ? undefined : path(raw['caFile'], `${P}.caFile`);
  let crlFiles: string[] = [];
  if (raw['crlFiles'] !== undefined) {
    if (!Array.isArray(raw['crlFiles'])) errors.push(`${P}.crlFiles: must be an array of paths`);
    else crlFiles = raw['crlFiles'].map((f, i) => path(f, `${P}.crlFiles[${i}]`)).filter((f): f is string => f !== undefined);
  }
  const routes: ClientAuthRoute[] = [];
  if (raw['routes'] !== undefined) {
    if (!Array.isArray(raw['routes'])) errors.push(`${P}.routes: must be an array of { "path": "/admin/**", "require": true }`);
    else
      raw['routes'].forEach((r, i) => {
        const where = `${P}.routes[${i}]`;
        if (!isObj(r)) return errors.push(`${where}: must be an object { "path": "/admin/**", "require": true }`);
        for (const k of Object.keys(r)) if (k !== 'path' && k !== 'require') errors.push(`${where}.${k}: unknown setting`);
        const p = r['path'];
        if (typeof p !== 'string' || !p.startsWith('/')) errors.push(`${where}.path: must be a path pattern starting with /`);
        else if (/[?#%\\]/.test(p) || p.split('/').some((seg) => seg === '.' || seg === '..' || (seg.includes('**') && seg !== '**'))) {
          errors.push(`${where}.path: ${JSON.stringify(p)} must be a plain path: no ?, #, %, \\, . or .. segments; ** only as a whole segment`);
        }
        if (typeof r['require'] !== 'boolean') errors.push(`${where}.require: must be true or false`);
        if (typeof p === 'string' && typeof r['require'] === 'boolean') routes.push({ path: p, require: r['require'] });
      });
  }
  let pinnedSha256: string[] | undefined;
  if (raw['pinnedSha256'] !== undefined) {
    const list = raw['pinnedSha256'];
    const hex = (x: unknown) => typeof x === 'string' && /^([0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/.test(x);
    if (!Array.isArray(list) || list.length === 0 || !list.every(hex)) {
      errors.push(`${P}.pinnedSha256: must be a non-empty list of certificate SHA-256 fingerprints (64 hex digits, colons allowed: openssl x509 -noout -fingerprint -sha256)`);
    } else pinnedSha256 = (list as string[]).map((x) => x.replace(/:/g, '').toLowerCase());
  }
  const h = isObj(raw['headers']) ? raw['headers'] : {};
  const legacy = h['legacy'] ?? false;
  if (typeof legacy !== 'boolean') errors.push(`${P}.headers.legacy: must be true or false`);
  const dnFormat = h['dnFormat'] ?? 'rfc4514';
  if (dnFormat !== 'rfc4514' && dnFormat !== 'legacy') errors.push(`${P}.headers.dnFormat: must be one of rfc4514, legacy`);

  if ((mode === 'optional' || mode === 'required') && caFile === undefined) errors.push(`${P}.caFile: required when mode is "${String(mode)}" (the CA bundle client certificates must chain to)`);
  if (mode === 'required' && routes.length) errors.push(`${P}.routes: only for mode "optional" (in "required" every connection has a verified certificate)`);
  if (mode === 'optional' && routes.length === 0) warnings.push(`${P}: mode "optional" without routes: no path needs a certificate (the app decides from ctx.client or the headers)`);
  if (mode === 'off' && (caFile !== undefined || crlFiles.length || routes.length || pinnedSha256)) warnings.push(`${P}: mode is "off": caFile, crlFiles, routes and pinnedSha256 are ignored`);
  return {
    mode: mode as ClientAuthConfig['mode'],
    caFile,
    crlFiles,
    routes,
    pinnedSha256,
    headers: { legacy: legacy === true, dnFormat: dnFormat === 'legacy' ? 'legacy' : 'rfc4514' },
  };
}
