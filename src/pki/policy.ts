// The dev PKI's policy, pure: what a CA, a server and a client certificate get, which names and keys are
// acceptable, what a CSR may bring in (its subject and names, never its extensions), validity windows, serials,
// CRL reasons and the two PKCS#12 profiles. No crypto, no files: src/pki/engine.ts turns a plan into a signed
// certificate. Profiles follow shared/notes/mtls-backend-pki.md §3 (mkcert, smallstep, cfssl, Apple's rules).

import { isIP } from 'node:net'; // a pure function: no socket is opened
import { childrenOf, contentOf, implicitConstructed, implicitPrimitive, readTlv, seq } from '../core/der.js';

export type KeyType = 'ec' | 'rsa' | 'ed25519';
export type LeafKind = 'server' | 'client';
export type SanType = 'dns' | 'ip' | 'email' | 'uri';

export interface San {
  readonly type: SanType;
  readonly value: string;
}

/** One subject attribute, by its short name. */
export interface Rdn {
  readonly type: SubjectAttr;
  readonly value: string;
}

export const SUBJECT_ATTRS = ['CN', 'O', 'OU', 'C', 'L', 'ST'] as const;
export type SubjectAttr = (typeof SUBJECT_ATTRS)[number];

/** A policy failure: the caller turns it into a KeygateError (USAGE or PKI_POLICY). */
export class PolicyError extends Error {
  override name = 'PolicyError';
}

/** Parses `CN=keygate dev CA,O=Acme\, Inc.` (a backslash escapes the next character). */
export function parseSubject(text: string): Rdn[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) cur += text[++i]!;
    else if (ch === ',') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  const rdns = parts.map((p) => {
    const eq = p.indexOf('=');
    if (eq < 1) throw new PolicyError(`subject part ${JSON.stringify(p.trim())} is not TYPE=value`);
    const type = p.slice(0, eq).trim().toUpperCase();
    const value = p.slice(eq + 1).trim();
    return checkRdn(type, value);
  });
  if (!rdns.some((r) => r.type === 'CN')) throw new PolicyError('the subject needs a CN (e.g. CN=keygate dev CA)');
  return rdns;
}

/** One attribute checked against the allowed types and X.520 upper bounds (RFC 5280 appendix A.1). */
export function checkRdn(type: string, value: string): Rdn {
  if (!(SUBJECT_ATTRS as readonly string[]).includes(type)) throw new PolicyError(`subject attribute ${type} is not allowed (use ${SUBJECT_ATTRS.join(', ')})`);
  if (value === '') throw new PolicyError(`subject attribute ${type} is empty`);
  if (/[\x00-\x1f\x7f]/.test(value)) throw new PolicyError(`subject attribute ${type} holds a control character`);
  if (type === 'C' && !/^[A-Z]{2}$/.test(value)) throw new PolicyError(`subject attribute C must be two capital letters (ISO 3166), got ${JSON.stringify(value)}`);
  if (value.length > 64) throw new PolicyError(`subject attribute ${type} is longer than 64 characters`);
  return { type: type as SubjectAttr, value };
}

/** RFC 1123 host name, lower case; `*.` in front only where wildcards are allowed. */
export function isDnsName(name: string, allowWildcard: boolean): boolean {
  const host = allowWildcard && name.startsWith('*.') ? name.slice(2) : name;
  if (host.length === 0 || host.length > 253) return false;
  return host.split('.').every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l));
}

/** `DNS:localhost`, `IP:127.0.0.1`, `email:a@b.test`, `URI:spiffe://x/y`; a bare name or address is DNS or IP. */
export function parseSan(text: string): San {
  const m = /^(dns|ip|email|uri):(.*)$/i.exec(text.trim());
  const [type, raw] = m ? [m[1]!.toLowerCase() as SanType, m[2]!] : [isIP(text.trim()) ? 'ip' : 'dns', text.trim()] as const;
  return checkSan({ type, value: raw });
}

