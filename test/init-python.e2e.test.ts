// keygate init for a Python-only service (F-14): no package.json, no npm init; the folder's app.py is found, the
// config runs gunicorn on keygate's unix socket by the interpreter's absolute path, the template lists the
// interpreter and the folders it imports from, and the dev start serves the Flask page over TLS. Production init
// keeps privilege separation (server.user and server.backend.user). Run as a user types it.
// Planted and seen red: the Node-shaped command (${NODE} app.py ${SOCKET}) for a Python folder.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
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

test('init --python (production): the two users of privilege separation, and the config validates', () => {
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
