// The admin listener in-process with the Node client (src/admin/client.ts): every hole of remo_serv
// (notes/seed-peers-findings.md §1.9) tried against it. Cheap: no keygate start; the Python client and the
// real serve are in test/admin.e2e.test.ts. Faults planted and seen red are listed in docs/admin.md#tests.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startAdminServer, type AdminServer } from '../src/admin/server.js';
import { validateAdminConfig, type AdminConfig } from '../src/admin/config.js';
import { AdminClient, exchange } from '../src/admin/client.js';
import { b64uEncode, keyFingerprint, signLogin, x448Ephemeral } from '../src/admin/crypto.js';
import type { AdminUser } from '../src/admin/users.js';
import { encodeRequestBody } from '../src/admin/framing.js';
import type { AdminHost } from '../src/admin/actions.js';
import { sha256File, tempDir, writeTree } from './helpers/project.js';
import { loadAdminMaterial } from '../src/admin/setup.js';
import { VerifiedTree } from '../src/server/verified-tree.js';
import { waitFor } from './helpers/backend.js';

const PAYLOAD_SENTINEL = 'PAYLOAD-SENTINEL-7c1e';
const serverKey = generateKeyPairSync('ed448').privateKey;
const serverPub = createPublicKey(serverKey);

function makeUser(name: string, actions: string[], extra: Partial<AdminUser> = {}): { user: AdminUser; key: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ed448');
  return { user: { name, key: publicKey, fingerprint: keyFingerprint(publicKey), actions, ...extra }, key: privateKey };
}

const alice = makeUser('alice', ['*']);
const bob = makeUser('bob', ['status']);
const old = makeUser('old', ['*'], { expiresS: Math.floor(Date.now() / 1000) - 10 });
const calls: string[] = [];
const host: AdminHost = {
  status: () => ({ pid: process.pid, manifest: 'abc' }),
  verify: async () => ({ ok: true, lines: ['verified 3 files'] }),
  reloadTls: () => void calls.push('reload-tls'),
  reloadCrl: async () => void calls.push('reload-crl'),
};

interface Started {
  server: AdminServer;
  base: string;
  logs: string[];
  ep: { url: string };
}
const servers: AdminServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function start(raw: Record<string, unknown>, users: AdminUser[] = [alice.user, bob.user, old.user], nowS?: () => number): Promise<Started> {
  const base = tempDir('kg-admin-');
  const errors: string[] = [];
  const config = validateAdminConfig(raw['socket'] ? raw : { port: 0, ...raw }, errors, []) as AdminConfig;
  assert.deepEqual(errors, []);
  const logs: string[] = [];
  const log = { info: (m: string, f?: object) => logs.push(`${m} ${JSON.stringify(f ?? {})}`), warn: (m: string, f?: object) => logs.push(`${m} ${JSON.stringify(f ?? {})}`) };
  const server = await startAdminServer({ config, base, serverKey, users: new Map(users.map((u) => [u.name, u])), host, log, version: 'test', nowS });
  servers.push(server);
  return { server, base, logs, ep: { url: server.url } };
}

/** A raw /auth body, with parts overridable for the bad-input cases. */
function authBody(user: string, key: KeyObject, over: Partial<{ user: string; key: string; sign: string }> = {}): Buffer {
  const eph = x448Ephemeral();
  return Buffer.from(JSON.stringify({ user, key: b64uEncode(eph.publicRaw), sign: b64uEncode(signLogin(key, user, eph.publicRaw)), ...over }));
}

