// Client-certificate authentication end to end, with real clients (curl with PEM and with a PKCS#12, Python
// requests, openssl s_client, Node's tls for a keep-alive connection) against keygate built from this tree, a
// throw-away PKI made by openssl at test time (test/helpers/mtls-pki.ts), and the seed's Flask app under
// gunicorn in backend mode. Faults planted once each and seen failing are listed in docs/security.md.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { ROOT, curl, demoProject, keygate, run, serve, serveRefused, vaultCalls, type DemoProject, type Served } from './helpers/project.js';
import { backendProject, missingPeer, rawTls, waitFor, PYTHON } from './helpers/backend.js';
import { makePki, type ClientCert, type TestPki } from './helpers/mtls-pki.js';

const noFlask = { skip: missingPeer('flask') };
const noRequests = existsSync('/usr/lib/python3/dist-packages/requests') ? undefined : '/usr/lib/python3/dist-packages/requests is missing: apt-get install python3-requests';

const WHOAMI = `module.exports = { handle(req, res, ctx) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ client: ctx.client === undefined ? null : ctx.client, verify: ctx.clientVerify, spoof: req.headers['ssl-client-s-dn'] ?? null }) + '\\n');
} };
`;

/** Writes files into a project, merges settings into server.clientAuth etc., then generate-filelist + pin + register. */
function reconfigure(p: DemoProject, server: Record<string, unknown>, files: Record<string, string | Buffer> = {}): void {
  for (const [f, c] of Object.entries(files)) writeFileSync(join(p.dir, f), c);
  const cfgPath = join(p.dir, 'keygate.config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  cfg.server = { ...cfg.server, ...server };
  writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
  const gen = keygate(p.dir, ['generate-filelist']);
  assert.equal(gen.code, 0, gen.stderr);
  const pin = keygate(p.dir, ['pin']);
  assert.equal(pin.code, 0, pin.stderr);
  const store = JSON.parse(readFileSync(p.store, 'utf8'));
  store.scripts[0].sha256 = pin.stdout.trim().split('\n').pop();
  writeFileSync(p.store, JSON.stringify(store, null, 2), { mode: 0o600 });
}

const withCert = (c: ClientCert) => ['--cert', c.crt, '--key', c.key];

/** One request on a kept-alive TLS connection with a client certificate; the socket stays open. */
function keepAlive(port: number, ca: string, cert: ClientCert): Promise<{ socket: TLSSocket; first: string; closed: Promise<void>; again: () => Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(ca), cert: readFileSync(cert.crt), key: readFileSync(cert.key) }, () => {
      socket.write('GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n');
    });
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    let got = '';
    // A second request on the same connection: what it gets until the connection closes (or 3 s pass).
    const again = async (): Promise<string> => {
      const from = got.length;
      if (!socket.destroyed && socket.writable) socket.write('GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))]);
      return got.slice(from);
    };
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (/\r\n\r\n[\s\S]*\n$/.test(got)) resolve({ socket, first: got, closed, again });
    });
    socket.on('error', (err) => (got ? undefined : reject(err)));
  });
}

function sClient(port: number, ca: string, cert?: ClientCert, extra: string[] = ['-quiet']): { stdout: string; stderr: string; code: number } {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', ca, '-ign_eof', ...extra, ...(cert ? ['-cert', cert.crt, '-key', cert.key] : [])];
  return run('openssl', args, { input: 'GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' });
}

/** Copies the PKI's current CRL into the project and waits for keygate to log the reload's outcome. */
async function reloadCrl(s: Served, p: DemoProject, crl: string | Buffer, via: 'SIGHUP' | 'change', expect: RegExp): Promise<void> {
  const before = s.stderr().length;
  writeFileSync(join(p.dir, 'pki/ca.crl'), crl);
  if (via === 'SIGHUP') s.child.kill('SIGHUP');
  await waitFor(() => expect.test(s.stderr().slice(before)), 15_000, `${expect} in keygate's log`);
}

