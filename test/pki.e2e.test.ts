// keygate pki end to end, with the real peers as judges: `openssl verify -x509_strict` for every chain (EC, RSA
// and Ed25519 CAs), `openssl pkcs12 -info` and `keytool -list` for both p12 profiles, `openssl crl` and
// `openssl verify -crl_check` for the CRL, an openssl-made CSR that asks for CA:TRUE and extra EKUs, a dev-CA
// keystore served by keygate and trusted by curl --cacert ca.crt, and curl presenting a client p12 to
// `openssl s_server -Verify 1`. Keys are made here, at test time; the CA password never appears in any output.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, SENTINEL, curl, demoProject, keygate as runKeygate, run, serve, tempDir, type RunResult } from './helpers/project.js';

const CA_PASSWORD = 'ca-SENTINEL-7d1c0e';
const P12_PASSWORD = 'p12-SENTINEL-90ab3f';

function missing(cmd: string, pkg: string): string | undefined {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0 ? undefined : `${cmd} is missing: apt-get install ${pkg}`;
}
const noOpenssl = { skip: missing('openssl', 'openssl') };
const noKeytool = { skip: missing('openssl', 'openssl') ?? missing('keytool', 'openjdk-17-jre-headless') };
const noCurl = { skip: missing('openssl', 'openssl') ?? missing('curl', 'curl') };

/** A folder with keygate's entry (no node_modules: pki must run from the bundle alone) and the two password files. */
function workdir(): string {
  const d = tempDir('kg-pki-');
  run('mkdir', ['-p', join(d, 'dist')]);
  for (const f of ['main.js', 'package.json']) writeFileSync(join(d, 'dist', f), readFileSync(join(ROOT, 'dist', f)));
  writeFileSync(join(d, 'ca.pw'), `${CA_PASSWORD}\n`, { mode: 0o600 });
  writeFileSync(join(d, 'p12.pw'), `${P12_PASSWORD}\n`, { mode: 0o600 });
  return d;
}

/** keygate in `dir`; every output is checked for both passwords. */
function kg(dir: string, args: readonly string[]): RunResult {
  const r = runKeygate(dir, args);
  for (const secret of [CA_PASSWORD, P12_PASSWORD]) {
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `a password leaked into the output of keygate ${args.join(' ')}`);
  }
  return r;
}

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

const text = (dir: string, file: string): string => ok(run('openssl', ['x509', '-in', file, '-noout', '-text'], { cwd: dir }), `openssl x509 ${file}`).stdout;

