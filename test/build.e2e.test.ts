// The build from a checkout whose path holds a space (issue 9: it broke on "%20" from URL.pathname).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, tempDir } from './helpers/project.js';

test('npm run build works in a folder whose path holds a space', () => {
  const repo = join(tempDir('kg-build-'), 'a checkout', 'keygate');
  mkdirSync(repo, { recursive: true });
  for (const f of ['src', 'scripts', 'package.json', 'tsconfig.json']) cpSync(join(ROOT, f), join(repo, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'));
  const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
  assert.equal(built.status, 0, built.stderr);
  const version = spawnSync(process.execPath, ['dist/main.js', '--version'], { cwd: repo, encoding: 'utf8' });
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
});