test('required mode, in-process app: curl (PEM, p12), requests, s_client get in with ctx.client; no cert gets the TLS alert, another CA, expired, revoked a 400 saying why, one warn line each; a CRL reload closes a revoked keep-alive connection', async (t) => {
  const pki = makePki();
  const p = demoProject({ files: { 'app/whoami.cjs': WHOAMI, 'pki/ca.crt': readFileSync(pki.caCrt), 'pki/ca.crl': pki.crl }, templateExtra: 'pki\n' });
  reconfigure(p, { handler: 'app/whoami.cjs', clientAuth: { mode: 'required', caFile: 'pki/ca.crt', crlFiles: ['pki/ca.crl'] } });
  const s = await serve(p.dir);
  const url = `https://localhost:${s.port}/hello`;
  try {
    // curl, PEM certificate and key. A spoofed header reaches the in-process app as a header, never as ctx.client.
    const pem = curl(url, p.crt, [...withCert(pki.alice), '-H', 'SSL-Client-S-DN: /CN=admin']);
    assert.equal(pem.code, 0, pem.stderr);
    const seen = JSON.parse(pem.stdout);
    assert.equal(seen.verify, 'SUCCESS');
    assert.equal(seen.client.subject, 'CN=alice,O=keygate test,C=CH');
    assert.equal(seen.client.issuer, 'CN=keygate test client CA,O=keygate test');
    assert.equal(seen.client.verified, true);
    assert.deepEqual(seen.client.sans, ['email:alice@example.test']);
    const fp = run('openssl', ['x509', '-in', pki.alice.crt, '-noout', '-fingerprint', '-sha256']).stdout.trim().split('=')[1]!.replace(/:/g, '').toLowerCase();
    assert.equal(seen.client.sha256, fp);
    // curl with the PKCS#12 (OpenSSL 3's default: AES-256-CBC, PBKDF2).
    const p12 = curl(url, p.crt, ['--cert', `${pki.alice.p12}:${pki.alice.p12Password}`, '--cert-type', 'P12']);
    assert.equal(p12.code, 0, p12.stderr);
    assert.equal(JSON.parse(p12.stdout).client.subject, 'CN=alice,O=keygate test,C=CH');
    // Python requests (urllib3 over Python's ssl).
    if (!noRequests) {
      const py = run(PYTHON, ['-c', 'import requests,sys; r=requests.get(sys.argv[1], cert=(sys.argv[2], sys.argv[3]), verify=sys.argv[4], timeout=20); print(r.status_code); print(r.json()["client"]["subject"])', url, pki.bob.crt, pki.bob.key, p.crt]);
      assert.equal(py.code, 0, py.stderr);
      assert.equal(py.stdout, '200\nCN=bob,O=keygate test,C=CH\n');
    } else t.diagnostic(`python requests skipped: ${noRequests}`);
    // openssl s_client: with bob's certificate an answer.
    const sOk = sClient(s.port, p.crt, pki.bob);
    assert.match(sOk.stdout, /^HTTP\/1\.1 200 /);
    assert.match(sOk.stdout, /CN=bob,O=keygate test,C=CH/);

    // Refused clients learn why (issue 29 point 6), each refusal one warn line with the reason. Without a
    // certificate OpenSSL ends the handshake with the alert certificate_required (TLS 1.3; handshake_failure in
    // TLS 1.2), as Apache does: curl exit 56 (35 in TLS 1.2), no HTTP answer. A certificate that does not verify
    // completes the handshake (Node sends no alert after it) and every request gets a 400 saying which check
    // failed, as nginx does ("400 The SSL certificate error"); the app never sees the request.
    const sNone = sClient(s.port, p.crt);
    assert.doesNotMatch(sNone.stdout, /HTTP\/1\.1/);
    assert.match(sNone.stderr, /tlsv13 alert certificate required.*SSL alert number 116/);
    const sNone12 = sClient(s.port, p.crt, undefined, ['-quiet', '-tls1_2']);
    assert.doesNotMatch(sNone12.stdout, /HTTP\/1\.1/);
    assert.match(sNone12.stderr, /sslv3 alert handshake failure.*SSL alert number 40/);
    const sExpired = sClient(s.port, p.crt, pki.expired);
    assert.match(sExpired.stdout, /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*\r\n\r\n400 Bad Request: client certificate refused: the certificate has expired \(CERT_HAS_EXPIRED\)\n$/);
    const refusedCurl = (extra: readonly string[]) => curl(url, p.crt, ['-w', '\n%{http_code}', ...extra]);
    // --http1.1: once ALPN picked h2 (in TLS 1.3 before the client certificate is checked) curl writes its h2
    // preface at once and often meets the closed connection first: exit 55 (getpeername failed), not the alert's
    // 56. The alert itself is what s_client saw above, whatever the protocol.
    const none = refusedCurl(['--http1.1']);
    assert.equal(none.code, 56, none.stderr);
    assert.match(none.stderr, /tlsv13 alert certificate required/);
    assert.equal(none.stdout, '\n000');
    const none12 = refusedCurl(['--tls-max', '1.2']);
    assert.equal(none12.code, 35, none12.stderr);
    assert.match(none12.stderr, /alert handshake failure/);
    const foreign = refusedCurl(withCert(pki.stranger));
    assert.equal(foreign.code, 0, foreign.stderr);
    assert.equal(foreign.stdout, '400 Bad Request: client certificate refused: the certificate is not issued by a CA this server trusts (UNABLE_TO_VERIFY_LEAF_SIGNATURE)\n\n400');
    const expired = refusedCurl(withCert(pki.expired));
    assert.equal(expired.stdout, '400 Bad Request: client certificate refused: the certificate has expired (CERT_HAS_EXPIRED)\n\n400');
    // each refused client left exactly one warn line with the reason (F-12: a refused client left no trace at all)
    const refusals = () =>
      s
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('keygate: warn: refused a client certificate from 127.0.0.1: '))
        .map((l) => l.replace(/^keygate: warn: refused a client certificate from 127\.0\.0\.1: (.*) gate=client-auth mode=required$/, '$1'));
    const expected = ['no certificate sent', 'no certificate sent', 'CERT_HAS_EXPIRED', 'no certificate sent', 'no certificate sent', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED'];
    await waitFor(() => refusals().length >= expected.length, 5_000, 'seven refusal lines').catch((e: Error) => assert.fail(`${e.message}\n${s.stderr()}`));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(refusals(), expected);

    // Revocation: mallory in on a keep-alive connection; revoked, the CRL reloaded on SIGHUP: that connection is
    // closed and a new one refused; alice still gets in.
    // A TLS session of mallory's, resumable now (shown: "Reused"), to try again after the revocation.
    const sess = join(pki.dir, 'mallory.sess');
    assert.match(sClient(s.port, p.crt, pki.mallory, ['-sess_out', sess]).stdout, /^New, TLSv1\.3/m);
    const resumedBefore = sClient(s.port, p.crt, pki.mallory, ['-sess_in', sess, '-sess_out', sess]).stdout;
    assert.match(resumedBefore, /^Reused, TLSv1\.3/m);
    assert.match(resumedBefore, /HTTP\/1\.1 200 /);
    const revoked = pki.revoke(pki.mallory); // the CRL made first: the steps below stay well inside keep-alive's 5 s
    const live = await keepAlive(s.port, p.crt, pki.mallory);
    assert.match(live.first, /^HTTP\/1\.1 200 [\s\S]*CN=mallory/);
    await reloadCrl(s, p, revoked, 'SIGHUP', /reloaded CRLs \(SIGHUP\): 1 revoked certificates, 1 open connections with a revoked certificate closed/);
    // Asked again at once (well inside the 5 s keep-alive timeout): no answer, the connection is gone.
    assert.equal(await live.again(), '', 'the revoked keep-alive connection serves nothing more');
    await live.closed;
    assert.equal(refusedCurl(withCert(pki.mallory)).stdout, '400 Bad Request: client certificate refused: the certificate is revoked (CERT_REVOKED)\n\n400', 'a new connection with the revoked certificate is refused');
    await waitFor(() => refusals().includes('CERT_REVOKED'), 5_000, 'the CERT_REVOKED line').catch((e: Error) => assert.fail(`${e.message}\n${s.stderr()}`));
    // Nor can the revoked client resume its session: the reload made a new TLS context (new ticket keys).
    const resumedAfter = sClient(s.port, p.crt, pki.mallory, ['-sess_in', sess]).stdout;
    assert.doesNotMatch(resumedAfter, /^Reused/m);
    assert.match(resumedAfter, /HTTP\/1\.1 400 Bad Request\r?\n[\s\S]*400 Bad Request: client certificate refused: the certificate is revoked \(CERT_REVOKED\)/);
    assert.equal(curl(url, p.crt, withCert(pki.alice)).code, 0);

    // A broken CRL and an older CRL (roll-back: mallory not yet revoked) are refused: the previous CRLs stay.
    await reloadCrl(s, p, 'garbage\n', 'SIGHUP', /CRL reload \(SIGHUP\) failed, still using the previous CRLs: pki\/ca\.crl: holds no PEM block "X509 CRL"/);
    await reloadCrl(s, p, pki.crl, 'SIGHUP', /CRL reload \(SIGHUP\) failed, still using the previous CRLs: pki\/ca\.crl: this CRL of CN=keygate test client CA,O=keygate test is older than the loaded one/);
    assert.match(refusedCurl(withCert(pki.mallory)).stdout, /\(CERT_REVOKED\)\n\n400$/, 'still revoked');
    assert.equal(curl(url, p.crt, withCert(pki.alice)).code, 0, 'still serving');
  } finally {
    assert.equal(await s.stop(), 0, s.stderr());
  }
});