for (const keyType of ['ec', 'rsa', 'ed25519'] as const) {
  test(`${keyType} CA: openssl verify -x509_strict accepts its server and client chains; profiles as documented`, noOpenssl, () => {
    const d = workdir();
    ok(kg(d, ['pki', 'ca', 'create', '--key-type', keyType, '--subject', 'CN=keygate test CA,O=keygate', '--password-file', 'ca.pw']), 'ca create');
    ok(kg(d, ['pki', 'issue', 'server', '--san', 'DNS:localhost', '--san', 'IP:127.0.0.1', '--ca-password-file', 'ca.pw']), 'issue server');
    ok(kg(d, ['pki', 'issue', 'client', '--cn', 'alice', '--san', 'email:alice@example.test', '--ca-password-file', 'ca.pw', '--cert', 'pki/alice.crt']), 'issue client');
    const v = run('openssl', ['verify', '-x509_strict', '-CAfile', 'pki/ca.crt', 'pki/server.crt', 'pki/alice.crt'], { cwd: d });
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /server\.crt: OK\n.*alice\.crt: OK/);
    // server chain for the TLS purpose, client chain for its own
    assert.equal(run('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', 'pki/ca.crt', 'pki/server.crt'], { cwd: d }).code, 0);
    assert.equal(run('openssl', ['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', 'pki/ca.crt', 'pki/alice.crt'], { cwd: d }).code, 0);
    assert.notEqual(run('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', 'pki/ca.crt', 'pki/alice.crt'], { cwd: d }).code, 0, 'a client certificate must not pass as a server');

    const ca = text(d, 'pki/ca.crt');
    assert.match(ca, /X509v3 Basic Constraints: critical\n\s+CA:TRUE, pathlen:0/);
    assert.match(ca, /X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/);
    assert.doesNotMatch(ca, /Extended Key Usage/);
    const server = text(d, 'pki/server.crt');
    assert.match(server, /CA:FALSE/);
    assert.match(server, /Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
    assert.match(server, /DNS:localhost, IP Address:127\.0\.0\.1/);
    assert.match(text(d, 'pki/alice.crt'), /Extended Key Usage: \n\s+TLS Web Client Authentication\n/);
    for (const t of [ca, server]) {
      const sig = /Signature Algorithm: (\S+)/.exec(t)![1]!;
      assert.match(sig, keyType === 'ed25519' ? /^ED25519$/ : keyType === 'rsa' ? /^sha256WithRSAEncryption$/ : /^ecdsa-with-SHA256$/, `signature ${sig}`);
      assert.doesNotMatch(t, /sha1|SHA1/, 'never SHA-1');
    }
    // 397 days by default; a random positive 128-bit serial
    const dates = run('openssl', ['x509', '-in', 'pki/server.crt', '-noout', '-startdate', '-enddate', '-serial'], { cwd: d }).stdout;
    const start = Date.parse(/notBefore=(.*)/.exec(dates)![1]!);
    const end = Date.parse(/notAfter=(.*)/.exec(dates)![1]!);
    assert.equal(Math.round((end - start - 5 * 60_000) / 86_400_000), 397);
    assert.match(/serial=(\w+)/.exec(dates)![1]!, /^(00)?[0-9A-F]{32}$/);
    // keys 0600; the CA key encrypted (PKCS#8 PBES2) and opened by openssl with the password file only
    for (const k of ['pki/ca.key', 'pki/server.key', 'pki/alice.key']) assert.equal(statSync(join(d, k)).mode & 0o777, 0o600, k);
    const caKey = readFileSync(join(d, 'pki/ca.key'), 'utf8');
    assert.match(caKey, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    assert.equal(run('openssl', ['pkey', '-in', 'pki/ca.key', '-passin', 'pass:wrong-password', '-noout'], { cwd: d }).code, 1);
    const parsed = ok(run('openssl', ['asn1parse', '-in', 'pki/ca.key'], { cwd: d }), 'asn1parse').stdout;
    assert.match(parsed, /PBES2[\s\S]*PBKDF2[\s\S]*:0927C0\n[\s\S]*hmacWithSHA256[\s\S]*aes-256-cbc/, 'PBES2, 600,000 PBKDF2-HMAC-SHA256 iterations, AES-256-CBC');
    assert.equal(run('openssl', ['pkey', '-in', 'pki/ca.key', '-passin', 'file:ca.pw', '-noout'], { cwd: d }).code, 0);
    // the password is in no file keygate wrote (grep -r over everything but the password files)
    assert.equal(run('grep', ['-rlF', '--exclude=*.pw', CA_PASSWORD, d]).stdout, '');
  });
}

