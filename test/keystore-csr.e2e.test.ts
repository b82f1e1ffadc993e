// keygate keystore csr + keystore import against real CAs (issue 30 point 1): `openssl x509 -req` with an
// intermediate, `openssl ca`, and `keytool -gencert` sign the request; `openssl pkcs12 -info` and `keytool -list`
// read the keystore; `keygate serve` serves it and `curl --cacert <that CA's root>` gets the page. At no step is
// the server's private key written in the clear: the project folder and keygate's TMPDIR are listed before and
// after, and every new or changed file is searched for "PRIVATE KEY" and for the key's own bytes. The refusals
// (a certificate for another key, an incomplete chain, a wrong order, other names) are one line with a fix and
// leave the keystore as it was. Keys are made at test time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, chownSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SENTINEL, copyEntry, curl, demoProject, keygate, run, serve, tempDir, vaultCalls, type RunResult } from './helpers/project.js';

const PASSWORD = `ks-${SENTINEL}`;

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}
function sh(cwd: string, cmd: string, args: string[]): string {
  return ok(run(cmd, args, { cwd }), `${cmd} ${args.join(' ')}`).stdout;
}

/** Every file under dir with its size and mtime (what changed between two listings). */
function listing(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    const st = statSync(p);
    out.set(p, `${st.size}:${st.mtimeMs}:${st.ino}`);
  }
  return out;
}

interface Project {
  readonly dir: string;
  readonly tmp: string;
  readonly before: Map<string, string>;
  kg(args: readonly string[]): RunResult;
}

/** A folder with keygate's entry and the password file; keygate runs there with its own TMPDIR. */
function project(): Project {
  const dir = tempDir('kg-csr-');
  const tmp = tempDir('kg-csr-tmp-');
  copyEntry(dir);
  writeFileSync(join(dir, 'ks.pw'), `${PASSWORD}\n`, { mode: 0o600 });
  const kg = (args: readonly string[]): RunResult => {
    const r = keygate(dir, args, { env: { TMPDIR: tmp } });
    assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), `the password leaked into the output of keygate ${args.join(' ')}`);
    return r;
  };
  return { dir, tmp, before: new Map([...listing(dir), ...listing(tmp)]), kg };
}

/**
 * No file new or changed since `before` holds the key in the clear: no "PRIVATE KEY" text, no PKCS#8 DER of the
 * keystore's key, nor its base64; the password is in no file but the password file.
 */
function assertNoPlaintextKey(p: Project, keystore: string, passFile = 'ks.pw', password = PASSWORD): void {
  const pem = sh(p.dir, 'openssl', ['pkcs12', '-in', keystore, '-nocerts', '-nodes', '-passin', `file:${passFile}`]); // in memory only
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  const b64 = der.toString('base64').slice(8, 72);
  const after = new Map([...listing(p.dir), ...listing(p.tmp)]);
  const changed = [...after].filter(([f, sig]) => p.before.get(f) !== sig).map(([f]) => f);
  assert.ok(changed.some((f) => f.endsWith('.p12')), `the listing saw the keystore being written: ${changed.join(', ')}`);
  for (const f of changed) {
    const bytes = readFileSync(f);
    const name = relative(p.dir, f);
    assert.ok(!bytes.includes('PRIVATE KEY'), `${name} holds "PRIVATE KEY"`);
    assert.ok(!bytes.includes(der), `${name} holds the private key's DER`);
    assert.ok(!bytes.includes(b64), `${name} holds the private key in base64`);
    if (!f.endsWith('ks.pw') && !f.endsWith('a2a-store.json')) assert.ok(!bytes.includes(password), `${name} holds the keystore password`);
  }
  assert.deepEqual(readdirSync(p.tmp), [], 'keygate left nothing in its TMPDIR');
}

