// The cryptography remo_serv's protocol uses (notes/seed-peers-findings.md §1.3), on node:crypto alone:
// padded base64url, Fernet (https://github.com/fernet/spec/blob/master/Spec.md), ConcatKDF-SHA256
// (NIST SP 800-56A single-step, one round: what Python cryptography's ConcatKDFHash computes), X448 and Ed448
// raw keys. Pure functions (no files, no network); known-answer vectors in crypto.test.ts.

import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPublicKey,
  constants,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';

/** Why a token or a key was refused; the server turns these into 4xx answers, never 500. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** base64url WITH `=` padding, as Python's urlsafe_b64encode writes it (Buffer's 'base64url' drops the padding). */
export function b64uEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/**
 * Strict padded base64url: the canonical encoding of its bytes or a ProtocolError, so a malformed token is a
 * 400 (remo_serv crashes into a 500 on missing padding). `+/` are refused too: the Python client never sends them.
 */
export function b64uDecode(text: string, what: string): Buffer {
  if (text.length % 4 !== 0 || !B64URL.test(text)) throw new ProtocolError(`${what} is not padded base64url`);
  const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (b64uEncode(bytes) !== text) throw new ProtocolError(`${what} is not canonical base64url`);
  return bytes;
}

/** K = SHA-256(00000001 ‖ Z ‖ otherInfo), the 32-byte one-round ConcatKDF remo_serv derives the Fernet key with. */
export function concatKdfSha256(z: Uint8Array, otherInfo: Uint8Array, length = 32): Buffer {
  if (length > 32) throw new RangeError('one round of ConcatKDF-SHA256 gives at most 32 bytes');
  return createHash('sha256').update(Buffer.from([0, 0, 0, 1])).update(z).update(otherInfo).digest().subarray(0, length);
}

/** remo_serv's session key: ConcatKDF over the X448 shared secret with otherinfo "remo_serv". */
export function sessionKey(sharedSecret: Uint8Array): Buffer {
  return concatKdfSha256(sharedSecret, Buffer.from('remo_serv'));
}

const FERNET_VERSION = 0x80;
/** Fernet's own limit on a token from the future (Python cryptography's _MAX_CLOCK_SKEW). */
export const FERNET_MAX_CLOCK_SKEW_S = 60;
const FERNET_MIN_LEN = 1 + 8 + 16 + 16 + 32;

/**
 * Fernet with a 32-byte key: signing key = key[0:16], AES-128-CBC key = key[16:32]; token =
 * 0x80 ‖ time (8 bytes BE) ‖ IV ‖ ciphertext ‖ HMAC-SHA256, padded base64url.
 */
