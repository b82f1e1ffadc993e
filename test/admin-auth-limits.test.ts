// /auth against local users (review L4): the rate limit keyed by the loopback peer's uid (read from /proc/net/tcp),
// so another local user cannot lock the operators out, and an unknown name checked like a known one (a decoy
// Ed448 key), so neither status nor time tells which names exist.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { startAdminServer, type AdminServer } from '../src/admin/server.js';
import { validateAdminConfig, type AdminConfig } from '../src/admin/config.js';
import { AdminClient, exchange } from '../src/admin/client.js';
import { b64uEncode, keyFingerprint, signLogin, x448Ephemeral } from '../src/admin/crypto.js';
import { checkLogin, decoyKey } from '../src/admin/login-check.js';
import { loopbackPeerUid, procHex, uidFromProcNet } from '../src/admin/peer-uid.js';
import type { AdminUser } from '../src/admin/users.js';
import { IS_ROOT, tempDir } from './helpers/project.js';

const serverKey = generateKeyPairSync('ed448').privateKey;
const serverPub = createPublicKey(serverKey);
const aliceKeys = generateKeyPairSync('ed448');
const alice: AdminUser = { name: 'alice', key: aliceKeys.publicKey, fingerprint: keyFingerprint(aliceKeys.publicKey), actions: ['*'] };
const users = new Map([['alice', alice]]);
const servers: AdminServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function start(authRate: object): Promise<AdminServer> {
  const errors: string[] = [];
  const config = validateAdminConfig({ port: 0, authRate }, errors, []) as AdminConfig;
  assert.deepEqual(errors, []);
  const host = { status: () => ({}), verify: async () => ({ ok: true, lines: [] }), reloadTls: () => undefined, reloadCrl: async () => undefined };
  const server = await startAdminServer({ config, base: tempDir('kg-admin-auth-'), serverKey, users, host, log: { info() {}, warn() {} }, version: 't' });
  servers.push(server);
  return server;
}

function authBody(user: string, key: KeyObject, over: Partial<{ key: string; sign: string }> = {}): string {
  const eph = x448Ephemeral();
  return JSON.stringify({ user, key: b64uEncode(eph.publicRaw), sign: b64uEncode(signLogin(key, user, eph.publicRaw)), ...over });
}

test('/proc/net/tcp: addresses as the kernel prints them, the client socket\'s uid, and this process found live', async () => {
  assert.equal(procHex('127.0.0.1', true), '0100007F');
  assert.equal(procHex('127.0.0.1', false), '7F000001');
  assert.equal(procHex('::1', true), '00000000000000000000000001000000');
  assert.equal(procHex('::ffff:127.0.0.1', true), '0000000000000000FFFF00000100007F');
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11 1',
    '   1: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 12 1',
    '   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 13 1',
    '   3: 0100007F:D432 0100007F:1F90 06 00000000:00000000 03:00000000 00000000     0        0 0 1',
  ].join('\n');
  const e = { peerAddress: '127.0.0.1', peerPort: 0xd431, localAddress: '127.0.0.1', localPort: 0x1f90 };
  assert.equal(uidFromProcNet(table, e, true), 1000, 'the client end, not keygate\'s');
  assert.equal(uidFromProcNet(table, { ...e, peerPort: 0xd432 }, true), undefined, 'TIME_WAIT keeps no uid');
  assert.equal(uidFromProcNet(table, { ...e, peerPort: 1 }, true), undefined);

  // Live: this process connects to itself; the kernel names this process's uid.
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const accepted = new Promise<Socket>((ok) => srv.once('connection', ok));
  const c = connect((srv.address() as AddressInfo).port, '127.0.0.1');
  const s = await accepted;
  assert.equal(loopbackPeerUid({ peerAddress: s.remoteAddress!, peerPort: s.remotePort!, localAddress: s.localAddress!, localPort: s.localPort! }), process.getuid!());
  c.destroy();
  srv.close();
});

/** curl as another uid (setpriv), asynchronously: the admin server answers from this process. */
function curlAs(uid: number, url: string, body: string): Promise<string> {
  return new Promise((done) => {
    const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--data-binary', body, url]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', () => done(out));
  });
}
const noOtherUid = !IS_ROOT ? 'needs root to run a client as another uid (setpriv)' : spawnSync('curl', ['--version']).status !== 0 ? 'curl is missing' : undefined;

test('another local user using up /auth (per address and for alice\'s name) does not lock the operator out', { skip: noOtherUid }, async () => {
  const server = await start({ perAddressBurst: 3, perUserBurst: 3, perMinute: 1 });
  const url = `${new URL(server.url).origin}/auth`;
  const codes: string[] = [];
  for (let i = 0; i < 5; i++) codes.push(await curlAs(65534, url, authBody('alice', generateKeyPairSync('ed448').privateKey)));
  assert.deepEqual(codes, ['403', '403', '403', '429', '429'], 'the other user is limited');
  const c = await AdminClient.login({ url: server.url }, 'alice', aliceKeys.privateKey, serverPub);
  assert.equal((await c.request('cmd', 'status')).status, 200, 'the operator (another uid) still logs in');
  assert.equal(await curlAs(65534, url, authBody('alice', aliceKeys.privateKey)), '429', 'the other user stays limited, even with the key');
});

test('an unknown name gets the same status as a known one for every malformed or wrong login', async () => {
  const server = await start({ perAddressBurst: 1000, perUserBurst: 1000 });
  const ep = { url: server.url };
  const other = generateKeyPairSync('ed448').privateKey;
  const variants: [string, (u: string) => string][] = [
    ['wrong key', (u) => authBody(u, other)],
    ['unpadded X448 key', (u) => authBody(u, other, { key: b64uEncode(x448Ephemeral().publicRaw).replace(/=+$/, '') })],
    ['X448 key of the wrong length', (u) => authBody(u, other, { key: b64uEncode(Buffer.alloc(32, 9)) })],
    ['signature not base64url', (u) => authBody(u, other, { sign: '!!!!' })],
    ['short signature', (u) => authBody(u, other, { sign: b64uEncode(Buffer.alloc(60, 1)) })],
  ];
  for (const [what, body] of variants) {
    const known = await exchange(ep, '/auth', Buffer.from(body('alice')));
    const unknown = await exchange(ep, '/auth', Buffer.from(body('mallory')));
    assert.equal(unknown.status, known.status, `${what}: ${known.status} for alice, ${unknown.status} for mallory`);
    assert.equal(unknown.body.toString(), known.body.toString(), `${what}: the same words`);
  }
});

test('checkLogin: an unknown name costs a signature verification like a known one (timing)', () => {
  const decoy = decoyKey();
  const other = generateKeyPairSync('ed448').privateKey;
  const eph = x448Ephemeral();
  const msg = (user: string) => ({ user, key: b64uEncode(eph.publicRaw), sign: b64uEncode(signLogin(other, user, eph.publicRaw)) });
  const time = (user: string): number => {
    const m = msg(user);
    const runs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = process.hrtime.bigint();
      assert.equal(checkLogin(users, decoy, m, 0).ok, false);
      runs.push(Number(process.hrtime.bigint() - t));
    }
    return runs.sort((a, b) => a - b)[100]!;
  };
  time('alice'); // warm up
  const known = time('alice');
  const unknown = time('mallory');
  // The verification dominates (about 0.3 ms against a few µs of decoding); an unknown name skipping it is ~50× faster.
  assert.ok(unknown > known * 0.5 && unknown < known * 2, `median ${unknown} ns for an unknown name, ${known} ns for a known one`);
});
