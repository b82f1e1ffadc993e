// docs/getting-started.md, run: every `$` line of its console blocks, in order, in a fresh project, with keygate
// packed by `npm pack` (never the repo's own tree), then what a user of their own project must be able to rely on:
// a start from /, one changed byte in node_modules refused before the vault is asked, the package's copy refusing
// to serve with the entry's command, a folder that is no project said plainly. Express 4 and Fastify 5 run
// in-process too (issue 10). npm installs from the registry (CI reaches it; --prefer-offline uses the cache).

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ROOT, tempDir } from './helpers/project.js';

const DOC = join(ROOT, 'docs/getting-started.md');
let tarball = '';

/** PATH with this test's node first: npm, npx and the bin shims run on the node line under test. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: process.env['HOME'] ?? '/root',
    LANG: 'C.UTF-8',
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_loglevel: 'error',
    ...extra,
  };
}

function sh(cmd: string, cwd: string, extra: Record<string, string> = {}) {
  const r = spawnSync('bash', ['-c', cmd], { cwd, env: env(extra), encoding: 'utf8', timeout: 240_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function shOk(cmd: string, cwd: string, extra: Record<string, string> = {}) {
  const r = sh(cmd, cwd, extra);
  assert.equal(r.code, 0, `${cmd} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

before(() => {
  const dest = tempDir('kg-pack-');
  // the suite's pretest built dist/; --ignore-scripts: no second build while tests run
  const r = spawnSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dest], { cwd: ROOT, env: env(), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  tarball = join(dest, r.stdout.trim().split('\n').pop()!);
  assert.ok(existsSync(tarball), tarball);
});

interface Served {
  port: number;
  stop(): Promise<number | null>;
  output(): string;
}

/** Starts `node <entry> serve` (argv as a user types it) with the port from KEYGATE_PORT=0; resolves on the URL. */
function startServe(cmd: string, cwd: string, extra: Record<string, string> = {}): Promise<Served> {
  const child = spawn('bash', ['-c', `exec ${cmd}`], { cwd, env: env({ KEYGATE_PORT: '0', ...extra }), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL in 60 s\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /https:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), output: () => out, stop: async () => (child.kill('SIGTERM'), exited) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((c) => reject(new Error(`serve exited ${c} before listening\n${out}`)));
  });
}

/** The `$` lines of the page's console blocks, each with the output lines the page shows after it. */
function docSteps(): { cmd: string; expect: string[] }[] {
  const steps: { cmd: string; expect: string[] }[] = [];
  const blocks = readFileSync(DOC, 'utf8').match(/```console\n[\s\S]*?```/g) ?? [];
  for (const block of blocks) {
    for (const line of block.split('\n').slice(1, -1)) {
      if (line.startsWith('$ ')) steps.push({ cmd: line.slice(2).trim(), expect: [] });
      else if (line.trim()) steps.at(-1)!.expect.push(line.trim());
    }
  }
  return steps;
}

const vaultCallCount = (project: string): number => {
  const log = join(project, 'keygate/dev-cspm/a2a-calls.log');
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0;
};

/** Changes one byte of a file (flips the last one) and gives back a function that restores it. */
function tamper(file: string): () => void {
  const bytes = readFileSync(file);
  const changed = Buffer.from(bytes);
  changed[changed.length - 1] = changed[changed.length - 1]! ^ 0x01;
  writeFileSync(file, changed);
  return () => writeFileSync(file, bytes);
}

