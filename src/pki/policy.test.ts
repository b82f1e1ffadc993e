import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PolicyError,
  caPlan,
  decideCsr,
  decodeNameConstraints,
  encodeNameConstraints,
  formatCidr,
  leafPlan,
  normalizeSerial,
  parseCidr,
  parseDnsConstraint,
  parseDuration,
  parseSan,
  parseSubject,
  sanPermitted,
  serialFromRandom,
  validity,
  P12_PROFILES,
  type NameConstraints,
} from './policy.js';

test('parseSubject: TYPE=value pairs, escaped commas, a CN required, unknown types refused', () => {
  assert.deepEqual(parseSubject('CN=Acme dev CA,O=Acme\\, Inc.,C=CH'), [
    { type: 'CN', value: 'Acme dev CA' },
    { type: 'O', value: 'Acme, Inc.' },
    { type: 'C', value: 'CH' },
  ]);
  assert.throws(() => parseSubject('O=Acme'), /needs a CN/);
  assert.throws(() => parseSubject('CN=x,UID=jdoe'), /UID is not allowed/);
  assert.throws(() => parseSubject('CN=x,C=Switzerland'), /two capital letters/);
  assert.throws(() => parseSubject('CN=a\u0000b'), /control character/);
  assert.throws(() => parseSubject(`CN=${'x'.repeat(65)}`), /longer than 64/);
});

test('parseSan: typed and bare names, lower-cased DNS, bad syntax refused', () => {
  assert.deepEqual(parseSan('DNS:LocalHost'), { type: 'dns', value: 'localhost' });
  assert.deepEqual(parseSan('IP:::1'), { type: 'ip', value: '::1' });
  assert.deepEqual(parseSan('127.0.0.1'), { type: 'ip', value: '127.0.0.1' });
  assert.deepEqual(parseSan('app.test'), { type: 'dns', value: 'app.test' });
  assert.deepEqual(parseSan('email:alice@example.test'), { type: 'email', value: 'alice@example.test' });
  assert.deepEqual(parseSan('URI:spiffe://example.test/alice'), { type: 'uri', value: 'spiffe://example.test/alice' });
  for (const bad of ['DNS:-bad.test', 'DNS:a..b', 'DNS:under_score.test', 'IP:300.1.1.1', 'email:nobody', 'URI:/relative']) assert.throws(() => parseSan(bad), PolicyError, bad);
});

test('caPlan: CA:TRUE pathlen 0, keyCertSign + cRLSign, no EKU; name constraints only when given', () => {
  const plan = caPlan();
  assert.equal(plan.ca, true);
  assert.equal(plan.pathLength, 0);
  assert.deepEqual(plan.keyUsage, ['keyCertSign', 'cRLSign']);
  assert.deepEqual(plan.extKeyUsage, []);
  assert.equal(plan.nameConstraints, undefined);
  assert.equal(caPlan({ permittedDns: [], permittedIp: [] }).nameConstraints, undefined);
  assert.deepEqual(caPlan({ permittedDns: ['test'], permittedIp: [] }).nameConstraints, { permittedDns: ['test'], permittedIp: [] });
});

test('leafPlan: one EKU per profile, keyEncipherment only for RSA, SANs required for servers', () => {
  const dns = [parseSan('DNS:localhost'), parseSan('IP:127.0.0.1')];
  const server = leafPlan('server', 'ec', dns);
  assert.equal(server.ca, false);
  assert.deepEqual(server.extKeyUsage, ['serverAuth']);
  assert.deepEqual(server.keyUsage, ['digitalSignature']);
  assert.deepEqual(leafPlan('server', 'rsa', dns).keyUsage, ['digitalSignature', 'keyEncipherment']);
  assert.deepEqual(leafPlan('client', 'ec', []).extKeyUsage, ['clientAuth']);
  assert.throws(() => leafPlan('server', 'ec', []), /needs at least one DNS or IP SAN/);
  assert.throws(() => leafPlan('server', 'ec', [parseSan('email:a@b.test')]), /cannot carry email/);
  assert.throws(() => leafPlan('client', 'ec', [parseSan('DNS:*.test')]), /wildcard/);
  assert.equal(leafPlan('server', 'ec', [...dns, parseSan('DNS:localhost')]).sans.length, 2, 'duplicates dropped');
});

const nc: NameConstraints = { permittedDns: ['localhost', '.test'], permittedIp: [parseCidr('127.0.0.0/8'), parseCidr('::1/128')] };

