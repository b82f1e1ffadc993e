// A throw-away PKI for client-certificate tests, made with the openssl CLI at test time (no key is committed):
// a CA, client certificates (alice, bob, an expired one, one that gets revoked), a second CA with its own
// client, a PKCS#12 of alice for curl, and CRLs (openssl ca -gencrl). Until `keygate pki` exists this is the
// peer the tests trust; `openssl ca` also makes it a second, independent implementation of the CRL format.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tempDir } from './project.js';

export interface ClientCert {
  readonly crt: string;
  readonly key: string;
  readonly der: Buffer;
}

export interface TestPki {
  readonly dir: string;
  /** The CA that server.clientAuth trusts. */
  readonly caCrt: string;
  readonly alice: ClientCert & { readonly p12: string; readonly p12Password: string };
  readonly bob: ClientCert;
  readonly expired: ClientCert;
  /** Valid until revoke() is called. */
  readonly mallory: ClientCert;
  /** Signed by another CA (not trusted). */
  readonly stranger: ClientCert;
  /** The current CRL of the CA (PEM). */
  readonly crl: string;
  /** Revokes a certificate and writes a fresh CRL (same path); returns its PEM. */
  revoke(cert: ClientCert): string;
  /** Writes a fresh CRL without new revocations (a later thisUpdate). */
  gencrl(to?: string): string;
}

function openssl(args: string[], cwd: string): string {
  const r = run('openssl', args, { cwd });
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function caConfig(dir: string): string {
  return `[ ca ]
default_ca = kg
[ kg ]
dir = ${dir}
database = ${dir}/index.txt
new_certs_dir = ${dir}/issued
certificate = ${dir}/ca.crt
private_key = ${dir}/ca.key
serial = ${dir}/serial
crlnumber = ${dir}/crlnumber
default_md = sha256
default_crl_days = 7
policy = any
unique_subject = no
preserve = yes
copy_extensions = none
[ any ]
countryName = optional
organizationName = optional
commonName = supplied
[ req ]
distinguished_name = dn
[ dn ]
[ v3_ca ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
`;
}

/** A CA in its own folder: key, self-signed certificate, `openssl ca` database. */
function makeCa(dir: string, cn: string): { dir: string; conf: string; crt: string; key: string } {
  mkdirSync(join(dir, 'issued'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  const conf = join(dir, 'ca.cnf');
  writeFileSync(conf, caConfig(dir));
  openssl(['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', `/O=keygate test/CN=${cn}`, '-config', conf, '-extensions', 'v3_ca'], dir);
  return { dir, conf, crt: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
}

function issue(ca: { dir: string; conf: string }, name: string, subj: string, dates: string[] = ['-days', '30']): ClientCert {
  const key = join(ca.dir, `${name}.key`);
  const csr = join(ca.dir, `${name}.csr`);
  const crt = join(ca.dir, `${name}.crt`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', subj, '-config', ca.conf], ca.dir);
  const ext = join(ca.dir, `${name}.ext`);
  writeFileSync(ext, `basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\nsubjectAltName = email:${name}@example.test\n`);
  openssl(['ca', '-batch', '-notext', '-config', ca.conf, '-extfile', ext, '-in', csr, '-out', crt, ...dates], ca.dir);
  const pem = readFileSync(crt, 'utf8');
  const b64 = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem)![1]!.replace(/\s+/g, '');
  return { crt, key, der: Buffer.from(b64, 'base64') };
}

export function makePki(): TestPki {
  const dir = tempDir('kg-pki-');
  const ca = makeCa(join(dir, 'ca'), 'keygate test client CA');
  const other = makeCa(join(dir, 'other'), 'another CA');
  const alice = issue(ca, 'alice', '/C=CH/O=keygate test/CN=alice');
  const bob = issue(ca, 'bob', '/C=CH/O=keygate test/CN=bob');
  const expired = issue(ca, 'expired', '/CN=expired', ['-startdate', '20200101000000Z', '-enddate', '20200201000000Z']);
  const mallory = issue(ca, 'mallory', '/CN=mallory');
  const stranger = issue(other, 'stranger', '/CN=alice');
  const p12 = join(dir, 'alice.p12');
  const p12Password = 'p12-test-pass';
  openssl(['pkcs12', '-export', '-in', alice.crt, '-inkey', alice.key, '-out', p12, '-passout', `pass:${p12Password}`, '-name', 'alice'], dir);
  const crlPath = join(dir, 'ca.crl');
  const gencrl = (to = crlPath): string => {
    openssl(['ca', '-batch', '-config', ca.conf, '-gencrl', '-out', to], ca.dir);
    return readFileSync(to, 'utf8');
  };
  const crl = gencrl();
  return {
    dir,
    caCrt: ca.crt,
    alice: { ...alice, p12, p12Password },
    bob,
    expired,
    mallory,
    stranger,
    crl,
    revoke(cert) {
      openssl(['ca', '-batch', '-config', ca.conf, '-revoke', cert.crt, '-crl_reason', 'keyCompromise'], ca.dir);
      return gencrl();
    },
    gencrl,
  };
}
