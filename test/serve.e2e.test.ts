// The gated launch end to end: `node dist/main.js serve` with the A2A emulator, real TLS with curl trusting
// the exported certificate, refusal on tamper, the cache-bypass retry, graceful shutdown, and secret hygiene:
// every launch here uses the sentinel password, which must appear in no output, log, file, argv or child env
// (checked after each test by test/helpers/secret-hygiene.ts, while the test's projects still exist).

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as helpers from './helpers/project.js';
import { SENTINEL, curl, demoProject, vaultCalls, run, tempDir, type DemoProject, type RunResult, type Served } from './helpers/project.js';
import { checkSecretHygiene, findSecretLeaks } from './helpers/secret-hygiene.js';

// Evidence of the running test: every output it saw and every project it made. afterEach checks it while the
// projects still exist (the helper deletes them in a root after(), which used to run before this check).
const transcripts: { name: string; text: string }[] = [];
const projects: DemoProject[] = [];
const served: { name: string; s: Served }[] = [];
function remember(name: string, ...texts: string[]): void {
  transcripts.push({ name, text: texts.join('\n') });
}
function project(options?: Parameters<typeof demoProject>[0]): DemoProject {
  const p = demoProject(options);
  projects.push(p);
  return p;
}
// The helpers, recording what they saw, so no output escapes the check.
async function serve(...args: Parameters<typeof helpers.serve>): Promise<Served> {
  const s = await helpers.serve(...args);
  served.push({ name: `serve ${args[0]}`, s });
  return s;
}
async function serveRefused(...args: Parameters<typeof helpers.serveRefused>): Promise<RunResult> {
  const r = await helpers.serveRefused(...args);
  remember(`refused serve ${args[0]}`, r.stdout, r.stderr);
  return r;
}
function keygate(...args: Parameters<typeof helpers.keygate>): RunResult {
  const r = helpers.keygate(...args);
  remember(`keygate ${args[1].join(' ')}`, r.stdout, r.stderr);
  return r;
}

afterEach(() => {
  try {
    for (const { name, s } of served) remember(name, s.stdout(), s.stderr());
    checkSecretHygiene(SENTINEL, { transcripts, projects });
  } finally {
    transcripts.length = 0;
    projects.length = 0;
    served.length = 0;
  }
});

test('serves the page over real TLS after verify -> vault -> unlock -> listen', async () => {
  const p = project();
  const logFile = join(p.dir, 'keygate.log');
  const s = await serve(p.dir, ['--log-file', logFile]);
  try {
    const hello = curl(`https://localhost:${s.port}/hello?name=%3Cb%3Eops`, p.crt);
    assert.equal(hello.code, 0, hello.stderr);
    assert.match(hello.stdout, /Hello, &lt;b&gt;ops/);
    const css = curl(`https://127.0.0.1:${s.port}/static/style.css`, p.crt, ['-D', '-']);
    assert.match(css.stdout, /HTTP\/2 200/); // the hello page is keygate's own handler: h2 by ALPN (server.http2)
    assert.match(css.stdout, /strict-transport-security: max-age=63072000/i);
    assert.match(css.stdout, /text\/css/);
    assert.match(curl(`https://127.0.0.1:${s.port}/favicon.ico`, p.crt, ['-o', '/dev/null', '-w', '%{http_code}']).stdout, /200/);
    // traversal and prefix tricks stay out
    for (const path of ['/static/../keygate.config.json', '/static/%2e%2e/keygate.config.json', '/static/..%2fkeygate.config.json', '/static/']) {
      assert.match(curl(`https://localhost:${s.port}${path}`, p.crt, ['--path-as-is', '-o', '/dev/null', '-w', '%{http_code}']).stdout, /404/, path);
    }
    // the gates, in order, in the audit log
    const gates = s.stderr().split('\n').map((l) => /gate=(\w+)/.exec(l)?.[1]).filter((g) => g && g !== 'anchors'); // the demo's trust-anchor warnings (dev mode)
    assert.deepEqual(gates.slice(0, 4), ['verify', 'vault', 'keystore', 'listen']);
  } finally {
    const code = await s.stop('SIGTERM');
    assert.equal(code, 0);
    remember('serve', s.stdout(), s.stderr(), readFileSync(logFile, 'utf8'));
  }
  const calls = vaultCalls(p);
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.argv, ['keygate-demo', 'false', '-x']);
});

