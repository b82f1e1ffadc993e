// writeAtomic against a planted symlink (review M1): an attacker who can write the output folder links the old
// predictable temp name (<file>.tmp-<pid>) and the final name to files they own; the secret must land in neither.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from '../src/adapters/files.js';
import { writeDrop } from '../src/admin/file-jail.js';
import { tempDir } from './helpers/project.js';

const SECRET = '-----BEGIN PRIVATE KEY-----\nSECRET-M1-3b7d\n-----END PRIVATE KEY-----\n';

test('writeAtomic: a symlink at the old temp name or at the final name does not receive the secret', () => {
  const dir = tempDir('kg-atomic-');
  const attacker = tempDir('kg-attacker-');
  const viaTemp = join(attacker, 'via-temp');
  const viaFinal = join(attacker, 'via-final');
  writeFileSync(viaTemp, '');
  writeFileSync(viaFinal, '');
  const file = join(dir, 'ca.key');
  symlinkSync(viaTemp, `${file}.tmp-${process.pid}`);
  symlinkSync(viaFinal, file);
  writeAtomic(file, SECRET, 0o600);
  assert.equal(readFileSync(viaTemp, 'utf8'), '', 'the secret landed in the file behind the old temp name');
  assert.equal(readFileSync(viaFinal, 'utf8'), '', 'the secret landed in the file behind the final name');
  assert.equal(lstatSync(file).isSymbolicLink(), false, 'the final name is left a symlink');
  assert.equal(readFileSync(file, 'utf8'), SECRET);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir).sort(), ['ca.key', `ca.key.tmp-${process.pid}`], 'no temp file of ours left');
});

test('writeAtomic: the mode is exact whatever the umask, and the default mode follows the umask', () => {
  const dir = tempDir('kg-atomic-');
  const old = process.umask(0o077);
  try {
    writeAtomic(join(dir, 'open.txt'), 'x', 0o644);
    writeAtomic(join(dir, 'plain.txt'), 'y');
  } finally {
    process.umask(old);
  }
  assert.equal(statSync(join(dir, 'open.txt')).mode & 0o777, 0o644);
  assert.equal(statSync(join(dir, 'plain.txt')).mode & 0o777, 0o600);
  writeAtomic(join(dir, 'open.txt'), 'z', 0o600);
  assert.equal(statSync(join(dir, 'open.txt')).mode & 0o777, 0o600, 'an existing file gets the new mode');
  assert.equal(readFileSync(join(dir, 'open.txt'), 'utf8'), 'z');
});

test('writeDrop (admin /put) uses the same writer: a symlink at the final name is replaced, not followed', () => {
  const base = tempDir('kg-drop-');
  const attacker = join(tempDir('kg-attacker-'), 'owned');
  writeFileSync(attacker, '');
  mkdirSync(join(base, 'drop'));
  symlinkSync(attacker, join(base, 'drop/up.txt'));
  writeDrop(base, 'drop', 'up.txt', Buffer.from(SECRET));
  assert.equal(readFileSync(attacker, 'utf8'), '');
  assert.equal(lstatSync(join(base, 'drop/up.txt')).isSymbolicLink(), false);
  assert.equal(statSync(join(base, 'drop/up.txt')).mode & 0o777, 0o600);
});