/** One SAN checked for syntax (DNS names lower-cased). */
export function checkSan(san: San): San {
  const v = san.value;
  switch (san.type) {
    case 'dns': {
      const lower = v.toLowerCase();
      if (!isDnsName(lower, true)) throw new PolicyError(`SAN DNS:${v} is not a valid host name`);
      return { type: 'dns', value: lower };
    }
    case 'ip':
      if (!isIP(v)) throw new PolicyError(`SAN IP:${v} is not an IPv4 or IPv6 address`);
      return { type: 'ip', value: v };
    case 'email':
      if (!/^[^\s@]+@[^\s@]+$/.test(v) || !isDnsName(v.slice(v.lastIndexOf('@') + 1).toLowerCase(), false)) throw new PolicyError(`SAN email:${v} is not a mail address`);
      return { type: 'email', value: v };
    case 'uri':
      if (!/^[a-z][a-z0-9+.-]*:[^\s]+$/i.test(v)) throw new PolicyError(`SAN URI:${v} is not an absolute URI`);
      return { type: 'uri', value: v };
  }
}

export const sanText = (s: San): string => `${{ dns: 'DNS', ip: 'IP', email: 'email', uri: 'URI' }[s.type]}:${s.value}`;

/** The name types each leaf profile may carry. */
const SAN_TYPES: Record<LeafKind, readonly SanType[]> = { server: ['dns', 'ip'], client: ['dns', 'ip', 'email', 'uri'] };

// ---- name constraints (RFC 5280 §4.2.1.10) ---------------------------------------------------------------

export interface IpRange {
  /** Network address bytes (4 or 16). */
  readonly address: number[];
  readonly prefix: number;
}

export interface NameConstraints {
  /** Host names: `test` permits test and every name under it; `.test` only names under it. */
  readonly permittedDns: readonly string[];
  readonly permittedIp: readonly IpRange[];
}

/** IPv4 or IPv6 address as bytes. */
export function ipBytes(ip: string): number[] {
  if (isIP(ip) === 4) return ip.split('.').map(Number);
  if (isIP(ip) !== 6) throw new PolicyError(`${ip} is not an IP address`);
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text); // ::ffff:1.2.3.4
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** `127.0.0.0/8` or `fd00::/8`; the host bits must be zero. */
export function parseCidr(text: string): IpRange {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m || !isIP(m[1]!)) throw new PolicyError(`--permit-ip ${text}: expected ADDRESS/PREFIX, e.g. 127.0.0.0/8`);
  const address = ipBytes(m[1]!);
  const prefix = Number(m[2]);
  if (prefix > address.length * 8) throw new PolicyError(`--permit-ip ${text}: prefix longer than the address`);
  const masked = applyMask(address, prefix);
  if (masked.some((b, i) => b !== address[i])) throw new PolicyError(`--permit-ip ${text}: host bits are set (did you mean ${formatCidr({ address: masked, prefix })}?)`);
  return { address, prefix };
}

function applyMask(address: number[], prefix: number): number[] {
  return address.map((b, i) => b & maskByte(prefix, i));
}

const maskByte = (prefix: number, i: number): number => (prefix >= (i + 1) * 8 ? 0xff : prefix <= i * 8 ? 0 : (0xff << (8 - (prefix - i * 8))) & 0xff);

/** The mask bytes of a prefix, as the iPAddress name constraint carries them (address ‖ mask). */
export const maskBytes = (r: IpRange): number[] => r.address.map((_, i) => maskByte(r.prefix, i));

