// Signed releases (docs/releases.md): the entry pins a trust root (release keys, a threshold, the project, a
// minimum version) instead of one manifest; a release is the manifest plus a DSSE envelope whose payload names
// the manifest's sha256, the project, a version and an expiry. Pure: bytes and keys in, a verdict out.

import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';

/** The envelope's payload type (DSSE: the type is signed with the payload, so nothing else can pass for it). */
export const RELEASE_PAYLOAD_TYPE = 'application/vnd.keygate.release+json';

export interface TrustRoot {
  /** The project releases must name (one key set may sign for several projects: this one is pinned). */
  readonly project: string;
  /** Signatures by distinct pinned keys a release needs. */
  readonly threshold: number;
  /** Ed25519 public keys, raw 32 bytes in base64, each with its id (sha256 of the raw key, hex). */
  readonly keys: readonly { readonly id: string; readonly publicKey: string }[];
  /** No release below this version is accepted; raised by a re-pin. */
  readonly minVersion: number;
  /** Optional root-owned file that keeps the highest version this host accepted (rollback protection). */
  readonly stateFile?: string;
}

export interface ReleasePayload {
  readonly project: string;
  readonly version: number;
  /** ISO 8601 with a zone (release sign writes UTC, `Z`); a time without one is refused. */
  readonly expires: string;
  readonly manifestSha256: string;
}

export interface Envelope {
  readonly payloadType: string;
  /** base64 of the payload's JSON bytes, signed as they are (no canonical JSON needed). */
  readonly payload: string;
  readonly signatures: readonly { readonly keyid: string; readonly sig: string }[];
}

/** A refusal: which rule failed, in words for the one-line error. */
export class ReleaseRefusal extends Error {
  constructor(
    readonly rule: 'invalid' | 'expired' | 'rollback',
    message: string,
  ) {
    super(message);
  }
}

const HEX64 = /^[0-9a-f]{64}$/;
const PROJECT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function exactKeys(o: Obj, required: readonly string[], optional: readonly string[], what: string): void {
  for (const k of required) if (!(k in o)) throw new ReleaseRefusal('invalid', `${what} has no "${k}"`);
  for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) throw new ReleaseRefusal('invalid', `${what} has an unknown field "${k}"`);
}

/**
 * An ISO 8601 time with its zone (`Z` or `±hh:mm`). Without one, Date.parse reads local time, so hosts in
 * different zones would expire the same release hours apart (review 2026-12b I2).
 */
export function isZonedTime(text: string): boolean {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)$/.test(text) && !Number.isNaN(Date.parse(text));
}

const isVersion = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;

/** DSSE's pre-authentication encoding: what each signature covers. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** The id of a raw Ed25519 public key: its sha256, hex. */
export function keyId(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('hex');
}

// Ed25519 over GF(p): -x² + y² = 1 + d·x²·y². An encoding is y (255 bits, little-endian) and x's sign bit.
const P = (1n << 255n) - 19n;
const modP = (n: bigint): bigint => ((n % P) + P) % P;
function powP(base: bigint, exp: bigint): bigint {
  let result = 1n;
  for (let b = modP(base), e = exp; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) result = (result * b) % P;
  return result;
}
const D = modP(-121665n * powP(121666n, P - 2n));
/**
 * y of the order-8 points (and P - it): the root of d·y⁴ + 2y² - 1 (y of 2·Q is 0 for them); libsodium's
 * small-order blocklist (crypto_core/ed25519/ref10/ed25519_ref10.c, ge25519_has_small_order) has the same two.
 */
const Y_ORDER_8 = BigInt('0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826');
/** The y of every point whose order divides 8: 1 (the neutral element), P-1 (order 2), 0 (order 4), ±Y_ORDER_8. */
export const SMALL_ORDER_Y: readonly bigint[] = [1n, P - 1n, 0n, Y_ORDER_8, P - Y_ORDER_8];

/**
 * Why 32 raw bytes are no sound Ed25519 public key, or undefined: a key must be the one canonical encoding
 * (y < p; no sign bit on x = 0) of a point on the curve that is not of small order. OpenSSL's verify (as RFC 8032
 * lets it) accepts a small-order A: with the neutral element pinned, R = neutral and S = 0 verify any message, and
 * a point written two ways would count twice toward a threshold (review 2026-12b L1).
 */
