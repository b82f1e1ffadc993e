import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { directStream } from './direct-stream.js';

const WRITER = new URL('../../test/fixtures/direct-stream/writer.ts', import.meta.url).pathname;
const expected = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}\n`).join('');

test('direct stream: writes land at once and in order, strings and bytes, without building Node\'s stream', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kg-direct-'));
  const fd = openSync(join(dir, 'out'), 'w');
  let built = 0;
  const out = directStream(fd as 1, () => {
    built++;
    return process.stdout;
  });
  out.write('a\n');
  out.write('ünïcode\n');
  assert.equal(readFileSync(join(dir, 'out'), 'utf8'), 'a\nünïcode\n');
  closeSync(fd);
  assert.equal(built, 0);
});

test('direct stream: a non-blocking pipe that fills up (EAGAIN) hands the rest to Node\'s stream, nothing lost or reordered', () => {
  // python3 makes the pipe's write end non-blocking (as a parent sharing it may), starts the writer on it and
  // reads only after a pause, so the writer meets a full pipe: 2 MB of lines must arrive whole and in order.
  const n = 150_000;
  const py = `
import os, subprocess, sys, time
r, w = os.pipe()
os.set_blocking(w, False)
p = subprocess.Popen([sys.argv[1], '--import', 'tsx', sys.argv[2], sys.argv[3]], stdout=w)
os.close(w)
time.sleep(1.0)
data = b''
while True:
    chunk = os.read(r, 1 << 16)
    if not chunk: break
    data += chunk
p.wait()
sys.stdout.buffer.write(data)
sys.exit(p.returncode)
`;
  const r = spawnSync('python3', ['-c', py, process.execPath, WRITER, String(n)], { encoding: 'utf8', maxBuffer: 1 << 26, cwd: new URL('../..', import.meta.url).pathname });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.length, expected(n).length);
  assert.ok(r.stdout === expected(n), 'lines lost or out of order');
});
