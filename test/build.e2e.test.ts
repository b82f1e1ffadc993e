// The build: from a checkout whose path holds a space (issue 9: it broke on "%20" from URL.pathname), the same
// bytes from the same sources wherever they are checked out and whichever Node line builds them (what CI proves
// about the entry PAM hashes), and
// every part of the entry readable and matched against the parts manifest the build writes (issue 22).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import { ROOT, tempDir } from './helpers/project.js';

/**
 * A checkout of the sources at `repo`, with the lockfile's packages in its own node_modules (hard links: a copy
 * in no time; not a symlink, which esbuild resolves to a path outside the checkout that ends up in the bundle's
 * module keys), built with `node`.
 */
function checkoutAndBuild(repo: string, node: string): void {
  mkdirSync(repo, { recursive: true });
  for (const f of ['src', 'scripts', 'package.json', 'tsconfig.json']) cpSync(join(ROOT, f), join(repo, f), { recursive: true });
  const linked = spawnSync('cp', ['-al', join(ROOT, 'node_modules'), join(repo, 'node_modules')], { encoding: 'utf8' });
  if (linked.status !== 0) cpSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'), { recursive: true }); // another file system
  const built = spawnSync(node, ['scripts/build.mjs'], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
  assert.equal(built.status, 0, built.stderr);
}

const parts = (repo: string, args: readonly string[]) => spawnSync(process.execPath, ['scripts/parts.mjs', ...args], { cwd: repo, encoding: 'utf8' });

/** The other Node line CI gives the suite (KEYGATE_TEST_NODES), when this run is not already on it. */
const otherNode = (process.env['KEYGATE_TEST_NODES'] ?? '').split(':').find((n) => n !== '' && n !== process.execPath);
const nodeVersion = (node: string): string => spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();

test(`npm run build works in a folder whose path holds a space, and gives the same entry as a build elsewhere${otherNode ? ' by the other Node line' : ''}`, () => {
  const spaced = join(tempDir('kg-build-'), 'a checkout', 'keygate');
  const plain = join(tempDir('kg-build-'), 'keygate');
  checkoutAndBuild(spaced, process.execPath);
  checkoutAndBuild(plain, otherNode ?? process.execPath);
  const version = spawnSync(process.execPath, ['dist/main.js', '--version'], { cwd: spaced, encoding: 'utf8' });
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  // Byte-identical entries: nothing of the checkout's path, the time, the machine or the Node line is in it
  // (esbuild is the lockfile's; brotli's encoder gives the same bytes in Node 20 and 24).
  const builders = otherNode ? `${nodeVersion(process.execPath)} and ${nodeVersion(otherNode)}` : nodeVersion(process.execPath);
  assert.ok(readFileSync(join(spaced, 'dist/main.js')).equals(readFileSync(join(plain, 'dist/main.js'))), `two checkouts built two different entries (${builders})`);
  // And the same parts as the repo's own build, packed bytes included: only the recorded builder may differ.
  const record = (dir: string) => {
    const parsed = JSON.parse(readFileSync(join(dir, 'dist/parts.json'), 'utf8')) as { builtWith: { node?: string } };
    delete parsed.builtWith.node;
    return parsed;
  };
  assert.deepEqual(record(plain), record(ROOT));
});

test('npm run parts: every part of a built entry listed, extracted as plain JavaScript, and checked against parts.json; a changed part, or early part, is named', () => {
  const list = parts(ROOT, ['list']);
  assert.equal(list.status, 0, list.stderr);
  for (const name of ['late/vault', 'late/keystore', 'late/cli', 'worker/hash', 'library/yargs']) assert.match(list.stdout, new RegExp(`^${name} +\\d+ bytes  sha256 [0-9a-f]{64}  as recorded$`, 'm'));
  const out = tempDir('kg-parts-');
  assert.equal(parts(ROOT, ['extract', out]).status, 0);
  const vault = readFileSync(join(out, 'late/vault.js'), 'utf8');
  assert.match(vault, /execa/, 'the vault part reads as JavaScript');
  assert.equal(spawnSync(process.execPath, ['--check', join(out, 'late/vault.js')]).status, 0);
  assert.equal(parts(ROOT, ['check']).status, 0);

  // One part changed inside a copy of the entry (repacked, so it still loads): check names it and fails.
  const copy = join(tempDir('kg-parts-'), 'dist');
  mkdirSync(copy);
  const text = readFileSync(join(ROOT, 'dist/main.js'), 'utf8').replace(/^late\/server:(.*)$/m, (_l, b64: string) => {
    const code = brotliDecompressSync(Buffer.from(b64, 'base64')).toString('utf8');
    return `late/server:${brotliCompressSync(Buffer.from(`${code}\n/* planted */`)).toString('base64')}`;
  });
  writeFileSync(join(copy, 'main.js'), text);
  cpSync(join(ROOT, 'dist/parts.json'), join(copy, 'parts.json'));
  const check = parts(ROOT, ['check', '--entry', join(copy, 'main.js')]);
  assert.equal(check.status, 1);
  assert.match(check.stderr, /^parts: late\/server: DIFFERS from parts\.json$/m);

  // The early part changed (it runs first and finds the parts: here it would hand the entry other ones), every
  // part as built: check names the early part. A pin in the slot is not a change.
  const pinned = readFileSync(join(ROOT, 'dist/main.js'), 'latin1').replace(/@@KEYGATE_PIN@@:[0-9a-f]{64}/, `@@KEYGATE_PIN@@:${'a'.repeat(64)}`);
  writeFileSync(join(copy, 'main.js'), pinned, 'latin1');
  assert.equal(parts(ROOT, ['check', '--entry', join(copy, 'main.js')]).status, 0, 'a pinned entry is the recorded one');
  writeFileSync(join(copy, 'main.js'), pinned.replace("'use strict';", "'use strict';__kgParts=function(){};"), 'latin1');
  const early = parts(ROOT, ['check', '--entry', join(copy, 'main.js')]);
  assert.equal(early.status, 1);
  assert.match(early.stderr, /^parts: the early part: DIFFERS from parts\.json \(dist\/main\.js\)$/m);

  // A deployed entry: dist/main.js copied into a project as keygate/main.cjs and pinned, no parts.json beside it.
  // The build's own parts.json (beside the script, or --manifest) is the record, the early part matched by hash.
  const deployed = join(tempDir('kg-parts-'), 'keygate');
  mkdirSync(deployed);
  writeFileSync(join(deployed, 'main.cjs'), pinned, 'latin1');
  const inProject = parts(ROOT, ['check', '--entry', join(deployed, 'main.cjs')]);
  assert.equal(inProject.status, 0, inProject.stderr);
  assert.match(parts(ROOT, ['list', '--entry', join(deployed, 'main.cjs')]).stdout, /as recorded \(dist\/main\.js\); \d+ parts; compared with dist\/parts\.json\n/);
  assert.equal(parts(ROOT, ['check', '--entry', join(deployed, 'main.cjs'), '--manifest', join(copy, 'parts.json')]).status, 0);
  // The other entry the build writes, deployed under the main entry's name: its early part is not main.js's.
  cpSync(join(ROOT, 'dist/generate-filelist.js'), join(deployed, 'main.cjs'));
  assert.match(parts(ROOT, ['check', '--entry', join(deployed, 'main.cjs')]).stderr, /^parts: the early part: DIFFERS from parts\.json \(dist\/main\.js\)$/m);
  writeFileSync(join(deployed, 'main.cjs'), pinned.replace("'use strict';", "'use strict';__kgParts=function(){};"), 'latin1');
  assert.match(parts(ROOT, ['check', '--entry', join(deployed, 'main.cjs')]).stderr, /^parts: the early part: DIFFERS from parts\.json \(dist\/main\.js\)$/m);
});
