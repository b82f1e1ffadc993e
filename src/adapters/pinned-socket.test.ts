// pinSocket: a unix socket reached as the inode that was checked, whatever its path names afterwards.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pinSocket } from './pinned-socket.js';

const skip = process.platform !== 'linux' ? 'O_PATH and /proc/self/fd are Linux' : undefined;
const uid = process.getuid?.() ?? 0;

function server(path: string, answer: string): Promise<net.Server> {
  return new Promise((ok) => {
    const s = net.createServer((c) => c.end(answer)).listen(path, () => ok(s));
  });
}

function ask(path: string): Promise<string> {
  return new Promise((ok, fail) => {
    let got = '';
    net.connect(path).on('data', (d) => (got += d)).on('end', () => ok(got)).on('error', fail);
  });
}

test('only a socket of the given uid is pinned: a symlink, a file, another uid and a missing path are refused', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kg-pin-'));
  const sock = join(dir, 'backend.sock');
  const s = await server(sock, 'backend');
  try {
    const pinned = pinSocket(sock, uid);
    assert.equal(await ask(pinned.path), 'backend');
    pinned.close();
    assert.throws(() => pinSocket(sock, uid + 1), { code: 'ESOCKETOWNER', message: new RegExp(`is a socket of uid ${uid}, not a socket of uid ${uid + 1}`) });
    symlinkSync(sock, join(dir, 'link.sock'));
    assert.throws(() => pinSocket(join(dir, 'link.sock'), uid), { code: 'ESOCKETOWNER', message: /is a symlink/ });
    writeFileSync(join(dir, 'file'), '');
    assert.throws(() => pinSocket(join(dir, 'file'), uid), { code: 'ESOCKETOWNER', message: /is not a socket/ });
    assert.throws(() => pinSocket(join(dir, 'none'), uid), { code: 'ENOENT' });
  } finally {
    s.close();
  }
});

test('once pinned, the path may name something else: the connection still reaches the inode that was checked', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kg-pin-'));
  const sock = join(dir, 'backend.sock');
  const first = await server(sock, 'checked');
  const other = await server(join(dir, 'other.sock'), 'other');
  try {
    const pinned = pinSocket(sock, uid);
    renameSync(sock, join(dir, 'moved.sock'));
    symlinkSync(join(dir, 'other.sock'), sock);
    assert.equal(await ask(sock), 'other', 'the path now leads elsewhere');
    assert.equal(await ask(pinned.path), 'checked');
    pinned.close();
  } finally {
    first.close();
    other.close();
  }
});