test('a changed protected file stops the start before the vault is asked (exit 3)', async () => {
  const p = project();
  appendFileSync(join(p.dir, 'app/pages.cjs'), '\n// injected\n');
  writeFileSync(join(p.dir, 'content/new.js'), 'evil()');
  const r = await serveRefused(p.dir);
  remember('tamper', r.stdout, r.stderr);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /changed: +app\/pages\.cjs/);
  assert.match(r.stderr, /new: +content\/new\.js/);
  assert.equal(vaultCalls(p).length, 0, 'the vault must not be asked');
  assert.equal(r.stdout, '', 'nothing listened');
});

test('a changed main entry gets 409 from the vault (PAM script check) and exit 4', async () => {
  const p = project();
  appendFileSync(join(p.dir, 'dist/main.js'), '\n// patched by an attacker\n');
  const r = await serveRefused(p.dir);
  remember('entry-409', r.stdout, r.stderr);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /PAM answered 409, unauthorized script name/);
  assert.match(r.stderr, /fix: .*printed by node dist\/main\.js pin/); // named as it was run
  assert.deepEqual(vaultCalls(p).map((c) => c.status), [409]);
});

test('a stale cached password is retried once with bypassCache=true (PAM rotated it)', async () => {
  const p = project();
  const store = JSON.parse(readFileSync(p.store, 'utf8'));
  store.accounts['keygate-demo'].cachedPassword = 'old-password-before-rotation';
  writeFileSync(p.store, JSON.stringify(store));
  const s = await serve(p.dir);
  await s.stop();
  remember('bypass', s.stdout(), s.stderr());
  assert.deepEqual(vaultCalls(p).map((c) => c.bypass), ['false', 'true']);
  assert.match(s.stderr(), /asking the vault again with bypassCache=true/);
});

test('a password that opens nothing, even after bypass, is KEYSTORE_BAD_PASSWORD (exit 5)', async () => {
  const p = project();
  const store = JSON.parse(readFileSync(p.store, 'utf8'));
  store.accounts['keygate-demo'].password = `${SENTINEL}-but-wrong`;
  writeFileSync(p.store, JSON.stringify(store));
  const r = await serveRefused(p.dir);
  remember('bad-password', r.stdout, r.stderr);
  assert.equal(r.code, 5);
  assert.match(r.stderr, /KEYSTORE_BAD_PASSWORD/);
  assert.equal(vaultCalls(p).length, 2);
});

test('vault and keystore failures are clean exits: missing client (4), missing keystore (5), port in use (6)', async () => {
  const p = project({ config: { vault: { clientPath: 'no/such/cspmclient64' } } });
  let r = await serveRefused(p.dir);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /VAULT_NOT_FOUND/);
  const q = project({ config: { keystore: { path: 'keystore/missing.p12' } } });
  r = await serveRefused(q.dir);
  assert.equal(r.code, 5);
  assert.match(r.stderr, /KEYSTORE_UNREADABLE/);
  const first = await serve(project().dir);
  try {
    const busy = project({ config: { server: { port: first.port } } });
    r = await serveRefused(busy.dir);
    assert.equal(r.code, 6);
    assert.match(r.stderr, /EADDRINUSE/);
  } finally {
    await first.stop();
  }
  for (const out of [r.stderr]) assert.doesNotMatch(out, /\n\s+at /);
});