export function formatCidr(r: IpRange): string {
  if (r.address.length === 4) return `${r.address.join('.')}/${r.prefix}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((r.address[i]! << 8) | r.address[i + 1]!).toString(16));
  return `${groups.join(':')}/${r.prefix}`;
}

/** A DNS name constraint, lower-cased; a leading dot is kept (it means "below, not at"). */
export function parseDnsConstraint(text: string): string {
  const c = text.trim().toLowerCase();
  if (!isDnsName(c.startsWith('.') ? c.slice(1) : c, false)) throw new PolicyError(`--permit-dns ${text}: not a host name or .domain`);
  return c;
}

/** The NameConstraints extension value: permittedSubtrees [0] of dNSName [2] / iPAddress [7] (address ‖ mask). */
export function encodeNameConstraints(nc: NameConstraints): Buffer {
  const subtrees = [
    ...nc.permittedDns.map((d) => seq(implicitPrimitive(2, Buffer.from(d, 'ascii')))),
    ...nc.permittedIp.map((r) => seq(implicitPrimitive(7, Buffer.from([...r.address, ...maskBytes(r)])))),
  ];
  return seq(implicitConstructed(0, Buffer.concat(subtrees)));
}

/**
 * Reads the permitted DNS and IP subtrees of a NameConstraints value. A constraint keygate does not model
 * (excluded subtrees, other name types) makes it throw: issuing under a CA whose limits it cannot check
 * would be guessing.
 */
export function decodeNameConstraints(der: Uint8Array): NameConstraints {
  const top = readTlv(der, 0);
  if (top.tag !== 0x30 || top.end !== der.length) throw new PolicyError('NameConstraints: not one SEQUENCE');
  const permittedDns: string[] = [];
  const permittedIp: IpRange[] = [];
  for (const part of childrenOf(der, top)) {
    if (part.tag !== 0xa0) throw new PolicyError('the CA has excluded subtrees in its name constraints, which keygate does not check');
    for (const subtree of childrenOf(der, part)) {
      const [base, ...rest] = childrenOf(der, subtree);
      if (!base || rest.length) throw new PolicyError('the CA has name constraints with minimum/maximum, which keygate does not check');
      const value = contentOf(der, base);
      if (base.tag === 0x82) permittedDns.push(value.toString('ascii').toLowerCase());
      else if (base.tag === 0x87 && (value.length === 8 || value.length === 32)) {
        const n = value.length / 2;
        const address = [...value.subarray(0, n)];
        const mask = [...value.subarray(n)];
        const prefix = mask.reduce((acc, m) => acc + ((m.toString(2).match(/1/g) ?? []).length), 0);
        permittedIp.push({ address, prefix });
      } else throw new PolicyError(`the CA constrains a name type keygate does not check (tag 0x${base.tag.toString(16)})`);
    }
  }
  return { permittedDns, permittedIp };
}

/** Whether the CA's name constraints let this SAN through (name types without constraints pass). */
export function sanPermitted(san: San, nc: NameConstraints | undefined): boolean {
  if (!nc) return true;
  if (san.type === 'dns' && nc.permittedDns.length) {
    const name = san.value.startsWith('*.') ? san.value.slice(2) : san.value;
    return nc.permittedDns.some((c) => (c.startsWith('.') ? name.endsWith(c) : name === c || name.endsWith(`.${c}`)));
  }
  if (san.type === 'ip' && nc.permittedIp.length) {
    const b = ipBytes(san.value);
    return nc.permittedIp.some((r) => r.address.length === b.length && applyMask(b, r.prefix).every((x, i) => x === r.address[i]));
  }
  return true;
}

/**
 * Whether OpenSSL takes a CN for a host name (crypto/x509/v3_ncons.c cn2dnsid): letters, digits and `_`, with `-`
 * and `.` only inside, a dot between two labels, at least one dot. Such a CN, in a leaf without a DNS SAN, is
 * checked against the CA's DNS name constraints (verify error 47 when outside).
 */
export function cnLooksLikeHost(cn: string): boolean {
  const v = cn.length > 1 && cn.endsWith('.') ? cn.slice(0, -1) : cn;
  let dotted = false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (/[A-Za-z0-9_]/.test(c)) continue;
    if (i === 0 || i === v.length - 1) return false;
    if (c === '-') continue;
    if (c === '.' && v[i + 1] !== '.' && v[i - 1] !== '-' && v[i + 1] !== '-') {
      dotted = true;
      continue;
    }
    return false;
  }
  return dotted;
}

/**
 * Why this CN cannot go into a leaf with these SANs under this CA, or undefined. A server's CN must repeat one of
 * its SANs (CA/Browser Forum BR 7.1.4.3: a CN elsewhere is a name no SAN vouches for and no constraint checked);
 * any leaf's host-like CN must be inside the DNS constraints when it has no DNS SAN, or OpenSSL rejects it.
 */
export function cnProblem(kind: LeafKind, cn: string, sans: readonly San[], nc: NameConstraints | undefined): string | undefined {
  if (kind === 'server' && !sans.some((s) => (s.type === 'dns' ? s.value === cn.toLowerCase() : s.value === cn))) {
    return `the CN ${cn} is not one of the certificate's SANs (${sans.map(sanText).join(', ')}): a server's CN must repeat a SAN, or clients and name constraints never check it`;
  }
  if (nc?.permittedDns.length && !sans.some((s) => s.type === 'dns') && cnLooksLikeHost(cn)) {
    const host = cn.toLowerCase().replace(/\.$/, '');
    if (!sanPermitted({ type: 'dns', value: host }, nc)) {
      return `the CN ${cn} looks like a host name and the certificate has no DNS SAN, so OpenSSL checks it against the CA's DNS name constraints (${nc.permittedDns.join(', ')}) and rejects the certificate (verify error 47, permitted subtree violation)`;
    }
  }
  return undefined;
}

