// The PKCS#12 MAC check with Node's native hashes instead of node-forge's JavaScript ones.
// forge derives the MAC key (RFC 7292 appendix B, iterated hashing) in pure JS, blocking the event loop for a
// time that grows with the keystore's iteration count (findings §1.5). The
// same derivation with node:crypto runs the hash natively. After a successful check the caller removes the
// MAC from the structure so forge does not derive it a second time.

import * as crypto from 'node:crypto';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type forge from 'node-forge';

const HASHES: Record<string, { name: string; v: number; u: number }> = {
  '1.3.14.3.2.26': { name: 'sha1', v: 64, u: 20 },
  '2.16.840.1.101.3.4.2.4': { name: 'sha224', v: 64, u: 28 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', v: 64, u: 32 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', v: 128, u: 48 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', v: 128, u: 64 },
};

/** The PKCS#12 password encoding: BMPString (UTF-16BE) with a two-byte NUL terminator. */
function bmpPassword(password: string): Buffer {
  const b = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) b.writeUInt16BE(password.charCodeAt(i), i * 2);
  return b;
}

function repeatTo(src: Buffer, v: number): Buffer {
  if (src.length === 0) return src;
  const len = v * Math.ceil(src.length / v);
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i++) out[i] = src[i % src.length]!;
  return out;
}

// crypto.hash (Node 20.12+, feature-detected): one call per iteration instead of a Hash object (docs/performance.md).
const oneShot = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: 'buffer') => Buffer }).hash;
const digestOnce = (hash: string, data: Buffer): Buffer => (oneShot ? oneShot(hash, data, 'buffer') : createHash(hash).update(data).digest());

/**
 * The PKCS#12 key derivation (RFC 7292 appendix B.2) with native hashing: id 1 = key, 2 = IV, 3 = MAC key.
 * `password` undefined means no password (no terminator), as in forge and OpenSSL.
 */
export function pkcs12Kdf(hash: string, v: number, u: number, password: string | undefined, salt: Buffer, id: number, iterations: number, n: number): Buffer {
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([repeatTo(salt, v), repeatTo(password === undefined ? Buffer.alloc(0) : bmpPassword(password), v)]);
  const blocks: Buffer[] = [];
  for (let got = 0; got < n; ) {
    let A: Buffer = createHash(hash).update(D).update(I).digest();
    for (let i = 1; i < iterations; i++) A = digestOnce(hash, A);
    blocks.push(A);
    got += u;
    if (got >= n) break;
    // I_j = (I_j + B + 1) mod 2^(8v) for each v-byte block of I, B = A repeated to v bytes
    const B = repeatTo(A, v);
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(blocks).subarray(0, n);
}

/** The MAC key: one hash output long. */
export function deriveMacKey(hash: string, v: number, u: number, password: string, salt: Buffer, iterations: number): Buffer {
  return pkcs12Kdf(hash, v, u, password, salt, 3, iterations, u);
}

/** Hash names node:crypto knows, by forge digest algorithm name. */
export const NODE_HASH: Record<string, string> = { sha1: 'sha1', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

type Asn1 = forge.asn1.Asn1;
const bytes = (node: Asn1): Buffer => {
  // An OCTET STRING may be constructed (BER) with the bytes in its children.
  if (Array.isArray(node.value)) return Buffer.concat((node.value as Asn1[]).map(bytes));
  return Buffer.from(node.value as string, 'binary');
};

/**
 * The most iterations any one key derivation of a keystore may ask for (MAC, PBKDF2, PKCS#12 KDF). A keystore
 * file is writable by design (rotation), so its counts are attacker input: OpenSSL writes 2,048, keytool
 * 10,000, OWASP asks 600,000; the cap leaves room above those while bounding how long a hostile count blocks
 * an unlock, natively or in node-forge's far slower JavaScript. Above it we refuse, never delegate.
 */
export const MAX_KDF_ITERATIONS = 10_000_000;

/** Thrown by a derivation asked for more than MAX_KDF_ITERATIONS; keystore.ts turns it into KEYSTORE_UNSUPPORTED. */
export class IterationCapError extends Error {
  constructor(
    readonly iterations: number,
    readonly what: 'MAC' | 'key derivation',
  ) {
    super(`${what} iteration count ${iterations} is above the cap ${MAX_KDF_ITERATIONS}`);
    this.name = 'IterationCapError';
  }
}

/** Throws IterationCapError when `iterations` is above the cap (or not a number). */
export function capIterations(iterations: number, what: 'MAC' | 'key derivation'): void {
  if (!(iterations <= MAX_KDF_ITERATIONS)) throw new IterationCapError(iterations, what);
}

export type MacCheck = 'ok' | 'bad' | 'unsupported' | { readonly tooManyIterations: number };

/**
 * Checks the MAC of a parsed PFX natively. `unsupported` (an algorithm we do not know, a shape we do not
 * expect) leaves the check to forge, whose derivation is capped too (keystore.ts). A count above
 * MAX_KDF_ITERATIONS is reported, never derived. Never throws.
 */
export function checkPfxMac(pfx: Asn1, password: string, oidFromDer: (der: string) => string): MacCheck {
  try {
    const [, authSafe, macData] = pfx.value as Asn1[];
    if (!authSafe || !macData) return 'unsupported';
    const content = (authSafe.value as Asn1[])[1]; // [0] EXPLICIT
    const octets = content && (content.value as Asn1[])[0];
    if (!octets) return 'unsupported';
    const [digestInfo, saltNode, iterNode] = macData.value as Asn1[];
    const [algId, digestNode] = digestInfo!.value as Asn1[];
    const oid = oidFromDer((algId!.value as Asn1[])[0]!.value as string);
    const h = HASHES[oid];
    if (!h) return 'unsupported';
    const iterBytes = iterNode ? Buffer.from(iterNode.value as string, 'binary') : Buffer.from([1]);
    // More than 6 bytes is more than Number can read here, and far above the cap anyway.
    const iterations = iterBytes.length > 6 ? Infinity : iterBytes.length === 0 ? 0 : iterBytes.readUIntBE(0, iterBytes.length);
    if (iterations > MAX_KDF_ITERATIONS) return { tooManyIterations: iterations };
    if (iterations < 1) return 'unsupported';
    const key = deriveMacKey(h.name, h.v, h.u, password, bytes(saltNode!), iterations);
    const mac = createHmac(h.name, key).update(bytes(octets)).digest();
    const expected = bytes(digestNode!);
    return expected.length === mac.length && timingSafeEqual(expected, mac) ? 'ok' : 'bad';
  } catch {
    return 'unsupported';
  }
}
