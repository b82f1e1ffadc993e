// readRegularFile: the cap holds for every kind of file, and what is not a regular file is named, not read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRegularFile } from './read-regular-file.js';
import { KeygateError } from '../errors.js';
import { tempDir } from '../../test/helpers/project.js';

const opts = { code: 'MANIFEST_UNREADABLE', tooBigCode: 'MANIFEST_MALFORMED', hint: 'restore it' } as const;

function refused(path: string, max: number): KeygateError {
  try {
    readRegularFile(path, max, 'manifest', opts);
  } catch (err) {
    assert.ok(err instanceof KeygateError, String(err));
    return err;
  }
  assert.fail(`${path} was read`);
}

test('reads a regular file whole, through a symlink too; an empty file is empty', () => {
  const d = tempDir();
  writeFileSync(join(d, 'm'), 'abc\n');
  symlinkSync(join(d, 'm'), join(d, 'link'));
  writeFileSync(join(d, 'empty'), '');
  assert.equal(readRegularFile(join(d, 'm'), 4, 'manifest', opts).toString(), 'abc\n');
  assert.equal(readRegularFile(join(d, 'link'), 4, 'manifest', opts).toString(), 'abc\n');
  assert.equal(readRegularFile(join(d, 'empty'), 4, 'manifest', opts).length, 0);
});

test('a file over the cap is refused by its size (tooBigCode), a sparse 1 GB file without reading it', () => {
  const d = tempDir();
  writeFileSync(join(d, 'm'), 'abcde');
  const e = refused(join(d, 'm'), 4);
  assert.equal(e.code, 'MANIFEST_MALFORMED');
  assert.match(e.message, /^failed to read manifest .*\/m: 5 bytes, more than the 4 allowed$/);
  truncateSync(join(d, 'm'), 1024 ** 3);
  assert.match(refused(join(d, 'm'), 1024).message, /1073741824 bytes/);
});

test('FIFO, /dev/zero, a directory and a missing file: each named, none read', () => {
  const d = tempDir();
  assert.equal(spawnSync('mkfifo', [join(d, 'fifo')]).status, 0);
  symlinkSync('/dev/zero', join(d, 'zero'));
  mkdirSync(join(d, 'dir'));
  const t = Date.now();
  const fifo = refused(join(d, 'fifo'), 1024);
  assert.equal(fifo.code, 'MANIFEST_UNREADABLE');
  assert.match(fifo.message, /: it is a FIFO \(named pipe\), not a regular file$/);
  assert.equal(fifo.hint, 'restore it');
  assert.match(refused(join(d, 'zero'), 1024).message, /: it is a character device, not a regular file$/);
  assert.match(refused('/dev/zero', 1024).message, /character device/);
  assert.match(refused(join(d, 'dir'), 1024).message, /: it is a directory, not a regular file$/);
  assert.match(refused(join(d, 'nothing'), 1024).message, /ENOENT/);
  assert.ok(Date.now() - t < 2000, 'no wait for a FIFO writer');
});
