// The hashing engine gives the same answers whatever strategy and thread does the work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { hashFiles, hashFileSync } from './file-hash.js';
import { tempDir } from '../../test/helpers/project.js';

test('sync, auto (two threads) and parallel (async reads) agree with crypto on 2,500 files, errors and special files included', async () => {
  const dir = tempDir('kg-hash-');
  const expected = new Map<string, string>();
  for (let i = 0; i < 2500; i++) {
    const sub = `d${i % 10}`;
    mkdirSync(join(dir, sub), { recursive: true });
    const body = `file ${i}\n`.repeat(i % 40);
    writeFileSync(join(dir, sub, `f${i}`), body);
    expected.set(`${sub}/f${i}`, createHash('sha256').update(body).digest('hex'));
  }
  const big = Buffer.alloc(9 << 20, 7); // larger than one read buffer and than the async size limit
  writeFileSync(join(dir, 'big.bin'), big);
  expected.set('big.bin', createHash('sha256').update(big).digest('hex'));
  // Sizes around the read buffers' edges (128 KiB async slot, 1 MiB sync buffer), and an empty file.
  for (const size of [0, 1, (128 << 10) - 1, 128 << 10, (128 << 10) + 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20]) {
    const body = Buffer.alloc(size, size % 251);
    writeFileSync(join(dir, `size-${size}`), body);
    expected.set(`size-${size}`, createHash('sha256').update(body).digest('hex'));
  }
  // A FIFO with no writer must not hang the hash (it is opened non-blocking) and is not a regular file.
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  const paths = [...expected.keys(), 'missing/file', 'd1', join(dir, 'd2/f2'), 'fifo', '/dev/null', '/dev/zero'];
  for (const strategy of ['sync', 'auto', 'parallel'] as const) {
    const r = await hashFiles(paths, { base: dir, strategy });
    for (const [p, h] of expected) assert.deepEqual(r.get(p), { ok: true, sha256: h }, `${strategy} ${p}`);
    assert.deepEqual(r.get('missing/file'), { ok: false, missing: true, reason: 'no such file' });
    assert.deepEqual(r.get('d1'), { ok: false, missing: false, reason: 'is a folder, not a file' });
    assert.deepEqual(r.get(join(dir, 'd2/f2')), { ok: true, sha256: expected.get('d2/f2') });
    for (const special of ['fifo', '/dev/null', '/dev/zero']) {
      assert.deepEqual(r.get(special), { ok: false, missing: false, reason: 'is not a regular file' }, `${strategy} ${special}`);
    }
  }
  assert.deepEqual(hashFileSync(join(dir, 'big.bin')), { ok: true, sha256: expected.get('big.bin') });
});