/** Refuses a subject whose CNs cnProblem rejects, with the reason and what to type instead. */
export function checkSubjectNames(kind: LeafKind, subject: readonly Rdn[], sans: readonly San[], nc: NameConstraints | undefined): void {
  for (const r of subject) {
    if (r.type !== 'CN') continue;
    const why = cnProblem(kind, r.value, sans, nc);
    if (why) {
      const inSans = sans.some((s) => s.value === r.value.toLowerCase() || s.value === r.value);
      const fix =
        kind === 'client'
          ? `use a CN that is not a dotted name (e.g. --cn "${r.value.replace(/[._]+/g, ' ')}") or add a DNS SAN inside the constraints`
          : inSans
            ? 'add a DNS SAN inside the constraints (OpenSSL then checks the SANs, not the CN)'
            : `leave out --cn (the first SAN is used) or add it as a SAN (--san DNS:${r.value})`;
      throw new PolicyError(`${why}: ${fix}`);
    }
  }
}

// ---- extension plans ---------------------------------------------------------------------------------------

export type KeyUsage = 'digitalSignature' | 'keyEncipherment' | 'keyCertSign' | 'cRLSign';
export type ExtKeyUsage = 'serverAuth' | 'clientAuth';

/** What a certificate gets, beyond subject, key and validity; engine.ts writes exactly this. */
export interface ExtensionPlan {
  readonly ca: boolean;
  /** CA only: the path length constraint (0: it may sign leaves, no sub-CAs). */
  readonly pathLength?: number;
  readonly keyUsage: readonly KeyUsage[];
  readonly extKeyUsage: readonly ExtKeyUsage[];
  readonly sans: readonly San[];
  readonly nameConstraints?: NameConstraints;
}

/** The CA profile: CA:TRUE pathlen 0 (critical), keyCertSign + cRLSign (critical), optional name constraints. */
export function caPlan(nameConstraints?: NameConstraints): ExtensionPlan {
  const nc = nameConstraints && (nameConstraints.permittedDns.length || nameConstraints.permittedIp.length) ? nameConstraints : undefined;
  return { ca: true, pathLength: 0, keyUsage: ['keyCertSign', 'cRLSign'], extKeyUsage: [], sans: [], ...(nc ? { nameConstraints: nc } : {}) };
}

/**
 * A leaf profile: CA:FALSE, digitalSignature (+ keyEncipherment for RSA key transport in TLS 1.2), one EKU.
 * Server certificates need a DNS or IP SAN (Apple, and browsers since 2017, ignore the CN). Every SAN must be
 * of a type the profile carries and inside the CA's name constraints.
 */
export function leafPlan(kind: LeafKind, keyType: KeyType, sans: readonly San[], caConstraints?: NameConstraints): ExtensionPlan {
  for (const s of sans) {
    if (!SAN_TYPES[kind].includes(s.type)) throw new PolicyError(`a ${kind} certificate cannot carry ${sanText(s)} (allowed: ${SAN_TYPES[kind].join(', ')})`);
    if (s.type === 'dns' && s.value.startsWith('*.') && kind === 'client') throw new PolicyError(`a client certificate cannot carry a wildcard (${sanText(s)})`);
    if (!sanPermitted(s, caConstraints)) throw new PolicyError(`${sanText(s)} is outside the CA's name constraints`);
  }
  if (kind === 'server' && !sans.some((s) => s.type === 'dns' || s.type === 'ip')) {
    throw new PolicyError('a server certificate needs at least one DNS or IP SAN (--san DNS:localhost --san IP:127.0.0.1)');
  }
  return {
    ca: false,
    keyUsage: keyType === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'],
    extKeyUsage: [kind === 'server' ? 'serverAuth' : 'clientAuth'],
    sans: dedupe(sans),
  };
}

function dedupe(sans: readonly San[]): San[] {
  const seen = new Set<string>();
  return sans.filter((s) => !seen.has(sanText(s)) && seen.add(sanText(s)));
}

// ---- CSRs ------------------------------------------------------------------------------------------------

