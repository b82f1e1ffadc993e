// The PKCS#12 writer against two independent readers in-process: Node's own TLS stack (OpenSSL, `pfx`) and
// keygate's keystore loader (node-forge + the native MAC check), for RSA and EC keys in both profiles.
// openssl pkcs12 and keytool judge the same files in test/pki.e2e.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { createSecureContext as tlsContext } from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPkcs12, encryptPrivateKey } from './pkcs12.js';
import { P12_PROFILES } from './policy.js';
import { unlockKeystore } from '../adapters/keystore.js';
import { Secret } from '../adapters/secret.js';

/** A self-signed certificate for `keyPem`, by openssl (an independent signer). */
function selfSigned(keyPem: string): Buffer {
  const d = mkdtempSync(join(tmpdir(), 'kg-p12-'));
  try {
    writeFileSync(join(d, 'k.pem'), keyPem, { mode: 0o600 });
    execFileSync('openssl', ['req', '-x509', '-key', 'k.pem', '-subj', '/CN=localhost', '-days', '2', '-outform', 'DER', '-out', 'c.der'], { cwd: d, stdio: 'ignore' });
    return readFileSync(join(d, 'c.der'));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'openssl is missing: apt-get install openssl';
  }
})();

for (const keyType of ['rsa', 'ec'] as const) {
  for (const profile of ['modern', 'compat'] as const) {
    test(`${profile} p12 with an ${keyType} key opens in Node's TLS and in keygate's loader; a wrong password does not`, { skip: hasOpenssl }, () => {
      const { privateKey } = keyType === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      const cert = selfSigned(keyPem);
      const password = 'p12-password-1';
      const p12 = buildPkcs12({ keyPkcs8: privateKey.export({ type: 'pkcs8', format: 'der' }), cert, chain: [], alias: 'svc', password, profile: P12_PROFILES[profile] });
      assert.doesNotThrow(() => tlsContext({ pfx: p12, passphrase: password }));
      assert.throws(() => tlsContext({ pfx: p12, passphrase: 'wrong' }), /mac verify failure|bad decrypt/i);
      const opened = unlockKeystore(p12, new Secret(password));
      assert.equal(opened.keyType, keyType);
      assert.equal(opened.alias, 'svc');
      assert.equal(opened.subject, 'CN=localhost');
      assert.throws(() => unlockKeystore(p12, new Secret('wrong')), (err: Error & { code?: string }) => err.code === 'KEYSTORE_BAD_PASSWORD');
    });
  }
}

test('encryptPrivateKey: PBES2 PEM that Node opens with the password only', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = encryptPrivateKey(privateKey.export({ type: 'pkcs8', format: 'der' }), 'ca-password-1', 1000);
  assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
  const back = createPrivateKey({ key: pem, format: 'pem', passphrase: 'ca-password-1' });
  assert.deepEqual(back.export({ type: 'pkcs8', format: 'der' }), privateKey.export({ type: 'pkcs8', format: 'der' }));
  assert.throws(() => createPrivateKey({ key: pem, format: 'pem', passphrase: 'wrong' }));
});
