// CNs under a name-constrained CA (issue 20), with openssl as the judge: OpenSSL checks a host-like CN against the
// CA's DNS constraints when the leaf has no DNS SAN (verify error 47), and a server CN no SAN repeats is checked by
// nobody. keygate refuses (issue, client CSRs) or drops (server CSRs) such a CN at issue time, saying why.
// In-process (src/cli.ts main), so no build; openssl makes the CSRs and verifies every certificate keygate issues.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../src/cli.js';
import { tempDir } from './helpers/project.js';

const noOpenssl = { skip: spawnSync('sh', ['-c', 'command -v openssl']).status === 0 ? undefined : 'openssl is missing: apt-get install openssl' };

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}
async function kg(cwd: string, argv: string[]): Promise<Out> {
  let stdout = '';
  let stderr = '';
  const stream = (add: (s: string) => void) => ({ write: (c: string | Uint8Array) => (add(typeof c === 'string' ? c : Buffer.from(c).toString()), true), isTTY: false });
  const io = { stdout: stream((s) => (stdout += s)), stderr: stream((s) => (stderr += s)), env: {}, cwd, nodePath: process.execPath, entry: join(cwd, 'dist/main.js') };
  const code = await main(argv, io as never);
  return { code, stdout, stderr };
}
function openssl(cwd: string, args: string[]): Out {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
/** openssl's verdict on a leaf under the CA: "OK" or its error line. */
const judge = (d: string, cert: string): string => {
  const v = openssl(d, ['verify', '-x509_strict', '-CAfile', 'pki/ca.crt', cert]);
  return v.code === 0 ? 'OK' : (/error \d+ at \d+ depth lookup: .*/.exec(v.stdout + v.stderr)?.[0] ?? v.stderr);
};
const subjectOf = (d: string, cert: string): string => openssl(d, ['x509', '-in', cert, '-noout', '-subject', '-nameopt', 'RFC2253']).stdout.trim();

/** A CA constrained like the demo's own (dev-setup): DNS localhost and .test, IP 127.0.0.0/8. */
async function constrainedCa(): Promise<string> {
  const d = tempDir('kg-pki-names-');
  writeFileSync(join(d, 'ca.pw'), 'ca-pw-names-1\n', { mode: 0o600 });
  const r = await kg(d, ['pki', 'ca', 'create', '--password-file', 'ca.pw', '--permit-dns', 'localhost', '--permit-dns', '.test', '--permit-ip', '127.0.0.0/8']);
  assert.equal(r.code, 0, r.stderr);
  return d;
}
const ca = ['--ca-password-file', 'ca.pw'];

/** openssl signs a leaf with this CN and SAN around keygate (the CA key and openssl alone): what keygate refuses. */
function aroundKeygate(d: string, name: string, cn: string, san?: string): string {
  const r = openssl(d, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
  assert.equal(r.code, 0, r.stderr);
  writeFileSync(join(d, `${name}.cnf`), `basicConstraints=CA:FALSE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n${san ? `subjectAltName=${san}\n` : ''}`);
  const x = openssl(d, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'pki/ca.crt', '-CAkey', 'pki/ca.key', '-passin', 'file:ca.pw', '-days', '2', '-sha256', '-extfile', `${name}.cnf`, '-out', `${name}.crt`]);
  assert.equal(x.code, 0, x.stderr);
  return judge(d, `${name}.crt`);
}

test('issue client: a dotted CN outside the DNS constraints is refused with the reason; what openssl accepts is issued', noOpenssl, async () => {
  const d = await constrainedCa();
  const r = await kg(d, ['pki', 'issue', 'client', '--cn', 'john.doe', ...ca, '--cert', 'john.crt']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /the CN john\.doe looks like a host name and the certificate has no DNS SAN, so OpenSSL checks it against the CA's DNS name constraints \(localhost, \.test\) .*error 47.*--cn "john doe"/);
  assert.match(aroundKeygate(d, 'rogue-john', 'john.doe'), /^error 47 at 0 depth lookup: permitted subtree violation/, 'openssl rejects what keygate refused');
  assert.match(aroundKeygate(d, 'rogue-john-email', 'john.doe', 'email:john.doe@example.com'), /^error 47 /, 'an email SAN does not spare the CN');
  assert.equal(aroundKeygate(d, 'john-dns', 'john.doe', 'DNS:john.test'), 'OK', 'a DNS SAN does');
  for (const [args, cert] of [
    [['--cn', 'John Doe'], 'spaced.crt'],
    [['--cn', 'john.test'], 'inside.crt'],
    [['--cn', 'john.doe', '--san', 'DNS:john.test'], 'with-dns-san.crt'],
    [['--cn', 'john.doe', '--san', 'email:john.doe@example.com'], 'with-email.crt'],
  ] as const) {
    const ok = await kg(d, ['pki', 'issue', 'client', ...args, ...ca, '--cert', cert]);
    if (cert === 'with-email.crt') {
      // An email SAN is no DNS SAN: OpenSSL still checks the CN.
      assert.equal(ok.code, 2, `${cert}: ${ok.stderr}`);
      continue;
    }
    assert.equal(ok.code, 0, `${cert}: ${ok.stderr}`);
    assert.equal(judge(d, cert), 'OK', cert);
  }
});

test('sign-csr --profile client: CN=jane.doe refused with the reason; CN=Jane Doe signed and verified', noOpenssl, async () => {
  const d = await constrainedCa();
  for (const [cn, file] of [['jane.doe', 'jane'], ['Jane Doe', 'jane2']]) {
    const r = openssl(d, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${file}.key`, '-subj', `/CN=${cn}`, '-out', `${file}.csr`]);
    assert.equal(r.code, 0, r.stderr);
  }
  const refused = await kg(d, ['pki', 'sign-csr', '--csr', 'jane.csr', '--profile', 'client', ...ca]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /the CN jane\.doe looks like a host name .*error 47/);
  const signed = await kg(d, ['pki', 'sign-csr', '--csr', 'jane2.csr', '--profile', 'client', ...ca]);
  assert.equal(signed.code, 0, signed.stderr);
  assert.equal(judge(d, 'jane2.crt'), 'OK');
});

test('server: a CN no SAN repeats is refused at issue and dropped from a CSR (said so); the default CN verifies', noOpenssl, async () => {
  const d = await constrainedCa();
  const r = await kg(d, ['pki', 'issue', 'server', '--san', 'DNS:localhost', '--cn', 'evil.example', ...ca, '--cert', 'evil.crt']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /the CN evil\.example is not one of the certificate's SANs \(DNS:localhost\).*leave out --cn/);
  const plain = await kg(d, ['pki', 'issue', 'server', '--san', 'DNS:localhost', '--san', 'IP:127.0.0.1', ...ca, '--cert', 'srv.crt']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(subjectOf(d, 'srv.crt'), 'subject=CN=localhost');
  assert.equal(judge(d, 'srv.crt'), 'OK');
  // IP only: its CN would be the address, which OpenSSL checks as a host name against the DNS constraints.
  const ipOnly = await kg(d, ['pki', 'issue', 'server', '--san', 'IP:127.0.0.1', ...ca, '--cert', 'ip.crt']);
  assert.equal(ipOnly.code, 2, ipOnly.stderr);
  assert.match(ipOnly.stderr, /the CN 127\.0\.0\.1 looks like a host name .*add a DNS SAN inside the constraints/);
  assert.match(aroundKeygate(d, 'rogue-ip', '127.0.0.1', 'IP:127.0.0.1'), /^error 47 /, 'openssl rejects an IP-only leaf whose CN is its address');
  assert.equal(aroundKeygate(d, 'rogue-evil', 'evil.example', 'DNS:localhost'), 'OK', 'openssl lets a stray server CN through: only keygate can refuse it');

  const csr = openssl(d, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'e.key', '-subj', '/CN=evil.example', '-addext', 'subjectAltName=DNS:localhost', '-out', 'e.csr']);
  assert.equal(csr.code, 0, csr.stderr);
  const s = await kg(d, ['pki', 'sign-csr', '--csr', 'e.csr', '--profile', 'server', ...ca]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stderr, /left out subject CN=evil\.example: the CN evil\.example is not one of the certificate's SANs/);
  assert.equal(subjectOf(d, 'e.crt'), 'subject=CN=localhost', 'the CN replaced by the first SAN');
  assert.equal(judge(d, 'e.crt'), 'OK');
});
