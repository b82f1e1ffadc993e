// Keystores made at test time by the real openssl 3 and keytool 17, opened by keygate's unlock; and
// keystores made by `keygate keystore create`, opened by openssl and keytool.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import forge from 'node-forge';
import { generateKeyPairSync } from 'node:crypto';
import { forgeJsPkcs12Key, unlockKeystore } from '../src/adapters/keystore.js';
import { checkPfxMac } from '../src/adapters/pkcs12-mac.js';
import { Secret } from '../src/adapters/vault.js';
import { KeygateError } from '../src/errors.js';
import { copyEntry, keygate, run, tempDir, SENTINEL } from './helpers/project.js';

const PW = 'changeit-Long-Pass';
let dir: string;
const pwFile = () => join(dir, 'pw');

function sh(cmd: string, args: string[]): void {
  const r = run(cmd, args, { cwd: dir });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}
const openssl = (...args: string[]) => sh('openssl', args);
const keytool = (...args: string[]) => sh('keytool', args);
const file = (name: string) => readFileSync(join(dir, name));

function selfSigned(name: string, keyArgs: string[], cn = 'localhost'): void {
  openssl('req', '-x509', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=DNS:localhost');
}

before(() => {
  dir = tempDir('kg-ks-');
  writeFileSync(pwFile(), PW);
  const RSA = ['-newkey', 'rsa:2048'];
  const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  selfSigned('rsa', RSA);
  selfSigned('ec', EC);
  selfSigned('other', RSA, 'other');
  const p = ['-passout', `file:${pwFile()}`];
  openssl('pkcs12', '-export', '-inkey', 'rsa.key', '-in', 'rsa.pem', '-out', 'a-rsa.p12', ...p);
  openssl('pkcs12', '-export', '-inkey', 'ec.key', '-in', 'ec.pem', '-out', 'a-ec.p12', ...p);
  openssl('pkcs12', '-export', '-legacy', '-inkey', 'rsa.key', '-in', 'rsa.pem', '-out', 'b-rsa.p12', ...p);
  openssl('pkcs12', '-export', '-legacy', '-inkey', 'ec.key', '-in', 'ec.pem', '-out', 'b-ec.p12', ...p);
  openssl('pkcs12', '-export', '-nomac', '-inkey', 'rsa.key', '-in', 'rsa.pem', '-out', 'x-nomac.p12', ...p);
  openssl('pkcs12', '-export', '-nokeys', '-in', 'rsa.pem', '-out', 'x-certonly.p12', ...p);
  // chain: root -> intermediate -> leaf, with a friendlyName
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-days', '30', '-subj', '/CN=Test Root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/CN=Test Intermediate');
  writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  openssl('x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'int.pem', '-days', '30', '-extfile', 'ca.ext');
  openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'leaf.ext'), 'subjectAltName=DNS:localhost\n');
  openssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '30', '-extfile', 'leaf.ext');
  writeFileSync(join(dir, 'cas.pem'), Buffer.concat([file('int.pem'), file('root.pem')]));
  openssl('pkcs12', '-export', '-inkey', 'leaf.key', '-in', 'leaf.pem', '-certfile', 'cas.pem', '-name', 'my-server-alias', '-out', 'f-chain.p12', ...p);

  const kt = (extra: string[], ...args: string[]) => keytool(...extra, ...args, '-storepass:file', pwFile(), '-keypass:file', pwFile());
  const gen = (store: string, alias: string, alg: string[], extra: string[] = [], type = 'PKCS12') =>
    kt(extra, '-genkeypair', '-alias', alias, ...alg, '-dname', `CN=${alias}.localhost`, '-validity', '30', '-storetype', type, '-keystore', store);
  const RSAK = ['-keyalg', 'RSA', '-keysize', '2048'];
  gen('c-rsa.p12', 'mykey', RSAK);
  gen('c-ec.p12', 'mykey', ['-keyalg', 'EC', '-groupname', 'secp256r1']);
  gen('d-rsa.p12', 'mykey', RSAK, ['-J-Dkeystore.pkcs12.legacy']);
  gen('e.jks', 'mykey', RSAK, [], 'JKS');
  keytool('-importkeystore', '-srckeystore', 'e.jks', '-srcstoretype', 'JKS', '-srcstorepass:file', pwFile(), '-destkeystore', 'e-rsa.p12', '-deststoretype', 'pkcs12', '-deststorepass:file', pwFile());
  gen('g-two.p12', 'first', RSAK);
  gen('g-two.p12', 'second', RSAK);
});