export class Fernet {
  readonly #signing: Buffer;
  readonly #encryption: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new RangeError('a Fernet key is 32 bytes');
    this.#signing = Buffer.from(key.subarray(0, 16));
    this.#encryption = Buffer.from(key.subarray(16, 32));
  }

  /** Encrypts at `nowS` (seconds) with a random IV, or the given one (test vectors only). */
  encrypt(plaintext: Uint8Array, nowS = Math.floor(Date.now() / 1000), iv: Uint8Array = randomBytes(16)): string {
    const head = Buffer.alloc(9);
    head[0] = FERNET_VERSION;
    head.writeBigUInt64BE(BigInt(nowS), 1);
    const cipher = createCipheriv('aes-128-cbc', this.#encryption, iv);
    const body = Buffer.concat([head, iv, cipher.update(plaintext), cipher.final()]);
    const mac = createHmac('sha256', this.#signing).update(body).digest();
    return b64uEncode(Buffer.concat([body, mac]));
  }

  /**
   * Decrypts a token, checking its form, its HMAC (in constant time) and, with ttlS, its age; a token more than
   * 60 s in the future is refused as Fernet does. Every failure is a ProtocolError.
   */
  decrypt(token: string, ttlS?: number, nowS = Math.floor(Date.now() / 1000)): Buffer {
    const raw = b64uDecode(token, 'the token');
    if (raw.length < FERNET_MIN_LEN || (raw.length - 57) % 16 !== 0 || raw[0] !== FERNET_VERSION) throw new ProtocolError('the token is not a Fernet token');
    const body = raw.subarray(0, raw.length - 32);
    const mac = createHmac('sha256', this.#signing).update(body).digest();
    if (!timingSafeEqual(mac, raw.subarray(raw.length - 32))) throw new ProtocolError('the token does not authenticate with the session key');
    const ts = Number(raw.readBigUInt64BE(1));
    if (ttlS !== undefined && ts + ttlS < nowS) throw new ProtocolError(`the token is older than ${ttlS} s`);
    if (ts > nowS + FERNET_MAX_CLOCK_SKEW_S) throw new ProtocolError('the token is from the future (clock skew above 60 s)');
    try {
      const decipher = createDecipheriv('aes-128-cbc', this.#encryption, raw.subarray(9, 25));
      return Buffer.concat([decipher.update(raw.subarray(25, raw.length - 32)), decipher.final()]);
    } catch {
      throw new ProtocolError('the token does not decrypt (bad padding)');
    }
  }
}

const X448_SPKI_PREFIX = Buffer.from('3042300506032b656f033900', 'hex');
export const X448_KEY_BYTES = 56;

/** An X448 public key from its 56 raw bytes (ProtocolError on another length). */
export function x448PublicFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== X448_KEY_BYTES) throw new ProtocolError(`an X448 public key is ${X448_KEY_BYTES} bytes, got ${raw.length}`);
  try {
    return createPublicKey({ key: Buffer.concat([X448_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    throw new ProtocolError('the X448 public key is not valid');
  }
}

/** The 56 raw bytes of an X448 public key. */
export function x448RawPublic(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(-X448_KEY_BYTES);
}

/** A fresh X448 key pair for one login. */
export function x448Ephemeral(): { privateKey: KeyObject; publicRaw: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('x448');
  return { privateKey, publicRaw: x448RawPublic(publicKey) };
}

/** The 56-byte X448 shared secret. */
export function x448Shared(privateKey: KeyObject, peerRaw: Uint8Array): Buffer {
  try {
    return diffieHellman({ privateKey, publicKey: x448PublicFromRaw(peerRaw) });
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError('the X448 key exchange failed (a low-order key?)');
  }
}

/** The key types a registry may hold: Ed448 (remo_serv's build_key_pair) or RSA (its smart-card path). */
export type UserKeyType = 'ed448' | 'rsa';

export function userKeyType(key: KeyObject): UserKeyType | undefined {
  return key.asymmetricKeyType === 'ed448' ? 'ed448' : key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 ? 'rsa' : undefined;
}

/**
 * remo_serv's login signature: over utf8(user) ‖ raw X448 key, pure Ed448 (RFC 8032, empty context: Node 20
 * ignores a context anyway, notes/mtls-backend-pki.md §4.1), or RSA PKCS#1 v1.5 with SHA-512 for an RSA key.
 */
export function verifyLogin(key: KeyObject, user: string, x448Raw: Uint8Array, signature: Uint8Array): boolean {
  const message = Buffer.concat([Buffer.from(user, 'utf8'), x448Raw]);
  try {
    if (key.asymmetricKeyType === 'ed448') return signature.length === 114 && verify(null, message, key, signature);
    if (key.asymmetricKeyType === 'rsa') return verify('sha512', message, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false; // a malformed signature is a wrong one
  }
  return false;
}

/** The client's side of the same signature (the Node client and tests). */
export function signLogin(key: KeyObject, user: string, x448Raw: Uint8Array): Buffer {
  const message = Buffer.concat([Buffer.from(user, 'utf8'), x448Raw]);
  return key.asymmetricKeyType === 'rsa' ? sign('sha512', message, { key, padding: constants.RSA_PKCS1_PADDING }) : sign(null, message, key);
}

/** SHA-256 of a public key's SPKI DER, hex: the fingerprint the audit log and `add-user` print. */
export function keyFingerprint(key: KeyObject): string {
  return createHash('sha256').update(key.export({ format: 'der', type: 'spki' })).digest('hex');
}
