// keygate init for a Python-only service (F-14): no package.json, no npm init; the folder's app.py is found, the
// config runs gunicorn on keygate's unix socket by the interpreter's absolute path, the template lists the
// interpreter and the folders it imports from, and the dev start serves the Flask page over TLS. Production init
// keeps privilege separation (server.user and server.backend.user). Run as a user types it.
// Planted and seen red: the Node-shaped command (${NODE} app.py ${SOCKET}) for a Python folder.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ROOT, curl, keygate, serve, tempDir } from './helpers/project.js';
import { missingPeer } from './helpers/backend.js';

const noFlask = { skip: missingPeer('flask') };
const ENV = { PATH: '/usr/bin:/bin' }; // Debian's python3 with python3-flask and gunicorn
const APP = 'from flask import Flask\napp = Flask(__name__)\n\n@app.get("/")\ndef hello():\n    return "hello from flask"\n';

test('init --dev in a folder with app.py and no package.json: gunicorn behind keygate, then served', noFlask, async () => {
  const dir = tempDir('kg-py-');
  writeFileSync(join(dir, 'app.py'), APP);
  writeFileSync(join(dir, 'requirements.txt'), 'flask\n');
  const init = keygate(dir, ['init', '--dev'], { entry: join(ROOT, 'dist/main.js'), env: ENV });
  assert.equal(init.code, 0, init.stderr);
  assert.equal(init.stdout, `${join(dir, 'keygate/main.cjs')}\n`);
  const config = JSON.parse(readFileSync(join(dir, 'keygate.config.json'), 'utf8'));
  assert.deepEqual(config.server.backend.command, ['/usr/bin/python3', '-m', 'gunicorn', '--bind', 'unix:${SOCKET}', '--workers', '2', 'app:app']);
  assert.equal(config.server.backend.listen, 'unix');
  const template = readFileSync(join(dir, 'filelist.template'), 'utf8');
  for (const line of ['app.py', 'requirements.txt', 'keygate.config.json', '${BACKEND}', '/usr/lib/python3/dist-packages', '${NODE}', '${VAULT_CLIENT}']) {
    assert.match(template, new RegExp(`^${line.replace(/[$.{}/]/g, '\\$&')}$`, 'm'), line);
  }
  assert.match(template, /^\/usr\/lib\/python3\.\d+$/m, 'the stdlib');
  assert.doesNotMatch(template, /lib-dynload/, 'inside the stdlib line already');
  const s = await serve(dir, ['--port', '0'], ENV, 'keygate/main.cjs');
  try {
    const page = curl(s.url, join(dir, 'keystore', `${config.vault.alias}.crt`));
    assert.equal(page.stdout, 'hello from flask', page.stderr);
  } finally {
    assert.equal(await s.stop(), 0, s.stderr());
  }
});

test('init --python (production): the two users of privilege separation, and the config validates', noFlask, () => {
  const dir = tempDir('kg-py-');
  writeFileSync(join(dir, 'wsgi.py'), APP);
  const init = keygate(dir, ['init', '--python'], { entry: join(ROOT, 'dist/main.js'), env: ENV });
  assert.equal(init.code, 0, init.stderr);
  const config = JSON.parse(readFileSync(join(dir, 'keygate.config.json'), 'utf8'));
  assert.equal(config.server.backend.command.at(-1), 'wsgi:app');
  assert.ok(config.server.user && config.server.backend.user && config.server.user !== config.server.backend.user, JSON.stringify(config.server));
  const check = keygate(dir, ['verify'], { entry: 'keygate/main.cjs', env: ENV });
  assert.doesNotMatch(check.stderr, /CONFIG_INVALID/, check.stderr);
  // and a folder that is neither: the message names both ways
  const empty = keygate(tempDir('kg-none-'), ['init'], { entry: join(ROOT, 'dist/main.js'), env: ENV });
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /has no package\.json, nor app\.py, wsgi\.py or requirements\.txt \[NOT_A_PROJECT\]\n {2}fix: .*, or a Python one with node \S+ init --python\n/);
});

