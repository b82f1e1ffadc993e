// The release verdict (src/core/release.ts) on bytes made here: each rule refused on its own, with the rule named,
// and the cases a threshold can be cheated with (one key signing twice, a key that is not pinned, a signature
// over another payload type) refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { RELEASE_PAYLOAD_TYPE, ReleaseRefusal, SMALL_ORDER_Y, ed25519KeyProblem, keyId, pae, parseTrustRoot, rawOf, serializeTrustRoot, verifyRelease, type TrustRoot } from './release.js';

const MANIFEST = 'a'.repeat(64);
const NOW = new Date('2026-12-06T00:00:00Z');

function keyPair(): { id: string; publicKey: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = rawOf(publicKey);
  return { id: keyId(raw), publicKey: raw.toString('base64'), privateKey };
}

const [k1, k2, stranger] = [keyPair(), keyPair(), keyPair()];

function root(threshold = 1, keys = [k1, k2]): TrustRoot {
  return { project: 'kg-shop', threshold, keys: keys.map(({ id, publicKey }) => ({ id, publicKey })), minVersion: 1 };
}

function envelope(payload: Record<string, unknown>, signers: readonly { id: string; privateKey: KeyObject }[], payloadType = RELEASE_PAYLOAD_TYPE): Buffer {
  const bytes = Buffer.from(JSON.stringify(payload));
  const signatures = signers.map((s) => ({ keyid: s.id, sig: sign(null, pae(payloadType, bytes), s.privateKey).toString('base64') }));
  return Buffer.from(JSON.stringify({ payloadType, payload: bytes.toString('base64'), signatures }));
}

const release = (over: Record<string, unknown> = {}) => ({ project: 'kg-shop', version: 3, expires: '2027-03-01T00:00:00Z', manifestSha256: MANIFEST, ...over });

function refused(fn: () => unknown, rule: ReleaseRefusal['rule'], message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ReleaseRefusal && err.rule === rule && message.test(err.message));
}

test('a release signed by a pinned key, for this project and manifest, unexpired and at the floor, is accepted', () => {
  const v = verifyRelease(root(), envelope(release(), [k1]), MANIFEST, NOW, 3);
  assert.equal(v.payload.version, 3);
  assert.deepEqual(v.signedBy, [k1.id]);
});

test('each rule refuses on its own, named', () => {
  refused(() => verifyRelease(root(), envelope(release(), [stranger]), MANIFEST, NOW, 1), 'invalid', /0 valid signature\(s\) by pinned keys, 1 needed/);
  refused(() => verifyRelease(root(), envelope(release({ project: 'kg-other' }), [k1]), MANIFEST, NOW, 1), 'invalid', /for the project kg-other/);
  refused(() => verifyRelease(root(), envelope(release(), [k1]), 'b'.repeat(64), NOW, 1), 'invalid', /signs the manifest a+, the manifest on disk hashes to b+/);
  refused(() => verifyRelease(root(), envelope(release({ expires: '2026-12-05T23:59:59Z' }), [k1]), MANIFEST, NOW, 1), 'expired', /release 3 expired/);
  refused(() => verifyRelease(root(), envelope(release(), [k1]), MANIFEST, NOW, 4), 'rollback', /release 3 is older than 4/);
});

test('a threshold cannot be met by one key signing twice, by an unpinned key, or by a signature over another payload type', () => {
  refused(() => verifyRelease(root(2), envelope(release(), [k1, k1]), MANIFEST, NOW, 1), 'invalid', /1 valid signature\(s\) by pinned keys, 2 needed/);
  refused(() => verifyRelease(root(2), envelope(release(), [k1, stranger]), MANIFEST, NOW, 1), 'invalid', /1 valid signature\(s\)/);
  assert.deepEqual(verifyRelease(root(2), envelope(release(), [k2, k1]), MANIFEST, NOW, 1).signedBy.slice().sort(), [k1.id, k2.id].sort());
  // k2's signature made over the same payload under another type: DSSE's PAE binds the type, so it does not count.
  const good = JSON.parse(envelope(release(), [k1]).toString()) as { signatures: unknown[] };
  const other = JSON.parse(envelope(release(), [k2], 'application/json').toString()) as { signatures: unknown[] };
  const mixed = Buffer.from(JSON.stringify({ ...good, signatures: [...good.signatures, ...other.signatures] }));
  refused(() => verifyRelease(root(2), mixed, MANIFEST, NOW, 1), 'invalid', /1 valid signature\(s\)/);
  refused(() => verifyRelease(root(), envelope(release(), [k1], 'application/json'), MANIFEST, NOW, 1), 'invalid', /payload type/);
});