test('start refuses before the vault: a caFile outside the manifest (exit 3), a CRL another CA signed (exit 2); pinnedSha256 admits only the pinned certificate', async () => {
  const pki = makePki();
  const p = demoProject({ files: { 'pki/ca.crt': readFileSync(pki.caCrt) }, templateExtra: 'pki\n' });
  writeFileSync(join(p.dir, 'unlisted-ca.crt'), readFileSync(pki.caCrt));
  reconfigure(p, { clientAuth: { mode: 'required', caFile: 'unlisted-ca.crt' } });
  const r = await serveRefused(p.dir);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /refused to read .*unlisted-ca\.crt: it is not in the verified manifest/);
  const otherCrl = join(pki.dir, 'other.crl');
  run('openssl', ['ca', '-batch', '-config', join(pki.dir, 'other/ca.cnf'), '-gencrl', '-out', otherCrl]);
  reconfigure(p, { clientAuth: { mode: 'required', caFile: 'pki/ca.crt', crlFiles: ['pki/other.crl'] } }, { 'pki/other.crl': readFileSync(otherCrl) });
  const r2 = await serveRefused(p.dir);
  assert.equal(r2.code, 2, r2.stderr);
  assert.match(r2.stderr, /server\.clientAuth\.crlFiles: pki\/other\.crl: its issuer CN=another CA,O=keygate test is not a CA of server\.clientAuth\.caFile/);
  assert.equal(vaultCalls(p).length, 0, 'the vault was never asked');

  // pinnedSha256: only alice, although bob chains to the same CA: bob gets the 400 page (NOT_PINNED).
  const aliceSha = run('openssl', ['x509', '-in', pki.alice.crt, '-noout', '-fingerprint', '-sha256']).stdout.trim().split('=')[1]!;
  reconfigure(p, { clientAuth: { mode: 'required', caFile: 'pki/ca.crt', pinnedSha256: [aliceSha] } });
  const s = await serve(p.dir);
  try {
    assert.equal(curl(`https://localhost:${s.port}/hello`, p.crt, ['-o', '/dev/null', '-w', '%{http_code}', ...withCert(pki.alice)]).stdout, '200');
    const bob = curl(`https://localhost:${s.port}/hello`, p.crt, ['-w', '\n%{http_code}', ...withCert(pki.bob)]);
    assert.equal(bob.stdout, '400 Bad Request: client certificate refused: the certificate is not one of those this server admits (pinnedSha256) (NOT_PINNED)\n\n400', 'a certificate that is not pinned gets the 400 page');
  } finally {
    assert.equal(await s.stop(), 0, s.stderr());
  }
});