/** What a CSR asked for, read by engine.ts from the verified request. */
export interface CsrRequest {
  /** Subject attributes as [short name or dotted OID, value]. */
  readonly subject: readonly (readonly [string, string])[];
  readonly sans: readonly San[];
  /** Names of the other requested extensions (basicConstraints, extKeyUsage, …), for the report. */
  readonly otherExtensions: readonly string[];
}

export interface CsrDecision {
  readonly subject: Rdn[];
  readonly sans: San[];
  /** Everything left out, one reason each (the command prints them). */
  readonly dropped: string[];
}

/**
 * What a certificate signed from this CSR may carry: subject attributes of the allowed types, and SANs of the
 * profile's types inside the name constraints. Requested extensions are never copied (a CSR could ask for
 * CA:TRUE): the profile decides basicConstraints, key usage and EKU.
 */
export function decideCsr(kind: LeafKind, req: CsrRequest, caConstraints?: NameConstraints): CsrDecision {
  const dropped: string[] = [];
  const subject: Rdn[] = [];
  for (const [type, value] of req.subject) {
    try {
      subject.push(checkRdn(type.toUpperCase(), value));
    } catch (err) {
      dropped.push(`subject ${type}=${value}: ${(err as Error).message}`);
    }
  }
  const sans: San[] = [];
  for (const s of req.sans) {
    let checked: San;
    try {
      checked = checkSan(s);
    } catch (err) {
      dropped.push((err as Error).message);
      continue;
    }
    if (!SAN_TYPES[kind].includes(checked.type)) dropped.push(`${sanText(checked)}: a ${kind} certificate does not carry this name type`);
    else if (kind === 'client' && checked.type === 'dns' && checked.value.startsWith('*.')) dropped.push(`${sanText(checked)}: no wildcards in client certificates`);
    else if (!sanPermitted(checked, caConstraints)) dropped.push(`${sanText(checked)}: outside the CA's name constraints`);
    else sans.push(checked);
  }
  for (const ext of req.otherExtensions) dropped.push(`requested extension ${ext}: never copied (the ${kind} profile sets its own)`);
  if (kind === 'server' && sans.length === 0) throw new PolicyError('the CSR has no DNS or IP name that the server profile accepts');
  // A server CN that no SAN repeats is left out (the SANs name the server); a client's CN is its identity, so a
  // CN OpenSSL would reject is refused rather than changed.
  for (let i = subject.length - 1; i >= 0; i--) {
    const r = subject[i]!;
    if (r.type !== 'CN') continue;
    const why = cnProblem(kind, r.value, sans, caConstraints);
    if (!why) continue;
    if (kind === 'client') throw new PolicyError(`${why}: ask for a CSR whose CN is not a dotted name, or with a DNS SAN inside the constraints`);
    dropped.push(`subject CN=${r.value}: ${why}`);
    subject.splice(i, 1);
  }
  if (kind === 'server' && !subject.some((r) => r.type === 'CN')) {
    const first = sans.find((s) => !cnProblem(kind, s.value, sans, caConstraints));
    if (first) subject.push({ type: 'CN', value: first.value });
  }
  if (kind === 'client' && sans.length === 0 && !subject.some((r) => r.type === 'CN')) throw new PolicyError('the CSR has neither a CN nor a name the client profile accepts');
  return { subject, sans: dedupe(sans), dropped };
}

/** Keys keygate signs for: RSA of 2048 bits or more, EC on P-256/P-384, Ed25519. */
export function checkPublicKey(k: { type: string; bits?: number; curve?: string }): void {
  if (k.type === 'rsa' && (k.bits ?? 0) >= 2048) return;
  if (k.type === 'ec' && (k.curve === 'prime256v1' || k.curve === 'P-256' || k.curve === 'secp384r1' || k.curve === 'P-384')) return;
  if (k.type === 'ed25519') return;
  const what = k.type === 'rsa' ? `RSA ${k.bits ?? '?'} bits` : k.type === 'ec' ? `EC ${k.curve ?? '?'}` : k.type.toUpperCase();
  throw new PolicyError(`the key is ${what}: keygate signs RSA ≥ 2048, EC P-256/P-384 or Ed25519 keys`);
}

// ---- validity and serials ------------------------------------------------------------------------------------

