// The vault adapter against real subprocesses (test/fixtures/fake-vault.mjs): every answer the PAM client
// can give, and every way a client can misbehave. The sentinel password must never appear in an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { commandProvider, cspmProvider, parseCspmText, parseCspmXml, Secret } from './vault.js';
import { KeygateError } from '../errors.js';
import { ROOT, SENTINEL } from '../../test/helpers/project.js';

const FAKE = join(ROOT, 'test/fixtures/fake-vault.mjs');
const env = { PATH: process.env['PATH'] };
const provider = (alias: string, extra: Partial<Parameters<typeof cspmProvider>[0]> = {}) =>
  cspmProvider({ clientPath: FAKE, alias, output: 'xml', limits: { timeoutMs: 5000, maxOutputBytes: 64 * 1024 }, env, ...extra });

async function failure(p: Promise<unknown>): Promise<KeygateError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof KeygateError, `not a KeygateError: ${String(err)}`);
    const everything = `${err.message} ${err.hint ?? ''} ${JSON.stringify(err.details ?? null)} ${inspect(err)}`;
    assert.ok(!everything.includes(SENTINEL), `secret leaked into the error: ${everything}`);
    return err;
  }
  assert.fail('expected a failure');
}

test('status 400 with -x XML gives the password, as a Secret that never prints itself', async () => {
  const secret = await provider('ok').fetch({ bypassCache: false });
  assert.equal(secret.reveal(), SENTINEL);
  for (const shown of [String(secret), JSON.stringify({ secret }), inspect(secret), `${secret}`]) assert.ok(!shown.includes(SENTINEL), shown);
  assert.equal((await provider('ok-spaces').fetch({ bypassCache: false })).reveal(), 'pass with  spaces & amp');
  assert.equal((await provider('no-newline').fetch({ bypassCache: false })).reveal(), SENTINEL);
});

test('plain output form: the password is everything after the user name, spaces included', async () => {
  assert.equal((await provider('ok', { output: 'text' }).fetch({ bypassCache: false })).reveal(), SENTINEL);
  assert.deepEqual(parseCspmText('400 user pass word \n'), { status: 400, password: 'pass word ' });
  assert.deepEqual(parseCspmXml('<a><errorcode> 409 </errorcode></a>'), { status: 409, password: undefined });
});

test('bypassCache is passed as the second argument', async () => {
  assert.equal((await provider('bypass-echo').fetch({ bypassCache: true })).reveal(), `${SENTINEL}-bypass-true`);
  assert.equal((await provider('bypass-echo').fetch({ bypassCache: false })).reveal(), `${SENTINEL}-bypass-false`);
});