const open = (name: string, opts: Parameters<typeof unlockKeystore>[2] = {}, pw = PW) => unlockKeystore(file(name), new Secret(pw), { name, ...opts });

function assertServable(name: string, opts: Parameters<typeof unlockKeystore>[2] = {}): ReturnType<typeof unlockKeystore> {
  const u = open(name, opts);
  assert.ok(u.keyPem.startsWith('-----BEGIN PRIVATE KEY-----'), name);
  assert.ok(u.certPem.startsWith('-----BEGIN CERTIFICATE-----'), name);
  createSecureContext({ key: u.keyPem, cert: [u.certPem, ...u.chainPem].join('\n') }); // Node accepts the pair
  return u;
}

test('opens openssl 3 keystores: default and -legacy (RC2), RSA and EC', () => {
  for (const n of ['a-rsa.p12', 'b-rsa.p12']) assert.equal(assertServable(n).keyType, 'rsa');
  for (const n of ['a-ec.p12', 'b-ec.p12']) assert.equal(assertServable(n).keyType, 'ec');
});

test('opens keytool 17 keystores: default, legacy, EC, and JKS converted with -importkeystore', () => {
  for (const n of ['c-rsa.p12', 'd-rsa.p12', 'e-rsa.p12']) assert.equal(assertServable(n).alias, 'mykey', n);
  assert.equal(assertServable('c-ec.p12').keyType, 'ec');
});

test('a chain: serves leaf + intermediate, not the self-signed root; alias from friendlyName', () => {
  const u = assertServable('f-chain.p12');
  assert.equal(u.alias, 'my-server-alias');
  assert.match(u.subject, /CN=localhost/);
  assert.equal(u.chainPem.length, 1);
  assert.equal(u.chainPem[0], file('int.pem').toString().replace(/\r/g, ''));
});

test('several aliases: --alias picks one; none given or an unknown one is a clear error', () => {
  assert.match(assertServable('g-two.p12', { alias: 'second' }).subject, /CN=second\.localhost/);
  assert.match(assertServable('g-two.p12', { alias: 'first' }).subject, /CN=first\.localhost/);
  assert.equal(assertServable('g-two.p12', { alias: 'second' }).chainPem.length, 0); // never the other alias's cert
  const err = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return e as KeygateError;
    }
    assert.fail('expected an error');
  };
  const none = err(() => open('g-two.p12'));
  assert.equal(none.code, 'KEYSTORE_ALIAS_NOT_FOUND');
  assert.match(none.message, /holds 2 keys \(first, second\)/);
  assert.equal(err(() => open('g-two.p12', { alias: 'third' })).code, 'KEYSTORE_ALIAS_NOT_FOUND');
});

function forgeP12(key: forge.pki.rsa.PrivateKey, cert: forge.pki.Certificate, pw: string): Buffer {
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, [cert], pw, { algorithm: '3des' });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

function forgeCert(key: forge.pki.rsa.PrivateKey, pub: forge.pki.rsa.PublicKey, from: Date, to: Date): forge.pki.Certificate {
  const c = forge.pki.createCertificate();
  c.publicKey = pub;
  c.serialNumber = '01';
  c.validity.notBefore = from;
  c.validity.notAfter = to;
  c.setSubject([{ shortName: 'CN', value: 'localhost' }]);
  c.setIssuer([{ shortName: 'CN', value: 'localhost' }]);
  c.sign(key, forge.md.sha256.create());
  return c;
}

