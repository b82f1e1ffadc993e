// A minimal DER writer (ITU-T X.690) for the few structures keygate writes itself: PKCS#12 files, encrypted
// PKCS#8 keys and the NameConstraints extension. Only writing: reading is left to Node and @peculiar/x509.
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

/** One TLV read at `offset`: its tag, contents and where the next one starts (definite lengths only). */
export function readTlv(buf: Uint8Array, offset: number): { tag: number; content: Buffer; next: number } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (offset + 2 > b.length) throw new RangeError('DER: truncated');
  const tag = b[offset]!;
  let len = b[offset + 1]!;
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > b.length) throw new RangeError('DER: bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
    p += n;
  }
  if (p + len > b.length) throw new RangeError('DER: truncated');
  return { tag, content: b.subarray(p, p + len), next: p + len };
}

/** The TLVs inside a constructed value's contents. */
export function readAll(content: Uint8Array): { tag: number; content: Buffer }[] {
  const out: { tag: number; content: Buffer }[] = [];
  for (let p = 0; p < content.length; ) {
    const t = readTlv(content, p);
    out.push({ tag: t.tag, content: t.content });
    p = t.next;
  }
  return out;
}
