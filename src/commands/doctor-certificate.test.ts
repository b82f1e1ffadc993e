// doctor's certificate check (issue 30 point 3): the placeholder keystore csr leaves is a problem, an expired
// certificate's fix is the renewal (csr/import, docs/certificates.md), and under 7 days it says "now".
// Planted and seen red: the placeholder check removed; the old fix (keystore create --force).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateCheck } from './doctor.js';

const noOpenssl = spawnSync('openssl', ['version']).status === 0 ? undefined : 'openssl is missing: apt-get install openssl';

function certIn(dir: string, subject: string): { keystore: string; validTo: Date } {
  const keystore = join(dir, 'svc.p12');
  writeFileSync(keystore, 'not opened by doctor');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-out', join(dir, 'svc.crt'), '-days', '90', '-subj', subject], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { keystore, validTo: new Date(new X509Certificate(spawnSync('cat', [join(dir, 'svc.crt')]).stdout).validTo) };
}

test('doctor: the csr placeholder is a problem; an expired certificate gets the renewal; under 7 days "renew it now"', { skip: noOpenssl }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kg-doc-cert-'));
  try {
    const placeholder = certIn(dir, '/OU=keygate placeholder until keystore import/CN=app.example.com');
    const p = certificateCheck(placeholder.keystore);
    assert.equal(p.status, 'problem', p.detail);
    assert.match(p.fix ?? '', /keygate keystore import --keystore .*svc\.p12 --cert/);
    const issued = certIn(dir, '/CN=app.example.com');
    const expired = certificateCheck(issued.keystore, new Date(issued.validTo.getTime() + 86_400_000));
    assert.equal(expired.status, 'problem');
    assert.match(expired.fix ?? '', /keystore csr .*keystore import .*docs\/certificates\.md/);
    assert.doesNotMatch(expired.fix ?? '', /keystore create --force/);
    const urgent = certificateCheck(issued.keystore, new Date(issued.validTo.getTime() - 3 * 86_400_000));
    assert.equal(urgent.status, 'ok');
    assert.match(urgent.detail, /renew it now/);
    assert.match(certificateCheck(issued.keystore, new Date(issued.validTo.getTime() - 20 * 86_400_000)).detail, /renew it soon/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('doctor with server.acme: the placeholder and a certificate due are ACME\'s to replace; one under 7 days or expired is a problem (renewals failing)', { skip: noOpenssl }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kg-doc-acme-'));
  const acme = { directoryUrl: 'https://ca.example.com/acme/directory', domains: ['app.example.com'] };
  try {
    const placeholder = certIn(dir, '/OU=keygate placeholder until keystore import/CN=app.example.com');
    const p = certificateCheck(placeholder.keystore, new Date(), acme);
    assert.equal(p.status, 'ok', p.detail);
    assert.match(p.detail, /server\.acme \(https:\/\/ca\.example\.com\/acme\/directory, app\.example\.com\) orders a certificate at the first start/);
    const issued = certIn(dir, '/CN=app.example.com');
    const due = certificateCheck(issued.keystore, new Date(issued.validTo.getTime() - 20 * 86_400_000), acme);
    assert.equal(due.status, 'ok');
    assert.match(due.detail, /renewed by server\.acme .*it is due: look for "ACME: renewal failed"/);
    // under 7 days, or expired: the renewals have been failing, which monitoring (doctor --json) must see
    for (const days of [3, -2]) {
      const late = certificateCheck(issued.keystore, new Date(issued.validTo.getTime() - days * 86_400_000), acme);
      assert.equal(late.status, 'problem', late.detail);
      assert.match(late.fix ?? '', /ACME: renewal failed/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