test('serve refuses NODE_OPTIONS that load code before the gate (a tripwire: the preload has already run)', async () => {
  const p = project();
  const preload = join(tempDir(), 'preload.cjs');
  writeFileSync(preload, '// harmless stand-in for an injected preload\n');
  const r = await serveRefused(p.dir, { NODE_OPTIONS: `--require ${preload}` });
  assert.equal(r.code, 3);
  assert.match(r.stderr, /UNSAFE_RUNTIME/);
  assert.equal(vaultCalls(p).length, 0);
});

test('the demo keystore from an openssl -legacy EC file is served too (forge + Node PEMs)', async () => {
  const d = tempDir('kg-ec-');
  writeFileSync(join(d, 'pw'), SENTINEL);
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { cwd: d });
  const made = run('openssl', ['pkcs12', '-export', '-legacy', '-inkey', 'k.pem', '-in', 'c.pem', '-out', 'ks.p12', '-passout', `file:${join(d, 'pw')}`], { cwd: d });
  assert.equal(made.code, 0, made.stderr);
  const p = project({ keystore: readFileSync(join(d, 'ks.p12')) });
  const s = await serve(p.dir);
  try {
    const r = curl(`https://localhost:${s.port}/hello`, join(d, 'c.pem'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Hello, world/);
  } finally {
    await s.stop();
  }
});

test('npm start path: dev-setup creates the keystore, pins and registers, then serve works', async () => {
  const p = project();
  // dev-setup in a fresh copy without a keystore/store: like a fresh clone
  const fresh = p.dir;
  for (const f of ['dev/cspm/a2a-store.json', 'keystore/keygate-demo.p12']) run('rm', ['-f', join(fresh, f)]);
  writeFileSync(join(fresh, 'filelist.template'), `${readFileSync(join(fresh, 'filelist.template'), 'utf8')}\${NODE}\n`);
  const setup = keygate(fresh, ['dev-setup']);
  assert.equal(setup.code, 0, setup.stderr);
  assert.match(setup.stderr, /A2A EMULATOR/);
  const s = await serve(fresh);
  try {
    assert.equal(curl(`https://localhost:${s.port}/hello`, join(fresh, 'keystore/keygate-demo.crt')).code, 0);
  } finally {
    await s.stop();
  }
});

test('canary: the hygiene check finds the sentinel planted in output, a file, and a vault child\'s argv and env', () => {
  const p = demoProject(); // not project(): this one is meant to leak, afterEach must not see it
  assert.deepEqual(findSecretLeaks(SENTINEL, { transcripts: [{ name: 'clean', text: 'nothing here' }], projects: [p] }), [], 'a fresh project is clean');
  writeFileSync(join(p.dir, 'content/leak.txt'), `logged: ${SENTINEL}\n`);
  // The real emulator records the argv and environment it was started with.
  const client = join(p.dir, 'dev/cspm/cspmclient/bin64/cspmclient64');
  const r = spawnSync(process.execPath, [client, `alias-${SENTINEL}`, 'false', '-x'], { env: { PATH: process.env['PATH'] ?? '/bin', LEAKED: SENTINEL }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(vaultCalls(p).length, 1);
  const leaks = findSecretLeaks(SENTINEL, { transcripts: [{ name: 'stderr of a run', text: `oops ${SENTINEL}` }], projects: [p] });
  assert.ok(leaks.includes('output of stderr of a run'), leaks.join('; '));
  assert.ok(leaks.includes(`file ${join(p.dir, 'content/leak.txt')}`), leaks.join('; '));
  assert.ok(leaks.includes(`argv of vault call 1 in ${p.callLog}`), leaks.join('; '));
  assert.ok(leaks.includes(`environment of vault call 1 in ${p.callLog}`), leaks.join('; '));
  assert.throws(() => checkSecretHygiene(SENTINEL, { transcripts: [], projects: [p] }), /secret hygiene failed/);
  // Evidence that is gone is a failure, not a pass: the defect this check had.
  const gone = { ...p, dir: join(tempDir(), 'deleted-project') };
  assert.match(findSecretLeaks(SENTINEL, { transcripts: [], projects: [gone] }).join(''), /is gone/);
});
