import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig, DEFAULT_CONFIG } from './config.js';

test('empty config gives the defaults', () => {
  const r = validateConfig({});
  assert.ok(r.ok);
  assert.deepEqual(JSON.parse(JSON.stringify(r.config)), DEFAULT_CONFIG);
  assert.deepEqual(r.warnings, []);
});

test('every problem is reported at once, as <dot.path>: <message>', () => {
  const r = validateConfig({ vault: { provider: 'ldap', timeoutMs: -1, extra: 1 }, server: { port: 70000, hsts: 'yes' }, nope: {} });
  assert.equal(r.ok, false);
  assert.deepEqual(!r.ok && r.errors.sort(), [
    'nope: unknown setting',
    'server.hsts: must be true or false',
    'server.port: must be a whole number from 0 to 65535',
    'vault.extra: unknown setting',
    'vault.provider: must be one of cspm, command',
    'vault.timeoutMs: must be a whole number from 100 to 600000',
  ]);
});

test('command provider needs an argv array; warnings for risky choices', () => {
  assert.deepEqual(!validateConfig({ vault: { provider: 'command' } }).ok && true, true);
  assert.equal(validateConfig({ vault: { provider: 'command', command: 'echo pw' } }).ok, false);
  const r = validateConfig({ vault: { provider: 'command', command: ['/bin/get-pw', 'svc'] }, server: { host: '0.0.0.0' }, keystore: { allowExpired: true } });
  assert.ok(r.ok);
  assert.equal(r.warnings.length, 2);
  assert.equal(validateConfig([]).ok, false);
});
