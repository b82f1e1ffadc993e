// A FIFO or a link to /dev/zero in place of the manifest or the template (issue 9 point 11): stat().size is 0
// for both, so a size cap read from stat() lets a FIFO hang the start (open waits for a writer; SIGTERM is
// not even handled yet) and /dev/zero fill memory. keygate must refuse them at once, naming what it found.
// Each run has a 15 s SIGKILL timeout so a regression fails here instead of hanging the suite.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { copyEntry, keygate, run, tempDir, writeTree, type RunResult } from './helpers/project.js';

/**
 * `node dist/main.js <args>` killed with SIGKILL after 15 s: a keygate blocked in open() on a FIFO never runs
 * its SIGTERM handler, so the helper's SIGTERM timeout would wait for ever.
 */
function keygateKillable(dir: string, args: readonly string[]): RunResult {
  const r = spawnSync(process.execPath, ['dist/main.js', ...args], {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', LANG: 'C.UTF-8' },
    encoding: 'utf8',
    timeout: 15_000,
    killSignal: 'SIGKILL',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function pinnedProject(): string {
  const dir = tempDir('kg-special-');
  copyEntry(dir);
  writeTree(dir, { 'a.js': 'a\n', 'filelist.template': 'a.js\n' });
  assert.equal(keygate(dir, ['generate-filelist']).code, 0);
  assert.equal(keygate(dir, ['pin']).code, 0);
  return dir;
}

function replaceWithFifo(file: string): void {
  rmSync(file);
  const r = run('mkfifo', [file]);
  assert.equal(r.code, 0, r.stderr);
}

function replaceWithDevZero(file: string): void {
  rmSync(file);
  symlinkSync('/dev/zero', file);
}

/** Runs keygate and asserts it stopped on its own, quickly, with the code and a message naming the kind. */
function refusedQuickly(dir: string, args: string[], exit: number, kind: RegExp): void {
  const t = Date.now();
  const r = keygateKillable(dir, args);
  const ms = Date.now() - t;
  assert.notEqual(r.code, -1, `keygate ${args.join(' ')} was killed after ${ms} ms (it hung)\n${r.stderr}`);
  assert.equal(r.code, exit, `keygate ${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, kind, `keygate ${args.join(' ')}`);
  assert.match(r.stderr, /not a regular file/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.ok(ms < 10_000, `took ${ms} ms`);
}

test('a FIFO as the manifest: verify, pin and check refuse at once (exit 3, MANIFEST_UNREADABLE)', () => {
  const dir = pinnedProject();
  replaceWithFifo(join(dir, 'filelist.sha256'));
  refusedQuickly(dir, ['verify'], 3, /failed to read manifest .*filelist\.sha256: it is a FIFO \(named pipe\), not a regular file.*MANIFEST_UNREADABLE/);
  refusedQuickly(dir, ['pin'], 3, /MANIFEST_UNREADABLE/);
  refusedQuickly(dir, ['serve'], 3, /MANIFEST_UNREADABLE/);
});

test('/dev/zero as the manifest: refused at once without reading it (exit 3)', () => {
  const dir = pinnedProject();
  replaceWithDevZero(join(dir, 'filelist.sha256'));
  refusedQuickly(dir, ['verify'], 3, /failed to read manifest .*: it is a character device, not a regular file.*MANIFEST_UNREADABLE/);
  refusedQuickly(dir, ['pin'], 3, /character device/);
});

test('a FIFO as the template: generate-filelist and check refuse (exit 7), verify reports it (exit 3)', () => {
  const dir = pinnedProject();
  replaceWithFifo(join(dir, 'filelist.template'));
  refusedQuickly(dir, ['generate-filelist'], 7, /failed to read template .*filelist\.template: it is a FIFO \(named pipe\), not a regular file.*TEMPLATE_UNREADABLE/);
  refusedQuickly(dir, ['check'], 7, /TEMPLATE_UNREADABLE/);
  refusedQuickly(dir, ['verify'], 3, /unreadable: filelist\.template \(it is a FIFO \(named pipe\), not a regular file\)/);
});

test('/dev/zero as the template: generate-filelist refuses (exit 7), verify reports it (exit 3)', () => {
  const dir = pinnedProject();
  replaceWithDevZero(join(dir, 'filelist.template'));
  refusedQuickly(dir, ['generate-filelist'], 7, /failed to read template .*: it is a character device, not a regular file/);
  refusedQuickly(dir, ['verify'], 3, /unreadable: filelist\.template \(it is a character device, not a regular file\)/);
});
