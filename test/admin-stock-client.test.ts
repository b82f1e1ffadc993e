// The admin listener driven by remo_serv's own client, unchanged (../shared/peers/remo_serv-src.tar.gz, MIT,
// extracted at test time): clientlib through every command form, then its command-line client as a user types.
// The only addition is an import stub: client/smartcard.py names pkcs11.Token at import time (no Debian package).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startAdminServer, type AdminServer } from '../src/admin/server.js';
import { validateAdminConfig, type AdminConfig } from '../src/admin/config.js';
import { keyFingerprint } from '../src/admin/crypto.js';
import type { AdminHost } from '../src/admin/actions.js';
import { ROOT, tempDir } from './helpers/project.js';

const PYTHON = '/usr/bin/python3';
const PEERS = join(ROOT, '../shared/peers/remo_serv-src.tar.gz');
/** The remo_serv commit the tests were written against (the 0.6.0 numbered-token protocol). */
const REMO_SERV_COMMIT = '66accbd77183db0628a9618cf258656ec2d81316';
const DRIVER = join(ROOT, 'test/fixtures/admin/stock_driver.py');
function missingPeer(): string | undefined {
  // A checkout of keygate alone has no peers folder: say what the file is and how to make it, not only its path.
  if (!existsSync(PEERS)) return `remo_serv's stock client is not in this checkout (keygate's CI provides it); to run these: git clone https://github.com/s-ball/remo_serv /tmp/remo_serv && mkdir -p ${dirname(PEERS)} && git -C /tmp/remo_serv archive -o ${PEERS} ${REMO_SERV_COMMIT}`;
  if (!existsSync(PYTHON)) return `${PYTHON} is missing: apt-get install python3 python3-cryptography`;
  const r = spawnSync(PYTHON, ['-c', 'import cryptography.hazmat.primitives.asymmetric.x448'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'python3-cryptography is missing: apt-get install python3-cryptography';
}
const skip = { skip: missingPeer() };

const SENTINEL = 'STOCK-PAYLOAD-91be';
const serverKey = generateKeyPairSync('ed448').privateKey;
const alice = generateKeyPairSync('ed448');
const host: AdminHost = {
  status: () => ({ pid: process.pid, manifest: 'abc' }),
  verify: async () => ({ ok: true, lines: ['verified 3 files'] }),
  reloadTls: () => undefined,
  reloadCrl: async () => undefined,
};

let peer = '';
let work = '';
let base = '';
let server: AdminServer;
const logs: string[] = [];
const big = Buffer.alloc(40_960);
for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;

before(async () => {
  if (missingPeer()) return;
  peer = tempDir('kg-remo-peer-');
  const x = spawnSync('tar', ['-xzf', PEERS, '-C', peer], { encoding: 'utf8' });
  assert.equal(x.status, 0, x.stderr);
  // The one stub: `class Signer: def __init__(self, token: pkcs11.Token …)` needs the name; pkcs_ok stays False.
  mkdirSync(join(peer, '.stubs'));
  writeFileSync(join(peer, '.stubs/pkcs11.py'), 'class Token:\n    pass\n');
  work = tempDir('kg-remo-work-');
  // The CLI loads the user key with its hard-coded password "foo".
  writeFileSync(join(work, 'alice_key.pem'), alice.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'foo' }));
  writeFileSync(join(work, 'remo_serv.pem'), createPublicKey(serverKey).export({ type: 'spki', format: 'pem' }));
  base = tempDir('kg-admin-stock-');
  mkdirSync(join(base, 'drop'));
  mkdirSync(join(base, 'log'));
  writeFileSync(join(base, 'log/big.bin'), big);
  const errors: string[] = [];
  const config = validateAdminConfig(
    {
      port: 0,
      dropFolder: 'drop',
      authRate: { perAddressBurst: 100, perUserBurst: 100 },
      actions: { greet: { argv: ['/bin/echo', 'hello from'], args: ['[a-z]{1,16}'] }, upper: { argv: ['/usr/bin/tr', 'a-z', 'A-Z'], stdin: true } },
      interactive: { cat: { argv: ['/bin/cat'], replyWaitMs: 500 } },
    },
    errors,
    [],
  ) as AdminConfig;
  assert.deepEqual(errors, []);
  const user = { name: 'alice', key: alice.publicKey, fingerprint: keyFingerprint(alice.publicKey), actions: ['*'] };
  const log = { info: (m: string, f?: object) => logs.push(`${m} ${JSON.stringify(f ?? {})}`), warn: (m: string, f?: object) => logs.push(`${m} ${JSON.stringify(f ?? {})}`) };
  server = await startAdminServer({ config, base, serverKey, users: new Map([['alice', user]]), host, log, version: 'test' });
});

after(async () => {
  await server?.close();
});