test('docs/getting-started.md, every step run in a fresh project with the packed keygate; then the guarantees a project relies on', async () => {
  const project = tempDir('kg-start-');
  const steps = docSteps();
  assert.ok(steps.length >= 10, `the page has ${steps.length} steps`);
  // PAM's client is not on this machine: the emulator copied by --dev stands in for it. Only the value of the
  // page's own `export CSPM_CLIENT_HOME=…` line is replaced; nothing is set that the page does not set (F-1: this
  // test used to inject the variable, so it never saw that the page forgot it).
  // (a copy outside the project: production init removes the project's emulator)
  const pamHome = tempDir('kg-cspm-');
  cpSync(join(ROOT, 'dev/cspm'), pamHome, { recursive: true });
  const pamClient = { CSPM_CLIENT_HOME: pamHome };
  const exported: Record<string, string> = {};
  let served: Served | undefined;
  try {
    for (const { cmd, expect } of steps) {
      let run = cmd.replace(/npm install --save-dev keygate\b/, `npm install --save-dev ${tarball}`);
      // the page installs the tarball `npm pack` makes (keygate is not on the registry): copied into the project
      // under the name the page uses, which must be this checkout's (a page left at an old version fails here)
      const local = /npm install --save-dev \.\/(keygate-\S+\.tgz)$/.exec(run);
      if (local) {
        assert.equal(local[1], basename(tarball), `${cmd}: npm pack makes ${basename(tarball)}`);
        cpSync(tarball, join(project, local[1]!));
      }
      const exportLine = /^export ([A-Z_][A-Z0-9_]*)=(\S+)$/.exec(run);
      if (exportLine) {
        // each line runs in its own shell: an export carries on as the user's shell would carry it
        exported[exportLine[1]!] = exportLine[1] === 'CSPM_CLIENT_HOME' ? pamClient.CSPM_CLIENT_HOME : exportLine[2]!;
        continue;
      }
      const extra: Record<string, string> = { ...exported };
      if (run.endsWith('&')) {
        served = await startServe(run.slice(0, -1).trim(), project, extra);
        continue;
      }
      if (served) run = run.replace('https://localhost:8443/', `https://localhost:${served.port}/`);
      const r = shOk(run, project, extra);
      for (const line of expect) assert.ok(r.stdout.includes(line), `${cmd}: expected ${JSON.stringify(line)} in\n${r.stdout}`);
      if (cmd === 'npx keygate init --dev') assert.equal(r.stdout.trim(), join(project, 'keygate/main.cjs'), 'init prints the entry\'s absolute path');
      if (cmd.startsWith('curl')) {
        // the dev start served; what follows in the page is maintenance and production
        assert.equal(await served!.stop(), 0);
        served = undefined;
      }
    }
  } finally {
    await served?.stop();
  }
  // the package is zero-dependency: its libraries are in the bundle, not in the service's node_modules
  assert.ok(!existsSync(join(project, 'node_modules/node-forge')) && !existsSync(join(project, 'node_modules/yargs')), 'keygate brought dependencies along');
  const unit = readFileSync(join(project, 'keygate/shop-api.service'), 'utf8');
  assert.match(unit, new RegExp(`^ExecStart=${process.execPath} ${join(project, 'keygate/main.cjs')} serve$`, 'm'));

  // the second bin works through npm's shim too, and gives the manifest `check` expects
  assert.match(shOk('npx generate-filelist', project, pamClient).stdout, /^[0-9a-f]{64}\n$/m);
  shOk('npx keygate check', project, pamClient);

  // back to the dev setup for the guarantees below
  shOk('npx keygate init --dev --force', project);
  const entry = join(project, 'keygate/main.cjs');

  // the dev loop after a config and template edit (F-2): generate + pin alone gets 409 whose fix is the dev
  // command; that command re-registers and keeps both edits
  const config = JSON.parse(readFileSync(join(project, 'keygate.config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(project, 'keygate.config.json'), JSON.stringify({ ...config, $comment: 'my edit' }, null, 2));
  writeFileSync(join(project, 'extra.txt'), 'x');
  writeFileSync(join(project, 'filelist.template'), `${readFileSync(join(project, 'filelist.template'), 'utf8')}extra.txt\n`);
  const edited = [readFileSync(join(project, 'keygate.config.json'), 'utf8'), readFileSync(join(project, 'filelist.template'), 'utf8')];
  shOk('npx keygate generate-filelist && npx keygate pin', project);
  const stale = sh(`node ${entry} serve`, project, { KEYGATE_PORT: '0' });
  assert.equal(stale.code, 4, stale.stderr);
  assert.match(stale.stderr, /PAM answered 409.*\[VAULT_DENIED\]\n {2}fix: the dev emulator does not know this entry yet: node keygate\/main\.cjs init --dev --refresh /);
  shOk('node keygate/main.cjs init --dev --refresh', project); // the fix, as printed
  assert.deepEqual([readFileSync(join(project, 'keygate.config.json'), 'utf8'), readFileSync(join(project, 'filelist.template'), 'utf8')], edited, 'refresh wrote a user file');
  const refreshed = await startServe(`node ${entry} serve`, project);
  assert.equal(await refreshed.stop(), 0);

  // init never overwrites without --force, and says which files are in the way
  const again = sh('npx keygate init', project);
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, /would overwrite keygate\/main\.cjs, filelist\.template, keygate\.config\.json/);
  assert.match(again.stderr, /fix: npx keygate init --force/);

  // the package's copy refuses to serve and names the entry's command
  const viaNpx = sh('npx keygate serve', project);
  assert.equal(viaNpx.code, 2, viaNpx.stderr);
  assert.match(viaNpx.stderr, new RegExp(`fix: node ${entry} serve`));

  // a folder that is no keygate project says exactly that
  const elsewhere = tempDir('kg-elsewhere-');
  const lost = sh(`node ${join(project, 'node_modules/keygate/dist/main.js')} verify`, elsewhere);
  assert.equal(lost.code, 2, lost.stderr);
  assert.match(lost.stderr, /is not a keygate project.*\[NOT_A_PROJECT\]\n {2}fix: .*npx keygate init/);
  // the project's entry verifies its own project from any folder, and hints name it as it was run
  shOk(`node ${entry} verify`, '/');

  // a start from / serves the same project
  const fromRoot = await startServe(`node ${entry} serve`, '/');
  const page = sh(`curl -sS --cacert keystore/shop-api.crt https://localhost:${fromRoot.port}/`, project);
  assert.equal(await fromRoot.stop(), 0);
  assert.equal(page.stdout, 'hello from shop-api');

  // one byte of one node_modules file changed: refused before the vault is asked, the file named
  const calls = vaultCallCount(project);
  assert.ok(calls > 0, 'the emulator logs its calls (else "not asked" below proves nothing)');
  const restore = tamper(join(project, 'node_modules/express/lib/express.js'));
  try {
    const refused = sh(`node ${entry} serve`, '/', { KEYGATE_PORT: '0' });
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /changed:\s+node_modules\/express\/lib\/express\.js/);
    assert.match(refused.stderr, new RegExp(`fix: .*node ${entry} generate-filelist`));
    assert.equal(vaultCallCount(project), calls, 'the vault was asked');
  } finally {
    restore();
  }
});

const APPS = {
  'express@4': "const app = require('express')();\napp.get('/', (req, res) => res.send('hello from express ' + require('express/package.json').version));\nmodule.exports = app;\n",
  'fastify@5':
    "const fastify = require('fastify')();\nfastify.get('/', async () => 'hello from fastify ' + fastify.version);\nmodule.exports = async (req, res) => { await fastify.ready(); fastify.routing(req, res); };\n",
} as const;

for (const [pkg, source] of Object.entries(APPS)) {
  test(`${pkg} in-process under the verified loader: served over TLS untouched, refused before the vault with one byte changed`, async () => {
    const project = tempDir('kg-app-');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', main: 'app.js', private: true }));
    writeFileSync(join(project, 'app.js'), source);
    shOk(`npm install ${pkg} ${tarball}`, project);
    shOk('npx keygate init --dev', project);
    const entry = join(project, 'keygate/main.cjs');
    const served = await startServe(`node ${entry} serve`, project);
    const page = sh(`curl -sS --cacert keystore/app.crt https://localhost:${served.port}/`, project);
    // a whole app (Express, Fastify's handler) is offered HTTP/1.1 only: Express on node:http2's objects throws
    // (src/server/request-handler.ts); curl --http2 falls back and the app answers
    const h2 = sh(`curl -sS --http2 -o /dev/null -w '%{http_version} %{http_code}' --cacert keystore/app.crt https://localhost:${served.port}/`, project);
    assert.equal(h2.stdout, '1.1 200', h2.stderr);
    assert.equal(await served.stop(), 0, served.output());
    const name = pkg.split('@')[0]!;
    assert.match(page.stdout, new RegExp(`^hello from ${name} ${pkg.split('@')[1]}\\.`));

    // a file deep in the dependency tree: the largest .js of the package's own folder
    const dir = join(project, 'node_modules', name, 'lib');
    const victim = readdirSync(dir).filter((f) => f.endsWith('.js')).sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0]!;
    const calls = vaultCallCount(project);
  assert.ok(calls > 0, 'the emulator logs its calls (else "not asked" below proves nothing)');
    const restore = tamper(join(dir, victim));
    try {
      const refused = sh(`node ${entry} serve`, '/', { KEYGATE_PORT: '0' });
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, new RegExp(`changed:\\s+node_modules/${name}/lib/${victim.replace('.', '\\.')}`));
      assert.equal(vaultCallCount(project), calls, 'the vault was asked');
    } finally {
      restore();
    }
  });
}
