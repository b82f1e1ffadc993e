// The gate path loads none of the libraries it does without (docs/security.md, docs/performance.md): serve,
// verify, check, pin and generate-filelist in their usual shapes compile no yargs, winston, fast-glob or
// picomatch part, and nothing of yargs' command line. Read from the `--debug` line `parts compiled`, which
// src/cli.ts writes from src/late-runtime.ts's record; the positive controls show the line does name a part
// when one is used. Planted: the gate parser disabled (every line through yargs): red.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyEntry, demoProject, keygate, serve, tempDir, writeTree } from './helpers/project.js';

/** The parts a run compiled, from its `--debug` line. */
function partsOf(stderr: string): string[] {
  const m = /parts compiled parts=(\S+)/.exec(stderr);
  assert.ok(m, `no "parts compiled" line in:\n${stderr}`);
  return m[1] === 'none' ? [] : m[1]!.split(',');
}

const GATE_FREE_OF = ['library/yargs', 'library/winston', 'library/fast-glob', 'library/picomatch', 'late/cli'];

function project(template: string): string {
  const dir = tempDir('kg-parts-');
  copyEntry(dir);
  writeTree(dir, { 'app/a.js': 'a\n', 'app/b.txt': 'b\n', 'app/skip.tmp': 's\n', 'filelist.template': template });
  assert.equal(keygate(dir, ['generate-filelist']).code, 0);
  assert.equal(keygate(dir, ['pin']).code, 0);
  return dir;
}

test('gate parts: verify, check, pin and generate-filelist compile no part; yargs, winston and the glob libraries only when a line needs them', () => {
  const dir = project('app\n');
  for (const args of [['verify'], ['check'], ['pin'], ['generate-filelist'], ['verify', '--json', '--strategy', 'sync']]) {
    const r = keygate(dir, [...args, '--debug']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(partsOf(r.stderr), [], `${args.join(' ')}: ${r.stderr}`);
  }
  // positive controls: a line the gate parser leaves to yargs, --log-file, a glob line and an exclude line
  const viaYargs = partsOf(keygate(dir, ['verify', '--debug', '--json=false']).stderr);
  assert.ok(viaYargs.includes('library/yargs') && viaYargs.includes('late/cli'), viaYargs.join(','));
  assert.deepEqual(partsOf(keygate(dir, ['verify', '--debug', '--log-file', `${dir}/kg.log`]).stderr), ['library/winston']);
  const globbed = project('app/*.js\napp\n!app/*.tmp\n');
  const r = keygate(globbed, ['verify', '--debug']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(partsOf(r.stderr).sort(), ['library/fast-glob', 'library/picomatch']);
});

test('gate parts: serve compiles the vault, keystore and server parts and none of the libraries the gate does without', async () => {
  const p = demoProject();
  const s = await serve(p.dir, ['--debug']);
  assert.equal(await s.stop('SIGTERM'), 0);
  const parts = partsOf(s.stderr());
  for (const needed of ['late/vault', 'late/keystore', 'late/server', 'library/fast-xml-parser']) assert.ok(parts.includes(needed), `${needed} missing: ${parts.join(',')}`);
  for (const unwanted of GATE_FREE_OF) assert.ok(!parts.includes(unwanted), `serve compiled ${unwanted}: ${parts.join(',')}`);
});