test('ca create refuses to overwrite, insists on an encrypted key unless --insecure, and rejects a wrong password', noOpenssl, () => {
  const d = workdir();
  ok(kg(d, ['pki', 'ca', 'create', '--password-file', 'ca.pw']), 'ca create');
  const before = readFileSync(join(d, 'pki/ca.key'));
  const again = kg(d, ['pki', 'ca', 'create', '--password-file', 'ca.pw']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /refused to overwrite .*ca\.crt.*ca\.key \[PKI_EXISTS\]/);
  assert.deepEqual(readFileSync(join(d, 'pki/ca.key')), before, 'the old key is untouched');
  // no password file and no terminal: a usage error, never a wait for input
  const noPw = kg(d, ['pki', 'issue', 'server', '--san', 'DNS:localhost']);
  assert.equal(noPw.code, 2);
  assert.match(noPw.stderr, /no --ca-password-file and no terminal/);
  writeFileSync(join(d, 'wrong.pw'), 'not-the-ca-password\n');
  const wrong = kg(d, ['pki', 'issue', 'server', '--san', 'DNS:localhost', '--ca-password-file', 'wrong.pw']);
  assert.equal(wrong.code, 5);
  assert.match(wrong.stderr, /the password does not decrypt it \[PKI_BAD_PASSWORD\]/);
  // an unencrypted CA key is written and used only with --insecure
  ok(kg(d, ['pki', 'ca', 'create', '--insecure', '--cert', 'open/ca.crt', '--key', 'open/ca.key']), 'ca create --insecure');
  assert.match(readFileSync(join(d, 'open/ca.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  const refused = kg(d, ['pki', 'issue', 'server', '--san', 'DNS:localhost', '--ca-cert', 'open/ca.crt', '--ca-key', 'open/ca.key']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /refused to use the CA key .* it is not encrypted/);
  ok(kg(d, ['pki', 'issue', 'server', '--san', 'DNS:localhost', '--ca-cert', 'open/ca.crt', '--ca-key', 'open/ca.key', '--insecure']), 'issue with --insecure');
  // a leaf that would outlive the CA, and a server certificate without a name, are refused
  ok(kg(d, ['pki', 'ca', 'create', '--password-file', 'ca.pw', '--days', '30', '--cert', 'short/ca.crt', '--key', 'short/ca.key']), 'short CA');
  const outlive = kg(d, ['pki', 'issue', 'server', '--san', 'DNS:localhost', '--ca-cert', 'short/ca.crt', '--ca-key', 'short/ca.key', '--ca-password-file', 'ca.pw', '--cert', 'x.crt']);
  assert.equal(outlive.code, 2);
  assert.match(outlive.stderr, /would outlive its CA \(CA expires .*\) \[PKI_POLICY\]/);
  const noSan = kg(d, ['pki', 'issue', 'server', '--ca-password-file', 'ca.pw', '--cert', 'y.crt']);
  assert.equal(noSan.code, 2);
  assert.match(noSan.stderr, /needs at least one DNS or IP SAN/);
});

test('name constraints: keygate refuses names outside them, and openssl rejects a leaf signed around keygate', noOpenssl, () => {
  const d = workdir();
  ok(kg(d, ['pki', 'ca', 'create', '--password-file', 'ca.pw', '--permit-dns', 'localhost', '--permit-dns', '.test', '--permit-ip', '127.0.0.0/8']), 'ca create');
  assert.match(text(d, 'pki/ca.crt'), /X509v3 Name Constraints: critical\n\s+Permitted:\n\s+DNS:localhost\n\s+DNS:\.test\n\s+IP:127\.0\.0\.0\/255\.0\.0\.0/);
  ok(kg(d, ['pki', 'issue', 'server', '--san', 'DNS:app.test', '--san', 'IP:127.0.0.1', '--ca-password-file', 'ca.pw']), 'inside');
  assert.equal(run('openssl', ['verify', '-x509_strict', '-CAfile', 'pki/ca.crt', 'pki/server.crt'], { cwd: d }).code, 0);
  const outside = kg(d, ['pki', 'issue', 'server', '--san', 'DNS:example.com', '--ca-password-file', 'ca.pw', '--cert', 'out.crt']);
  assert.equal(outside.code, 2);
  assert.match(outside.stderr, /DNS:example\.com is outside the CA's name constraints \[PKI_POLICY\]/);
  // The extension binds relying parties too: openssl signs example.com with the same CA key; verify says no.
  ok(run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'rogue.key', '-subj', '/CN=example.com', '-out', 'rogue.csr'], { cwd: d }), 'rogue csr');
  writeFileSync(join(d, 'ext.cnf'), 'subjectAltName=DNS:example.com\n');
  ok(run('openssl', ['x509', '-req', '-in', 'rogue.csr', '-CA', 'pki/ca.crt', '-CAkey', 'pki/ca.key', '-passin', 'file:ca.pw', '-days', '2', '-sha256', '-extfile', 'ext.cnf', '-out', 'rogue.crt'], { cwd: d }), 'openssl x509 -req');
  const v = run('openssl', ['verify', '-CAfile', 'pki/ca.crt', 'rogue.crt'], { cwd: d });
  assert.notEqual(v.code, 0);
  assert.match(v.stdout + v.stderr, /permitted subtree violation/);
});

test('sign-csr: an openssl CSR asking for CA:TRUE, extra EKUs and foreign names gets only the server profile', noOpenssl, () => {
  const d = workdir();
  ok(kg(d, ['pki', 'ca', 'create', '--password-file', 'ca.pw', '--permit-dns', 'localhost']), 'ca create');
  ok(
    run('openssl', [
      'req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'app.key', '-subj', '/CN=app.localhost/O=Acme/UID=jdoe', '-out', 'app.csr',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      '-addext', 'extendedKeyUsage=serverAuth,codeSigning,clientAuth',
      '-addext', 'subjectAltName=DNS:app.localhost,DNS:evil.example,email:x@app.localhost',
    ], { cwd: d }),
    'openssl req',
  );
  const r = ok(kg(d, ['pki', 'sign-csr', '--csr', 'app.csr', '--profile', 'server', '--ca-password-file', 'ca.pw']), 'sign-csr');
  assert.match(r.stderr, /left out requested extension basicConstraints \(CA:TRUE\)/);
  assert.match(r.stderr, /left out requested extension extKeyUsage \(serverAuth, codeSigning, clientAuth\)/);
  assert.match(r.stderr, /left out DNS:evil\.example: outside the CA's name constraints/);
  assert.match(r.stderr, /left out email:x@app\.localhost/);
  const t = text(d, 'app.crt');
  assert.match(t, /X509v3 Basic Constraints: critical\n\s+CA:FALSE/);
  assert.doesNotMatch(t, /CA:TRUE|Certificate Sign|Code Signing|Client Authentication|evil|email:/);
  assert.match(t, /Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
  assert.match(t, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
  assert.match(t, /Subject: CN = app\.localhost, O = Acme\n/, 'subject kept, UID left out');
  assert.match(t, /DNS:app\.localhost\n/);
  assert.equal(run('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', 'pki/ca.crt', 'app.crt'], { cwd: d }).code, 0);
  // the issued certificate belongs to the CSR's key
  const pub = (args: string[]) => run('openssl', args, { cwd: d }).stdout;
  assert.equal(pub(['x509', '-in', 'app.crt', '-noout', '-pubkey']), pub(['pkey', '-in', 'app.key', '-pubout']));
  const asked = JSON.parse(ok(kg(d, ['pki', 'inspect', 'app.csr', '--json']), 'inspect csr').stdout) as Record<string, unknown>;
  assert.equal(asked['kind'], 'csr');
  assert.equal(asked['signatureValid'], true);
  assert.deepEqual(asked['requestedExtensions'], ['basicConstraints (CA:TRUE)', 'keyUsage', 'extKeyUsage (serverAuth, codeSigning, clientAuth)']);
  // a CSR whose signature does not verify is refused (one byte of the signature flipped)
  const der = run('openssl', ['req', '-in', 'app.csr', '-outform', 'DER', '-out', 'app.der'], { cwd: d });
  assert.equal(der.code, 0);
  const bytes = readFileSync(join(d, 'app.der'));
  bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x01;
  writeFileSync(join(d, 'tampered.csr'), bytes);
  const bad = kg(d, ['pki', 'sign-csr', '--csr', 'tampered.csr', '--ca-password-file', 'ca.pw']);
  assert.equal(bad.code, 7, bad.stderr);
  assert.equal((JSON.parse(ok(kg(d, ['pki', 'inspect', 'tampered.csr', '--json']), 'inspect tampered').stdout) as { signatureValid: boolean }).signatureValid, false);
  assert.match(bad.stderr, /its signature does not verify \(altered, or not signed by its own key\) \[PKI_INPUT_INVALID\]/);
});

test('p12: modern (AES-256, PBKDF2-SHA256, SHA-256 MAC) and compat (3DES, SHA-1 MAC) open in openssl and keytool, never RC2', noKeytool, () => {
  const d = workdir();
  ok(kg(d, ['pki', 'ca', 'create', '--password-file', 'ca.pw']), 'ca create');
  for (const keyType of ['ec', 'rsa']) {
    ok(kg(d, ['pki', 'issue', 'client', '--cn', `alice-${keyType}`, '--key-type', keyType, '--ca-password-file', 'ca.pw', '--cert', `${keyType}.crt`]), 'issue');
    for (const profile of ['modern', 'compat']) {
      const out = `${keyType}-${profile}.p12`;
      ok(kg(d, ['pki', 'p12', '--cert', `${keyType}.crt`, '--chain', 'pki/ca.crt', '--password-file', 'p12.pw', '--profile', profile, '--alias', 'alice', '--out', out]), `p12 ${profile}`);
      assert.equal(statSync(join(d, out)).mode & 0o777, 0o600);
      const info = ok(run('openssl', ['pkcs12', '-info', '-in', out, '-passin', 'file:p12.pw', '-noout'], { cwd: d }), `openssl pkcs12 -info ${out}`).stderr;
      if (profile === 'modern') {
        assert.match(info, /MAC: sha256, Iteration 10000/);
        assert.match(info, /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256/);
        assert.match(info, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256/);
      } else {
        assert.match(info, /MAC: sha1, Iteration 10000/);
        assert.match(info, /PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC/);
        assert.match(info, /Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC/);
      }
      assert.doesNotMatch(info, /RC2/);
      assert.equal(run('openssl', ['pkcs12', '-info', '-in', out, '-passin', 'pass:wrong', '-noout'], { cwd: d }).code, 1, 'a wrong password fails the MAC');
      const kt = ok(run('keytool', ['-list', '-keystore', out, '-storetype', 'PKCS12', '-storepass:file', 'p12.pw'], { cwd: d }), `keytool -list ${out}`).stdout;
      assert.match(kt, /alice, .*PrivateKeyEntry/);
      // the chain goes in: leaf + CA
      const certs = ok(run('openssl', ['pkcs12', '-in', out, '-passin', 'file:p12.pw', '-nokeys'], { cwd: d }), 'nokeys').stdout;
      assert.equal(certs.split('BEGIN CERTIFICATE').length - 1, 2);
    }
  }
  const exists = kg(d, ['pki', 'p12', '--cert', 'ec.crt', '--password-file', 'p12.pw', '--out', 'ec-modern.p12']);
  assert.equal(exists.code, 2);
  assert.match(exists.stderr, /PKI_EXISTS/);
  const mismatch = kg(d, ['pki', 'p12', '--cert', 'ec.crt', '--key', 'rsa.key', '--password-file', 'p12.pw', '--out', 'mix.p12']);
  assert.equal(mismatch.code, 7);
  assert.match(mismatch.stderr, /the key does not belong to the certificate/);
});

test('crl: PEM "X509 CRL" that openssl reads; verify -crl_check rejects the revoked certificate; entries accumulate', noOpenssl, () => {
  const d = workdir();
  ok(kg(d, ['pki', 'ca', 'create', '--password-file', 'ca.pw']), 'ca create');
  for (const n of ['alice', 'bob', 'carol']) ok(kg(d, ['pki', 'issue', 'client', '--cn', n, '--ca-password-file', 'ca.pw', '--cert', `${n}.crt`]), `issue ${n}`);
  ok(kg(d, ['pki', 'crl', '--revoke', 'alice.crt', '--reason', 'keyCompromise', '--next-update', '2d', '--ca-password-file', 'ca.pw']), 'crl 1');
  const pem = readFileSync(join(d, 'pki/ca.crl'), 'utf8');
  assert.match(pem, /^-----BEGIN X509 CRL-----\n[\s\S]+-----END X509 CRL-----\n$/);
  const crl = ok(run('openssl', ['crl', '-in', 'pki/ca.crl', '-noout', '-text'], { cwd: d }), 'openssl crl').stdout;
  assert.match(crl, /Signature Algorithm: ecdsa-with-SHA256/);
  assert.match(crl, /CRL Number: \n\s+1\n/);
  assert.match(crl, /Key Compromise/);
  const next = Date.parse(/Next Update: (.*)/.exec(crl)![1]!) - Date.parse(/Last Update: (.*)/.exec(crl)![1]!);
  assert.equal(next, 2 * 86_400_000);
  ok(run('openssl', ['crl', '-in', 'pki/ca.crl', '-noout', '-CAfile', 'pki/ca.crt'], { cwd: d }), 'CRL signature');
  const check = (cert: string) => run('openssl', ['verify', '-x509_strict', '-crl_check', '-CAfile', 'pki/ca.crt', '-CRLfile', 'pki/ca.crl', cert], { cwd: d });
  const revoked = check('alice.crt');
  assert.notEqual(revoked.code, 0);
  assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);
  assert.equal(check('bob.crt').code, 0);
  // revoke by serial (as openssl prints it): the earlier entry stays, the number goes up
  const serial = run('openssl', ['x509', '-in', 'bob.crt', '-noout', '-serial'], { cwd: d }).stdout.trim().split('=')[1]!;
  ok(kg(d, ['pki', 'crl', '--revoke', serial, '--reason', 'superseded', '--ca-password-file', 'ca.pw']), 'crl 2');
  assert.notEqual(check('alice.crt').code, 0);
  assert.notEqual(check('bob.crt').code, 0);
  assert.equal(check('carol.crt').code, 0);
  const j = JSON.parse(ok(kg(d, ['pki', 'inspect', 'pki/ca.crl', '--json']), 'inspect').stdout) as { number: number; revoked: { reason: string }[]; pemLabel: string };
  assert.equal(j.number, 2);
  assert.deepEqual(j.revoked.map((e) => e.reason), ['keyCompromise', 'superseded']);
  assert.equal(j.pemLabel, 'X509 CRL');
  // Node's TLS stack takes it as it is (the `crl` option of a secure context)
  const nodeCheck = spawnSync(process.execPath, ['-e', `require('tls').createSecureContext({ ca: require('fs').readFileSync('pki/ca.crt'), crl: require('fs').readFileSync('pki/ca.crl') })`], { cwd: d, encoding: 'utf8' });
  assert.equal(nodeCheck.status, 0, nodeCheck.stderr);
  // a certificate of another CA is not revoked here
  ok(kg(d, ['pki', 'ca', 'create', '--password-file', 'ca.pw', '--cert', 'other/ca.crt', '--key', 'other/ca.key']), 'other CA');
  ok(kg(d, ['pki', 'issue', 'client', '--cn', 'zed', '--ca-cert', 'other/ca.crt', '--ca-key', 'other/ca.key', '--ca-password-file', 'ca.pw', '--cert', 'zed.crt']), 'zed');
  const foreign = kg(d, ['pki', 'crl', '--revoke', 'zed.crt', '--ca-password-file', 'ca.pw']);
  assert.equal(foreign.code, 7);
  assert.match(foreign.stderr, /not issued by this CA/);
});

test('inspect --json: the CA profile as data', noOpenssl, () => {
  const d = workdir();
  ok(kg(d, ['pki', 'ca', 'create', '--password-file', 'ca.pw', '--permit-dns', '.test']), 'ca create');
  const j = JSON.parse(ok(kg(d, ['pki', 'inspect', 'pki/ca.crt', '--json']), 'inspect').stdout) as Record<string, unknown>;
  assert.equal(j['kind'], 'certificate');
  assert.deepEqual(j['ca'], { ca: true, pathLength: 0 });
  assert.deepEqual(j['keyUsage'], ['keyCertSign', 'cRLSign']);
  assert.equal(j['key'], 'EC P-256');
  assert.equal(j['signature'], 'ECDSA SHA-256');
  assert.deepEqual(j['nameConstraints'], { permittedDns: ['.test'], permittedIp: [] });
  const fp = run('openssl', ['x509', '-in', 'pki/ca.crt', '-noout', '-fingerprint', '-sha256'], { cwd: d }).stdout.trim().split('=')[1]!.replace(/:/g, '').toLowerCase();
  assert.equal(j['sha256'], fp);
  const notPki = kg(d, ['pki', 'inspect', 'ca.pw']);
  assert.equal(notPki.code, 7);
  assert.match(notPki.stderr, /not a certificate, CSR or CRL/);
});

test('a dev-CA keystore (EC via keystore create --ca-cert, RSA via pki issue + p12) opens in keygate serve; curl trusts ca.crt', noCurl, async () => {
  const d = workdir();
  writeFileSync(join(d, 'ks.pw'), `${SENTINEL}\n`, { mode: 0o600 });
  ok(kg(d, ['pki', 'ca', 'create', '--password-file', 'ca.pw', '--permit-dns', 'localhost', '--permit-ip', '127.0.0.0/8']), 'ca create');
  ok(kg(d, ['keystore', 'create', '--password-file', 'ks.pw', '--ca-cert', 'pki/ca.crt', '--ca-password-file', 'ca.pw', '--key-type', 'ec', '--ip', '127.0.0.1', '--out', 'ec.p12']), 'keystore create --ca-cert');
  ok(kg(d, ['pki', 'issue', 'server', '--key-type', 'rsa', '--san', 'DNS:localhost', '--san', 'IP:127.0.0.1', '--ca-password-file', 'ca.pw']), 'issue rsa');
  writeFileSync(join(d, 'sentinel.pw'), `${SENTINEL}\n`);
  ok(kg(d, ['pki', 'p12', '--cert', 'pki/server.crt', '--chain', 'pki/ca.crt', '--password-file', 'sentinel.pw', '--out', 'rsa.p12']), 'p12');
  for (const [file, keyType] of [['ec.p12', 'ec'], ['rsa.p12', 'rsa']] as const) {
    const p = demoProject({ keystore: readFileSync(join(d, file)) });
    const s = await serve(p.dir);
    try {
      assert.match(s.stderr(), new RegExp(`keystore unlocked: CN=localhost.*keyType=${keyType}`));
      const r = curl(`https://localhost:${s.port}/hello`, join(d, 'pki/ca.crt'));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Hello, world/);
      // and not with an unrelated CA
      const other = curl(`https://localhost:${s.port}/hello`, p.crt);
      assert.notEqual(other.code, 0);
    } finally {
      await s.stop();
    }
  }
});

/** A free TCP port on 127.0.0.1 (the listener is closed again). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

test('curl presents the client p12 (modern and compat) to openssl s_server -Verify 1 -CAfile ca.crt', noCurl, async () => {
  const d = workdir();
  ok(kg(d, ['pki', 'ca', 'create', '--password-file', 'ca.pw']), 'ca create');
  ok(kg(d, ['pki', 'issue', 'server', '--san', 'DNS:localhost', '--ca-password-file', 'ca.pw']), 'server');
  ok(kg(d, ['pki', 'issue', 'client', '--cn', 'alice', '--ca-password-file', 'ca.pw', '--cert', 'alice.crt']), 'client');
  ok(kg(d, ['pki', 'p12', '--cert', 'alice.crt', '--chain', 'pki/ca.crt', '--password-file', 'p12.pw']), 'p12 modern');
  ok(kg(d, ['pki', 'p12', '--cert', 'alice.crt', '--chain', 'pki/ca.crt', '--password-file', 'p12.pw', '--profile', 'compat', '--out', 'alice-compat.p12']), 'p12 compat');
  // a client of another CA
  ok(kg(d, ['pki', 'ca', 'create', '--password-file', 'ca.pw', '--cert', 'other/ca.crt', '--key', 'other/ca.key']), 'other CA');
  ok(kg(d, ['pki', 'issue', 'client', '--cn', 'mallory', '--ca-cert', 'other/ca.crt', '--ca-key', 'other/ca.key', '--ca-password-file', 'ca.pw', '--cert', 'mallory.crt']), 'mallory');
  ok(kg(d, ['pki', 'p12', '--cert', 'mallory.crt', '--password-file', 'p12.pw']), 'p12 mallory');
  const port = await freePort();
  const server = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', 'pki/server.crt', '-key', 'pki/server.key', '-CAfile', 'pki/ca.crt', '-Verify', '1', '-verify_return_error', '-www'], { cwd: d, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('ACCEPT')) resolve();
      });
      server.on('exit', (code) => reject(new Error(`s_server exited ${code}`)));
    });
    const url = `https://localhost:${port}/`;
    for (const p12 of ['alice.p12', 'alice-compat.p12']) {
      const r = curl(url, join(d, 'pki/ca.crt'), ['--cert-type', 'P12', '--cert', `${join(d, p12)}:${P12_PASSWORD}`]);
      assert.equal(r.code, 0, `${p12}: ${r.stderr}`);
      assert.match(r.stdout, /Client certificate[\s\S]*CN\s*=\s*alice/, p12);
    }
    const none = curl(url, join(d, 'pki/ca.crt'));
    assert.notEqual(none.code, 0, 'no client certificate: refused');
    const stranger = curl(url, join(d, 'pki/ca.crt'), ['--cert-type', 'P12', '--cert', `${join(d, 'mallory.p12')}:${P12_PASSWORD}`]);
    assert.notEqual(stranger.code, 0, 'a certificate of another CA: refused');
  } finally {
    server.kill();
  }
});

test('keygate required mode: curl gets in with a pki client p12 (both profiles); no certificate and a certificate revoked by pki crl do not', noCurl, async () => {
  const d = workdir();
  writeFileSync(join(d, 'ks.pw'), `${SENTINEL}\n`, { mode: 0o600 });
  ok(kg(d, ['pki', 'ca', 'create', '--password-file', 'ca.pw']), 'ca create');
  ok(kg(d, ['keystore', 'create', '--password-file', 'ks.pw', '--ca-cert', 'pki/ca.crt', '--ca-password-file', 'ca.pw', '--key-type', 'ec', '--out', 'ks.p12']), 'keystore');
  for (const n of ['alice', 'bob']) {
    ok(kg(d, ['pki', 'issue', 'client', '--cn', n, '--ca-password-file', 'ca.pw', '--cert', `${n}.crt`]), `issue ${n}`);
    ok(kg(d, ['pki', 'p12', '--cert', `${n}.crt`, '--chain', 'pki/ca.crt', '--password-file', 'p12.pw']), `p12 ${n}`);
  }
  ok(kg(d, ['pki', 'p12', '--cert', 'alice.crt', '--chain', 'pki/ca.crt', '--password-file', 'p12.pw', '--profile', 'compat', '--out', 'alice-compat.p12']), 'p12 compat');
  ok(kg(d, ['pki', 'crl', '--revoke', 'bob.crt', '--reason', 'keyCompromise', '--ca-password-file', 'ca.pw']), 'crl');
  const p = demoProject({
    keystore: readFileSync(join(d, 'ks.p12')),
    files: { 'pki/ca.crt': readFileSync(join(d, 'pki/ca.crt')), 'pki/ca.crl': readFileSync(join(d, 'pki/ca.crl')) },
    templateExtra: 'pki\n',
    config: { server: { port: 0, clientAuth: { mode: 'required', caFile: 'pki/ca.crt', crlFiles: ['pki/ca.crl'] } } },
  });
  const s = await serve(p.dir);
  try {
    const url = `https://localhost:${s.port}/hello`;
    const ca = join(d, 'pki/ca.crt');
    for (const p12 of ['alice.p12', 'alice-compat.p12']) {
      const r = curl(url, ca, ['--cert-type', 'P12', '--cert', `${join(d, p12)}:${P12_PASSWORD}`]);
      assert.equal(r.code, 0, `${p12}: ${r.stderr}`);
      assert.match(r.stdout, /Hello, world/);
    }
    assert.notEqual(curl(url, ca).code, 0, 'no client certificate: no answer');
    // bob is on the CRL keygate pki wrote: the handshake completes and the request gets 400 naming the check
    // (nginx's way, docs/client-auth.md "What a refused client sees"); the app never answers
    const revoked = curl(url, ca, ['--cert-type', 'P12', '--cert', `${join(d, 'bob.p12')}:${P12_PASSWORD}`, '-w', '%{http_code}']);
    assert.match(revoked.stdout, /client certificate refused: .*\(CERT_REVOKED\)/, `bob is on the CRL keygate pki wrote: ${revoked.stdout}${revoked.stderr}`);
    assert.match(revoked.stdout, /400$/);
    assert.doesNotMatch(revoked.stdout, /Hello, world/);
  } finally {
    await s.stop();
  }
});

const PYTHON = '/usr/bin/python3';
const noPty = { skip: missing('openssl', 'openssl') ?? (spawnSync(PYTHON, ['-c', 'import pty']).status === 0 ? undefined : `${PYTHON} is missing: apt-get install python3`) };

/** keygate on a pseudo-terminal (test/fixtures/pki/ptyrun.py), typing `answers` at its password prompts. */
function onTerminal(dir: string, args: readonly string[], answers: readonly string[]): RunResult {
  const r = spawnSync(PYTHON, [join(ROOT, 'test/fixtures/pki/ptyrun.py'), dir, process.execPath, 'dist/main.js', ...args], { input: answers.join('\n'), encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('on a terminal the password is asked without echo (twice for a new key); a mismatch stops', noPty, () => {
  const d = workdir();
  const typed = 'typed-SENTINEL-3c9e1f';
  const made = onTerminal(d, ['pki', 'ca', 'create'], [typed, typed]);
  assert.equal(made.code, 0, made.stdout);
  assert.match(made.stdout, /password to encrypt the new CA key: \r?\n.*again: /s);
  assert.ok(!made.stdout.includes(typed), 'the typed password is not echoed');
  writeFileSync(join(d, 'typed.pw'), `${typed}\n`);
  assert.equal(run('openssl', ['pkey', '-in', 'pki/ca.key', '-passin', 'file:typed.pw', '-noout'], { cwd: d }).code, 0);
  const issued = onTerminal(d, ['pki', 'issue', 'server', '--san', 'DNS:localhost'], [typed]);
  assert.equal(issued.code, 0, issued.stdout);
  assert.match(issued.stdout, /password for the CA key .*ca\.key: /);
  assert.ok(!issued.stdout.includes(typed));
  const differ = onTerminal(d, ['pki', 'ca', 'create', '--cert', 'b/ca.crt', '--key', 'b/ca.key'], [typed, `${typed}x`]);
  assert.equal(differ.code, 2, differ.stdout);
  assert.match(differ.stdout, /the two entries differ \[USAGE\]/);
  assert.equal(run('test', ['-e', join(d, 'b/ca.key')]).code, 1, 'nothing written');
});