export function ed25519KeyProblem(raw: Buffer): string | undefined {
  if (raw.length !== 32) return `is ${raw.length} bytes, not 32`;
  const sign = raw[31]! >> 7;
  const yBytes = Buffer.from(raw);
  yBytes[31]! &= 0x7f;
  const y = BigInt(`0x${Buffer.from(yBytes).reverse().toString('hex')}`);
  if (y >= P) return 'is not canonical (its y is not below 2^255-19: the same point has a shorter encoding)';
  const x2 = modP((y * y - 1n) * powP(D * y * y + 1n, P - 2n));
  if (x2 === 0n && sign === 1) return 'is not canonical (x = 0 with the sign bit set)';
  if (x2 !== 0n && powP(x2, (P - 1n) / 2n) !== 1n) return 'is not a point on the curve';
  if (SMALL_ORDER_Y.includes(y)) return 'is a point of small order (a forged signature would verify under it)';
  return undefined;
}

export function ed25519FromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** The raw 32 bytes of an Ed25519 public key object. */
export function rawOf(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' }) as { crv?: string; x?: string };
  if (jwk.crv !== 'Ed25519' || !jwk.x) throw new ReleaseRefusal('invalid', 'the key is not an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

export function parseTrustRoot(bytes: Buffer): TrustRoot {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ReleaseRefusal('invalid', 'the trust root is not JSON');
  }
  if (!isObj(raw)) throw new ReleaseRefusal('invalid', 'the trust root is not a JSON object');
  exactKeys(raw, ['project', 'threshold', 'keys', 'minVersion'], ['stateFile', '$comment'], 'the trust root');
  const { project, threshold, keys, minVersion, stateFile } = raw;
  if (typeof project !== 'string' || !PROJECT.test(project)) throw new ReleaseRefusal('invalid', 'the trust root\'s project must be a name (letters, digits, . _ -)');
  if (!Array.isArray(keys) || keys.length === 0) throw new ReleaseRefusal('invalid', 'the trust root lists no keys');
  const seen = new Set<string>();
  const parsed = keys.map((k) => {
    if (!isObj(k)) throw new ReleaseRefusal('invalid', 'a trust root key is not an object');
    exactKeys(k, ['id', 'publicKey'], [], 'a trust root key');
    const rawKey = typeof k['publicKey'] === 'string' ? Buffer.from(k['publicKey'], 'base64') : Buffer.alloc(0);
    if (rawKey.length !== 32 || k['id'] !== keyId(rawKey)) throw new ReleaseRefusal('invalid', `the trust root key ${String(k['id'])} is not a 32-byte Ed25519 key with its sha256 as id`);
    const problem = ed25519KeyProblem(rawKey);
    if (problem) throw new ReleaseRefusal('invalid', `the trust root key ${k['id'] as string} ${problem}`);
    if (seen.has(k['id'])) throw new ReleaseRefusal('invalid', `the trust root lists the key ${k['id']} twice`);
    seen.add(k['id']);
    return { id: k['id'] as string, publicKey: k['publicKey'] as string };
  });
  if (!Number.isSafeInteger(threshold) || (threshold as number) < 1 || (threshold as number) > parsed.length) {
    throw new ReleaseRefusal('invalid', `the trust root's threshold must be from 1 to the number of keys (${parsed.length})`);
  }
  if (!isVersion(minVersion)) throw new ReleaseRefusal('invalid', 'the trust root\'s minVersion must be a whole number from 1');
  if (stateFile !== undefined && (typeof stateFile !== 'string' || !stateFile.startsWith('/'))) throw new ReleaseRefusal('invalid', 'the trust root\'s stateFile must be an absolute path');
  return { project, threshold: threshold as number, keys: parsed, minVersion, ...(stateFile !== undefined ? { stateFile: stateFile as string } : {}) };
}

/** The trust root as `pin --release-keys` writes it: stable key order, so the same inputs give the same bytes. */
export function serializeTrustRoot(root: TrustRoot): Buffer {
  const ordered = {
    $comment: 'keygate release trust root: the entry pins the sha256 of this file (docs/releases.md). Changing it needs a new pin and a new vault registration.',
    project: root.project,
    threshold: root.threshold,
    keys: root.keys.map((k) => ({ id: k.id, publicKey: k.publicKey })),
    minVersion: root.minVersion,
    ...(root.stateFile ? { stateFile: root.stateFile } : {}),
  };
  return Buffer.from(`${JSON.stringify(ordered, null, 2)}\n`);
}

export function parseEnvelope(bytes: Buffer): Envelope {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ReleaseRefusal('invalid', 'the signature envelope is not JSON');
  }
  if (!isObj(raw)) throw new ReleaseRefusal('invalid', 'the signature envelope is not a JSON object');
  exactKeys(raw, ['payloadType', 'payload', 'signatures'], [], 'the signature envelope');
  const { payloadType, payload, signatures } = raw;
  if (payloadType !== RELEASE_PAYLOAD_TYPE) throw new ReleaseRefusal('invalid', `the envelope's payload type is ${JSON.stringify(payloadType)}, not ${RELEASE_PAYLOAD_TYPE}`);
  if (typeof payload !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) throw new ReleaseRefusal('invalid', 'the envelope\'s payload is not base64');
  if (!Array.isArray(signatures)) throw new ReleaseRefusal('invalid', 'the envelope\'s signatures are not a list');
  const sigs = signatures.map((s) => {
    if (!isObj(s) || typeof s['keyid'] !== 'string' || typeof s['sig'] !== 'string') throw new ReleaseRefusal('invalid', 'an envelope signature is not {keyid, sig}');
    return { keyid: s['keyid'], sig: s['sig'] };
  });
  return { payloadType, payload, signatures: sigs };
}