// A stock Debian host with Recommends (the README's `apt-get install python3-flask gunicorn`) has python3-babel,
// whose babel/locale-data is a symlinked folder: init must write the two lines that make the template expand, and
// SYMLINK_REFUSED's printed fix must be those lines. Planted and seen red: init without the symlink scan
// (generate-filelist then stops with SYMLINK_REFUSED), and the old fix text ("list the target folder").
const BABEL_LINK = '/usr/lib/python3/dist-packages/babel/locale-data';
const noBabel = missingPeer('flask') ?? (existsSync(BABEL_LINK) && lstatSync(BABEL_LINK).isSymbolicLink() ? undefined : `${BABEL_LINK} is not a symlink here: apt-get install python3-babel (a Recommends of python3-flask)`);

test('a host with python3-babel: init --python writes the link excluded and its target listed, and the manifest generates', { skip: noBabel }, () => {
  const dir = tempDir('kg-py-');
  writeFileSync(join(dir, 'app.py'), APP);
  const init = keygate(dir, ['init', '--python'], { entry: join(ROOT, 'dist/main.js'), env: ENV });
  assert.equal(init.code, 0, init.stderr);
  const template = readFileSync(join(dir, 'filelist.template'), 'utf8');
  assert.match(template, /^!\/usr\/lib\/python3\/dist-packages\/babel\/locale-data\n\/usr\/share\/python-babel-localedata\/locale-data$/m, template);
  assert.match(init.stderr, /the template lists it and the \d+ folders it imports from \(.*: \d+ files\), and 1 symlinked folder in them by target/, init.stderr);
  const gen = keygate(dir, ['generate-filelist'], { entry: 'keygate/main.cjs', env: { ...ENV, CSPM_CLIENT_HOME: join(ROOT, 'dev/cspm') } });
  assert.equal(gen.code, 0, gen.stderr);
  assert.match(readFileSync(join(dir, 'filelist.sha256'), 'utf8'), /\*\/usr\/share\/python-babel-localedata\/locale-data\/en\.dat$/m);
});

test('SYMLINK_REFUSED prints the lines that fix it, as a command: run as printed, the manifest generates', { skip: noBabel }, () => {
  const dir = tempDir('kg-sym-');
  writeFileSync(join(dir, 'filelist.template'), '/usr/lib/python3/dist-packages/babel\n');
  const gen = () => keygate(dir, ['generate-filelist', '--template', join(dir, 'filelist.template'), '--output', join(dir, 'filelist.sha256')], { entry: join(ROOT, 'dist/main.js') });
  const refused = gen();
  assert.equal(refused.code, 7, refused.stderr);
  assert.match(refused.stderr, /\[SYMLINK_REFUSED\]/);
  const fix = /^ {2}fix: (.*)$/m.exec(refused.stderr)?.[1];
  assert.ok(fix, refused.stderr);
  const ran = spawnSync('/bin/bash', ['-c', fix], { cwd: dir, encoding: 'utf8' });
  assert.equal(ran.status, 0, `${fix}\n${ran.stderr}`);
  const again = gen();
  assert.equal(again.code, 0, again.stderr);
});