/** Runs python with the stock client on its path, asynchronously (the server runs in this process). */
function python(args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(PYTHON, args, { cwd: work, env: { PATH: '/usr/bin:/bin', PYTHONPATH: `${join(peer, '.stubs')}:${peer}`, PYTHONDONTWRITEBYTECODE: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

interface Step {
  op: string;
  ok: boolean;
  status?: number;
  text?: string;
  b64?: string;
}

async function drive(steps: object[]): Promise<Step[]> {
  const spec = join(work, `steps-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(spec, JSON.stringify({ user: 'alice', key: join(work, 'alice_key.pem'), password: 'foo', server_pub: join(work, 'remo_serv.pem'), workdir: work, steps }));
  const r = await python([DRIVER, new URL(server.url).origin, spec]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Step[];
}

test('clientlib (stock, unchanged): every command form decrypts, get saves the file\'s bytes, uploads land', skip, async () => {
  const r = await drive([
    { op: 'login' },
    { op: 'exec', cmd: 'status' },
    { op: 'exec', cmd: 'greet operator' },
    { op: 'info' },
    { op: 'get', remote: 'log/big.bin', local: 'big.copy' },
    { op: 'put', remote: 'up.txt', local: 'up.src', b64: Buffer.from(`${SENTINEL}\n`).toString('base64') },
    { op: 'put', remote: 'big.bin', local: 'big.src', b64: big.toString('base64') },
    { op: 'iexec', cmd: 'cat' },
    { op: 'idata', data: 'hello cat' },
    { op: 'iend' },
    { op: 'exec', cmd: 'sh -c id' },
    { op: 'exec', cmd: 'status' },
  ]);
  const by = (i: number): Step => r[i]!;
  assert.equal(by(0).ok, true);
  assert.deepEqual(JSON.parse(by(1).text!), { pid: process.pid, manifest: 'abc' }, 'exec status: decrypted JSON');
  assert.equal(by(2).text, 'hello from operator\n');
  assert.equal(by(3).text, 'keygate test admin channel (remo_serv 0.6.0 protocol) here', 'authenticated /info');
  assert.deepEqual(Buffer.from(by(4).b64!, 'base64'), big, 'get: the file, whole, not its ciphertext (3 tokens)');
  assert.equal(readFileSync(join(base, 'drop/up.txt'), 'utf8'), `${SENTINEL}\n`);
  assert.deepEqual(readFileSync(join(base, 'drop/big.bin')), big);
  assert.deepEqual(readdirSync(join(base, 'drop')).sort(), ['big.bin', 'up.txt'], 'no temp file left');
  assert.equal(by(7).status, 200);
  assert.equal(by(7).text! + by(8).text!, 'hello cat\n', 'iexec + idata: the program\'s output');
  assert.match(by(9).text!, /\[keygate: cat exit status 0\]\n$/, 'iend');
  assert.deepEqual([by(10).ok, by(10).status], [false, 403]);
  assert.match(by(10).text!, /sh is not an action this channel offers/);
  assert.equal(JSON.parse(by(11).text!).manifest, 'abc', 'the session goes on after a refusal');
  for (const s of r) assert.doesNotMatch(s.text ?? '', /gAAAA/, `${s.op}: ciphertext shown to the user`);
  const everything = logs.join('\n') + readFileSync(join(base, 'log/admin-audit.jsonl'), 'utf8');
  assert.equal(everything.includes(SENTINEL), false, 'a payload in a log');
  assert.equal(everything.includes('gAAAA'), false, 'a token in a log');
});

test('the stock command-line client (python -m client.client), as an operator types it', skip, async () => {
  const port = String(new URL(server.url).port);
  writeFileSync(join(work, 'note.txt'), 'line1\nline2\n');
  const typed = ['exec status', 'exec upper', 'get log/big.bin fetched.bin', 'put note.txt', 'iexec cat', 'idata typed line', 'iend', 'exec nope', 'quit', ''].join('\n');
  const r = await python(['-m', 'client.client', '127.0.0.1', port, '-s', 'remo_serv.pem', '-u', 'alice', '-k', 'alice_key.pem'], typed);
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /"manifest": "abc"/, 'exec status: the decrypted JSON');
  assert.doesNotMatch(out, /gAAAA/, 'raw ciphertext printed');
  assert.deepEqual(readFileSync(join(work, 'fetched.bin')), big, 'get saved the plaintext');
  assert.equal(readFileSync(join(base, 'drop/note.txt'), 'utf8'), 'line1\nline2\n', 'put');
  assert.match(out, /typed line\n/, 'idata');
  assert.match(out, /\[keygate: cat exit status 0\]/, 'iend');
  assert.match(out, /HTTP Error 403: Forbidden/, 'a refused action is shown as the refusal');
});