/**
 * Default and maximum lifetimes, in days. Leaves: 397 (Apple's recommendation for any TLS certificate, also
 * under user-added roots, support.apple.com/102028), at most 825 (Apple's hard limit for private roots,
 * support.apple.com/103769). CA: 10 years, like mkcert.
 */
export const LIFETIME = { ca: { default: 3650, max: 36500 }, server: { default: 397, max: 825 }, client: { default: 397, max: 825 } } as const;

/** Backdating notBefore tolerates small clock skew between the CA's machine and the peers. */
export const BACKDATE_MS = 5 * 60 * 1000;

export function validity(kind: keyof typeof LIFETIME, days: number | undefined, now: Date): { notBefore: Date; notAfter: Date; days: number } {
  const d = days ?? LIFETIME[kind].default;
  if (!Number.isInteger(d) || d < 1 || d > LIFETIME[kind].max) throw new PolicyError(`--days ${days} is out of range for a ${kind === 'ca' ? 'CA' : kind} certificate (1 to ${LIFETIME[kind].max})`);
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  return { notBefore, notAfter: new Date(now.getTime() + d * 86_400_000), days: d };
}

/**
 * A serial from 16 random bytes: positive and 128 bits long (CA/B BRs ask for ≥ 64 random bits; RFC 5280
 * §4.1.2.2 allows 20 octets). A zero first byte is bumped so the integer keeps its full length and stays minimal
 * DER; a first byte ≥ 0x80 gets a 00 in front so the integer is not negative. Returns hex.
 */
export function serialFromRandom(random: Uint8Array): string {
  if (random.length !== 16) throw new RangeError('serialFromRandom: need 16 bytes');
  const b = Buffer.from(random);
  if (b[0] === 0) b[0] = 1;
  return (b[0]! & 0x80 ? '00' : '') + b.toString('hex');
}

// ---- CRL -------------------------------------------------------------------------------------------------

/** RFC 5280 §5.3.1 CRLReason codes (certificateHold and removeFromCRL left out: no holds in a dev CA). */
export const CRL_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
} as const;
export type CrlReason = keyof typeof CRL_REASONS;

/** `7d`, `12h`, `30m` → milliseconds; a CRL's next update lies 1 minute to 1 year ahead. */
export function parseDuration(text: string): number {
  const m = /^(\d+)([dhm])$/.exec(text.trim());
  if (!m) throw new PolicyError(`--next-update ${text}: expected a number and d, h or m (e.g. 7d)`);
  const ms = Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
  if (ms < 60_000 || ms > 366 * 86_400_000) throw new PolicyError(`--next-update ${text}: must be between 1m and 366d`);
  return ms;
}

/** A serial as typed by a user (hex, colons allowed, as openssl prints it) → lower-case hex without leading zeros. */
export function normalizeSerial(text: string): string {
  const hex = text.trim().replace(/^0x/i, '').replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex) || hex.length > 40) throw new PolicyError(`serial ${text} is not hexadecimal (as openssl x509 -serial prints it)`);
  return hex.replace(/^0+(?=.)/, '');
}

// ---- PKCS#12 profiles ----------------------------------------------------------------------------------------

export type P12ProfileName = 'modern' | 'compat';

export interface P12Profile {
  /** pbes2: PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC (RFC 8018); sha1-3des: pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 appendix C). */
  readonly encryption: 'pbes2-aes256-sha256' | 'pkcs12-sha1-3des';
  readonly macHash: 'sha256' | 'sha1';
  readonly iterations: number;
}

/**
 * modern: what OpenSSL 3 and `step certificate p12` write by default; Java 12+, Node, curl and Windows 10 1709+
 * read it. compat: 3DES and a SHA-1 MAC for older macOS keychains that reject the modern MAC
 * ("MAC verification failed", e.g. OpenVPN/easy-rsa#957). Never RC2: OpenSSL 3 and Node read it only with the
 * legacy provider. 10,000 iterations: keytool's default (keygate keystore create uses the same).
 */
export const P12_PROFILES: Record<P12ProfileName, P12Profile> = {
  modern: { encryption: 'pbes2-aes256-sha256', macHash: 'sha256', iterations: 10_000 },
  compat: { encryption: 'pkcs12-sha1-3des', macHash: 'sha1', iterations: 10_000 },
};

/** PBKDF2-HMAC-SHA256 iterations for the CA key at rest (OWASP password storage cheat sheet, 2023: 600,000). */
export const CA_KEY_ITERATIONS = 600_000;
