// Known-answer vectors: the Fernet spec's generate.json / verify.json case (github.com/fernet/spec), and
// ConcatKDF values computed with Python cryptography 38.0.4's ConcatKDFHash(SHA256(), 32, b"remo_serv")
// (Debian python3-cryptography). The invalid-token cases follow the spec's invalid.json.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Fernet, ProtocolError, b64uDecode, b64uEncode, concatKdfSha256, sessionKey, signLogin, verifyLogin, x448Ephemeral, x448PublicFromRaw, x448Shared } from './crypto.js';

const SPEC = {
  token: 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==',
  now: Date.parse('1985-10-26T01:20:00-07:00') / 1000,
  iv: Buffer.from([...Array(16).keys()]),
  src: 'hello',
  secret: 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=',
};

test('Fernet: the spec vector, both ways', () => {
  const f = new Fernet(b64uDecode(SPEC.secret, 'key'));
  assert.equal(f.encrypt(Buffer.from(SPEC.src), SPEC.now, SPEC.iv), SPEC.token);
  assert.equal(f.decrypt(SPEC.token, 60, SPEC.now + 10).toString(), SPEC.src);
});

test('Fernet: the invalid cases are ProtocolErrors (never another exception)', () => {
  const f = new Fernet(b64uDecode(SPEC.secret, 'key'));
  const raw = b64uDecode(SPEC.token, 't');
  const flip = (i: number) => {
    const b = Buffer.from(raw);
    b[i]! ^= 1;
    return b64uEncode(b);
  };
  const cases: [string, string, number?, number?][] = [
    ['expired TTL', SPEC.token, 60, SPEC.now + 61],
    ['far future', SPEC.token, undefined, SPEC.now - 61],
    ['tampered ciphertext byte', flip(30)],
    ['tampered MAC byte', flip(raw.length - 1)],
    ['tampered IV', flip(12)],
    ['unpadded base64', SPEC.token.replace(/=+$/, '')],
    ['standard base64 alphabet', SPEC.token.replace(/_/g, '/')],
    ['too short', b64uEncode(raw.subarray(0, 40))],
    ['not a multiple of the block size', b64uEncode(Buffer.concat([raw.subarray(0, 42), raw.subarray(-32)]))],
    ['garbage', 'hello world'],
    ['empty', ''],
  ];
  for (const [name, token, ttl, now] of cases) {
    assert.throws(() => f.decrypt(token, ttl, now ?? SPEC.now), ProtocolError, name);
  }
  // Padding error behind a valid MAC: a token made with a key whose HMAC half matches but AES half differs.
  const other = Buffer.from(b64uDecode(SPEC.secret, 'key'));
  other[20]! ^= 0xff;
  const wrongAes = new Fernet(other).encrypt(Buffer.from('hello'), SPEC.now, SPEC.iv);
  assert.throws(() => f.decrypt(wrongAes, undefined, SPEC.now), /bad padding|does not decrypt/);
});

test('ConcatKDF-SHA256: vectors from Python cryptography ConcatKDFHash', () => {
  assert.equal(concatKdfSha256(Buffer.from([...Array(56).keys()]), Buffer.from('remo_serv')).toString('hex'), '9b60dc38e490abd26c4f02eb26f4fd3c8ef5bb54ade76af7aed0f925a7367ca6');
  assert.equal(sessionKey(Buffer.alloc(56, 0xa5)).toString('hex'), '612edb0de2dd2893f53609a8396271db11ec0a3ba4db3a528df206b4624a1e90');
});

test('b64u: padded like Python urlsafe_b64encode; unpadded or non-canonical input refused', () => {
  assert.equal(b64uEncode(Buffer.alloc(56)).length, 76);
  assert.ok(b64uEncode(Buffer.alloc(56)).endsWith('='));
  assert.equal(b64uEncode(Buffer.alloc(114)).length, 152);
  assert.throws(() => b64uDecode('AA', 'x'), ProtocolError);
  assert.throws(() => b64uDecode('AB==', 'x'), ProtocolError); // non-zero trailing bits
  assert.deepEqual(b64uDecode('AA==', 'x'), Buffer.from([0]));
});

test('X448 exchange and the login signature (Ed448 and RSA)', () => {
  const a = x448Ephemeral();
  const b = x448Ephemeral();
  assert.deepEqual(x448Shared(a.privateKey, b.publicRaw), x448Shared(b.privateKey, a.publicRaw));
  assert.throws(() => x448PublicFromRaw(Buffer.alloc(55)), ProtocolError);
  assert.throws(() => x448Shared(a.privateKey, Buffer.alloc(32)), ProtocolError);
  for (const type of ['ed448', 'rsa'] as const) {
    const { privateKey, publicKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed448');
    const sig = signLogin(privateKey, 'alice', a.publicRaw);
    assert.equal(verifyLogin(publicKey, 'alice', a.publicRaw, sig), true, type);
    assert.equal(verifyLogin(publicKey, 'alicf', a.publicRaw, sig), false, `${type}: other user`);
    assert.equal(verifyLogin(publicKey, 'alice', b.publicRaw, sig), false, `${type}: other key`);
    assert.equal(verifyLogin(publicKey, 'alice', a.publicRaw, sig.subarray(1)), false, `${type}: short signature`);
  }
});