test('PAM error statuses map to clear messages; unknown ones show their number', async () => {
  const e409 = await failure(provider('status-409').fetch({ bypassCache: false }));
  assert.equal(e409.code, 'VAULT_DENIED');
  assert.match(e409.message, /PAM answered 409, unauthorized script name \(PAM-CM-0575\)/);
  assert.match(e409.hint!, /keygate pin/);
  const e777 = await failure(provider('status-777').fetch({ bypassCache: false }));
  assert.match(e777.message, /PAM answered 777 \(see Broadcom's Credential Manager client return codes\)/);
  assert.equal((await failure(provider('status-409', { output: 'text' }).fetch({ bypassCache: false }))).code, 'VAULT_DENIED');
});

test('hostile or broken client output is a clear VAULT_* error, never the output itself', async () => {
  const cases: [string, string, RegExp][] = [
    ['no-password', 'VAULT_BAD_OUTPUT', /answered 400 but sent no password/],
    ['garbage', 'VAULT_BAD_OUTPUT', /not well-formed XML|no <errorcode>/],
    ['empty', 'VAULT_BAD_OUTPUT', /no <errorcode>|not well-formed/],
    ['huge', 'VAULT_FAILED', /printed more than 65536 bytes/],
    ['non-utf8', 'VAULT_BAD_OUTPUT', /not valid UTF-8/],
    ['stderr-secret', 'VAULT_BAD_OUTPUT', /no <errorcode>|not well-formed/],
  ];
  for (const [alias, code, re] of cases) {
    const err = await failure(provider(alias).fetch({ bypassCache: false }));
    assert.equal(err.code, code, alias);
    assert.match(err.message, re, alias);
  }
});

test('a slow client and one that ignores SIGTERM are killed at the timeout', async () => {
  const started = Date.now();
  const slow = await failure(provider('slow', { limits: { timeoutMs: 300, maxOutputBytes: 65536 } }).fetch({ bypassCache: false }));
  assert.equal(slow.code, 'VAULT_TIMEOUT');
  const stubborn = await failure(provider('forever', { limits: { timeoutMs: 300, maxOutputBytes: 65536 } }).fetch({ bypassCache: false }));
  assert.equal(stubborn.code, 'VAULT_TIMEOUT');
  assert.ok(Date.now() - started < 10_000);
});

test('a missing or non-executable client is VAULT_NOT_FOUND', async () => {
  assert.equal((await failure(provider('ok', { clientPath: '/nonexistent/cspmclient64' }).fetch({ bypassCache: false }))).code, 'VAULT_NOT_FOUND');
  assert.equal((await failure(provider('ok', { clientPath: join(ROOT, 'test/fixtures/not-executable') }).fetch({ bypassCache: false }))).code, 'VAULT_NOT_FOUND');
});

test('the child gets a minimal environment, never the parent environment', async () => {
  const p = cspmProvider({ clientPath: FAKE, alias: 'env', output: 'xml', limits: { timeoutMs: 5000, maxOutputBytes: 65536 }, env: { PATH: process.env['PATH'], KEYGATE_SECRET_THING: SENTINEL, CSPM_CLIENT_HOME: '/x' } });
  const keys = (await p.fetch({ bypassCache: false })).reveal().split(',');
  assert.ok(!keys.includes('KEYGATE_SECRET_THING'), keys.join(','));
  assert.ok(keys.includes('CSPM_CLIENT_HOME'));
});

test('command provider: prints the secret, exit status checked, output never in errors', async () => {
  const cmd = (alias: string) => commandProvider({ command: [FAKE, alias, 'false'], limits: { timeoutMs: 5000, maxOutputBytes: 65536 }, env });
  assert.equal((await cmd('ok').fetch({ bypassCache: false })).reveal(), `400 svc ${SENTINEL}`);
  const e = await failure(cmd('exit3').fetch({ bypassCache: false }));
  assert.equal(e.code, 'VAULT_DENIED');
  assert.match(e.message, /exited with status 3/);
  assert.equal((await failure(cmd('empty').fetch({ bypassCache: false }))).code, 'VAULT_BAD_OUTPUT');
});

test('Secret keeps its value out of every string form', () => {
  const s = new Secret('x-secret-x');
  assert.equal(`${s}`, '[redacted]');
  assert.equal(JSON.stringify(s), '"[redacted]"');
  assert.ok(!inspect({ s }).includes('x-secret-x'));
});

test('numeric character references in the XML answer are decoded; an escaped ampersand stays literal', () => {
  const xml = (pw: string) => `<?xml version="1.0"?><cspmclient><errorcode>400</errorcode><credential><TargetAccount><userName>u</userName><password>${pw}</password></TargetAccount></credential></cspmclient>`;
  assert.equal(parseCspmXml(xml('a&#38;b&#x26;c&#x41;&amp;d&lt;')).password, 'a&b&cA&d<');
  assert.equal(parseCspmXml(xml('&amp;#38;')).password, '&#38;', 'the text "&#38;" written as &amp;#38; is not decoded twice');
  assert.equal(parseCspmXml(xml('p&#233;&#x20AC;')).password, 'pé€');
});
