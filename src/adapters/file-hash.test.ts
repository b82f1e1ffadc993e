// The hashing engine gives the same answers whatever strategy and thread does the work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashFiles, hashFileSync } from './file-hash.js';
import { tempDir } from '../../test/helpers/project.js';

test('sync, auto (two threads) and parallel (async reads) agree with crypto on 2,500 files, errors included', async () => {
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
  const paths = [...expected.keys(), 'missing/file', 'd1', join(dir, 'd2/f2')];
  for (const strategy of ['sync', 'auto', 'parallel'] as const) {
    const r = await hashFiles(paths, { base: dir, strategy });
    for (const [p, h] of expected) assert.deepEqual(r.get(p), { ok: true, sha256: h }, `${strategy} ${p}`);
    assert.deepEqual(r.get('missing/file'), { ok: false, missing: true, reason: 'no such file' });
    assert.deepEqual(r.get('d1'), { ok: false, missing: false, reason: 'is a folder, not a file' });
    assert.deepEqual(r.get(join(dir, 'd2/f2')), { ok: true, sha256: expected.get('d2/f2') });
  }
  assert.deepEqual(hashFileSync(join(dir, 'big.bin')), { ok: true, sha256: expected.get('big.bin') });
});
