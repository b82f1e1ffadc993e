// The pure parts of client-certificate authentication as tables: route rules (with the paths a backend would
// decode differently), the verdict per connection, and the headers a backend gets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { identityHeaders, needsCertificate, pathMatches, routePath, verdict } from './client-auth.js';
import { validateClientAuthConfig } from './client-auth-config.js';
import { makePki } from '../../test/helpers/mtls-pki.js';

test('routePath: decoded, dot-segments resolved, // collapsed, lower case; ambiguous targets are undefined', () => {
  const table: [string, string | undefined][] = [
    ['/admin/x?y=1', '/admin/x'],
    ['/Admin', '/admin'],
    ['/%61dmin/', '/admin'],
    ['//admin//x', '/admin/x'],
    ['/public/../admin', '/admin'],
    ['/public/%2e%2e/admin', '/admin'],
    ['/./admin', '/admin'],
    ['https://h/admin', '/admin'],
    ['/a%2Fb', undefined],
    ['/a%5Cb', undefined],
    ['/a\\b', undefined],
    ['/%zz', undefined],
    ['*', undefined],
  ];
  assert.deepEqual(table.map(([t]) => routePath(t)), table.map(([, want]) => want));
});

test('needsCertificate: first match wins, ** covers the folder itself, ambiguous paths need one when any rule does', () => {
  const routes = [
    { path: '/admin/public', require: false },
    { path: '/admin/**', require: true },
    { path: '/api/*/keys', require: true },
  ];
  const cases: [string, boolean][] = [
    ['/admin', true],
    ['/admin/', true],
    ['/admin/users?x', true],
    ['/ADMIN/users', true],
    ['/%61dmin/users', true],
    ['/public/../admin/x', true],
    ['/admin/public', false],
    ['/administrator', false],
    ['/api/v1/keys', true],
    ['/api/v1/v2/keys', false],
    ['/hello', false],
    ['/files/a%2Fb', true],
  ];
  assert.deepEqual(cases.map(([t]) => [t, needsCertificate(t, routes)]), cases);
  assert.equal(needsCertificate('/a%2Fb', [{ path: '/x', require: false }]), false);
  assert.equal(pathMatches('/**', '/'), true);
});

test('verdict and identityHeaders: identity only for a verified, pinned certificate; Verify says why not', () => {
  const pki = makePki();
  const chain = [Buffer.from('ca')];
  const ok = verdict({ der: pki.alice.der, chain, authorized: true }, undefined);
  assert.equal(ok.verify, 'SUCCESS');
  assert.equal(ok.identity?.subject, 'CN=alice,O=keygate test,C=CH');
  const pairs = (h: string[]) => Array.from({ length: h.length / 2 }, (_, i) => `${h[2 * i]}: ${h[2 * i + 1]}`);
  assert.deepEqual(pairs(identityHeaders(ok, { legacy: true, dnFormat: 'legacy' })), [
    `Client-Cert: :${pki.alice.der.toString('base64')}:`,
    `Client-Cert-Chain: :${Buffer.from('ca').toString('base64')}:`,
    'SSL-Client-S-DN: /C=CH/O=keygate test/CN=alice',
    'SSL-Client-I-DN: /O=keygate test/CN=keygate test client CA',
    'SSL-Client-Verify: SUCCESS',
  ]);
  assert.deepEqual(pairs(identityHeaders(ok, { legacy: false, dnFormat: 'rfc4514' })).length, 2);
  const failed = verdict({ der: pki.expired.der, chain, authorized: false, error: 'CERT_HAS_EXPIRED' }, undefined);
  assert.deepEqual(pairs(identityHeaders(failed, { legacy: true, dnFormat: 'rfc4514' })), ['SSL-Client-Verify: FAILED:CERT_HAS_EXPIRED']);
  assert.equal(failed.identity, undefined);
  const none = verdict({ chain: [], authorized: false, error: 'UNABLE_TO_GET_ISSUER_CERT' }, undefined);
  assert.deepEqual(pairs(identityHeaders(none, { legacy: true, dnFormat: 'rfc4514' })), ['SSL-Client-Verify: NONE']);
  const pinnedOther = verdict({ der: pki.alice.der, chain, authorized: true }, ['0'.repeat(64)]);
  assert.equal(pinnedOther.verify, 'FAILED:NOT_PINNED');
  assert.equal(verdict({ der: pki.alice.der, chain, authorized: true }, [ok.identity!.sha256]).verify, 'SUCCESS');
  // A reason cannot smuggle header syntax.
  assert.equal(verdict({ der: pki.alice.der, chain, authorized: false, error: 'X\r\nY: z' }, undefined).verify, 'FAILED:X__Y__z');
});

test('server.clientAuth validation: every problem at once', () => {
  const errors: string[] = [];
  const warnings: string[] = [];
  validateClientAuthConfig(
    { mode: 'sometimes', crlFiles: 'x.crl', routes: [{ path: 'admin', require: 'yes', extra: 1 }, { path: '/a/../b', require: true }], pinnedSha256: ['abc'], headers: { legacy: 1, dnFormat: 'ldap' } },
    errors,
    warnings,
  );
  assert.deepEqual(errors.sort(), [
    'server.clientAuth.crlFiles: must be an array of paths',
    'server.clientAuth.headers.dnFormat: must be one of rfc4514, legacy',
    'server.clientAuth.headers.legacy: must be true or false',
    'server.clientAuth.mode: must be one of off, optional, required',
    'server.clientAuth.pinnedSha256: must be a non-empty list of certificate SHA-256 fingerprints (64 hex digits, colons allowed: openssl x509 -noout -fingerprint -sha256)',
    'server.clientAuth.routes[0].extra: unknown setting',
    'server.clientAuth.routes[0].path: must be a path pattern starting with /',
    'server.clientAuth.routes[0].require: must be true or false',
    'server.clientAuth.routes[1].path: "/a/../b" must be a plain path: no ?, #, %, \\, . or .. segments; ** only as a whole segment',
  ]);
  const e2: string[] = [];
  const ok = validateClientAuthConfig({ mode: 'required', caFile: 'pki/ca.crt', pinnedSha256: ['AB:'.repeat(31) + 'AB'] }, e2, []);
  assert.deepEqual(e2, []);
  assert.deepEqual(ok?.pinnedSha256, ['ab'.repeat(32)]);
  const e3: string[] = [];
  validateClientAuthConfig({ mode: 'required', routes: [{ path: '/x', require: true }] }, e3, []);
  assert.equal(e3.length, 2, e3.join('\n')); // caFile missing, routes only for optional
});
