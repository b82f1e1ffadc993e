// The start's own gates (issue 9: "every claim holds"): flags and ports checked before the vault is asked,
// stop signals honoured between gates, the tree anchored to the running entry, and the runtime allow-list.
// Each test was seen failing on the tree before its fix (noted per test).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { copyFileSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, curl, demoProject, keygate, serve, serveRefused, tempDir as tempDirFor, vaultCalls, writeTree } from './helpers/project.js';
import { waitFor } from './helpers/backend.js';

test('bad serve flags are refused before the vault is asked (was: vault asked, then "unexpected error")', () => {
  const p = demoProject();
  for (const args of [['--port', 'abc'], ['--port', '70000'], ['--port', '-5'], ['--allow-expired']]) {
    const r = keygate(p.dir, ['serve', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /failed to read the serve flags: .*\[USAGE\]/);
    assert.doesNotMatch(r.stderr, /unexpected error/);
  }
  assert.equal(vaultCalls(p).length, 0);
});

test('a taken port is found before the vault is asked (was: vault asked and keystore unlocked first)', async () => {
  const p = demoProject();
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = keygate(p.dir, ['serve', '--port', String(port)]);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /checked before asking the vault\) \[SERVER_LISTEN_FAILED\]/);
    assert.equal(vaultCalls(p).length, 0);
  } finally {
    blocker.close();
  }
});

test('SIGTERM during the start stops it before the vault is asked, exit 0 (was: vault, unlock, listen, then stop)', async () => {
  const p = demoProject();
  const child = spawn(process.execPath, ['dist/main.js', 'serve'], { cwd: p.dir, env: { PATH: process.env['PATH']!, KG_TEST_PAUSE_AFTER_VERIFY_MS: '3000' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  await waitFor(() => err.includes('test pause'), 20_000, 'the pause');
  child.kill('SIGTERM');
  assert.equal(await exited, 0, err);
  assert.match(err, /stopped by SIGTERM before the vault was asked/);
  assert.equal(vaultCalls(p).length, 0);
});

test('Ctrl-C stops a long verify at once (was: ignored until the end)', async () => {
  const p = demoProject({ templateExtra: 'big\n', files: Object.fromEntries(Array.from({ length: 48 }, (_, i) => [`big/f${i}.bin`, Buffer.alloc(8 << 20, i)])) });
  assert.equal(keygate(p.dir, ['generate-filelist']).code, 0);
  assert.equal(keygate(p.dir, ['pin']).code, 0);
  for (const strategy of ['sync', 'parallel']) {
    const child = spawn(process.execPath, ['dist/main.js', 'verify', '--strategy', strategy], { cwd: p.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<NodeJS.Signals | number | null>((r) => child.on('exit', (c, sig) => r(sig ?? c)));
    // Interrupt once it is hashing the big files.
    await waitFor(() => readdirSafe(`/proc/${child.pid}/fd`).some((fd) => linkSafe(`/proc/${child.pid}/fd/${fd}`).includes('/big/')), 20_000, 'hashing to start');
    const t0 = Date.now();
    child.kill('SIGINT');
    assert.equal(await exited, 'SIGINT', strategy);
    assert.ok(Date.now() - t0 < 1000, `${strategy}: ended ${Date.now() - t0} ms after Ctrl-C`);
  }
});

function readdirSafe(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}
function linkSafe(f: string): string {
  try {
    return readlinkSync(f);
  } catch {
    return '';
  }
}

test('serve started from / verifies the entry\'s own project (was: /filelist.sha256)', async () => {
  const p = demoProject();
  const s = await serve('/', [], {}, join(p.dir, 'dist/main.js'));
  try {
    assert.match(curl(`https://localhost:${s.port}/hello`, p.crt).stdout, /Hello/);
  } finally {
    assert.equal(await s.stop(), 0);
  }
});

test('NODE_OPTIONS in Node\'s own quoting, OPENSSL_CONF and NODE_PATH are refused before the vault (was: "--require" passed)', async () => {
  const p = demoProject();
  writeTree(p.dir, { 'preload.cjs': '' });
  for (const env of <Record<string, string>[]>[{ NODE_OPTIONS: `"--require" ${join(p.dir, 'preload.cjs')}` }, { OPENSSL_CONF: '/dev/null' }, { NODE_PATH: '/tmp' }]) {
    const r = await serveRefused(p.dir, env);
    assert.equal(r.code, 3, JSON.stringify(env));
    assert.match(r.stderr, /could load code or settings that keygate cannot verify \[UNSAFE_RUNTIME\]/);
  }
  assert.equal(vaultCalls(p).length, 0);
});

test('SIGTERM while the vault client runs kills the client and stops with 0 (was: waited for the client)', async () => {
  const client = join(tempDirFor(), 'slow-vault.mjs');
  copyFileSync(join(ROOT, 'test/fixtures/fake-vault.mjs'), client);
  const p = demoProject({ config: { vault: { provider: 'command', command: [process.execPath, client, 'slow'], clientPath: undefined } } });
  const child = spawn(process.execPath, ['dist/main.js', 'serve'], { cwd: p.dir, env: { PATH: process.env['PATH']! }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  await waitFor(() => readdirSafe('/proc').some((pid) => /slow-vault\.mjs/.test(cmdline(pid))), 20_000, 'the vault client to run');
  const t0 = Date.now();
  child.kill('SIGTERM');
  assert.equal(await exited, 0, err);
  assert.ok(Date.now() - t0 < 5000, `stopped ${Date.now() - t0} ms after SIGTERM (the client sleeps 60 s)`);
  assert.match(err, /stopped by SIGTERM before the vault answered/);
  await waitFor(() => !readdirSafe('/proc').some((pid) => /slow-vault\.mjs/.test(cmdline(pid))), 5_000, 'the client to be gone');
});

function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}