test('name constraints: RFC 5280 matching for DNS (name and below; .domain only below) and IP ranges', () => {
  const ok = (s: string) => sanPermitted(parseSan(s), nc);
  assert.equal(ok('DNS:localhost'), true);
  assert.equal(ok('DNS:app.localhost'), true);
  assert.equal(ok('DNS:app.test'), true);
  assert.equal(ok('DNS:test'), false, '.test: only names below it');
  assert.equal(ok('DNS:evil-localhost'), false, 'a suffix must be a whole label');
  assert.equal(ok('DNS:example.com'), false);
  assert.equal(ok('IP:127.0.0.1'), true);
  assert.equal(ok('IP:128.0.0.1'), false);
  assert.equal(ok('IP:::1'), true);
  assert.equal(ok('IP:::2'), false);
  assert.equal(ok('email:a@example.com'), true, 'no email constraint: unconstrained');
  assert.throws(() => leafPlan('server', 'ec', [parseSan('DNS:example.com')], nc), /outside the CA's name constraints/);
  assert.throws(() => parseCidr('127.0.0.1/8'), /host bits are set/);
  assert.throws(() => parseCidr('10.0.0.0'), /ADDRESS\/PREFIX/);
  assert.equal(parseDnsConstraint('.Test'), '.test');
  assert.equal(formatCidr(parseCidr('fd00::/8')), 'fd00:0:0:0:0:0:0:0/8');
});

test('name constraints DER: encode then decode gives the same constraints; openssl-style bytes', () => {
  const der = encodeNameConstraints(nc);
  assert.deepEqual(decodeNameConstraints(der), nc);
  // SEQUENCE { [0] { SEQUENCE { [2] "localhost" } … } }
  assert.equal(der[0], 0x30);
  assert.equal(der[2], 0xa0);
  // an excluded subtree ([1]) is not modelled: refused, not ignored
  const excluded = Buffer.from([0x30, 0x0d, 0xa1, 0x0b, 0x30, 0x09, 0x82, 0x07, ...Buffer.from('bad.com')]);
  assert.throws(() => decodeNameConstraints(excluded), /excluded subtrees/);
  // bytes after the SEQUENCE, or a length that runs past the value: not one NameConstraints, refused
  assert.throws(() => decodeNameConstraints(Buffer.concat([der, Buffer.from([0])])), /not one SEQUENCE/);
  assert.throws(() => decodeNameConstraints(der.subarray(0, der.length - 1)), /DER: element overruns/);
});

test('decideCsr: subject and permitted SANs only; requested extensions never copied', () => {
  const d = decideCsr(
    'server',
    {
      subject: [['CN', 'app.test'], ['0.9.2342.19200300.100.1.1', 'jdoe'], ['O', 'Acme']],
      sans: [{ type: 'dns', value: 'app.test' }, { type: 'dns', value: 'example.com' }, { type: 'email', value: 'a@app.test' }, { type: 'ip', value: '127.0.0.1' }],
      otherExtensions: ['basicConstraints (CA:TRUE)', 'extKeyUsage (codeSigning)'],
    },
    nc,
  );
  assert.deepEqual(d.subject, [{ type: 'CN', value: 'app.test' }, { type: 'O', value: 'Acme' }]);
  assert.deepEqual(d.sans, [{ type: 'dns', value: 'app.test' }, { type: 'ip', value: '127.0.0.1' }]);
  assert.equal(d.dropped.length, 5);
  assert.match(d.dropped.join('\n'), /basicConstraints \(CA:TRUE\): never copied/);
  assert.match(d.dropped.join('\n'), /DNS:example.com: outside the CA's name constraints/);
  assert.throws(() => decideCsr('server', { subject: [['CN', 'x']], sans: [{ type: 'dns', value: 'example.com' }], otherExtensions: [] }, nc), /no DNS or IP name/);
  assert.equal(decideCsr('client', { subject: [['CN', 'alice']], sans: [], otherExtensions: [] }).subject[0]!.value, 'alice');
});

test('validity: defaults 397 days for leaves and 10 years for a CA; caps; 5 minutes backdated', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const v = validity('server', undefined, now);
  assert.equal(v.days, 397);
  assert.equal(v.notAfter.toISOString(), '2027-02-02T00:00:00.000Z');
  assert.equal(v.notBefore.toISOString(), '2025-12-31T23:55:00.000Z');
  assert.equal(validity('ca', undefined, now).days, 3650);
  assert.throws(() => validity('server', 826, now), /1 to 825/);
  assert.throws(() => validity('client', 0, now), /out of range/);
  assert.throws(() => validity('client', 1.5, now), /out of range/);
});

test('serialFromRandom: 128 bits, positive, minimal DER', () => {
  assert.equal(serialFromRandom(Buffer.alloc(16, 0x11)), '11'.repeat(16));
  assert.equal(serialFromRandom(Buffer.alloc(16, 0xff)), `00${'ff'.repeat(16)}`, 'top bit set: a 00 keeps it positive');
  assert.equal(serialFromRandom(Buffer.from([0, ...Array(15).fill(0x22)])), `01${'22'.repeat(15)}`, 'a zero first byte would shorten it');
  assert.throws(() => serialFromRandom(Buffer.alloc(8)), RangeError);
});

test('normalizeSerial and parseDuration', () => {
  assert.equal(normalizeSerial('00:AB:cd'), 'abcd');
  assert.equal(normalizeSerial('0x0F'), 'f');
  assert.throws(() => normalizeSerial('xyz'), /not hexadecimal/);
  assert.equal(parseDuration('7d'), 7 * 86_400_000);
  assert.equal(parseDuration('12h'), 12 * 3_600_000);
  assert.throws(() => parseDuration('7'), /expected/);
  assert.throws(() => parseDuration('400d'), /between/);
});

test('p12 profiles: modern is AES-256/SHA-256, compat is 3DES/SHA-1; neither is RC2', () => {
  assert.deepEqual(P12_PROFILES.modern, { encryption: 'pbes2-aes256-sha256', macHash: 'sha256', iterations: 10_000 });
  assert.deepEqual(P12_PROFILES.compat, { encryption: 'pkcs12-sha1-3des', macHash: 'sha1', iterations: 10_000 });
});
