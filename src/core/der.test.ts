import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bmpString, childrenOf, contentOf, int, oid, pem, pemBlocks, readTlv, seq, set, tlv } from './der.js';

test('int: minimal two\'s complement, positive', () => {
  assert.equal(int(0).toString('hex'), '020100');
  assert.equal(int(127).toString('hex'), '02017f');
  assert.equal(int(128).toString('hex'), '02020080');
  assert.equal(int(10_000).toString('hex'), '02022710');
  assert.throws(() => int(-1), RangeError);
});

test('oid: X.690 base-128 arcs', () => {
  assert.equal(oid('1.2.840.113549.1.12.1.3').toString('hex'), '060a2a864886f70d010c0103');
  assert.equal(oid('2.5.29.30').toString('hex'), '0603551d1e');
  assert.throws(() => oid('1'), RangeError);
});

test('lengths: short and long form, read back', () => {
  const big = tlv(0x04, Buffer.alloc(300, 7));
  assert.equal(big.subarray(0, 4).toString('hex'), '0482012c');
  const r = readTlv(big, 0);
  assert.equal(contentOf(big, r).length, 300);
  assert.equal(r.end, big.length);
  assert.throws(() => readTlv(big.subarray(0, 10), 0), /overruns/);
  assert.throws(() => readTlv(Buffer.from([0x30, 0x80, 0, 0]), 0), /unsupported length form/, 'no indefinite lengths');
});

test('set: DER sorts the members; seq keeps order; childrenOf splits them', () => {
  const a = int(2);
  const b = int(1);
  const members = (der: Buffer) => childrenOf(der, readTlv(der, 0)).map((x) => contentOf(der, x)[0]);
  assert.deepEqual(members(set(a, b)), [1, 2]);
  assert.deepEqual(members(seq(a, b)), [2, 1]);
});

test('bmpString and pem', () => {
  assert.equal(bmpString('ab').toString('hex'), '1e0400610062');
  assert.match(pem('X509 CRL', Buffer.alloc(100)), /^-----BEGIN X509 CRL-----\n(?:[A-Za-z0-9+/=]{64}\n)+[A-Za-z0-9+/=]{1,64}\n-----END X509 CRL-----\n$/);
  assert.deepEqual(pemBlocks(pem('CERTIFICATE', Buffer.from([1, 2])) + pem('X509 CRL', Buffer.from([3])), 'X509 CRL'), [Buffer.from([3])]);
});