test('the protocol: /info, /auth, /cmd, /get, /put both body forms; every hole closed with a 4xx', async () => {
  const s = await start({
    dropFolder: 'drop',
    actions: { echo: { argv: ['/bin/echo', 'said:'], args: ['[a-z]{1,8}'] }, cat: { argv: ['/bin/cat'], stdin: true } },
    authRate: { perAddressBurst: 1000, perUserBurst: 100 },
  });
  mkdirSync(join(s.base, 'drop'));
  mkdirSync(join(s.base, 'log'), { recursive: true });
  writeFileSync(join(s.base, 'secret.txt'), 'outside');
  symlinkSync(join(s.base, 'secret.txt'), join(s.base, 'log/link.txt'));
  const statuses: number[] = [];
  const seen = <T extends { status: number }>(r: T): T => (statuses.push(r.status), r);

  const info = seen(await exchange(s.ep, '/info', Buffer.alloc(0)));
  assert.equal(info.status, 200);
  assert.match(info.body.toString(), /admin channel \(remo_serv 0\.6\.0 protocol\) here/);

  const c = await AdminClient.login(s.ep, 'alice', alice.key, serverPub);
  const status = seen(await c.request('cmd', 'status'));
  assert.equal(status.status, 200);
  assert.equal(JSON.parse(status.data.toString()).manifest, 'abc');
  assert.equal(seen(await c.request('cmd', 'echo hello')).data.toString(), 'said: hello\n');
  assert.equal(seen(await c.request('cmd', 'cat', Buffer.from(`${PAYLOAD_SENTINEL}\n`))).data.toString(), `${PAYLOAD_SENTINEL}\n`);
  assert.equal(seen(await c.request('cmd', 'reload-tls')).status, 200);
  assert.equal(seen(await c.request('cmd', 'reload-crl')).status, 200);
  assert.deepEqual(calls, ['reload-tls', 'reload-crl']);
  assert.equal(seen(await c.request('info')).data.toString(), 'keygate test admin channel (remo_serv 0.6.0 protocol) here');

  // /put, both forms; atomic (no temp file left), 0600; a multi-token response comes back whole.
  const big = Buffer.alloc(40_960, 'x');
  assert.equal(seen(await c.request('put', 'a.txt', Buffer.from('line1\nline2\n'), 'A')).status, 200);
  assert.equal(seen(await c.request('put', 'big.bin', big, 'B')).status, 200);
  assert.equal(readFileSync(join(s.base, 'drop/a.txt'), 'utf8'), 'line1\nline2\n');
  assert.deepEqual(readFileSync(join(s.base, 'drop/big.bin')), big);
  assert.equal(statSync(join(s.base, 'drop/big.bin')).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(join(s.base, 'drop')).sort(), ['a.txt', 'big.bin']);
  writeFileSync(join(s.base, 'log/big.bin'), big);
  assert.deepEqual(seen(await c.request('get', 'log/big.bin')).data, big);

  // Holes. Replay: the same request again (bodiless /get included: it carries its number in a body token).
  const get = c.prepare('get', 'log/big.bin');
  assert.equal(seen(await c.send(get)).status, 200);
  const replay = seen(await c.send(get));
  assert.equal(replay.status, 400);
  assert.match(replay.data.toString(), /not the next one/);
  // A skipped number, then the session still works with the right one (a refusal does not end it).
  assert.equal(seen(await c.send(c.prepare('cmd', 'status', undefined, 'A', get.req + 2))).status, 400);
  const accepted = c.prepare('cmd', 'status');
  assert.equal(seen(await c.send(accepted)).status, 200);
  // No body token at all, a garbage one, one made for another path, an old URL token (all numbered as the next
  // request: a refused request does not use its number up).
  const n = accepted.req + 1;
  const next = c.prepare('get', 'log/big.bin', undefined, 'A', n);
  assert.equal(seen(await exchange(s.ep, next.path, Buffer.alloc(0), { cookie: c.cookie })).status, 400);
  assert.equal(seen(await exchange(s.ep, next.path, Buffer.from('gAAAA-garbage=='), { cookie: c.cookie })).status, 400);
  const other = c.prepare('get', 'log/other', undefined, 'A', n);
  assert.equal(seen(await exchange(s.ep, next.path, other.body, { cookie: c.cookie })).status, 400);
  const stalePath = `/get/${c.fernet.encrypt(Buffer.from('log/big.bin'), Math.floor(Date.now() / 1000) - 120)}`;
  const staleBody = encodeRequestBody(c.fernet, stalePath, n, Buffer.alloc(0), 'A');
  const staleR = seen(await exchange(s.ep, stalePath, staleBody, { cookie: c.cookie }));
  assert.equal(staleR.status, 400);
  assert.match(staleR.body.toString(), /older than 60 s/);
  c.prepare('cmd', 'unsent'); // that body token authenticated, so number n is used: the client moves past it

  // Not a shell: unknown action, bad argument, interactive commands, unknown paths.
  for (const [kind, arg, code, why] of [
    ['cmd', 'sh -c id', 403, /not an action/],
    ['cmd', 'echo HELLO', 400, /does not match/],
    ['cmd', 'echo a b', 400, /takes 1 argument/],
    ['cmd', 'status now', 400, /takes no arguments/],
    ['cmd', 'restart-backend', 403, /not an action/],
    ['icm', 'bash', 403, /bash is not an interactive action this channel offers \(none is/],
    ['get', '../secret.txt', 403, /".." is not allowed/],
    ['get', join(s.base, 'secret.txt'), 403, /outside the folders/],
    ['get', 'log/link.txt', 403, /symlink/],
    ['get', 'log/none-ARGNAME-4d1', 404, /log\/none-ARGNAME-4d1: no such file/],
    ['put', '../x', 403, /plain file name/],
    ['put', '.hidden', 403, /plain file name/],
    ['nope', 'x', 403, /not a command/],
  ] as const) {
    const r = seen(await c.request(kind, arg));
    assert.equal(r.status, code, `${kind} ${arg}: ${r.data}`);
    assert.match(r.data.toString(), why, `${kind} ${arg}`);
  }
  // Per-user permissions: bob may run status only.
  const b = await AdminClient.login(s.ep, 'bob', bob.key, serverPub);
  assert.equal(seen(await b.request('cmd', 'status')).status, 200);
  assert.match(seen(await b.request('cmd', 'verify')).data.toString(), /bob may not run verify/);
  assert.equal(seen(await b.request('get', 'log/big.bin')).status, 403);
  // Without a session: 403, never the action.
  assert.equal(seen(await exchange(s.ep, next.path, next.body)).status, 403);

  // /auth bad inputs: 4xx, never 500.
  const bad: [string, Buffer, number][] = [
    ['empty body (unauthenticated logout)', Buffer.alloc(0), 403],
    ['not JSON', Buffer.from('{'), 400],
    ['missing field', Buffer.from('{"user":"alice"}'), 400],
    ['unknown user', authBody('mallory', alice.key), 403],
    ['expired key', authBody('old', old.key), 403],
    ['bad signature', authBody('alice', bob.key), 403],
    ['unpadded key', authBody('alice', alice.key, { key: b64uEncode(x448Ephemeral().publicRaw).replace(/=+$/, '') }), 400],
    ['wrong key length', authBody('alice', alice.key, { key: b64uEncode(Buffer.alloc(32, 9)) }), 400],
    ['garbage signature', authBody('alice', alice.key, { sign: '!!!!' }), 400],
  ];
  for (const [name, body, code] of bad) assert.equal(seen(await exchange(s.ep, '/auth', body)).status, code, name);
  // A second login opens a second session: the first one's key is not replaced.
  const c2 = await AdminClient.login(s.ep, 'alice', alice.key, serverPub);
  assert.notEqual(c2.cookie, c.cookie);
  assert.equal(seen(await c.request('cmd', 'status')).status, 200);

  assert.deepEqual(statuses.filter((x) => x >= 500), [], 'no 5xx for any input');

  // Audit: one line per request, the fixed fields only, no key, token or payload.
  const audit = readFileSync(join(s.base, 'log/admin-audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(audit.length >= statuses.length + 3, `${audit.length} audit lines for ${statuses.length} checked requests`);
  assert.equal(statSync(join(s.base, 'log/admin-audit.jsonl')).mode & 0o777, 0o600);
  for (const line of audit) for (const k of Object.keys(line)) assert.ok(['time', 'user', 'key', 'source', 'action', 'argSha256', 'status', 'result', 'req'].includes(k), k);
  assert.ok(audit.some((l) => l['action'] === 'cmd:status' && l['user'] === 'alice' && l['key'] === alice.user.fingerprint && typeof l['req'] === 'number'));
  const everything = readFileSync(join(s.base, 'log/admin-audit.jsonl'), 'utf8') + s.logs.join('\n');
  for (const client of [c, c2, b]) {
    const k = client.revealSessionKey();
    for (const form of [k.toString('hex'), b64uEncode(k), k.toString('base64'), k.subarray(0, 16).toString('hex')]) assert.equal(everything.includes(form), false, 'a session key in a log');
  }
  assert.equal(everything.includes(PAYLOAD_SENTINEL), false, 'a payload in a log');
  assert.equal(everything.includes('gAAAA'), false, 'a token in a log');
  assert.equal(everything.includes('ARGNAME'), false, 'a decrypted argument in a log (only its digest)');
});

test('limits: /auth per user and per address (429), a session cap (503), /put off without a drop folder', async () => {
  const s = await start({ maxSessions: 2, authRate: { perUserBurst: 2, perAddressBurst: 6, perMinute: 1 } });
  const codes: number[] = [];
  for (let i = 0; i < 3; i++) codes.push((await exchange(s.ep, '/auth', authBody('bob', alice.key))).status); // wrong key for bob
  assert.deepEqual(codes, [403, 403, 429], 'per user');
  const r = await exchange(s.ep, '/auth', authBody('bob', bob.key));
  assert.equal(r.status, 429, 'the right key waits too');
  assert.match(String(r.headers['retry-after']), /^\d+$/);
  const a1 = await AdminClient.login(s.ep, 'alice', alice.key, serverPub);
  await AdminClient.login(s.ep, 'alice', alice.key, serverPub);
  const capped = await exchange(s.ep, '/auth', authBody('alice', alice.key));
  assert.equal(capped.status, 429, 'per address: 6 logins from 127.0.0.1 used up'); // 3 + 1 + 2 logins, the 7th refused
  const s2 = await start({ maxSessions: 1, authRate: { perAddressBurst: 100, perUserBurst: 100 } });
  await AdminClient.login(s2.ep, 'alice', alice.key, serverPub);
  const full = await exchange(s2.ep, '/auth', authBody('alice', alice.key));
  assert.equal(full.status, 503);
  assert.match(full.body.toString(), /admin\.maxSessions/);
  const put = await a1.request('put', 'x.txt', Buffer.from('x'));
  assert.equal(put.status, 403);
  assert.match(put.data.toString(), /\/put is off/);
});

test('a unix socket, 0600, removed on close', async () => {
  const s = await start({ socket: 'admin.sock' });
  const path = join(s.base, 'admin.sock');
  assert.equal(s.server.url, `unix:${path}`);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const c = await AdminClient.login({ socketPath: path }, 'alice', alice.key, serverPub);
  assert.equal((await c.request('cmd', 'status')).status, 200);
  await s.server.close();
  assert.throws(() => statSync(path));
});

test('the channel cannot listen: ADMIN_LISTEN_FAILED (a taken port, a file where the socket goes)', async () => {
  const s = await start({});
  const port = Number(new URL(s.server.url).port);
  await assert.rejects(start({ port }), (err: Error & { code?: string }) => err.code === 'ADMIN_LISTEN_FAILED' && /failed to start the admin channel on 127\.0\.0\.1:\d+: EADDRINUSE/.test(err.message));
  const base = tempDir('kg-admin-');
  writeFileSync(join(base, 'admin.sock'), 'not a socket');
  const errors: string[] = [];
  const config = validateAdminConfig({ socket: 'admin.sock' }, errors, []) as AdminConfig;
  await assert.rejects(
    startAdminServer({ config, base, serverKey, users: new Map(), host, log: { info() {}, warn() {} }, version: 't' }),
    (err: Error & { code?: string }) => err.code === 'ADMIN_LISTEN_FAILED' && /exists and is not a socket/.test(err.message),
  );
  assert.equal(readFileSync(join(base, 'admin.sock'), 'utf8'), 'not a socket', 'left alone');
});

test('loadAdminMaterial: registry and key from verified bytes, a 0600 key, action programs root\'s or verified', () => {
  const base = tempDir('kg-admin-setup-');
  const pem = serverKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const registry = JSON.stringify({ users: { alice: { key: alice.user.key.export({ type: 'spki', format: 'pem' }), actions: ['status'] } } });
  writeTree(base, { 'admin/server_key.pem': pem, 'admin/users.json': registry, 'tools/mine.sh': '#!/bin/sh\necho hi\n' });
  chmodSync(join(base, 'admin/server_key.pem'), 0o600);
  chmodSync(join(base, 'tools/mine.sh'), 0o777);
  const manifest = (files: string[]) => new Map(files.map((f) => [f, sha256File(join(base, f))]));
  const all = new VerifiedTree(base, manifest(['admin/server_key.pem', 'admin/users.json', 'tools/mine.sh']));
  const cfg = (raw: Record<string, unknown>) => validateAdminConfig(raw, [], []) as AdminConfig;
  const code = (fn: () => unknown) => {
    try {
      fn();
      return 'ok';
    } catch (err) {
      return `${(err as { code?: string }).code}: ${(err as Error).message}`;
    }
  };
  assert.equal(loadAdminMaterial(cfg({}), all).users.size, 1);
  assert.equal(code(() => loadAdminMaterial(cfg({ actions: { mine: { argv: [join(base, 'tools/mine.sh')] }, echo: { argv: ['/bin/echo'] } } }), all)), 'ok', 'verified, or root\'s system tool');
  assert.match(code(() => loadAdminMaterial(cfg({}), new VerifiedTree(base, manifest(['admin/server_key.pem'])))), /^UNVERIFIED_LOAD: .*users\.json/);
  const loose = new VerifiedTree(base, manifest(['admin/server_key.pem', 'admin/users.json']));
  assert.match(code(() => loadAdminMaterial(cfg({ actions: { mine: { argv: [join(base, 'tools/mine.sh')] }, gone: { argv: ['/nonexistent/x'] } } }), loose)), /^ADMIN_INVALID: .*\n.*mine\.sh is neither in the manifest nor owned by root.*\n.*\/nonexistent\/x does not exist/);
  chmodSync(join(base, 'admin/server_key.pem'), 0o640);
  assert.match(code(() => loadAdminMaterial(cfg({}), all)), /^ADMIN_INVALID: refused the admin server key .* mode 640/);
  chmodSync(join(base, 'admin/server_key.pem'), 0o600);
  writeFileSync(join(base, 'admin/users.json'), JSON.stringify({ users: { 'a b': { key: 'x', actions: ['shell'] } } }));
  const bad = new VerifiedTree(base, manifest(['admin/server_key.pem', 'admin/users.json']));
  assert.match(code(() => loadAdminMaterial(cfg({}), bad)), /^ADMIN_INVALID: failed to read the admin users .*\n"a b": a user name.*\na b\.key: is not a PEM public key.*\na b\.actions: "shell" is no action/);
});

/** Whether a process runs (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** /idt with no input until the output so far matches (the program answers when it answers: no timing assumed). */
async function readUntil(c: AdminClient, first: string, want: RegExp): Promise<string> {
  let out = first;
  for (let i = 0; i < 100 && !want.test(out); i++) {
    const r = await c.request('idt');
    assert.equal(r.status, 200, r.data.toString());
    out += r.data.toString();
  }
  assert.match(out, want);
  return out;
}

test('interactive actions: allow-listed only, one per session, a cap; the program ends with /edt, logout, its idle timeout, the session, shutdown', async () => {
  const carl = makeUser('carl', ['cat']);
  let skew = 0;
  const s = await start(
    {
      maxInteractive: 3,
      authRate: { perAddressBurst: 1000, perUserBurst: 100 },
      interactive: {
        cat: { argv: ['/bin/cat'], replyWaitMs: 300 },
        sh: { argv: ['/bin/sh'], replyWaitMs: 300 },
        brief: { argv: ['/bin/cat'], idleSeconds: 1, replyWaitMs: 100 },
      },
    },
    [alice.user, bob.user, carl.user],
    () => Math.floor(Date.now() / 1000) + skew,
  );
  const statuses: number[] = [];
  const seen = <T extends { status: number }>(r: T): T => (statuses.push(r.status), r);
  const c = await AdminClient.login(s.ep, 'alice', alice.key, serverPub);
  assert.match(seen(await c.request('idt', undefined, Buffer.from('x\n'))).data.toString(), /no interactive program runs/);
  assert.equal(seen(await c.request('edt')).status, 400);

  // Start, send, receive, end: the payload goes to stdin, the output comes back, the program is gone after /edt.
  const started = seen(await c.request('icm', 'cat', Buffer.from('first\n')));
  assert.equal(started.status, 200);
  await readUntil(c, started.data.toString(), /^first\n$/);
  const pid = s.server.interactivePid(c.cookie)!;
  assert.ok(pid > 0 && alive(pid));
  const sent = seen(await c.request('idt', undefined, Buffer.from(`${PAYLOAD_SENTINEL}\n`)));
  await readUntil(c, sent.data.toString(), new RegExp(`^${PAYLOAD_SENTINEL}\\n$`));
  const second = seen(await c.request('icm', 'sh'));
  assert.equal(second.status, 409, 'one interactive program per session');
  assert.match(second.data.toString(), /already runs cat/);
  assert.equal(s.server.interactivePid(c.cookie), pid, 'the first one still runs');
  const ended = seen(await c.request('edt'));
  assert.equal(ended.status, 200);
  assert.match(ended.data.toString(), /\[keygate: cat exit status 0\]\n$/);
  assert.equal(alive(pid), false, 'gone after /edt');
  assert.equal(s.server.interactivePid(c.cookie), undefined);

  // Only allow-listed names, with no words, and only for users allowed them.
  for (const [arg, code, why] of [
    ['bash', 403, /bash is not an interactive action this channel offers \(offered: cat, sh, brief\)/],
    ['status', 403, /not an interactive action/],
    ['cat /etc/passwd', 400, /takes no arguments/],
  ] as const) {
    const r = seen(await c.request('icm', arg));
    assert.equal(r.status, code, `${arg}: ${r.data}`);
    assert.match(r.data.toString(), why);
  }
  assert.equal(s.server.interactivePid(c.cookie), undefined, 'nothing started by a refused /icm');
  const b = await AdminClient.login(s.ep, 'bob', bob.key, serverPub);
  assert.match(seen(await b.request('icm', 'cat')).data.toString(), /bob may not run cat/);

  // Logout ends it (and the session).
  const k = await AdminClient.login(s.ep, 'carl', carl.key, serverPub);
  assert.equal(seen(await k.request('icm', 'cat')).status, 200, 'carl may run cat');
  const carlPid = s.server.interactivePid(k.cookie)!;
  assert.ok(alive(carlPid));
  assert.equal(seen(await k.request('cmd', 'logout')).data.toString(), 'logged out\n');
  assert.equal(alive(carlPid), false, 'gone after logout');
  assert.equal(seen(await k.request('cmd', 'status')).status, 403, 'the session ended');

  // Its process group ends with it: a background job of the program does not survive /edt, whether it let go of
  // the pipes (the shell ends at end of input; the group is killed after it) or holds them (SIGTERM to the group).
  for (const job of ['sleep 1234 </dev/null >/dev/null 2>&1', 'sleep 1235']) {
    const shell = seen(await c.request('icm', 'sh', Buffer.from(`${job} & echo bg=$!\n`)));
    const bg = Number(/bg=(\d+)/.exec(await readUntil(c, shell.data.toString(), /bg=\d+\n/))![1]);
    assert.ok(alive(bg));
    assert.equal(seen(await c.request('edt')).status, 200);
    await waitFor(() => !alive(bg), 20_000, `the background job ${bg} (${job}) to be killed`);
  }

  // Its own idle timeout (1 s here, and never longer than the session's).
  assert.equal(seen(await c.request('icm', 'brief')).status, 200);
  const briefPid = s.server.interactivePid(c.cookie)!;
  await waitFor(() => !alive(briefPid), 20_000, 'the idle program to be ended');
  assert.match(s.logs.join('\n'), /interactive brief \(pid \d+\) ended: alice: idle for 1 s/);
  assert.match(seen(await c.request('idt')).data.toString(), /no interactive program runs/);

  // The session's idle timeout (the server's clock moved past admin.sessionIdleSeconds) ends it too.
  assert.equal(seen(await c.request('icm', 'cat')).status, 200);
  const idlePid = s.server.interactivePid(c.cookie)!;
  skew = 601;
  assert.equal(seen(await c.request('cmd', 'status')).status, 403, 'the session expired');
  skew = 0;
  await waitFor(() => !alive(idlePid), 20_000, 'the expired session\'s program to be ended');

  // A cap over all sessions, and keygate's shutdown ends every program.
  const pids: number[] = [];
  for (let i = 0; i < 3; i++) {
    const d = await AdminClient.login(s.ep, 'alice', alice.key, serverPub);
    assert.equal(seen(await d.request('icm', 'cat')).status, 200);
    pids.push(s.server.interactivePid(d.cookie)!);
  }
  const d4 = await AdminClient.login(s.ep, 'alice', alice.key, serverPub);
  const capped = await d4.request('icm', 'cat');
  assert.equal(capped.status, 503);
  assert.match(capped.data.toString(), /admin\.maxInteractive/);
  assert.deepEqual(statuses.filter((x) => x >= 500), [], 'no 5xx but the cap');
  await s.server.close();
  for (const p of pids) assert.equal(alive(p), false, `gone after shutdown: ${p}`);

  // Audit: one line per request, the payload in none of them nor in the log.
  const audit = readFileSync(join(s.base, 'log/admin-audit.jsonl'), 'utf8');
  for (const a of ['icm:cat', 'idt:cat', 'edt:cat', 'icm:bash', 'idt:none', 'cmd:logout']) assert.ok(audit.includes(`"action":"${a}"`), a);
  assert.equal((audit + s.logs.join('\n')).includes(PAYLOAD_SENTINEL), false, 'a payload in a log');
});
