// Who a TLS client is, from its certificate's DER bytes: pure functions (node:crypto only for hashes and
// signature checks; no fs, no sockets). Node has no RFC 4514 serializer (X509Certificate.subject is forward
// order with newlines; see ../shared/notes/mtls-backend-pki.md §1.2), so the names are read from the DER here
// with the strict reader of core/der.ts, as are the SANs and the CRLs that revocation needs.
//
// Header safety: every string made here may become an HTTP header value that the proxy's fast path writes raw.
// So control characters and every byte outside printable ASCII are hex-escaped (as OpenSSL's RFC 2253 output
// does): a certificate whose CN holds "\r\nX-Forwarded-For: …" cannot inject a header.

import { X509Certificate, createHash, verify as verifySignature } from 'node:crypto';
import { childrenOf, readTlv, type Tlv } from '../core/der.js';

// ---- DER values (the strict reader is core/der.ts) ---------------------------------------------------------

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) throw new Error(`DER: expected ${what}`);
  return t;
}

export function oidString(buf: Uint8Array, t: Tlv): string {
  const parts: number[] = [];
  let v = 0;
  for (let i = t.start; i < t.end; i++) {
    v = v * 128 + (buf[i]! & 0x7f);
    if (!(buf[i]! & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** An INTEGER (a serial) as upper-case hex without leading zero bytes, an even number of digits. */
export function serialHex(buf: Uint8Array, t: Tlv): string {
  let i = t.start;
  while (i < t.end - 1 && buf[i] === 0) i++;
  return Buffer.from(buf.subarray(i, t.end)).toString('hex').toUpperCase();
}

function parseTime(buf: Uint8Array, t: Tlv): Date {
  const s = Buffer.from(buf.subarray(t.start, t.end)).toString('latin1');
  const m = t.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : t.tag === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (!m) throw new Error('DER: expected a UTCTime or GeneralizedTime in Z form');
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

// ---- distinguished names -------------------------------------------------------------------------------------

/** RFC 4514 §3: the only short names it defines; every other type is written as its dotted OID. */
const RFC4514_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};
/** The names OpenSSL's one-line (Apache legacy) form uses. */
const LEGACY_NAMES: Record<string, string> = {
  ...RFC4514_NAMES,
  '1.2.840.113549.1.9.1': 'emailAddress',
  '2.5.4.5': 'serialNumber',
  '2.5.4.4': 'SN',
  '2.5.4.42': 'GN',
  '2.5.4.12': 'title',
};

interface Ava {
  readonly oid: string;
  /** The decoded text, or undefined for a non-string value (then `der` is used, as #hex). */
  readonly text: string | undefined;
  readonly der: Buffer;
}

function decodeString(buf: Uint8Array, t: Tlv): string | undefined {
  const b = Buffer.from(buf.subarray(t.start, t.end));
  switch (t.tag) {
    case 0x0c: // UTF8String
      return b.toString('utf8');
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x14: // TeletexString (treated as Latin-1, as most software does)
      return b.toString('latin1');
    case 0x1e: {
      // BMPString: UTF-16BE
      if (b.length % 2) return undefined;
      const le = Buffer.alloc(b.length);
      for (let i = 0; i < b.length; i += 2) (le[i] = b[i + 1]!), (le[i + 1] = b[i]!);
      return le.toString('utf16le');
    }
    case 0x1c: {
      // UniversalString: UTF-32BE
      if (b.length % 4) return undefined;
      let s = '';
      for (let i = 0; i < b.length; i += 4) s += String.fromCodePoint(b.readUInt32BE(i));
      return s;
    }
    default:
      return undefined;
  }
}

/** A Name as its RDNs (forward, as in the DER), each a list of AVAs. */
function readName(buf: Uint8Array, name: Tlv): Ava[][] {
  expect(name, 0x30, 'a Name (SEQUENCE)');
  return childrenOf(buf, name).map((rdn) => {
    expect(rdn, 0x31, 'an RDN (SET)');
    return childrenOf(buf, rdn).map((atv) => {
      const [type, value] = childrenOf(buf, expect(atv, 0x30, 'an AttributeTypeAndValue'));
      return { oid: oidString(buf, expect(type, 0x06, 'an attribute type')), text: value ? decodeString(buf, value) : undefined, der: Buffer.from(buf.subarray(value?.head ?? 0, value?.end ?? 0)) };
    });
  });
}

/** Escapes a byte for a header-safe string: control characters, DEL and every byte ≥ 0x80. */
const unsafeByte = (b: number): boolean => b < 0x20 || b >= 0x7f;

/** RFC 4514 §2.4 escaping, plus hex pairs for every byte that is not printable ASCII. */
function escape4514(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const c = String.fromCharCode(b);
    if (unsafeByte(b)) out += `\\${b.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (',+"\\<>;'.includes(c) || (i === 0 && (c === ' ' || c === '#')) || (i === bytes.length - 1 && c === ' ')) out += `\\${c}`;
    else out += c;
  }
  return out;
}

/**
 * The slash form's escaping: OpenSSL writes values raw, so a CN "x/CN=admin" reads as two attributes to an app
 * that splits on '/' (the seed's Flask code does). keygate hex-escapes '/', '=', '+' and '\' inside values (and
 * every unsafe byte) as \xHH, OpenSSL's own escape for non-ASCII: one crafted name can never read as another.
 */
function escapeLegacy(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  let out = '';
  for (const b of bytes) out += unsafeByte(b) || b === 0x2f || b === 0x3d || b === 0x2b || b === 0x5c ? `\\x${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  return out;
}

export type DnFormat = 'rfc4514' | 'legacy';

function formatName(rdns: Ava[][], format: DnFormat): string {
  if (format === 'rfc4514') {
    return [...rdns]
      .reverse() // RFC 4514 §2.1: last RDN first; OpenSSL (and so Apache and nginx) also reverse within an RDN
      .map((rdn) => [...rdn].reverse().map((a) => (RFC4514_NAMES[a.oid] && a.text !== undefined ? `${RFC4514_NAMES[a.oid]}=${escape4514(a.text)}` : `${a.oid}=#${a.der.toString('hex').toUpperCase()}`)).join('+'))
      .join(',');
  }
  return rdns.map((rdn) => '/' + rdn.map((a) => `${LEGACY_NAMES[a.oid] ?? a.oid}=${a.text !== undefined ? escapeLegacy(a.text) : `#${a.der.toString('hex').toUpperCase()}`}`).join('+')).join('');
}

// ---- certificates --------------------------------------------------------------------------------------------

export interface ClientIdentity {
  /** SHA-256 of the certificate's DER, lower-case hex. */
  readonly sha256: string;
  /** Upper-case hex, no leading zero bytes. */
  readonly serial: string;
  /** RFC 4514 strings. */
  readonly subject: string;
  readonly issuer: string;
  /** Subject alternative names as `DNS:x`, `IP:x`, `email:x`, `URI:x` (header-safe). */
  readonly sans: readonly string[];
  /** ISO 8601. */
  readonly notBefore: string;
  readonly notAfter: string;
  /** The chain verified to a CA of server.clientAuth.caFile (and, when set, a pinned fingerprint). */
  readonly verified: boolean;
}

interface ParsedCert {
  readonly serial: string;
  readonly issuerRdns: Ava[][];
  readonly subjectRdns: Ava[][];
  readonly issuerDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly sans: string[];
}

const SAN_OID = '2.5.29.17';
const printable = (s: string): string => escapeLegacy(s).replace(/\\x(2F|3D|2B|5C)/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));

function readSans(buf: Uint8Array, extnValue: Tlv): string[] {
  const names = readTlv(buf, extnValue.start, extnValue.end);
  const out: string[] = [];
  for (const g of childrenOf(buf, expect(names, 0x30, 'GeneralNames'))) {
    const raw = Buffer.from(buf.subarray(g.start, g.end));
    if (g.tag === 0x82) out.push(`DNS:${printable(raw.toString('latin1'))}`);
    else if (g.tag === 0x81) out.push(`email:${printable(raw.toString('latin1'))}`);
    else if (g.tag === 0x86) out.push(`URI:${printable(raw.toString('latin1'))}`);
    else if (g.tag === 0x87 && raw.length === 4) out.push(`IP:${[...raw].join('.')}`);
    else if (g.tag === 0x87 && raw.length === 16) out.push(`IP:${(raw.toString('hex').match(/.{4}/g) ?? []).join(':')}`);
  }
  return out;
}

/** Parses the parts of a certificate identity needs; throws on malformed DER. */
export function parseCertificate(der: Uint8Array): ParsedCert {
  const cert = readTlv(der, 0);
  const [tbs] = childrenOf(der, expect(cert, 0x30, 'a Certificate'));
  const f = childrenOf(der, expect(tbs, 0x30, 'a TBSCertificate'));
  let i = f[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  const serial = serialHex(der, expect(f[i++], 0x02, 'a serial number'));
  i++; // signature AlgorithmIdentifier
  const issuer = expect(f[i++], 0x30, 'an issuer');
  const [nb, na] = childrenOf(der, expect(f[i++], 0x30, 'a validity'));
  const subject = expect(f[i++], 0x30, 'a subject');
  let sans: string[] = [];
  for (const extra of f.slice(i + 1)) {
    if (extra.tag !== 0xa3) continue;
    const exts = readTlv(der, extra.start, extra.end);
    for (const ext of childrenOf(der, expect(exts, 0x30, 'Extensions'))) {
      const parts = childrenOf(der, ext);
      if (oidString(der, expect(parts[0], 0x06, 'an extension id')) === SAN_OID) sans = readSans(der, expect(parts[parts.length - 1], 0x04, 'an extension value'));
    }
  }
  return {
    serial,
    issuerRdns: readName(der, issuer),
    subjectRdns: readName(der, subject),
    issuerDer: Buffer.from(der.subarray(issuer.head, issuer.end)),
    notBefore: parseTime(der, nb!),
    notAfter: parseTime(der, na!),
    sans,
  };
}

/** A certificate's subject or issuer in the chosen format, from its DER. */
export function distinguishedName(der: Uint8Array, which: 'subject' | 'issuer', format: DnFormat): string {
  const c = parseCertificate(der);
  return formatName(which === 'subject' ? c.subjectRdns : c.issuerRdns, format);
}

/** The identity of a client certificate (DER); `verified` is the caller's verdict (TLS chain + pins). */
export function identityFromDer(der: Uint8Array, verified: boolean): ClientIdentity {
  const c = parseCertificate(der);
  return {
    sha256: createHash('sha256').update(der).digest('hex'),
    serial: c.serial,
    subject: formatName(c.subjectRdns, 'rfc4514'),
    issuer: formatName(c.issuerRdns, 'rfc4514'),
    sans: c.sans,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    verified,
  };
}

/** (issuer DER, serial): what a CRL entry names, as one string key. */
export function revocationKey(issuerDer: Uint8Array, serial: string): string {
  return `${Buffer.from(issuerDer).toString('hex')}:${serial}`;
}

/** The revocation key of a certificate (DER). */
export function certificateRevocationKey(der: Uint8Array): string {
  const c = parseCertificate(der);
  return revocationKey(c.issuerDer, c.serial);
}

// ---- CRLs ----------------------------------------------------------------------------------------------------------

export interface Crl {
  readonly issuer: string;
  readonly issuerDer: Buffer;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  /** The cRLNumber extension, when present. */
  readonly number: bigint | undefined;
  /** Revocation keys (revocationKey(issuerDer, serial)) of every listed certificate. */
  readonly revoked: ReadonlySet<string>;
  readonly der: Buffer;
}

/** Signature algorithms a CRL may use, by OID → the hash for crypto.verify (null: the key type decides). */
const SIG_HASH: Record<string, string | null> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null, // Ed25519
};

interface ParsedCrl extends Crl {
  readonly tbs: Buffer;
  readonly sigOid: string;
  readonly signature: Buffer;
}

/** Parses a DER CRL; throws on malformed input. */
export function parseCrl(der: Buffer): ParsedCrl {
  const list = readTlv(der, 0);
  if (list.end !== der.length) throw new Error('DER: trailing bytes after the CRL');
  const [tbs, alg, sig] = childrenOf(der, expect(list, 0x30, 'a CertificateList'));
  const f = childrenOf(der, expect(tbs, 0x30, 'a TBSCertList'));
  let i = f[0]?.tag === 0x02 ? 1 : 0; // version
  i++; // signature AlgorithmIdentifier (inner)
  const issuer = expect(f[i++], 0x30, 'a CRL issuer');
  const issuerDer = Buffer.from(der.subarray(issuer.head, issuer.end));
  const thisUpdate = parseTime(der, f[i++]!);
  let nextUpdate: Date | undefined;
  if (f[i] && (f[i]!.tag === 0x17 || f[i]!.tag === 0x18)) nextUpdate = parseTime(der, f[i++]!);
  const revoked = new Set<string>();
  if (f[i]?.tag === 0x30) {
    for (const entry of childrenOf(der, f[i++]!)) revoked.add(revocationKey(issuerDer, serialHex(der, expect(childrenOf(der, entry)[0], 0x02, 'a revoked serial'))));
  }
  let number: bigint | undefined;
  if (f[i]?.tag === 0xa0) {
    for (const ext of childrenOf(der, expect(readTlv(der, f[i]!.start, f[i]!.end), 0x30, 'crlExtensions'))) {
      const parts = childrenOf(der, ext);
      if (oidString(der, expect(parts[0], 0x06, 'an extension id')) !== '2.5.29.20') continue;
      const value = expect(parts[parts.length - 1], 0x04, 'an extension value');
      const int = expect(readTlv(der, value.start, value.end), 0x02, 'a CRL number');
      number = BigInt(`0x${Buffer.from(der.subarray(int.start, int.end)).toString('hex') || '0'}`);
    }
  }
  const algId = childrenOf(der, expect(alg, 0x30, 'a signature algorithm'));
  const bits = expect(sig, 0x03, 'a signature BIT STRING');
  if (der[bits.start] !== 0) throw new Error('DER: signature BIT STRING with unused bits');
  return {
    issuer: formatName(readName(der, issuer), 'rfc4514'),
    issuerDer,
    thisUpdate,
    nextUpdate,
    number,
    revoked,
    der,
    tbs: Buffer.from(der.subarray(tbs!.head, tbs!.end)),
    sigOid: oidString(der, expect(algId[0], 0x06, 'a signature algorithm id')),
    signature: Buffer.from(der.subarray(bits.start + 1, bits.end)),
  };
}

/**
 * Parses a CRL and checks it was signed by one of the CAs (DER certificates): its issuer name must be a CA's
 * subject and the signature must verify with that CA's key. Returns the CRL, or a string saying why not.
 */
export function checkCrl(der: Buffer, cas: readonly Buffer[]): Crl | string {
  let crl: ParsedCrl;
  try {
    crl = parseCrl(der);
  } catch (err) {
    return `not a well-formed CRL (${(err as Error).message})`;
  }
  const hash = SIG_HASH[crl.sigOid];
  if (hash === undefined) return `signature algorithm ${crl.sigOid} is not accepted (RSA PKCS#1 or ECDSA with SHA-256/384/512, or Ed25519)`;
  const issuers = cas.filter((ca) => Buffer.compare(subjectDer(ca), crl.issuerDer) === 0);
  if (issuers.length === 0) return `its issuer ${crl.issuer} is not a CA of server.clientAuth.caFile`;
  for (const ca of issuers) {
    try {
      if (verifySignature(hash, crl.tbs, new X509Certificate(ca).publicKey, crl.signature)) return crl;
    } catch {
      /* a key type that does not fit the algorithm: try the next CA with this name */
    }
  }
  return `its signature does not verify with the key of ${crl.issuer}`;
}

function subjectDer(der: Uint8Array): Buffer {
  const cert = readTlv(der, 0);
  const f = childrenOf(der, childrenOf(der, cert)[0]!);
  const i = f[0]?.tag === 0xa0 ? 1 : 0;
  const subject = f[i + 4]!;
  return Buffer.from(der.subarray(subject.head, subject.end));
}
