// The admin section's validation (every problem at once), and the pure state machines: request framing,
// request numbers, rate limits, the session cap.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { validateConfig } from '../core/config.js';
import { validateAdminConfig } from './config.js';
import { Fernet, ProtocolError } from './crypto.js';
import { decodeRequestBody, decodeResponse, encodeRequestBody, encodeResponse } from './framing.js';
import { RateLimiter, SessionTable } from './sessions.js';

test('admin config: off when absent, defaults, every problem at once', () => {
  const off = validateConfig({});
  assert.equal(off.ok && off.config.admin, undefined, 'the channel is off unless configured');
  const on = validateConfig({ admin: {} });
  assert.ok(on.ok);
  assert.equal(on.config.admin?.host, '127.0.0.1');
  assert.deepEqual(on.config.admin?.getFolders, ['log'], '/get reads the audit log folder by default');
  assert.equal(on.config.admin?.dropFolder, undefined, '/put is off by default');
  const errors: string[] = [];
  validateAdminConfig(
    { host: '0.0.0.0', port: 'x', socket: 'a.sock', colour: 1, actions: { status: { argv: ['/bin/true'] }, 'Bad Name': { argv: ['true'] }, x: { argv: ['/bin/echo'], args: ['('] } } },
    errors,
    [],
  );
  assert.deepEqual(errors.sort(), [
    'admin.actions.Bad Name.argv: the program "true" must be an absolute path (keygate does no PATH lookup)',
    'admin.actions.Bad Name: a name is 1 to 32 of a-z, 0-9 and -, starting with a letter',
    'admin.actions.status: status is one of keygate\'s own actions',
    'admin.actions.x.args: "(" is not a regular expression',
    'admin.colour: unknown setting',
    'admin.port: must be a whole number from 0 to 65535',
    'admin.socket: cannot be used together with admin.host/admin.port (choose one)',
  ]);
  const inter: string[] = [];
  const cfg = validateAdminConfig(
    { actions: { cat: { argv: ['/bin/cat'] } }, maxInteractive: 0, interactive: { cat: { argv: ['/bin/cat'] }, logout: { argv: ['/bin/sh'] }, calc: { argv: ['bc'], idleSeconds: 0, shell: true }, ok: { argv: ['/usr/bin/bc', '-q'] } } },
    inter,
    [],
  );
  assert.deepEqual(inter.sort(), [
    'admin.interactive.calc.argv: the program "bc" must be an absolute path (keygate does no PATH lookup)',
    'admin.interactive.calc.idleSeconds: must be a whole number from 1 to 86400',
    'admin.interactive.calc.shell: unknown setting',
    'admin.interactive.cat: cat is also in admin.actions (a name is one or the other)',
    'admin.interactive.logout: logout is one of keygate\'s own actions',
    'admin.maxInteractive: must be a whole number from 1 to 100',
  ]);
  assert.deepEqual(cfg?.interactive['ok'], { argv: ['/usr/bin/bc', '-q'], idleSeconds: 300, maxOutputBytes: 65536, replyWaitMs: 1000 });
  assert.deepEqual(on.config.admin?.interactive, {}, 'no interactive action unless listed');
  const remote: string[] = [];
  validateAdminConfig({ host: '10.0.0.1' }, remote, []);
  assert.match(remote[0]!, /not a loopback address/);
  const warned: string[] = [];
  assert.deepEqual((remote.length = 0, validateAdminConfig({ host: '10.0.0.1', allowRemote: true }, remote, warned))?.host, '10.0.0.1');
  assert.match(warned[0]!, /plain HTTP/);
});

test('framing: both body forms round-trip; a truncated or reordered body is refused', () => {
  const f = new Fernet(randomBytes(32));
  const payload = randomBytes(20_000);
  for (const form of ['A', 'B'] as const) {
    const body = encodeRequestBody(f, '/put/T', 7, payload, form);
    assert.deepEqual(decodeRequestBody(f, '/put/T', body, form === 'A', 60), { req: 7, payload });
    assert.throws(() => decodeRequestBody(f, '/put/U', body, form === 'A', 60), /another path/);
  }
  const b = encodeRequestBody(f, '/p', 1, payload, 'B').toString().split('\r\n');
  assert.throws(() => decodeRequestBody(f, '/p', Buffer.from(b.slice(0, -1).join('\r\n')), false, 60), /without an end token/);
  assert.throws(() => decodeRequestBody(f, '/p', Buffer.from([b[0], b[2], b[1], b[3]].join('\r\n')), false, 60), /numbered/);
  assert.deepEqual(decodeRequestBody(f, '/p', Buffer.from(b.join('\r\n\r\n')), false, 60).payload, payload, 'blank lines are tolerated');
  assert.throws(() => decodeRequestBody(f, '/p', Buffer.alloc(0), true, 60), /no body token/);
  const resp = encodeResponse(f, 3, 200, payload);
  assert.deepEqual(decodeResponse(f, 3, resp, 10), { status: 200, data: payload });
  const cut = resp.toString().split('\r\n').slice(0, 1).join('\r\n');
  assert.throws(() => decodeResponse(f, 3, Buffer.from(cut), 10), ProtocolError, 'a cut response is an error');
  assert.deepEqual(decodeResponse(f, 4, encodeResponse(f, 4, 200, Buffer.alloc(0)), 10), { status: 200, data: Buffer.alloc(0) });
});

test('sessions: numbers exactly one more, a refusal changes nothing, idle expiry, the cap; rate limits refill', () => {
  const t = new SessionTable({ maxSessions: 2, idleSeconds: 100 });
  const f = new Fernet(randomBytes(32));
  const s = t.create({ user: 'a', fingerprint: 'x', fernet: f, source: 'l' }, 0)!;
  t.accept(s, 1, 1);
  assert.throws(() => t.accept(s, 1, 2), /not the next one/);
  assert.throws(() => t.accept(s, 3, 2), /not the next one/);
  t.accept(s, 2, 3);
  assert.ok(t.create({ user: 'a', fingerprint: 'x', fernet: f, source: 'l' }, 3));
  assert.equal(t.create({ user: 'a', fingerprint: 'x', fernet: f, source: 'l' }, 3), undefined, 'cap');
  assert.equal(t.get(s.id, 50), s);
  assert.equal(t.get(s.id, 151), undefined, 'idle too long');
  const r = new RateLimiter({ burst: 2, perMinute: 6 });
  assert.deepEqual([r.take('k', 0), r.take('k', 0), r.take('k', 0) > 0], [0, 0, true]);
  assert.equal(r.take('k', 10), 0, 'one token back after 10 s at 6/min');
  assert.equal(r.take('other', 0), 0, 'keys are separate');
});
