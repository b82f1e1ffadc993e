// DER (ITU-T X.690) for the few structures keygate handles itself. Writing: PKCS#12 files, encrypted PKCS#8 keys
// and the NameConstraints extension. Reading (strict, definite lengths only): client certificates, CRLs and a
// CA's NameConstraints. Certificates keygate issues are written by @peculiar/x509 (src/pki/engine.ts).
// Why by hand: these are a dozen fixed shapes, and the PKCS#12 libraries either cannot do the modern profile
// (node-forge: SHA-1 PRF and MAC, RSA only) or bring a second ASN.1 stack (pkijs); openssl, keytool and
// keygate's own loader are the tests that the bytes are right (test/pki.e2e.test.ts).

/** One TLV: tag byte, definite length, contents. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

export const seq = (...items: Uint8Array[]): Buffer => tlv(0x30, Buffer.concat(items));
/** SET OF: DER wants the encodings sorted (X.690 §11.6). */
export const set = (...items: Uint8Array[]): Buffer => tlv(0x31, Buffer.concat([...items].map((i) => Buffer.from(i)).sort(Buffer.compare)));
export const octets = (b: Uint8Array): Buffer => tlv(0x04, b);
export const nul = (): Buffer => Buffer.from([0x05, 0x00]);
/** [n] EXPLICIT (constructed, context-specific). */
export const explicit = (n: number, inner: Uint8Array): Buffer => tlv(0xa0 | n, inner);
/** [n] IMPLICIT over a primitive value. */
export const implicitPrimitive = (n: number, content: Uint8Array): Buffer => tlv(0x80 | n, content);
/** [n] IMPLICIT over a constructed value (SEQUENCE OF …). */
export const implicitConstructed = (n: number, content: Uint8Array): Buffer => tlv(0xa0 | n, content);

/** A non-negative INTEGER (minimal two's complement: a leading 0 only when the top bit is set). */
export function int(value: number | bigint): Buffer {
  let v = BigInt(value);
  if (v < 0n) throw new RangeError('int: negative values are not written here');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map((p) => {
    if (!/^\d+$/.test(p)) throw new RangeError(`oid: bad arc in ${dotted}`);
    return BigInt(p);
  });
  if (parts.length < 2) throw new RangeError(`oid: ${dotted} has fewer than two arcs`);
  const arcs = [parts[0]! * 40n + parts[1]!, ...parts.slice(2)];
  const out: number[] = [];
  for (const arc of arcs) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** BMPString (UTF-16BE), what PKCS#12 friendlyName holds. */
export function bmpString(s: string): Buffer {
  const b = Buffer.alloc(s.length * 2);
  for (let i = 0; i < s.length; i++) b.writeUInt16BE(s.charCodeAt(i), i * 2);
  return tlv(0x1e, b);
}

/** PEM armour, 64 columns (RFC 7468). */
export function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

// ---- reading -----------------------------------------------------------------------------------------------

export interface Tlv {
  readonly tag: number;
  /** First byte of the value. */
  readonly start: number;
  /** One past the last byte of the value. */
  readonly end: number;
  /** First byte of the header (the tag): bytes.subarray(head, end) is the whole element. */
  readonly head: number;
}

/** One DER element at pos; throws on anything malformed (indefinite lengths, overruns, high tag numbers). */
export function readTlv(buf: Uint8Array, pos: number, limit = buf.length): Tlv {
  if (pos + 2 > limit) throw new Error('DER: truncated header');
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('DER: high tag numbers are not supported');
  let len = buf[pos + 1]!;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('DER: unsupported length form');
    if (p + n > limit) throw new Error('DER: truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > limit) throw new Error('DER: element overruns its container');
  return { tag, start: p, end: p + len, head: pos };
}

/** The elements inside a constructed element. */
export function childrenOf(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.start; p < parent.end; ) {
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** The contents of an element. */
export const contentOf = (buf: Uint8Array, t: Tlv): Buffer => Buffer.from(buf.buffer, buf.byteOffset + t.start, t.end - t.start);

/** The DER of every PEM block with the given label ('CERTIFICATE', 'X509 CRL'); other blocks are ignored. */
export function pemBlocks(text: string, label: string): Buffer[] {
  const out: Buffer[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  for (const m of text.matchAll(re)) if (m[1] === label) out.push(Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64'));
  return out;
}