test('init --python picks an interpreter that runs the app: a venv first, never one without gunicorn, --python <path> checked', noFlask, () => {
  const venv = (at: string, systemSite: boolean): string => {
    const r = spawnSync('/usr/bin/python3', ['-m', 'venv', '--without-pip', ...(systemSite ? ['--system-site-packages'] : []), at], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return join(at, 'bin/python3');
  };
  // python3 first on PATH cannot import gunicorn (pyenv's, a bare venv): passed over for Debian's, and said so
  const bare = venv(join(tempDir('kg-bare-'), 'v'), false);
  const dir = tempDir('kg-py-');
  writeFileSync(join(dir, 'app.py'), APP);
  const init = keygate(dir, ['init', '--python'], { entry: join(ROOT, 'dist/main.js'), env: { PATH: `${join(bare, '..')}:/usr/bin:/bin` } });
  assert.equal(init.code, 0, init.stderr);
  assert.equal(JSON.parse(readFileSync(join(dir, 'keygate.config.json'), 'utf8')).server.backend.command[0], '/usr/bin/python3');
  assert.match(init.stderr, new RegExp(`passed over ${bare.replace(/[.]/g, '\\.')}: cannot import gunicorn`));
  // named with --python: refused before anything is written
  const named = tempDir('kg-py-');
  writeFileSync(join(named, 'app.py'), APP);
  const refused = keygate(named, ['init', '--python', bare], { entry: join(ROOT, 'dist/main.js'), env: ENV });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /no interpreter here runs the app under gunicorn .*cannot import gunicorn/);
  assert.ok(!existsSync(join(named, 'keygate.config.json')), 'nothing written');
  // an app that does not import: named, with its error
  const broken = tempDir('kg-py-');
  writeFileSync(join(broken, 'app.py'), 'import flask_nonexistent_module\n');
  const bad = keygate(broken, ['init', '--python'], { entry: join(ROOT, 'dist/main.js'), env: ENV });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /cannot import the app \(app\): ModuleNotFoundError: No module named 'flask_nonexistent_module'/);
  // the project's venv (with the system's packages) is preferred
  const withVenv = tempDir('kg-py-');
  writeFileSync(join(withVenv, 'app.py'), APP);
  mkdirSync(join(withVenv, '.venv'));
  const own = venv(join(withVenv, '.venv'), true);
  const v = keygate(withVenv, ['init', '--python'], { entry: join(ROOT, 'dist/main.js'), env: ENV });
  assert.equal(v.code, 0, v.stderr);
  assert.equal(JSON.parse(readFileSync(join(withVenv, 'keygate.config.json'), 'utf8')).server.backend.command[0], own);
});

// Signed releases in the dev loop: init --dev --refresh must not replace the trust-root pin with a manifest pin
// (that is a new PAM registration, what signed releases exist to avoid). Planted and seen red: refresh calling
// pinEntry as before (the entry's sha256 changed).
test('init --dev --refresh on a project that pins release keys keeps the trust root, registers the entry as it is, and says to sign', noFlask, () => {
  const dir = tempDir('kg-py-');
  writeFileSync(join(dir, 'app.py'), APP);
  const run = (args: string[]) => keygate(dir, args, { entry: 'keygate/main.cjs', env: ENV });
  assert.equal(keygate(dir, ['init', '--dev'], { entry: join(ROOT, 'dist/main.js'), env: ENV }).code, 0);
  writeFileSync(join(dir, 'pass'), 'correct horse battery staple\n', { mode: 0o600 });
  assert.equal(run(['release', 'keygen', '--out', join(dir, 'ci'), '--password-file', join(dir, 'pass')]).code, 0);
  const pinned = run(['pin', '--release-keys', join(dir, 'ci.pub'), '--project', 'py-dev']);
  assert.equal(pinned.code, 0, pinned.stderr);
  const entryHash = pinned.stdout.trim().split('\n').pop()!;
  const refresh = run(['init', '--dev', '--refresh']);
  assert.equal(refresh.code, 0, refresh.stderr);
  assert.match(refresh.stderr, /the entry keeps its release trust root .* it starts once signed: .*release sign .*--release-version/);
  assert.equal(createHash('sha256').update(readFileSync(join(dir, 'keygate/main.cjs'))).digest('hex'), entryHash, 'the entry (and its PAM registration) is unchanged');
  const store = JSON.parse(readFileSync(join(dir, 'keygate/dev-cspm/a2a-store.json'), 'utf8')) as { scripts: { sha256: string }[] };
  assert.ok(store.scripts.some((s) => s.sha256 === entryHash), 'the emulator knows the entry');
  // a trust root edited since it was pinned: refused, as by pin
  writeFileSync(join(dir, 'keygate.trust.json'), readFileSync(join(dir, 'keygate.trust.json'), 'utf8').replace('py-dev', 'py-other'));
  const edited = run(['init', '--dev', '--refresh']);
  assert.equal(edited.code, 2, edited.stderr);
  assert.match(edited.stderr, /refused to pin/);
});