test('the payload is read only after the signatures: an unsigned payload with extra fields is refused for its signatures', () => {
  refused(() => verifyRelease(root(), envelope(release({ extra: 1 }), []), MANIFEST, NOW, 1), 'invalid', /0 valid signature/);
  refused(() => verifyRelease(root(), envelope(release({ extra: 1 }), [k1]), MANIFEST, NOW, 1), 'invalid', /unknown field "extra"/);
});

test('the trust root: round trip, and refusals for a duplicated key, a threshold above the keys, a relative state file', () => {
  const r = { ...root(2), stateFile: '/var/lib/keygate/kg-shop.version' };
  assert.deepEqual(parseTrustRoot(serializeTrustRoot(r)), r);
  const bytes = (o: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...root(1), ...o }));
  refused(() => parseTrustRoot(bytes({ keys: [root().keys[0], root().keys[0]] })), 'invalid', /twice/);
  refused(() => parseTrustRoot(bytes({ threshold: 3 })), 'invalid', /threshold must be from 1 to the number of keys \(2\)/);
  refused(() => parseTrustRoot(bytes({ stateFile: 'state/version' })), 'invalid', /absolute path/);
  refused(() => parseTrustRoot(bytes({ keys: [{ id: k1.id, publicKey: k2.publicKey }] })), 'invalid', /with its sha256 as id/);
});

// libsodium's small-order blocklist (ge25519_has_small_order), compared there with the top (sign) bit ignored.
const BLOCKLIST = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

test('Ed25519 keys: every small-order point and every non-canonical encoding is refused, in the trust root too; real keys pass', () => {
  const p = (1n << 255n) - 19n;
  const pow = (b: bigint, e: bigint): bigint => (e === 0n ? 1n : ((e & 1n ? b : 1n) * pow((b * b) % p, e >> 1n)) % p);
  const d = (((-121665n * pow(121666n, p - 2n)) % p) + p) % p;
  // the order-8 y values are the roots of d·y⁴ + 2y² - 1 (2·Q then has y = 0, a point of order 4)
  for (const y of SMALL_ORDER_Y.slice(3)) assert.equal((((d * pow(y, 4n) + 2n * pow(y, 2n) - 1n) % p) + p) % p, 0n);
  for (const hex of BLOCKLIST) {
    for (const top of [0, 0x80]) {
      const raw = Buffer.from(hex, 'hex');
      raw[31]! |= top;
      assert.match(ed25519KeyProblem(raw) ?? 'accepted', /small order|not canonical/, `${raw.toString('hex')}`);
    }
  }
  // y = p + 2 (the point y = 2 written long), and every y from p to 2^255 - 1: not canonical
  for (let extra = 0n; extra < 19n; extra++) {
    const raw = Buffer.from((p + extra).toString(16).padStart(64, '0'), 'hex').reverse();
    assert.match(ed25519KeyProblem(raw) ?? 'accepted', /not canonical/);
  }
  assert.match(ed25519KeyProblem(Buffer.from('02'.padEnd(64, '0'), 'hex')) ?? 'accepted', /not a point on the curve/);
  for (let i = 0; i < 64; i++) assert.equal(ed25519KeyProblem(rawOf(generateKeyPairSync('ed25519').publicKey)), undefined);
  const identity = Buffer.from(BLOCKLIST[1]!, 'hex');
  const bytes = Buffer.from(JSON.stringify({ ...root(1), keys: [{ id: keyId(identity), publicKey: identity.toString('base64') }] }));
  refused(() => parseTrustRoot(bytes), 'invalid', /small order/);
});