/** The header set a Flask app sees, via /headers. */
function environ(port: number, crt: string, extra: string[]): Record<string, string> {
  const r = curl(`https://localhost:${port}/headers`, crt, extra);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { environ: Record<string, string> }).environ;
}

const SPOOFS = [
  '-H', 'SSL-Client-S-DN: /C=CH/CN=admin',
  '-H', 'ssl_client_s_dn: /CN=admin',
  '-H', 'SSL_CLIENT_VERIFY: SUCCESS',
  '-H', 'Client-Cert: :ZmFrZQ==:',
  '-H', 'X-SSL-Client-CN: admin',
  '-H', 'Connection: keep-alive, SSL-Client-S-DN, Client-Cert',
];

test('optional mode, the seed\'s Flask app behind keygate: greets the CN keygate passes, never a spoofed one; /admin/** needs a verified certificate', noFlask, async () => {
  const pki: TestPki = makePki();
  const p = backendProject('flask', {}, { files: { 'backend/app.py': readFileSync(join(ROOT, 'test/fixtures/backends/flask_cn_app.py'), 'utf8') } });
  writeFileSync(join(p.dir, 'filelist.template'), readFileSync(join(p.dir, 'filelist.template'), 'utf8') + 'pki\n');
  mkdirSync(join(p.dir, 'pki'));
  copyFileSync(pki.caCrt, join(p.dir, 'pki/ca.crt'));
  reconfigure(
    p,
    { clientAuth: { mode: 'optional', caFile: 'pki/ca.crt', crlFiles: ['pki/ca.crl'], routes: [{ path: '/admin/**', require: true }], headers: { legacy: true, dnFormat: 'legacy' } } },
    { 'pki/ca.crl': pki.crl },
  );
  const s = await serve(p.dir);
  const base = `https://localhost:${s.port}`;
  const alice = withCert(pki.alice);
  const aliceB64 = pki.alice.der.toString('base64');
  try {
    // The seed's greeting, from keygate's header; without a certificate nobody, whatever the client sends.
    assert.equal(curl(`${base}/hello`, p.crt, alice).stdout, 'Hello alice!\n');
    assert.equal(curl(`${base}/hello`, p.crt, SPOOFS).stdout, 'Hello Unauthorized!\n');
    assert.equal(curl(`${base}/hello`, p.crt, [...alice, ...SPOOFS]).stdout, 'Hello alice!\n');
    assert.equal(curl(`${base}/hello`, p.crt, [...withCert(pki.stranger), ...SPOOFS]).stdout, 'Hello Unauthorized!\n', 'CN=alice from another CA');

    // What the app receives, bodiless (keygate's fast path) and with a body (node:http's client).
    for (const method of [[], ['--data-binary', 'x=1']]) {
      const none = environ(s.port, p.crt, [...method, ...SPOOFS]);
      assert.equal(none['HTTP_SSL_CLIENT_S_DN'], undefined);
      assert.equal(none['HTTP_CLIENT_CERT'], undefined);
      assert.equal(none['HTTP_X_SSL_CLIENT_CN'], undefined);
      assert.equal(none['HTTP_SSL_CLIENT_VERIFY'], 'NONE');
      const ok = environ(s.port, p.crt, [...method, ...alice, ...SPOOFS]);
      assert.equal(ok['HTTP_SSL_CLIENT_S_DN'], '/C=CH/O=keygate test/CN=alice');
      assert.equal(ok['HTTP_SSL_CLIENT_I_DN'], '/O=keygate test/CN=keygate test client CA');
      assert.equal(ok['HTTP_SSL_CLIENT_VERIFY'], 'SUCCESS');
      assert.equal(ok['HTTP_CLIENT_CERT'], `:${aliceB64}:`, 'RFC 9440: the DER the client presented');
      assert.equal(ok['HTTP_CLIENT_CERT_CHAIN'], `:${pemDer(pki.caCrt).toString('base64')}:`);
      const expired = environ(s.port, p.crt, [...method, ...withCert(pki.expired), ...SPOOFS]);
      assert.equal(expired['HTTP_SSL_CLIENT_VERIFY'], 'FAILED:CERT_HAS_EXPIRED');
      assert.equal(expired['HTTP_SSL_CLIENT_S_DN'], undefined);
      assert.equal(expired['HTTP_CLIENT_CERT'], undefined);
    }

    // Routes: /admin/** needs a verified certificate, however the path is spelled.
    const code = (path: string, extra: string[] = []) => curl(`${base}${path}`, p.crt, ['-o', '/dev/null', '-w', '%{http_code}', '--path-as-is', ...extra]).stdout;
    assert.equal(curl(`${base}/admin/users`, p.crt, alice).stdout, 'admin users for alice\n');
    for (const path of ['/admin/users', '/ADMIN/users', '/%61dmin/users', '/hello/../admin/users', '//admin/users']) assert.equal(code(path, SPOOFS), '403', path);
    assert.equal(code('/admin/users', withCert(pki.expired)), '403');
    assert.equal(code('/admin/users', withCert(pki.stranger)), '403');
    assert.equal(code('/hello'), '200');
    // A WebSocket-style upgrade gets the same rule (keygate answers; the backend never sees it).
    const upgrade = await rawTls(s.port, p.crt, 'GET /admin/ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSSL-Client-Verify: SUCCESS\r\n\r\n');
    assert.match(upgrade, /^HTTP\/1\.1 403 /);

    // docs/client-auth.md "A session": every command of its transcript gives the answer shown there.
    const doc = readFileSync(join(ROOT, 'docs/client-auth.md'), 'utf8');
    const block = /## A session[\s\S]*?```console\n([\s\S]*?)```/.exec(doc)![1]!;
    const steps = block.split(/^\$ /m).filter(Boolean).map((step) => {
      const [cmd, ...out] = step.split('\n');
      return { cmd: cmd!, out: out.join('\n') };
    });
    assert.equal(steps.length, 5);
    for (const { cmd, out } of steps) {
      const real = cmd
        .replaceAll('keystore/keygate-demo.crt', p.crt)
        .replaceAll('alice.crt', pki.alice.crt)
        .replaceAll('alice.key', pki.alice.key)
        .replaceAll('https://localhost:8443', base)
        .replace(/^curl /, 'curl -sS --max-time 20 ');
      const r = run('sh', ['-c', real]);
      assert.equal(r.stdout, out, `docs/client-auth.md: $ ${cmd}\n${r.stderr}`);
    }

    // Revocation without SIGHUP: the CRL file changes, keygate sees it (mtime poll) and mallory is out.
    assert.equal(code('/admin/users', withCert(pki.mallory)), '200');
    await reloadCrl(s, p, pki.revoke(pki.mallory), 'change', /reloaded CRLs \(pki\/ca\.crl changed\)/);
    assert.equal(code('/admin/users', withCert(pki.mallory)), '403');
    assert.equal(environ(s.port, p.crt, withCert(pki.mallory))['HTTP_SSL_CLIENT_VERIFY'], 'FAILED:CERT_REVOKED');
    // each certificate not accepted left a line with OpenSSL's reason (F-12: a revoked client left none)
    for (const reason of ['CERT_HAS_EXPIRED', 'CERT_REVOKED']) {
      const line = new RegExp(`\\nkeygate: warn: did not accept a client certificate from 127\\.0\\.0\\.1: ${reason} \\(no identity; routes that require one answer 403\\) gate=client-auth mode=optional\\n`);
      await waitFor(() => line.test(s.stderr()), 5_000, `the ${reason} line`).catch((e: Error) => assert.fail(`${e.message}\n${s.stderr()}`));
    }
  } finally {
    assert.equal(await s.stop(), 0, s.stderr());
  }
});

function pemDer(file: string): Buffer {
  return Buffer.from(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END/.exec(readFileSync(file, 'utf8'))![1]!.replace(/\s+/g, ''), 'base64');
}