function rsaPair(): { key: forge.pki.rsa.PrivateKey; pub: forge.pki.rsa.PublicKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string) as forge.pki.rsa.PrivateKey;
  return { key, pub: forge.pki.setRsaPublicKey(key.n, key.e) };
}

test('every broken keystore gets its own clear error', () => {
  const a = rsaPair();
  const b = rsaPair();
  const day = 86_400_000;
  writeFileSync(join(dir, 'x-mismatch.p12'), forgeP12(a.key, forgeCert(b.key, b.pub, new Date(Date.now() - day), new Date(Date.now() + day)), PW));
  writeFileSync(join(dir, 'x-expired.p12'), forgeP12(a.key, forgeCert(a.key, a.pub, new Date(Date.now() - 10 * day), new Date(Date.now() - day)), PW));
  writeFileSync(join(dir, 'x-truncated.p12'), file('a-rsa.p12').subarray(0, 700));
  writeFileSync(join(dir, 'x-text.p12'), 'this is not a keystore\n');
  writeFileSync(join(dir, 'x-empty.p12'), '');
  const cases: [string, string, RegExp, string?][] = [
    ['a-rsa.p12', 'KEYSTORE_BAD_PASSWORD', /password does not match/, 'wrong-password'],
    ['b-rsa.p12', 'KEYSTORE_BAD_PASSWORD', /password does not match/, 'wrong-password'],
    ['c-rsa.p12', 'KEYSTORE_BAD_PASSWORD', /password does not match/, 'wrong-password'],
    ['x-truncated.p12', 'KEYSTORE_CORRUPT', /truncated or corrupt/],
    ['x-text.p12', 'KEYSTORE_CORRUPT', /not a PKCS#12 file: it looks like a text file/],
    ['x-empty.p12', 'KEYSTORE_CORRUPT', /./],
    ['x-nomac.p12', 'KEYSTORE_NO_MAC', /no integrity MAC/],
    ['x-certonly.p12', 'KEYSTORE_NO_KEY', /holds no private key/],
    ['x-mismatch.p12', 'KEYSTORE_KEY_MISMATCH', /does not match its private key|belongs to the private key/],
    ['x-expired.p12', 'KEYSTORE_CERT_EXPIRED', /expired on/],
  ];
  for (const [name, code, re, pw] of cases) {
    try {
      open(name, {}, pw ?? PW);
      assert.fail(`${name} opened`);
    } catch (e) {
      assert.ok(e instanceof KeygateError, `${name}: ${String(e)}`);
      assert.equal(e.code, code, `${name}: ${e.message}`);
      assert.match(e.message, re, name);
      assert.ok(!e.message.includes(PW));
    }
  }
  assert.ok(open('x-expired.p12', { allowExpired: true }).keyPem);
});

test('keygate keystore create: RSA 4096, SAN, 10 years, the modern p12 profile, keystore 0600 and .crt 0644, CN-only subject, opened by openssl and keytool', () => {
  const proj = tempDir('kg-create-');
  copyEntry(proj);
  writeFileSync(join(proj, 'pw.txt'), `${SENTINEL}\n`);
  const r = keygate(proj, ['keystore', 'create', '--password-file', 'pw.txt', '--out', 'keystore/svc.p12', '--alias', 'svc']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes(SENTINEL) && !r.stderr.includes(SENTINEL));
  assert.equal(statSync(join(proj, 'keystore/svc.p12')).mode & 0o777, 0o600, 'the keystore is private');
  assert.equal(statSync(join(proj, 'keystore/svc.crt')).mode & 0o777, 0o644, 'the certificate is public (issue 20: it was 0600)');
  const pass = ['-passin', `file:${join(proj, 'pw.txt')}`];
  const info = run('openssl', ['pkcs12', '-in', 'keystore/svc.p12', '-info', '-noout', ...pass], { cwd: proj });
  assert.equal(info.code, 0, info.stderr);
  // written by the PKI's one PKCS#12 writer (src/pki/pkcs12.ts, profile modern), as openssl 3 writes by default
  assert.match(info.stderr, /MAC: sha256, Iteration 10000/);
  assert.match(info.stderr, /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256/);
  assert.match(info.stderr, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256/);
  const text = run('openssl', ['x509', '-in', 'keystore/svc.crt', '-noout', '-text'], { cwd: proj }).stdout;
  assert.match(text, /Public-Key: \(4096 bit\)/);
  assert.match(text, /DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
  assert.match(text, /Subject: CN ?= ?localhost\n/, 'CN only: no seed "PAM Test" subject');
  assert.match(text, /TLS Web Server Authentication/);
  const end = run('openssl', ['x509', '-in', 'keystore/svc.crt', '-noout', '-enddate'], { cwd: proj }).stdout;
  assert.equal(new Date(end.split('=')[1]!).getUTCFullYear(), new Date().getUTCFullYear() + 10);
  const list = run('keytool', ['-list', '-storetype', 'PKCS12', '-keystore', 'keystore/svc.p12', '-storepass:file', join(proj, 'pw.txt')], { cwd: proj });
  assert.equal(list.code, 0, list.stdout + list.stderr);
  assert.match(list.stdout, /svc, .*PrivateKeyEntry/);
  // and keygate opens what it made
  assert.equal(unlockKeystore(readFileSync(join(proj, 'keystore/svc.p12')), new Secret(SENTINEL)).alias, 'svc');
  // never overwrite silently
  const again = keygate(proj, ['keystore', 'create', '--password-file', 'pw.txt', '--out', 'keystore/svc.p12']);
  assert.equal(again.code, 5);
  assert.match(again.stderr, /KEYSTORE_EXISTS/);
});

test('keystore create refuses a password on argv and an empty password file', () => {
  const proj = tempDir('kg-create-');
  copyEntry(proj);
  const r = keygate(proj, ['keystore', 'create', '--password', 'x']);
  assert.equal(r.code, 2);
  writeFileSync(join(proj, 'empty'), '\n');
  const e = keygate(proj, ['keystore', 'create', '--password-file', 'empty']);
  assert.equal(e.code, 2);
  assert.match(e.stderr, /is empty/);
});

test('the MAC is checked natively for every MAC kind the tools write (SHA-1, SHA-256; 2048 to 100000 iterations)', () => {
  const oid = (der: string) => forge.asn1.derToOid(der);
  for (const name of ['a-rsa.p12', 'b-rsa.p12', 'c-rsa.p12', 'd-rsa.p12', 'e-rsa.p12', 'f-chain.p12', 'g-two.p12']) {
    const asn1 = forge.asn1.fromDer(file(name).toString('binary'));
    assert.equal(checkPfxMac(asn1, PW, oid), 'ok', name);
    assert.equal(checkPfxMac(asn1, `${PW}x`, oid), 'bad', name);
  }
});

test('native PKCS#12 KDF equals forge JavaScript one (keys longer than one hash, ids 1-3)', () => {
  const salt = Buffer.from('0123456789abcdef', 'hex');
  for (const [id, n, iter] of [[1, 24, 2048], [2, 8, 1000], [3, 20, 1], [1, 45, 3]] as const) {
    // forge.pbe.generatePkcs12Key and forge.pkcs12.generateKey are both the patched (native, capped) one now;
    // compare with forge's own pure-JS function, kept unpatched as forgeJsPkcs12Key.
    const md = forge.md.sha1.create();
    const js = forgeJsPkcs12Key(PW, forge.util.createBuffer(salt.toString('binary')), id, iter, n, md).bytes();
    const mac = (forge as unknown as { pkcs12: { generateKey: (...a: unknown[]) => forge.util.ByteStringBuffer } }).pkcs12.generateKey(PW, forge.util.createBuffer(salt.toString('binary')), id, iter, n, md).bytes();
    assert.equal(Buffer.from(mac, 'binary').toString('hex'), Buffer.from(js, 'binary').toString('hex'), `MAC alias, id ${id} n ${n}`);
    const native = (forge as unknown as { pbe: { generatePkcs12Key: (...a: unknown[]) => forge.util.ByteStringBuffer } }).pbe.generatePkcs12Key(PW, forge.util.createBuffer(salt.toString('binary')), id, iter, n, md).bytes();
    assert.equal(Buffer.from(native, 'binary').toString('hex'), Buffer.from(js, 'binary').toString('hex'), `id ${id} n ${n}`);
  }
});

// Crafted iteration counts (issue 9 point 3): a keystore file is writable by design (rotation), so its
// iteration counts are attacker input. Above the cap every derivation is refused before it starts: the MAC
// (which used to fall back to node-forge's uncapped pure-JS KDF: 10,000,001 iterations ran past 12 s), PBES2's
// PBKDF2 and the legacy PKCS#12 KDF of an encrypted bag. Made by the real openssl with -iter 10000001.
test('iteration counts above the cap are refused at once, for the MAC, PBES2 and legacy 3DES bags', () => {
  const over = [
    ['x-iter-mac.p12', /its MAC asks for 10000001 iterations, more than the 10000000 keygate accepts/, ['-certpbe', 'NONE', '-keypbe', 'NONE']],
    ['x-iter-pbes2.p12', /asks for 10000001 key derivation iterations, more than the 10000000 keygate accepts/, ['-nomaciter', '-certpbe', 'NONE']],
    ['x-iter-legacy.p12', /asks for 10000001 key derivation iterations, more than the 10000000 keygate accepts/, ['-legacy', '-nomaciter', '-certpbe', 'NONE']],
  ] as const;
  for (const [name, re, args] of over) {
    openssl('pkcs12', '-export', '-inkey', 'rsa.key', '-in', 'rsa.pem', '-out', name, '-passout', `file:${pwFile()}`, '-iter', '10000001', ...args);
    const t = Date.now();
    try {
      open(name);
      assert.fail(`${name} opened`);
    } catch (e) {
      assert.ok(e instanceof KeygateError, `${name}: ${String(e)}`);
      assert.equal(e.code, 'KEYSTORE_UNSUPPORTED', `${name}: ${e.message}`);
      assert.match(e.message, re, name);
      assert.match(e.hint ?? '', /-iter 10000/);
    }
    assert.ok(Date.now() - t < 1000, `${name}: refused after ${Date.now() - t} ms, not at once`);
  }
  // forge's own MAC path (an algorithm the native check leaves to forge, here MD5) is capped as well.
  const md5 = run('openssl', ['pkcs12', '-export', '-inkey', 'rsa.key', '-in', 'rsa.pem', '-out', 'x-iter-md5.p12', '-passout', `file:${pwFile()}`, '-iter', '10000001', '-certpbe', 'NONE', '-keypbe', 'NONE', '-macalg', 'md5'], { cwd: dir });
  if (md5.code === 0) {
    const t = Date.now();
    assert.throws(() => open('x-iter-md5.p12'), (e: unknown) => e instanceof KeygateError && e.code === 'KEYSTORE_UNSUPPORTED' && /10000001/.test(e.message));
    assert.ok(Date.now() - t < 1000, `md5 MAC refused after ${Date.now() - t} ms`);
  }
});

// The keystore matrix (issue 9 "Keystores"): what openssl 3 and keytool 17 make, and what users hand in by mistake.
test('a non-ASCII password opens an openssl 3 default (PBES2/AES) keystore, and a -legacy one', () => {
  const pw = 'chängeit-€-Pass';
  writeFileSync(join(dir, 'pw-utf8'), pw);
  openssl('pkcs12', '-export', '-inkey', 'rsa.key', '-in', 'rsa.pem', '-out', 'x-nonascii.p12', '-passout', `file:${join(dir, 'pw-utf8')}`);
  openssl('pkcs12', '-export', '-legacy', '-inkey', 'rsa.key', '-in', 'rsa.pem', '-out', 'x-nonascii-legacy.p12', '-passout', `file:${join(dir, 'pw-utf8')}`);
  for (const n of ['x-nonascii.p12', 'x-nonascii-legacy.p12']) assert.match(open(n, {}, pw).subject, /CN=localhost/, n);
  assert.throws(() => open('x-nonascii.p12', {}, 'changeit-€-Pass'), (e: unknown) => e instanceof KeygateError && e.code === 'KEYSTORE_BAD_PASSWORD');
});

test('a Camellia-encrypted keystore is "unsupported cipher", not corrupt', () => {
  openssl('pkcs12', '-export', '-inkey', 'rsa.key', '-in', 'rsa.pem', '-out', 'x-camellia.p12', '-passout', `file:${pwFile()}`, '-keypbe', 'CAMELLIA-256-CBC', '-certpbe', 'CAMELLIA-256-CBC');
  assert.throws(
    () => open('x-camellia.p12'),
    (e: unknown) => e instanceof KeygateError && e.code === 'KEYSTORE_UNSUPPORTED' && /: unsupported cipher camellia-256-cbc/.test(e.message) && /openssl pkcs12/.test(e.hint ?? ''),
  );
});

test('files that are not PKCS#12 say what they look like: DER and PEM certificate, PEM key, JKS, empty, text', () => {
  openssl('x509', '-in', 'rsa.pem', '-outform', 'DER', '-out', 'x-cert.der');
  const jks = run('keytool', ['-genkeypair', '-alias', 'j', '-keyalg', 'RSA', '-keysize', '2048', '-dname', 'CN=j', '-validity', '30', '-storetype', 'JKS', '-keystore', 'x-store.jks', '-storepass:file', pwFile(), '-keypass:file', pwFile()], { cwd: dir });
  assert.equal(jks.code, 0, jks.stderr);
  writeFileSync(join(dir, 'x-empty2.p12'), '');
  writeFileSync(join(dir, 'x-words.p12'), 'this is not a keystore\n');
  const cases: [string, RegExp][] = [
    ['x-cert.der', /not a PKCS#12 file: it looks like a DER X\.509 certificate$/],
    ['rsa.pem', /not a PKCS#12 file: it looks like a PEM file \(CERTIFICATE\)$/],
    ['rsa.key', /not a PKCS#12 file: it looks like a PEM file \(PRIVATE KEY\)$/],
    ['x-store.jks', /not a PKCS#12 file: it looks like a Java KeyStore \(JKS\) file$/],
    ['x-empty2.p12', /not a PKCS#12 file: it looks like an empty file$/],
    ['x-words.p12', /not a PKCS#12 file: it looks like a text file$/],
  ];
  for (const [name, re] of cases) {
    assert.throws(
      () => open(name),
      (e: unknown) => {
        assert.ok(e instanceof KeygateError, `${name}: ${String(e)}`);
        assert.equal(e.code, 'KEYSTORE_CORRUPT', `${name}: ${e.message}`);
        assert.match(e.message, re, name);
        assert.doesNotMatch(`${e.message} ${e.hint}`, /decrypt|password/, `${name}: nothing suggests decryption`);
        return true;
      },
    );
  }
});

test('a few stray bytes are corrupt, never a crash', () => {
  for (const b of [[0x30], [0xfe, 0xed], [0x30, 0x03, 0x02, 0x01], [0x00, 0x01, 0x02]]) {
    writeFileSync(join(dir, 'x-stray.p12'), Buffer.from(b));
    assert.throws(() => open('x-stray.p12'), (e: unknown) => e instanceof KeygateError && e.code === 'KEYSTORE_CORRUPT', Buffer.from(b).toString('hex'));
  }
});

test('RSA-PSS keys open and match; DSA keys are refused at unlock with a clear message', () => {
  openssl('req', '-x509', '-newkey', 'rsa-pss', '-pkeyopt', 'rsa_keygen_bits:2048', '-nodes', '-keyout', 'pss.key', '-out', 'pss.pem', '-days', '30', '-subj', '/CN=localhost');
  openssl('pkcs12', '-export', '-inkey', 'pss.key', '-in', 'pss.pem', '-out', 'x-pss.p12', '-passout', `file:${pwFile()}`);
  assert.equal(assertServable('x-pss.p12').keyType, 'rsa-pss');
  openssl('genpkey', '-genparam', '-algorithm', 'DSA', '-pkeyopt', 'dsa_paramgen_bits:2048', '-out', 'dsa-param.pem');
  openssl('req', '-x509', '-newkey', 'param:dsa-param.pem', '-nodes', '-keyout', 'dsa.key', '-out', 'dsa.pem', '-days', '30', '-subj', '/CN=localhost');
  openssl('pkcs12', '-export', '-inkey', 'dsa.key', '-in', 'dsa.pem', '-out', 'x-dsa.p12', '-passout', `file:${pwFile()}`);
  assert.throws(
    () => open('x-dsa.p12'),
    (e: unknown) => e instanceof KeygateError && e.code === 'KEYSTORE_UNSUPPORTED' && /: its key is DSA, which the TLS profile cannot serve/.test(e.message),
  );
});

test('a chain of 10 intermediates is served whole (the walk used to stop after 8 without a word)', () => {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'c0.key', '-out', 'c0.pem', '-days', '30', '-subj', '/CN=Chain Root', '-addext', 'basicConstraints=critical,CA:TRUE');
  for (let i = 1; i <= 11; i++) {
    openssl('req', '-new', ...ec, '-keyout', `c${i}.key`, '-out', `c${i}.csr`, '-subj', i === 11 ? '/CN=localhost' : `/CN=Chain CA ${i}`);
    openssl('x509', '-req', '-in', `c${i}.csr`, '-CA', `c${i - 1}.pem`, '-CAkey', `c${i - 1}.key`, '-CAcreateserial', '-out', `c${i}.pem`, '-days', '30', ...(i === 11 ? [] : ['-extfile', 'ca.ext']));
  }
  writeFileSync(join(dir, 'c-cas.pem'), Buffer.concat(Array.from({ length: 11 }, (_, i) => file(`c${i}.pem`))));
  openssl('pkcs12', '-export', '-inkey', 'c11.key', '-in', 'c11.pem', '-certfile', 'c-cas.pem', '-out', 'x-long-chain.p12', '-passout', `file:${pwFile()}`);
  const u = assertServable('x-long-chain.p12');
  assert.equal(u.chainPem.length, 10);
});

test('keygate keystore create: --subject adds O/OU/C, a bad one (or a bad --dns) is a usage error, and with no --out it writes keystore.path from ./keygate.config.json', () => {
  const proj = tempDir('kg-create-');
  copyEntry(proj);
  writeFileSync(join(proj, 'pw.txt'), `${SENTINEL}\n`);
  writeFileSync(join(proj, 'keygate.config.json'), JSON.stringify({ keystore: { path: 'keystore/shop-api.p12' } }));
  const r = keygate(proj, ['keystore', 'create', '--password-file', 'pw.txt', '--key-size', '2048', '--subject', 'O=Example Ltd, C=GB']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${join(proj, 'keystore/shop-api.p12')}\n`, 'the configured path, not keystore/keygate.p12');
  const text = run('openssl', ['x509', '-in', 'keystore/shop-api.crt', '-noout', '-subject'], { cwd: proj }).stdout;
  assert.match(text, /subject=CN ?= ?localhost, O ?= ?Example Ltd, C ?= ?GB\n/);
  const bad = keygate(proj, ['keystore', 'create', '--password-file', 'pw.txt', '--subject', 'L=Zurich', '--force']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'keygate: error: failed to parse --subject: "L=Zurich" is not OU=…, O=… or C=… (CN is --cn) [USAGE]\n  fix: node dist/main.js keystore create --subject "O=Example Ltd, C=GB" …\n');
  // the self-signed certificate follows the PKI's server profile too: a SAN that is no DNS name is refused
  const badDns = keygate(proj, ['keystore', 'create', '--password-file', 'pw.txt', '--dns', 'not a name', '--force']);
  assert.equal(badDns.code, 2, badDns.stderr);
  assert.match(badDns.stderr, /^keygate: error: refused to create the keystore: .*not a name.* \[PKI_POLICY\]\n/);
});
