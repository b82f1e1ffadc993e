// The admin channel end to end: one `keygate serve` with `admin` configured, driven by the Python client written
// from the notes (test/fixtures/admin/remo_client.py, Debian python3-cryptography: the stock client's wire
// behaviour) and by the Node client (src/admin/client.ts). Keys, the registry and a remo_serv SQLite user
// database are made at test time by keygate's own admin commands and Python's sqlite3. One serve start, many
// requests; one refused start (a world-readable server key) to show the channel's files are checked before the
// vault is asked. Faults planted and seen red: docs/admin.md#tests.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { ROOT, SENTINEL, demoProject, keygate, serve, serveRefused, tempDir, vaultCalls, type DemoProject, type Served } from './helpers/project.js';
import { backendPid, backendProject, missingPeer as missingBackendPeer, waitFor } from './helpers/backend.js';
import { AdminClient } from '../src/admin/client.js';
import { b64uEncode } from '../src/admin/crypto.js';
import { addAdminChannel } from './helpers/admin-channel.js';

const PYTHON = '/usr/bin/python3';
function missingPeer(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing: apt-get install python3 python3-cryptography`;
  const r = spawnSync(PYTHON, ['-c', 'import cryptography.hazmat.primitives.asymmetric.x448'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'python3-cryptography is missing: apt-get install python3-cryptography';
}
const skip = { skip: missingPeer() };
const CLIENT = join(ROOT, 'test/fixtures/admin/remo_client.py');
const PW = 'alice-key-pw';

let project: DemoProject;
let clientDir: string;
let served: Served | undefined;
let adminUrl = '';

/** remo_serv's add_user database (its exact schema), with one user, written by the real SQLite. */
function remoServDb(file: string, user: string, pubPem: string): void {
  const script = `import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE users(id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT UNIQUE, key TEXT, pub TEXT)")
db.execute("INSERT INTO users(user, pub) VALUES (?, ?)", (sys.argv[2], open(sys.argv[3], 'rb').read()))
db.commit()`;
  const r = spawnSync(PYTHON, ['-c', script, file, user, pubPem], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

function ok(r: { code: number; stderr: string }, what: string): void {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
}

before(async () => {
  if (missingPeer()) return;
  clientDir = tempDir('kg-admin-client-');
  writeFileSync(join(clientDir, 'pw'), `${PW}\n`, { mode: 0o600 });
  project = demoProject({
    templateExtra: 'admin\n',
    config: {
      admin: {
        port: 0,
        dropFolder: 'drop',
        authRate: { perUserBurst: 10, perAddressBurst: 100, perMinute: 1 },
        actions: {
          greet: { argv: ['/bin/echo', 'hello from'], args: ['[a-z]{1,16}'] },
          env: { argv: ['/usr/bin/env'] },
          upper: { argv: ['/usr/bin/tr', 'a-z', 'A-Z'], stdin: true },
        },
        interactive: { cat: { argv: ['/bin/cat'], replyWaitMs: 300 } },
      },
    },
    prepare: (dir) => {
      mkdirSync(join(dir, 'drop'));
      ok(keygate(dir, ['admin', 'keygen', '--server']), 'keygen --server');
      for (const name of ['alice', 'bob', 'carol', 'dave']) ok(keygate(dir, ['admin', 'keygen', name, '--dir', clientDir, '--password-file', join(clientDir, 'pw')]), `keygen ${name}`);
      ok(keygate(dir, ['admin', 'add-user', 'alice', join(clientDir, 'alice.pem'), '--actions', '*']), 'add-user alice');
      ok(keygate(dir, ['admin', 'add-user', 'bob', join(clientDir, 'bob.pem'), '--actions', 'status']), 'add-user bob');
      ok(keygate(dir, ['admin', 'add-user', 'dave', join(clientDir, 'dave.pem'), '--actions', 'status', '--expires', '2020-01-01']), 'add-user dave');
      remoServDb(join(clientDir, 'users_db.sqlite'), 'carol', join(clientDir, 'carol.pem'));
      ok(keygate(dir, ['admin', 'import-sqlite', join(clientDir, 'users_db.sqlite'), '--actions', 'status,get']), 'import-sqlite');
    },
  });
  served = await serve(project.dir);
  adminUrl = await waitFor(() => /admin channel listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(served!.stderr())?.[1], 20_000, 'the admin channel');
});

after(async () => {
  await served?.stop();
});

/** Runs the Python client as `user` through the steps; returns its results by op order. */
function python(user: string, steps: object[]): Record<string, unknown>[] {
  const spec = join(clientDir, `steps-${user}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(spec, JSON.stringify({ user, key: join(clientDir, `${user}_key.pem`), password_file: join(clientDir, 'pw'), server_pub: join(project.dir, 'admin/server.pem'), steps }));
  const r = spawnSync(PYTHON, [CLIENT, adminUrl, spec], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

test('the Python client: every command form, and the files keygate admin wrote', skip, () => {
  // keygen: the private key encrypted PKCS#8, 0600; the server key unencrypted, 0600.
  assert.match(readFileSync(join(clientDir, 'alice_key.pem'), 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);
  assert.equal(statSync(join(clientDir, 'alice_key.pem')).mode & 0o777, 0o600);
  assert.equal(statSync(join(project.dir, 'admin/server_key.pem')).mode & 0o777, 0o600);
  const users = JSON.parse(readFileSync(join(project.dir, 'admin/users.json'), 'utf8')).users;
  assert.deepEqual(Object.keys(users), ['alice', 'bob', 'carol', 'dave']);
  assert.deepEqual(users.carol.actions, ['status', 'get']);

  const big = Buffer.alloc(40_960, 'z').toString('base64');
  const r = python('alice', [
    { op: 'info_plain' },
    { op: 'login' },
    { op: 'exec', cmd: 'status' },
    { op: 'exec', cmd: 'greet operator' },
    { op: 'info' },
    { op: 'put', name: 'plain.txt', data: 'line1\nline2\n' },
    { op: 'put', name: 'big.bin', data_b64: big, form: 'chunked' },
    { op: 'get', path: 'log/admin-audit.jsonl' },
    { op: 'exec', cmd: 'tail-log 2' },
    { op: 'iexec', cmd: 'bash' },
    { op: 'exec', cmd: 'verify' },
    { op: 'iexec', cmd: 'cat' },
    { op: 'idata', data: 'ls', until: 'ls\n' },
    { op: 'iend' },
    { op: 'exec', cmd: 'upper', data: 'from stdin\n' },
  ]);
  const by = (i: number) => r[i]!;
  assert.equal(by(0).status, 200);
  assert.match(String(by(0).text), /admin channel \(remo_serv 0\.6\.0 protocol\) here/);
  assert.deepEqual([by(1).status, by(1).length], [200, 230], '/auth: 76 + CRLF + 152 bytes');
  assert.equal(JSON.parse(String(by(2).text)).pid > 0, true);
  assert.equal(by(2).ended, true, 'every response ends with an E token');
  assert.equal(by(2).sealed_status, 200);
  assert.equal(by(3).text, 'hello from operator\n');
  assert.match(String(by(4).text), /admin channel/);
  assert.equal(readFileSync(join(project.dir, 'drop/plain.txt'), 'utf8'), 'line1\nline2\n');
  assert.deepEqual(readFileSync(join(project.dir, 'drop/big.bin')), Buffer.from(big, 'base64'), 'a 40 KiB chunked upload arrives whole');
  assert.equal(by(7).status, 200);
  assert.match(String(by(7).text), /"action":"cmd:status"/);
  assert.equal(String(by(8).text).trim().split('\n').length, 2);
  assert.equal(by(9).status, 403);
  assert.match(String(by(9).text), /bash is not an interactive action this channel offers \(offered: cat\)/);
  assert.equal(by(10).status, 200);
  assert.match(String(by(10).text), /^verified \d+ files manifest=[0-9a-f]{64}/);
  // An allow-listed interactive action: started, fed a line, its echo read back, ended (its exit status last).
  assert.deepEqual([by(11).status, by(12).status, by(13).status], [200, 200, 200], JSON.stringify(r.slice(11, 14)));
  assert.equal(by(12).text, 'ls\n');
  assert.equal(by(13).text, '[keygate: cat exit status 0]\n');
  assert.equal(by(13).ended, true);
  assert.equal(by(14).text, 'FROM STDIN\n', 'the request payload as stdin of an action that takes it');
});

test('the Python client: the holes of remo_serv are closed (4xx, never 500; the session survives)', skip, () => {
  const r = python('alice', [
    { op: 'login', tamper: 'empty' }, // 0 unauthenticated logout
    { op: 'login', tamper: 'not_json' },
    { op: 'login', tamper: 'bad_padding' },
    { op: 'login', tamper: 'wrong_key_length' },
    { op: 'login', tamper: 'unknown_user' },
    { op: 'login' }, // 5
    { op: 'get', path: 'log/admin-audit.jsonl' },
    { op: 'replay_last' }, // 7 the same request again
    { op: 'bodiless' }, // 8 its path with the cookie only
    { op: 'exec', cmd: 'status', skip: 3 }, // 9 a skipped number
    { op: 'garbage_body' },
    { op: 'stale_url', cmd: 'status', age: 120 }, // 11 a URL token older than admin.tokenTtlSeconds
    { op: 'exec', cmd: 'sh -c id' },
    { op: 'exec', cmd: 'greet ../../etc' },
    { op: 'get', path: '../keygate.config.json' },
    { op: 'get', path: 'admin/server_key.pem' }, // 15 outside admin.getFolders
    { op: 'put', name: '../escape.txt', data: 'x' },
    { op: 'exec', cmd: 'status' }, // 17 the session still works
    { op: 'login', tamper: 'bad_signature' },
  ]);
  const st = r.map((x) => x['status']);
  assert.deepEqual(st, [403, 400, 400, 400, 403, 200, 200, 400, 400, 400, 400, 400, 403, 400, 403, 403, 403, 200, 403], JSON.stringify(r, null, 1));
  assert.match(String(r[0]!['text']), /logout without authentication is refused/);
  assert.match(String(r[7]!['text']), /not the next one/);
  assert.match(String(r[11]!['text']), /older than 60 s/);
  assert.equal(existsSync(join(project.dir, 'escape.txt')), false);
  const dave = python('dave', [{ op: 'login' }]);
  assert.equal(dave[0]!['status'], 403, 'an expired key');
  assert.match(String(dave[0]!['text']), /expired/);
  // carol came from the SQLite import: she logs in and may get, not run greet.
  const carol = python('carol', [{ op: 'login' }, { op: 'exec', cmd: 'status' }, { op: 'exec', cmd: 'greet x' }]);
  assert.deepEqual(carol.map((x) => x['status']), [200, 200, 403]);
  // Rate limit per user (burst 10): bob's eleventh bad login in a row is 429.
  const bob = python('bob', [{ op: 'login_many', tamper: 'bad_signature', n: 11 }, { op: 'login' }]);
  assert.deepEqual(bob[0]!['statuses'], [...Array(10).fill(403), 429]);
  assert.equal(bob[1]!['status'], 429, 'the right key waits too');
});

test('the Node client; secrets in no log, no audit line, no action environment', skip, async () => {
  const userKey = createPrivateKey({ key: readFileSync(join(clientDir, 'alice_key.pem')), passphrase: PW });
  const serverPub = createPublicKey(readFileSync(join(project.dir, 'admin/server.pem')));
  const c = await AdminClient.login({ url: adminUrl }, 'alice', userKey, serverPub);
  const env = await c.request('cmd', 'env');
  assert.equal(env.status, 200);
  assert.equal(env.data.toString(), 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nLANG=C.UTF-8\n', 'an action gets a fixed environment, nothing of keygate');
  assert.equal((await c.request('cmd', 'restart-backend')).status, 403, 'no backend here');
  assert.equal((await c.request('cmd', 'reload-crl')).status, 403, 'no client-certificate auth here');
  assert.equal((await c.request('cmd', 'reload-tls')).status, 200);
  await waitFor(() => /reloaded TLS context \(admin reload-tls\)/.test(served!.stderr()), 30_000, 'the TLS reload');
  // A forged server: a reply signed by another key is refused by the client that pins admin/server.pem.
  const otherKey = createPublicKey(createPrivateKey({ key: readFileSync(join(clientDir, 'bob_key.pem')), passphrase: PW }));
  await assert.rejects(AdminClient.login({ url: adminUrl }, 'alice', userKey, otherKey), /does not verify/);

  const audit = readFileSync(join(project.dir, 'log/admin-audit.jsonl'), 'utf8');
  assert.equal(statSync(join(project.dir, 'log/admin-audit.jsonl')).mode & 0o777, 0o600);
  const lines = audit.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.length > 40);
  for (const l of lines) assert.deepEqual(Object.keys(l).filter((k) => !['time', 'user', 'key', 'source', 'action', 'argSha256', 'status', 'result', 'req'].includes(k)), []);
  assert.ok(lines.some((l) => l['action'] === 'cmd:env' && l['user'] === 'alice' && typeof l['req'] === 'number' && /^[0-9a-f]{64}$/.test(String(l['argSha256']))));
  const k = c.revealSessionKey();
  const logs = audit + served!.stderr() + served!.stdout();
  for (const form of [k.toString('hex'), b64uEncode(k), k.toString('base64')]) assert.equal(logs.includes(form), false, 'the session key in a log');
  assert.equal(logs.includes(SENTINEL), false, 'the keystore password in a log');
  assert.equal(logs.includes('line1'), false, 'a payload in a log');
  assert.equal(/gAAAAA[A-Za-z0-9_-]{20}/.test(logs), false, 'a Fernet token in a log');
});

test('refused before the vault: a server key others can read; the admin commands\' usage errors', skip, async () => {
  chmodSync(join(project.dir, 'admin/server_key.pem'), 0o644);
  try {
    const calls = vaultCalls(project).length;
    const r = await serveRefused(project.dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /refused the admin server key .*mode 644 lets others read it \[ADMIN_INVALID\]/);
    assert.equal(vaultCalls(project).length, calls, 'the vault was not asked');
  } finally {
    chmodSync(join(project.dir, 'admin/server_key.pem'), 0o600);
  }
  // The CLI: usage errors and the import's own code.
  const d = tempDir('kg-admin-cli-');
  const cli = (args: string[]) => keygate(d, args, { entry: join(project.dir, 'dist/main.js') });
  writeFileSync(join(d, 'not.db'), 'not a database'.padEnd(1000));
  const imp = cli(['admin', 'import-sqlite', 'not.db']);
  assert.equal(imp.code, 7, imp.stderr);
  assert.match(imp.stderr, /not an SQLite 3 database .*\[ADMIN_IMPORT_FAILED\]/);
  const bad = cli(['admin', 'add-user', 'eve', join(clientDir, 'alice.pem'), '--actions', 'shell']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /shell is no action of this project/);
  const priv = cli(['admin', 'add-user', 'eve', join(project.dir, 'admin/server_key.pem')]);
  assert.equal(priv.code, 2);
  assert.match(priv.stderr, /not the private one/);
  const again = keygate(project.dir, ['admin', 'keygen', '--server']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /exists/);
});

test('backend mode: restart-backend restarts it through its supervisor, is no crash (no backoff, not counted), and is taken once per 5 s (the second serve of this file)', { skip: missingPeer() ?? missingBackendPeer('python') }, async () => {
  // maxRestarts 1: were a requested restart counted as a crash, the second request would stop keygate (BACKEND_GAVE_UP).
  const p = backendProject('plain', { restart: { initialDelayMs: 1500, maxDelayMs: 4000, maxRestarts: 1, resetAfterMs: 60_000 } });
  const privateKey = addAdminChannel(p, 'ops', 'status,restart-backend');
  const s = await serve(p.dir);
  try {
    const url = await waitFor(() => /admin channel listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(s.stderr())?.[1], 20_000, 'the admin channel');
    const c = await AdminClient.login({ url }, 'ops', privateKey, createPublicKey(readFileSync(join(p.dir, 'admin/server.pem'))));
    const first = backendPid(s)!;
    assert.equal(JSON.parse((await c.request('cmd', 'status')).data.toString()).backendPid, first);
    const r = await c.request('cmd', 'restart-backend');
    const asked = Date.now();
    assert.equal(r.status, 200, r.data.toString());
    // A second request at once is ignored: restarts cannot be asked for in a storm.
    assert.equal((await c.request('cmd', 'restart-backend')).status, 200);
    const second = await waitFor(() => backendPid(s, 2), 30_000, 'the backend started again');
    assert.notEqual(second, first);
    assert.equal(JSON.parse((await c.request('cmd', 'status')).data.toString()).backendPid, second);
    assert.match(s.stderr(), /verified \d+ files again before restarting the backend/);
    assert.match(s.stderr(), /a restart request was ignored/);
    assert.doesNotMatch(s.stderr(), /restarting in \d+ ms \(restart 1 of 1\)/, 'a requested restart is not a crash');
    // Past the gap, a second restart: with maxRestarts 1 it would have given up, were requests counted.
    await new Promise((done) => setTimeout(done, Math.max(0, 5_200 - (Date.now() - asked))));
    assert.equal((await c.request('cmd', 'restart-backend')).status, 200);
    const third = await waitFor(() => backendPid(s, 3), 30_000, 'the backend started a third time');
    assert.notEqual(third, second);
    assert.doesNotMatch(s.stderr(), /BACKEND_GAVE_UP/);
    assert.equal(JSON.parse((await c.request('cmd', 'status')).data.toString()).backendPid, third);
  } finally {
    await s.stop();
  }
});

test('keygen prompts on a terminal without echo (util-linux script gives it one)', { skip: missingPeer() ?? (existsSync('/usr/bin/script') ? undefined : '/usr/bin/script is missing: apt-get install bsdutils') }, async () => {
  const d = tempDir('kg-admin-tty-');
  const secret = 'Typed-Pw-9f2';
  const child = spawn('/usr/bin/script', ['-qec', `${process.execPath} ${join(project?.dir ?? ROOT, 'dist/main.js')} admin keygen tty --dir ${d}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let answered = 0;
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    // Answer each prompt once it is shown: the terminal is in raw mode by then, so nothing is echoed.
    const prompts = (out.match(/password for the new key: |again: /g) ?? []).length;
    while (answered < prompts) {
      answered++;
      child.stdin.write(`${secret}\r`);
    }
  });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 0, out);
  assert.equal(out.includes(secret), false, 'the password is not echoed');
  const key = createPrivateKey({ key: readFileSync(join(d, 'tty_key.pem')), passphrase: secret });
  assert.equal(key.asymmetricKeyType, 'ed448');
  assert.equal(statSync(join(d, 'tty_key.pem')).mode & 0o777, 0o600);
});
