// Client identity from DER, checked against OpenSSL as the independent implementation: its RFC 2253 names
// (what Apache and nginx pass on), its fingerprints and serials, its CRLs (openssl ca -gencrl).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tempDir } from '../../test/helpers/project.js';
import { makePki } from '../../test/helpers/mtls-pki.js';
import { certificateRevocationKey, checkCrl, distinguishedName, identityFromDer, parseCrl } from './client-identity.js';
import { pemBlocks } from '../core/der.js';

function openssl(args: string[], cwd: string): string {
  const r = run('openssl', args, { cwd });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

const pki = makePki();
const der = (file: string) => pemBlocks(readFileSync(file, 'utf8'), 'CERTIFICATE')[0]!;

test('the RFC 4514 subject equals OpenSSL -nameopt RFC2253 on a hostile name (escapes, multi-valued RDN, UTF-8)', () => {
  const dir = tempDir('kg-dn-');
  // '/' and '=' inside a value, a header-injection attempt (CR LF), a leading '#', a comma, a multi-valued RDN
  const subj = '/C=US/O=Acme, Inc./CN=Doe, John+UID=jdoe/CN=\u00dcn\u00efcode/OU=#x\\/CN=admin';
  openssl(['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '2', '-utf8', '-multivalue-rdn', '-subj', subj], dir);
  const cert = der(join(dir, 'c.pem'));
  const expected = openssl(['x509', '-in', 'c.pem', '-noout', '-subject', '-nameopt', 'RFC2253'], dir).trim().replace(/^subject=/, '');
  assert.equal(distinguishedName(cert, 'subject', 'rfc4514'), expected);
  // The slash form: values escaped so that no value reads as another attribute to a split('/') parser.
  const legacy = distinguishedName(cert, 'subject', 'legacy');
  assert.equal(legacy, '/C=US/O=Acme, Inc./CN=Doe, John+UID=jdoe/CN=\\xC3\\x9Cn\\xC3\\xAFcode/OU=#x\\x2FCN\\x3Dadmin');
  const parsed = Object.fromEntries(legacy.split('/').slice(1).map((x) => x.split('=')));
  assert.equal(parsed['OU'], '#x\\x2FCN\\x3Dadmin', 'the crafted OU stays one attribute');
});

test('control characters in a name are hex-escaped, never raw (header injection)', () => {
  const dir = tempDir('kg-dn-');
  openssl(['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '2', '-subj', '/CN=evil\rX-Injected: 1'], dir);
  const cert = der(join(dir, 'c.pem'));
  for (const f of ['rfc4514', 'legacy'] as const) {
    const dn = distinguishedName(cert, 'subject', f);
    assert.doesNotMatch(dn, /[\r\n\x00-\x1f\x7f]/, dn);
  }
  assert.equal(distinguishedName(cert, 'subject', 'rfc4514'), 'CN=evil\\0DX-Injected: 1');
});

test('identityFromDer: fingerprint, serial, names, SANs and validity as OpenSSL reports them', () => {
  const id = identityFromDer(pki.alice.der, true);
  const fp = openssl(['x509', '-in', pki.alice.crt, '-noout', '-fingerprint', '-sha256'], pki.dir).trim().split('=')[1]!.replace(/:/g, '').toLowerCase();
  const serial = openssl(['x509', '-in', pki.alice.crt, '-noout', '-serial'], pki.dir).trim().split('=')[1]!;
  assert.equal(id.sha256, fp);
  assert.equal(id.serial, serial);
  assert.equal(id.subject, 'CN=alice,O=keygate test,C=CH');
  assert.equal(id.issuer, 'CN=keygate test client CA,O=keygate test');
  assert.deepEqual(id.sans, ['email:alice@example.test']);
  assert.equal(id.verified, true);
  const end = openssl(['x509', '-in', pki.alice.crt, '-noout', '-enddate'], pki.dir).trim().split('=')[1]!;
  assert.equal(id.notAfter, new Date(end).toISOString());
  assert.ok(Date.parse(id.notBefore) < Date.parse(id.notAfter));
});

test('CRLs from openssl ca: parsed, revoked serials matched to certificates, signature checked against the CA', () => {
  const ca = pemBlocks(readFileSync(pki.caCrt, 'utf8'), 'CERTIFICATE');
  const first = pemBlocks(pki.crl, 'X509 CRL')[0]!;
  const c1 = checkCrl(first, ca);
  assert.ok(typeof c1 !== 'string', String(c1));
  assert.equal(c1.revoked.size, 0);
  assert.equal(c1.issuer, 'CN=keygate test client CA,O=keygate test');
  const second = pemBlocks(pki.revoke(pki.mallory), 'X509 CRL')[0]!;
  const c2 = checkCrl(second, ca);
  assert.ok(typeof c2 !== 'string', String(c2));
  assert.ok(c2.revoked.has(certificateRevocationKey(pki.mallory.der)));
  assert.ok(!c2.revoked.has(certificateRevocationKey(pki.alice.der)));
  assert.ok(c2.number! > c1.number!, 'the CRL number grows');
  // Not signed by the trusted CA: another CA's CRL, and one tampered byte in the signed part.
  const otherCa = pemBlocks(readFileSync(join(pki.dir, 'other/ca.crt'), 'utf8'), 'CERTIFICATE');
  assert.match(String(checkCrl(second, otherCa)), /is not a CA of server\.clientAuth\.caFile/);
  const tampered = Buffer.from(second);
  const signed = parseCrl(second).tbs;
  tampered[second.indexOf(signed) + signed.length - 1]! ^= 0x01; // the CRL number's last byte: still parses, same issuer
  assert.match(String(checkCrl(tampered, ca)), /its signature does not verify with the key of CN=keygate test client CA/, 'a flipped byte is refused');
  assert.match(String(checkCrl(Buffer.from('not a crl'), ca)), /not a well-formed CRL/);
  assert.equal(parseCrl(second).nextUpdate! > parseCrl(second).thisUpdate, true);
});