/** A company CA in its own folder: a root and an issuing intermediate (openssl), EC P-256. */
function companyCa(): string {
  const ca = tempDir('kg-corp-ca-');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  sh(ca, 'openssl', ['req', '-x509', ...ec, '-keyout', 'root.key', '-out', 'root.crt', '-days', '60', '-subj', '/CN=Corp Test Root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  sh(ca, 'openssl', ['req', '-new', ...ec, '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/CN=Corp Test Issuing CA']);
  writeFileSync(join(ca, 'ca.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
  sh(ca, 'openssl', ['x509', '-req', '-in', 'int.csr', '-CA', 'root.crt', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'int.crt', '-days', '60', '-extfile', 'ca.ext']);
  return ca;
}

/** The intermediate signs a CSR with `openssl x509 -req`, the names given (the CSR's own by default). */
function signWithIntermediate(ca: string, csr: string, out: string, days: number, san = 'DNS:localhost,IP:127.0.0.1'): string {
  writeFileSync(join(ca, 'leaf.ext'), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
  sh(ca, 'openssl', ['x509', '-req', '-in', csr, '-CA', 'int.crt', '-CAkey', 'int.key', '-CAcreateserial', '-out', out, '-days', String(days), '-extfile', 'leaf.ext']);
  return join(ca, out);
}

/** Reads the keystore with openssl and keytool (the password from the file), and returns keytool's listing. */
function assertReadable(p: Project, keystore: string, chainLength: number): string {
  const info = run('openssl', ['pkcs12', '-info', '-noout', '-in', keystore, '-passin', 'file:ks.pw'], { cwd: p.dir });
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stderr, /MAC: sha256/);
  const list = run('keytool', ['-list', '-v', '-storetype', 'PKCS12', '-keystore', keystore, '-storepass:file', 'ks.pw'], { cwd: p.dir });
  assert.equal(list.code, 0, list.stdout + list.stderr);
  assert.match(list.stdout, /Your keystore contains 1 entry/);
  assert.match(list.stdout, new RegExp(`PrivateKeyEntry[\\s\\S]*Certificate chain length: ${chainLength}\\n`));
  assert.equal(statSync(join(p.dir, keystore)).mode & 0o777, 0o600);
  return list.stdout;
}

/** Serves the keystore with keygate and fetches the page trusting only `root`; returns serve's log. */
async function serveAndCurl(p: Project, keystore: string, root: string): Promise<string> {
  const demo = demoProject({ keystore: readFileSync(join(p.dir, keystore)), password: PASSWORD });
  const s = await serve(demo.dir);
  try {
    const r = curl(`https://localhost:${s.port}/hello`, root);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Hello, world/);
    return s.stderr();
  } finally {
    await s.stop();
  }
}

test('company CA (openssl x509 -req, root → intermediate → leaf, PEM): csr, import, openssl and keytool read it, serve, curl --cacert root', async () => {
  const p = project();
  const ca = companyCa();
  const made = ok(p.kg(['keystore', 'csr', '--password-file', 'ks.pw', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', 'keystore/app.p12']), 'keystore csr');
  assert.equal(made.stdout, `${join(p.dir, 'keystore/app.csr')}\n`);
  assert.match(made.stderr, /made a new EC P-256 key inside .*app\.p12 \(alias keygate, with a placeholder certificate\) and the request .*app\.csr for CN=localhost \[DNS:localhost IP:127\.0\.0\.1\]/);
  assert.match(sh(p.dir, 'openssl', ['req', '-in', 'keystore/app.csr', '-noout', '-verify', '-text']), /Subject: CN\s?=\s?localhost[\s\S]*DNS:localhost, IP Address:127\.0\.0\.1/);
  assert.match(assertReadable(p, 'keystore/app.p12', 1), /Owner: OU=keygate placeholder until keystore import, CN=localhost/);
  const leaf = signWithIntermediate(ca, join(p.dir, 'keystore/app.csr'), 'app.crt', 20);
  writeFileSync(join(p.dir, 'issued.pem'), Buffer.concat([readFileSync(leaf), readFileSync(join(ca, 'int.crt'))]));
  const imported = ok(p.kg(['keystore', 'import', '--password-file', 'ks.pw', '--keystore', 'keystore/app.p12', '--cert', 'issued.pem', '--root', join(ca, 'root.crt')]), 'keystore import');
  assert.match(imported.stderr, /imported CN=localhost \[DNS:localhost IP:127\.0\.0\.1\] into .*app\.p12 \(alias keygate\), expires \d{4}-.*; chain: 1 certificate\(s\) up to CN=Corp Test Root \(the root is not stored: clients hold it\); the certificate also in .*keystore\/app\.crt/);
  const listed = assertReadable(p, 'keystore/app.p12', 2);
  // the leaf beside the keystore, 0644, as keystore create writes it (doctor reads the expiry there)
  assert.equal(new X509Certificate(readFileSync(join(p.dir, 'keystore/app.crt'))).fingerprint256, new X509Certificate(readFileSync(leaf)).fingerprint256);
  assert.equal(statSync(join(p.dir, 'keystore/app.crt')).mode & 0o777, 0o644);
  assert.match(listed, /Owner: CN=localhost\n[\s\S]*Owner: CN=Corp Test Issuing CA\n/);
  assert.match(sh(p.dir, 'openssl', ['verify', '-CAfile', join(ca, 'root.crt'), '-untrusted', join(ca, 'int.crt'), leaf]), /OK/);
  assertNoPlaintextKey(p, 'keystore/app.p12');
  const log = await serveAndCurl(p, 'keystore/app.p12', join(ca, 'root.crt'));
  // the start log names the served certificate (not the CA) and its expiry; 20 days left: the 30-day warning
  assert.match(log, /keystore unlocked: CN=localhost \[DNS:localhost IP:127\.0\.0\.1\], expires \d{4}-\d\d-\d\dT.* \(in 19 days\)/);
  assert.match(log, /warn.*the served certificate CN=localhost \[DNS:localhost IP:127\.0\.0\.1\] expires in 19 days \(.*\): renew it \(docs\/certificates\.md\)/);
  assert.doesNotMatch(log, /renew it now|placeholder/);
});

test('openssl ca signs an RSA 3072 request; the chain comes back as a DER PKCS#7 (.p7b, root included) and is put in order', async () => {
  const p = project();
  const ca = companyCa();
  ok(p.kg(['keystore', 'csr', '--password-file', 'ks.pw', '--dns', 'localhost', '--ip', '127.0.0.1', '--key-type', 'rsa', '--key-size', '3072', '--out', 'ks.p12']), 'keystore csr rsa');
  mkdirSync(join(ca, 'db/new'), { recursive: true });
  writeFileSync(join(ca, 'db/index.txt'), '');
  writeFileSync(join(ca, 'db/serial'), '1000\n');
  writeFileSync(
    join(ca, 'ca.cnf'),
    [
      '[ca]', 'default_ca = corp', '[corp]', 'dir = db', 'database = $dir/index.txt', 'new_certs_dir = $dir/new', 'serial = $dir/serial',
      'certificate = int.crt', 'private_key = int.key', 'default_md = sha256', 'default_days = 45', 'policy = anything', 'copy_extensions = copy',
      'x509_extensions = server', 'unique_subject = no', '[anything]', 'commonName = supplied', '[server]', 'basicConstraints = CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment', 'extendedKeyUsage = serverAuth', '',
    ].join('\n'),
  );
  sh(ca, 'openssl', ['ca', '-batch', '-config', 'ca.cnf', '-in', join(p.dir, 'ks.csr'), '-out', 'rsa.crt', '-notext']);
  // the set in the .p7b: root first, leaf last (a PKCS#7 set has no order; import orders it)
  sh(ca, 'openssl', ['crl2pkcs7', '-nocrl', '-certfile', 'root.crt', '-certfile', 'int.crt', '-certfile', 'rsa.crt', '-outform', 'DER', '-out', join(p.dir, 'issued.p7b')]);
  const r = ok(p.kg(['keystore', 'import', '--password-file', 'ks.pw', '--keystore', 'ks.p12', '--cert', 'issued.p7b']), 'import p7b');
  assert.match(r.stderr, /chain: 2 certificate\(s\) up to CN=Corp Test Root; the certificate also in .*ks\.crt\n/);
  assertReadable(p, 'ks.p12', 3);
  assertNoPlaintextKey(p, 'ks.p12');
  const log = await serveAndCurl(p, 'ks.p12', join(ca, 'root.crt'));
  assert.match(log, /keystore unlocked: CN=localhost \[DNS:localhost IP:127\.0\.0\.1\], expires .* \(in 4[45] days\).*keyType=rsa/);
  assert.doesNotMatch(log, /warn: the served certificate/);
});

test('keytool -gencert signs an EC P-384 request (PEM PKCS#7 reply); 5 days left: the 7-day warning', async () => {
  const p = project();
  const ca = tempDir('kg-kt-ca-');
  writeFileSync(join(ca, 'ca.pw'), 'kt-ca-password-1\n');
  const kt = (...args: string[]) => sh(ca, 'keytool', [...args, '-storepass:file', 'ca.pw', '-keypass:file', 'ca.pw']);
  kt('-genkeypair', '-alias', 'root', '-keyalg', 'EC', '-groupname', 'secp384r1', '-dname', 'CN=Keytool Test Root', '-ext', 'bc:c=ca:true', '-ext', 'ku:c=keyCertSign,cRLSign', '-validity', '60', '-storetype', 'PKCS12', '-keystore', 'ca.p12');
  kt('-exportcert', '-rfc', '-alias', 'root', '-keystore', 'ca.p12', '-file', 'root.crt');
  ok(p.kg(['keystore', 'csr', '--password-file', 'ks.pw', '--dns', 'localhost', '--ip', '127.0.0.1', '--key-type', 'ec', '--curve', 'P-384', '--out', 'ks.p12']), 'keystore csr p384');
  kt('-gencert', '-alias', 'root', '-keystore', 'ca.p12', '-infile', join(p.dir, 'ks.csr'), '-outfile', 'leaf.crt', '-rfc', '-validity', '5', '-ext', 'san=dns:localhost,ip:127.0.0.1', '-ext', 'eku=serverAuth', '-ext', 'ku:c=digitalSignature');
  sh(ca, 'openssl', ['crl2pkcs7', '-nocrl', '-certfile', 'leaf.crt', '-certfile', 'root.crt', '-out', join(p.dir, 'reply.p7b')]);
  ok(p.kg(['keystore', 'import', '--password-file', 'ks.pw', '--keystore', 'ks.p12', '--cert', 'reply.p7b']), 'import keytool reply');
  assertReadable(p, 'ks.p12', 2);
  assertNoPlaintextKey(p, 'ks.p12');
  const log = await serveAndCurl(p, 'ks.p12', join(ca, 'root.crt'));
  assert.match(log, /the served certificate CN=localhost \[DNS:localhost IP:127\.0\.0\.1\] expires in 4 days \(.*\): renew it now/);
});

test('refusals: a certificate for another key, an incomplete chain, a wrong order, other names; one line and a fix each, the keystore untouched', () => {
  const p = project();
  const ca = companyCa();
  ok(p.kg(['keystore', 'csr', '--password-file', 'ks.pw', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', 'ks.p12']), 'csr');
  const keystore = readFileSync(join(p.dir, 'ks.p12'));
  // another request's certificate (another key), properly chained
  sh(ca, 'openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other.key', '-out', 'other.csr', '-subj', '/CN=localhost']);
  const other = signWithIntermediate(ca, 'other.csr', 'other.crt', 20);
  const leaf = signWithIntermediate(ca, join(p.dir, 'ks.csr'), 'leaf.crt', 20);
  const renamed = signWithIntermediate(ca, join(p.dir, 'ks.csr'), 'renamed.crt', 20, 'DNS:www.example.test,IP:127.0.0.1');
  const files = {
    'other.pem': [other, join(ca, 'int.crt')],
    'leaf-only.pem': [leaf],
    'no-root.pem': [leaf, join(ca, 'int.crt')],
    'reversed.pem': [join(ca, 'int.crt'), leaf],
    'stray.pem': [leaf, join(ca, 'int.crt'), other],
    'renamed.pem': [renamed, join(ca, 'int.crt')],
  };
  for (const [name, parts] of Object.entries(files)) writeFileSync(join(p.dir, name), Buffer.concat(parts.map((f) => readFileSync(f))));
  const cases: [string, string[], RegExp][] = [
    ['other.pem', ['--root', join(ca, 'root.crt')], /refused to import .*other\.pem: none of its 2 certificate\(s\) is for the keystore's key \(it has CN=localhost; CN=Corp Test Issuing CA\) \[IMPORT_KEY_MISMATCH\]\n {2}fix: import the certificate your CA issued for the request node dist\/main\.js keystore csr wrote with this keystore/],
    ['leaf-only.pem', ['--root', join(ca, 'root.crt')], /the chain is incomplete: it holds the certificate alone, issued by CN=Corp Test Issuing CA, which is neither in it nor a root given with --root \[IMPORT_CHAIN_INCOMPLETE\]\n {2}fix: add the missing intermediate/],
    ['no-root.pem', [], /the chain is incomplete: it ends at CN=Corp Test Issuing CA, issued by CN=Corp Test Root, .* \[IMPORT_CHAIN_INCOMPLETE\]\n {2}fix: .*--root root\.crt/],
    ['reversed.pem', ['--root', join(ca, 'root.crt')], /the certificates are out of order \(given: CN=Corp Test Issuing CA → CN=localhost; a chain goes CN=localhost → CN=Corp Test Issuing CA\) \[IMPORT_CHAIN_ORDER\]\n {2}fix: put them leaf first, then each issuer: cat leaf\.crt intermediate\.crt \[root\.crt\] > chain\.pem/],
    ['stray.pem', ['--root', join(ca, 'root.crt')], /CN=localhost belongs to no chain of the certificate \(CN=localhost → CN=Corp Test Issuing CA\) \[IMPORT_CHAIN_ORDER\]/],
    ['renamed.pem', ['--root', join(ca, 'root.crt')], /the certificate names DNS:www\.example\.test IP:127\.0\.0\.1, the request asked for DNS:localhost IP:127\.0\.0\.1; missing DNS:localhost; not asked for DNS:www\.example\.test \[IMPORT_NAME_MISMATCH\]\n {2}fix: ask your CA to issue it with the requested names/],
  ];
  for (const [file, extra, expected] of cases) {
    const r = p.kg(['keystore', 'import', '--password-file', 'ks.pw', '--keystore', 'ks.p12', '--cert', file, ...extra]);
    assert.equal(r.code, 7, `${file}: ${r.stderr}`);
    assert.match(r.stderr, expected, file);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 2, `${file}: one error line and one fix line:\n${r.stderr}`);
    assert.deepEqual(readFileSync(join(p.dir, 'ks.p12')), keystore, `${file}: the keystore is untouched`);
  }
  // a wrong password opens nothing; a private key handed in as "the certificate" is named for what it is
  writeFileSync(join(p.dir, 'wrong.pw'), 'not-the-password\n');
  const wrong = p.kg(['keystore', 'import', '--password-file', 'wrong.pw', '--keystore', 'ks.p12', '--cert', 'no-root.pem']);
  assert.equal(wrong.code, 5);
  assert.match(wrong.stderr, /\[KEYSTORE_BAD_PASSWORD\]/);
  const key = p.kg(['keystore', 'import', '--password-file', 'ks.pw', '--keystore', 'ks.p12', '--cert', join(ca, 'other.key')]);
  assert.equal(key.code, 7);
  assert.match(key.stderr, /it holds a private key, no certificate/);
  // the right one still goes in afterwards
  ok(p.kg(['keystore', 'import', '--password-file', 'ks.pw', '--keystore', 'ks.p12', '--cert', 'no-root.pem', '--root', join(ca, 'root.crt')]), 'import');
  assertNoPlaintextKey(p, 'ks.p12');
});

test('keystore csr: no name is a usage error; an existing keystore is kept without --force; --key-size needs --key-type rsa; its placeholder, served, is named in a warning', async () => {
  const p = project();
  const none = p.kg(['keystore', 'csr', '--password-file', 'ks.pw', '--out', 'a.p12']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /the certificate needs at least one name \[USAGE\]\n {2}fix: pass --dns/);
  ok(p.kg(['keystore', 'csr', '--password-file', 'ks.pw', '--dns', 'app.example.test', '--out', 'a.p12']), 'csr');
  const before = readFileSync(join(p.dir, 'a.p12'));
  const again = p.kg(['keystore', 'csr', '--password-file', 'ks.pw', '--dns', 'app.example.test', '--out', 'a.p12']);
  assert.equal(again.code, 5);
  assert.match(again.stderr, /a\.p12 exists \[KEYSTORE_EXISTS\]/);
  assert.deepEqual(readFileSync(join(p.dir, 'a.p12')), before);
  const size = p.kg(['keystore', 'csr', '--password-file', 'ks.pw', '--dns', 'x.test', '--key-size', '4096', '--out', 'b.p12']);
  assert.equal(size.code, 2);
  assert.match(size.stderr, /--key-size is for --key-type rsa/);
  // create's flags are not csr's
  assert.equal(p.kg(['keystore', 'csr', '--password-file', 'ks.pw', '--dns', 'x.test', '--ca-cert', 'x', '--out', 'c.p12']).code, 2);
  // served before the import (by mistake): the start log says it is the placeholder
  const demo = demoProject({ keystore: readFileSync(join(p.dir, 'a.p12')), password: PASSWORD });
  const s = await serve(demo.dir);
  await s.stop();
  assert.match(s.stderr(), /keystore unlocked: CN=app\.example\.test, OU=keygate placeholder until keystore import \[DNS:app\.example\.test\]/);
  assert.match(s.stderr(), /warn: the served certificate .* is the placeholder keystore csr made: import the certificate your CA issued \(keygate keystore import\)/);
});

test('renewal with the password from the vault (--from-vault): csr and import verify first, ask the vault, and a running serve reloads the renamed keystore', async () => {
  const demo = demoProject(); // a self-signed keystore under the vault's password (SENTINEL), the entry registered
  const tmp = tempDir('kg-csr-tmp-');
  const p: Project = {
    dir: demo.dir,
    tmp,
    before: new Map([...listing(demo.dir), ...listing(tmp)]),
    kg: (args) => {
      const r = keygate(demo.dir, args, { env: { TMPDIR: tmp } });
      assert.ok(!r.stdout.includes(SENTINEL) && !r.stderr.includes(SENTINEL), `the vault's password leaked into keygate ${args.join(' ')}`);
      return r;
    },
  };
  const ca = companyCa();
  const s = await serve(demo.dir);
  try {
    const calls = vaultCalls(demo).length;
    const made = ok(p.kg(['keystore', 'csr', '--from-vault', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', 'keystore/next.p12']), 'csr --from-vault');
    assert.match(made.stderr, /verified \d+ files[\s\S]*vault asked for PAM A2A alias keygate-demo: ok gate=vault bypassCache=true[\s\S]*made a new EC P-256 key/);
    const leaf = signWithIntermediate(ca, join(demo.dir, 'keystore/next.csr'), 'next.crt', 20);
    writeFileSync(join(ca, 'next-chain.pem'), Buffer.concat([readFileSync(leaf), readFileSync(join(ca, 'int.crt'))]));
    ok(p.kg(['keystore', 'import', '--from-vault', '--keystore', 'keystore/next.p12', '--cert', join(ca, 'next-chain.pem'), '--root', join(ca, 'root.crt')]), 'import --from-vault');
    assert.equal(vaultCalls(demo).length, calls + 2, 'one vault call each');
    assert.ok(vaultCalls(demo).slice(calls).every((c) => c.status === 400 && c.bypass === 'true'), JSON.stringify(vaultCalls(demo).slice(calls)));
    // the switch: a rename; serve sees the rewritten keystore, asks the vault and serves the CA's certificate
    renameSync(join(demo.dir, 'keystore/next.p12'), join(demo.dir, 'keystore/keygate-demo.p12'));
    const deadline = Date.now() + 30_000;
    while (!/keystore unlocked: CN=localhost \[DNS:localhost IP:127\.0\.0\.1\], expires .* \(in 19 days\)/.test(s.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const r = curl(`https://localhost:${s.port}/hello`, join(ca, 'root.crt'));
    assert.equal(r.code, 0, `${r.stderr}\n${s.stderr()}`);
    assert.match(r.stdout, /Hello, world/);
  } finally {
    await s.stop();
  }
  writeFileSync(join(tmp, '..', `${demo.dir.split('/').pop()}.pw`), `${SENTINEL}\n`);
  assertNoPlaintextKey(p, 'keystore/keygate-demo.p12', join(tmp, '..', `${demo.dir.split('/').pop()}.pw`), SENTINEL);
  // a changed protected file: refused before the vault is asked, exit 3
  const calls = vaultCalls(demo).length;
  writeFileSync(join(demo.dir, 'content', 'readme.txt'), 'tampered\n');
  const refused = p.kg(['keystore', 'import', '--from-vault', '--keystore', 'keystore/keygate-demo.p12', '--cert', join(ca, 'next-chain.pem'), '--root', join(ca, 'root.crt')]);
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(refused.stderr, /\[INTEGRITY_MISMATCH\]/);
  assert.equal(vaultCalls(demo).length, calls, 'the vault was not asked');
  // one password source, not both, not none
  assert.equal(p.kg(['keystore', 'import', '--from-vault', '--password-file', 'x', '--cert', 'y']).code, 2);
  assert.match(p.kg(['keystore', 'import', '--cert', 'y']).stderr, /Missing required argument: password-file \(or --from-vault/);
});

test('keystore import keeps the keystore\'s group and mode (chgrp + chmod 640 survive it), capped at 0640', () => {
  const p = project();
  const ca = companyCa();
  ok(p.kg(['keystore', 'csr', '--password-file', 'ks.pw', '--dns', 'localhost', '--out', 'keystore/app.p12']), 'keystore csr');
  const ks = join(p.dir, 'keystore/app.p12');
  const root = process.getuid?.() === 0;
  if (root) chownSync(ks, 0, 1); // group daemon: what `chgrp shop-api` is in getting-started
  chmodSync(ks, 0o660); // group-writable: import gives it back 0640, not 0660
  const leaf = signWithIntermediate(ca, join(p.dir, 'keystore/app.csr'), 'app.crt', 20, 'DNS:localhost');
  writeFileSync(join(p.dir, 'issued.pem'), Buffer.concat([readFileSync(leaf), readFileSync(join(ca, 'int.crt'))]));
  ok(p.kg(['keystore', 'import', '--password-file', 'ks.pw', '--keystore', 'keystore/app.p12', '--cert', 'issued.pem', '--root', join(ca, 'root.crt')]), 'keystore import');
  const st = statSync(ks);
  assert.equal(st.mode & 0o777, 0o640);
  if (root) assert.deepEqual([st.uid, st.gid], [0, 1]);
  assert.match(run('openssl', ['pkcs12', '-info', '-noout', '-in', ks, '-passin', 'file:ks.pw'], { cwd: p.dir }).stderr, /MAC: sha256/);
});