export function parsePayload(bytes: Buffer): ReleasePayload {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ReleaseRefusal('invalid', 'the release payload is not JSON');
  }
  if (!isObj(raw)) throw new ReleaseRefusal('invalid', 'the release payload is not a JSON object');
  exactKeys(raw, ['project', 'version', 'expires', 'manifestSha256'], [], 'the release payload');
  const { project, version, expires, manifestSha256 } = raw;
  if (typeof project !== 'string' || !PROJECT.test(project)) throw new ReleaseRefusal('invalid', 'the release payload\'s project is not a name');
  if (!isVersion(version)) throw new ReleaseRefusal('invalid', 'the release payload\'s version is not a whole number from 1');
  if (typeof expires !== 'string' || !isZonedTime(expires)) throw new ReleaseRefusal('invalid', `the release payload's expires ${JSON.stringify(String(expires).slice(0, 40))} is not an ISO 8601 time with a zone (Z or ±hh:mm)`);
  if (typeof manifestSha256 !== 'string' || !HEX64.test(manifestSha256)) throw new ReleaseRefusal('invalid', 'the release payload\'s manifestSha256 is not 64 lowercase hex');
  return { project, version, expires, manifestSha256 };
}

export interface ReleaseVerdict {
  readonly payload: ReleasePayload;
  /** The pinned keys whose signatures verified. */
  readonly signedBy: readonly string[];
}

/**
 * A release is accepted when: threshold-many distinct pinned keys signed the envelope; its payload names this
 * project and the manifest's exact sha256; it has not expired; its version is at least `floor` (the trust
 * root's minVersion, or the highest this host accepted). Checked in that order: nothing unsigned is read further.
 */
export function verifyRelease(root: TrustRoot, envelopeBytes: Buffer, manifestSha256: string, now: Date, floor: number): ReleaseVerdict {
  const envelope = parseEnvelope(envelopeBytes);
  const payloadBytes = Buffer.from(envelope.payload, 'base64');
  const signed = pae(envelope.payloadType, payloadBytes);
  const signedBy = new Set<string>();
  for (const { keyid, sig } of envelope.signatures) {
    const key = root.keys.find((k) => k.id === keyid);
    if (!key || signedBy.has(keyid)) continue;
    const ok = verifySignature(null, signed, ed25519FromRaw(Buffer.from(key.publicKey, 'base64')), Buffer.from(sig, 'base64'));
    if (ok) signedBy.add(keyid);
  }
  if (signedBy.size < root.threshold) {
    const pinned = envelope.signatures.filter((s) => root.keys.some((k) => k.id === s.keyid)).length;
    throw new ReleaseRefusal(
      'invalid',
      `the release has ${signedBy.size} valid signature(s) by pinned keys, ${root.threshold} needed (${envelope.signatures.length} signature(s), ${pinned} by a pinned key id)`,
    );
  }
  const payload = parsePayload(payloadBytes);
  if (payload.project !== root.project) throw new ReleaseRefusal('invalid', `the release is for the project ${payload.project}, this entry pins ${root.project}`);
  if (payload.manifestSha256 !== manifestSha256) throw new ReleaseRefusal('invalid', `the release signs the manifest ${payload.manifestSha256}, the manifest on disk hashes to ${manifestSha256}`);
  if (Date.parse(payload.expires) <= now.getTime()) throw new ReleaseRefusal('expired', `release ${payload.version} expired at ${payload.expires}`);
  if (payload.version < floor) throw new ReleaseRefusal('rollback', `release ${payload.version} is older than ${floor}, the lowest version this host accepts`);
  return { payload, signedBy: [...signedBy] };
}
