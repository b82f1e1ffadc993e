// Soundness under attack: what runs is what was verified, the tamper matrix, hostile TLS clients, rotation,
// and the audit log. Every case runs the real `node dist/main.js serve` against the A2A emulator.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  existsSync,
  chmodSync,
} from 'node:fs';
import { join } from 'node:path';
import https from 'node:https';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { SENTINEL, curl, demoProject, keygate, run, serve, serveRefused, tempDir, vaultCalls, type DemoProject } from './helpers/project.js';

const PLUGIN_APP = `'use strict';
// A handler that requires a module lazily, at request time.
module.exports = {
  handle(req, res) {
    if (req.url === '/plugin') {
      const plugin = require('./plugin.cjs');
      res.end(plugin.hello());
      return;
    }
    if (req.url === '/around') {
      // going around keygate's require, through Node's own loader
      const plugin = require('module').createRequire(__filename)('./plugin.cjs');
      res.end(plugin.hello());
      return;
    }
    res.end('base\\n');
  },
};
`;

let template: DemoProject;
before(() => {
  // reloadMinIntervalMs 0: the rotation test reloads twice in a row; the rate limit has its own test (rotation.e2e)
  template = demoProject({ files: { 'app/lazy.cjs': PLUGIN_APP }, config: { keystore: { reloadMinIntervalMs: 0 } } });
});

/** A copy of the pinned demo project, registered with its own emulator store. */
function clone(): DemoProject {
  const dir = tempDir('kg-clone-');
  cpSync(template.dir, dir, { recursive: true, verbatimSymlinks: true });
  const store = JSON.parse(readFileSync(join(dir, 'dev/cspm/a2a-store.json'), 'utf8'));
  store.scripts = [{ path: join(dir, 'dist/main.js'), sha256: template.entryHash }];
  writeFileSync(join(dir, 'dev/cspm/a2a-store.json'), JSON.stringify(store));
  rmSync(join(dir, 'dev/cspm/a2a-calls.log'), { force: true });
  return { ...template, dir, crt: join(dir, 'keystore/keygate-demo.crt'), store: join(dir, 'dev/cspm/a2a-store.json'), callLog: join(dir, 'dev/cspm/a2a-calls.log') };
}

function setConfig(p: DemoProject, server: Record<string, unknown>): void {
  const f = join(p.dir, 'keygate.config.json');
  const c = JSON.parse(readFileSync(f, 'utf8'));
  c.server = { ...c.server, ...server };
  writeFileSync(f, JSON.stringify(c));
  assert.equal(keygate(p.dir, ['generate-filelist']).code, 0);
  const pin = keygate(p.dir, ['pin']);
  const store = JSON.parse(readFileSync(p.store, 'utf8'));
  store.scripts = [{ path: join(p.dir, 'dist/main.js'), sha256: pin.stdout.trim() }];
  writeFileSync(p.store, JSON.stringify(store));
}

test('control: an untouched clone starts', async () => {
  const p = clone();
  const s = await serve(p.dir);
  assert.equal(curl(`https://localhost:${s.port}/`, p.crt).code, 0);
  assert.equal(await s.stop(), 0);
});

// ---- tamper matrix: one case each, refusal with the specific report and no vault call ----------------

const matrix: [string, (d: string) => void, RegExp][] = [
  ['byte flip', (d) => {
    const f = join(d, 'app/pages.cjs');
    const b = readFileSync(f);
    b[10] = b[10]! ^ 0x01;
    writeFileSync(f, b);
  }, /changed: +app\/pages\.cjs/],
  ['truncation', (d) => truncateSync(join(d, 'content/style.css'), 5), /changed: +content\/style\.css/],
  ['deletion', (d) => rmSync(join(d, 'content/readme.txt')), /missing: +content\/readme\.txt/],
  ['rename', (d) => renameSync(join(d, 'content/readme.txt'), join(d, 'content/readme2.txt')), /missing: +content\/readme\.txt[\s\S]*new: +content\/readme2\.txt/],
  ['new file in a protected folder', (d) => writeFileSync(join(d, 'app/backdoor.cjs'), 'module.exports = 1'), /new: +app\/backdoor\.cjs/],
  ['case-only rename', (d) => renameSync(join(d, 'content/style.css'), join(d, 'content/Style.css')), /missing: +content\/style\.css[\s\S]*new: +content\/Style\.css/],
  ['symlink swap', (d) => {
    writeFileSync(join(d, 'evil.cjs'), 'module.exports = { pageFor: () => "pwned" };');
    rmSync(join(d, 'app/pages.cjs'));
    symlinkSync(join(d, 'evil.cjs'), join(d, 'app/pages.cjs'));
  }, /changed: +app\/pages\.cjs/],
  ['file replaced by a folder', (d) => {
    rmSync(join(d, 'content/readme.txt'));
    mkdirSync(join(d, 'content/readme.txt'));
  }, /unreadable: content\/readme\.txt \(is a folder/],
  ['manifest edited', (d) => {
    const f = join(d, 'filelist.sha256');
    writeFileSync(f, readFileSync(f, 'utf8').replace(/^[0-9a-f]{64}/, 'f'.repeat(64)));
  }, /PIN_MISMATCH/],
  ['manifest re-ordered', (d) => {
    const f = join(d, 'filelist.sha256');
    const lines = readFileSync(f, 'utf8').trim().split('\n');
    [lines[0], lines[1]] = [lines[1]!, lines[0]!];
    writeFileSync(f, lines.join('\n') + '\n');
  }, /PIN_MISMATCH/],
  ['pin edited', (d) => {
    const f = join(d, 'dist/main.js');
    writeFileSync(f, readFileSync(f, 'latin1').replace(/(@@KEYGATE_PIN@@:)[0-9a-f]{64}/, `$1${'1'.repeat(64)}`), 'latin1');
  }, /PIN_MISMATCH/],
  ['template edited to drop a folder', (d) => writeFileSync(join(d, 'filelist.template'), 'keygate.config.json\n'), /changed: +filelist\.template/],
];

for (const [name, tamper, report] of matrix) {
  test(`tamper: ${name} is refused before the vault is asked`, async () => {
    const p = clone();
    tamper(p.dir);
    const r = await serveRefused(p.dir);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, report);
    assert.equal(vaultCalls(p).length, 0);
    assert.equal(r.stdout, '');
  });
}

test('tamper: main entry edited: the vault answers 409 and nothing listens', async () => {
  const p = clone();
  appendFileSync(join(p.dir, 'dist/main.js'), '\nconsole.error("pwned")\n');
  const r = await serveRefused(p.dir);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /409/);
  assert.deepEqual(vaultCalls(p).map((c) => c.status), [409]);
});

test('tamper: the node executable, listed as ${NODE}, changed', async () => {
  const p = clone();
  const node = join(p.dir, 'bin/node');
  mkdirSync(join(p.dir, 'bin'));
  copyFileSync(process.execPath, node);
  chmodSync(node, 0o755);
  appendFileSync(join(p.dir, 'filelist.template'), '${NODE}\n');
  const env = { PATH: `${join(p.dir, 'bin')}:${process.env['PATH']}` };
  const runNode = (args: string[]) => run(node, ['dist/main.js', ...args], { cwd: p.dir });
  assert.equal(runNode(['generate-filelist']).code, 0);
  const pin = runNode(['pin']);
  assert.match(readFileSync(join(p.dir, 'filelist.sha256'), 'utf8'), new RegExp(`\\*${node}`));
  appendFileSync(node, Buffer.from([0])); // still runs, but is not the binary that was verified
  const r = runNode(['serve']);
  void env;
  void pin;
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`changed: +${node}`));
  assert.equal(vaultCalls(p).length, 0);
});

// ---- what runs is what was verified (no time-of-check/time-of-use gap) ---------------------------------

/** Starts serve with the test pause point, runs `swap` during the pause, returns the outcome. */
function serveWithSwap(p: DemoProject, swap: () => void): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/main.js', 'serve'], {
      cwd: p.dir,
      env: { PATH: process.env['PATH']!, KG_TEST_PAUSE_AFTER_VERIFY_MS: '1500' },
    });
    let stderr = '';
    let stdout = '';
    let swapped = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!swapped && stderr.includes('test pause')) {
        swapped = true;
        swap();
      }
    });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('https://')) child.kill('SIGTERM');
    });
    child.on('exit', (code) => resolve({ code, stderr, stdout }));
  });
}

test('a module swapped after verification does not run (re-hashed at load)', async () => {
  const p = clone();
  const marker = join(p.dir, 'PWNED');
  const r = await serveWithSwap(p, () => writeFileSync(join(p.dir, 'app/pages.cjs'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x'); module.exports = {};`));
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /refused to read app\/pages\.cjs: it changed after verification/);
  assert.equal(existsSync(marker), false, 'the swapped code ran');
  assert.equal(vaultCalls(p).length, 0, 'the app loads before the vault is asked');
});

test('a symlink swapped in after verification does not run', async () => {
  const p = clone();
  const marker = join(p.dir, 'PWNED');
  writeFileSync(join(p.dir, 'evil.cjs'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x'); module.exports = {};`);
  const r = await serveWithSwap(p, () => {
    rmSync(join(p.dir, 'app/request-handlers.cjs'));
    symlinkSync(join(p.dir, 'evil.cjs'), join(p.dir, 'app/request-handlers.cjs'));
  });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /UNVERIFIED_LOAD/);
  assert.equal(existsSync(marker), false);
});

test('a new .js dropped next to a verified module and required at run time is refused', async () => {
  const p = clone();
  setConfig(p, { handler: 'app/lazy.cjs' });
  const s = await serve(p.dir);
  try {
    const marker = join(p.dir, 'PWNED');
    writeFileSync(join(p.dir, 'app/plugin.cjs'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x'); module.exports = { hello: () => 'pwned' };`);
    const r = curl(`https://localhost:${s.port}/plugin`, p.crt, ['-w', '%{http_code}']);
    assert.match(r.stdout, /internal server error\n500$/);
    assert.equal(existsSync(marker), false, 'the dropped module ran');
    await new Promise((res) => setTimeout(res, 100));
    assert.match(s.stderr(), /refused to load \.\/plugin\.cjs from app\/lazy\.cjs: no verified file by that name/);
    assert.match(curl(`https://localhost:${s.port}/`, p.crt).stdout, /base/); // still serving
    assert.match(curl(`https://localhost:${s.port}/around`, p.crt, ['-w', '%{http_code}']).stdout, /500$/);
    assert.equal(existsSync(marker), false, "the dropped module ran through Node's loader");
    await new Promise((res) => setTimeout(res, 100));
    assert.match(s.stderr(), /refused to load .*plugin\.cjs through Node's loader/);
  } finally {
    await s.stop();
  }
});

test('a static file changed while serving is not served', async () => {
  const p = clone();
  const s = await serve(p.dir);
  try {
    writeFileSync(join(p.dir, 'content/readme.txt'), '<script>evil</script>');
    const r = curl(`https://localhost:${s.port}/static/readme.txt`, p.crt, ['-w', '%{http_code}']);
    assert.match(r.stdout, /500$/);
    assert.doesNotMatch(r.stdout, /evil/);
  } finally {
    await s.stop();
  }
});

// ---- hostile TLS clients ---------------------------------------------------------------------------------

test('plain HTTP to the TLS port, a slowloris client and 1,000 concurrent connections', async () => {
  const p = clone();
  setConfig(p, { headersTimeoutMs: 1000 });
  const s = await serve(p.dir);
  const ca = readFileSync(p.crt);
  try {
    const plain = run('curl', ['-sS', '--max-time', '5', `http://127.0.0.1:${s.port}/`]);
    assert.notEqual(plain.code, 0);
    assert.notEqual(plain.code, 28, 'plain HTTP must not hang');

    // slowloris: an unfinished header block, one byte at a time
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve) => {
      const sock = tls.connect({ host: '127.0.0.1', port: s.port, servername: 'localhost', ca }, () => {
        sock.write('GET / HTTP/1.1\r\nHost: localhost\r\n');
        const drip = setInterval(() => sock.writable && sock.write('X'), 200);
        sock.on('close', () => {
          clearInterval(drip);
          resolve(Date.now() - started);
        });
      });
      sock.on('error', () => {});
    });
    assert.ok(closedAfter < 5000, `slowloris socket held for ${closedAfter} ms`);

    const agent = new https.Agent({ ca, keepAlive: false, maxSockets: Infinity });
    const one = () =>
      new Promise<number>((resolve) => {
        https
          .get(`https://localhost:${s.port}/hello`, { agent, timeout: 60_000 }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
          .on('error', () => resolve(0));
      });
    const codes = await Promise.all(Array.from({ length: 1000 }, one));
    assert.equal(codes.filter((c) => c === 200).length, 1000);
    assert.equal(curl(`https://localhost:${s.port}/`, p.crt).code, 0, 'still serving');
  } finally {
    await s.stop();
  }
});

// ---- rotation -------------------------------------------------------------------------------------------

function fingerprint(pem: Buffer | string): string {
  return new X509Certificate(pem).fingerprint256;
}

function peerFingerprint(port: number, agent: https.Agent): Promise<{ fp: string; reused: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(`https://localhost:${port}/hello`, { agent, rejectUnauthorized: true }, (res) => {
      const fp = (res.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ fp, reused: req.reusedSocket, body }));
    });
    req.on('error', reject);
  });
}

async function waitFor(get: () => string, re: RegExp, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (re.test(get())) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${re}\n${get()}`);
}

test('rotation: a rewritten keystore or SIGHUP re-fetches and swaps the context; open connections survive; a failed reload keeps serving', async () => {
  const p = clone();
  const s = await serve(p.dir);
  const oldCa = readFileSync(p.crt);
  const keepAlive = new https.Agent({ ca: oldCa, keepAlive: true, maxSockets: 1 });
  try {
    const first = await peerFingerprint(s.port, keepAlive);
    assert.equal(first.fp, fingerprint(oldCa));

    // PAM rotates: new password in the vault first, then the keystore rewritten with it
    const rotated = `${SENTINEL}-rotated`;
    const store = JSON.parse(readFileSync(p.store, 'utf8'));
    store.accounts['keygate-demo'].password = rotated;
    writeFileSync(p.store, JSON.stringify(store));
    const pw = join(tempDir(), 'pw');
    writeFileSync(pw, rotated);
    const made = keygate(p.dir, ['keystore', 'create', '--force', '--password-file', pw, '--out', 'keystore/keygate-demo.p12', '--key-size', '2048']);
    assert.equal(made.code, 0, made.stderr);
    await waitFor(s.stderr, /reloaded TLS context \(keystore file changed\)/);
    // a reload unlocks in a worker thread: the event loop serving requests is not blocked by node-forge
    assert.match(s.stderr(), /keystore unlocked: .*thread=worker/);
    const newCa = readFileSync(p.crt);
    const fresh = await peerFingerprint(s.port, new https.Agent({ ca: newCa, keepAlive: false }));
    assert.equal(fresh.fp, fingerprint(newCa));
    assert.notEqual(fresh.fp, first.fp);
    const again = await peerFingerprint(s.port, keepAlive); // the open connection kept its session
    assert.equal(again.reused, true);
    assert.equal(again.fp, first.fp);
    keepAlive.destroy();
    assert.deepEqual(vaultCalls(p).map((c) => c.bypass), ['false', 'true']);

    // SIGHUP reloads too
    s.child.kill('SIGHUP');
    await waitFor(s.stderr, /reloaded TLS context \(SIGHUP\)/);

    // a keystore the vault's password does not open: reload fails, the previous context stays
    const pw2 = join(tempDir(), 'pw2');
    writeFileSync(pw2, 'a-password-the-vault-does-not-have');
    keygate(p.dir, ['keystore', 'create', '--force', '--password-file', pw2, '--out', 'keystore/keygate-demo.p12', '--crt', join(tempDir(), 'x.crt'), '--key-size', '2048']);
    await waitFor(s.stderr, /reload failed, still serving the previous certificate/);
    assert.match(s.stderr(), /reload failed, still serving the previous certificate: .*password.*code=KEYSTORE_BAD_PASSWORD/); // the worker's error, intact
    const still = await peerFingerprint(s.port, new https.Agent({ ca: newCa, keepAlive: false }));
    assert.equal(still.fp, fingerprint(newCa));
  } finally {
    keepAlive.destroy();
    assert.equal(await s.stop(), 0);
  }
  assert.ok(!s.stderr().includes(SENTINEL) && !s.stdout().includes(SENTINEL));
});

// ---- audit log ------------------------------------------------------------------------------------------

test('audit log: one JSON line per gate, secret-free', async () => {
  const p = clone();
  const s = await serve(p.dir, ['--log-format', 'json']);
  await s.stop();
  const lines = s.stderr().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const byGate = new Map(lines.filter((l) => l['gate']).map((l) => [l['gate'], String(l['message'])]));
  assert.match(byGate.get('verify')!, /^verified \d+ files in \d+ ms$/);
  assert.match(byGate.get('vault')!, /^vault asked for PAM A2A alias keygate-demo: ok$/);
  assert.match(byGate.get('keystore')!, /^keystore unlocked: CN=localhost.*expires \d{4}-/);
  assert.match(byGate.get('listen')!, /^listening on https:\/\/127\.0\.0\.1:\d+\/$/);
  assert.ok(!s.stderr().includes(SENTINEL));
  for (const l of lines) assert.equal(typeof l['timestamp'], 'string');
});

test('audit log: a vault refusal is logged with its code', async () => {
  const p = clone();
  appendFileSync(join(p.dir, 'dist/main.js'), '\n');
  const r = await serveRefused(p.dir, {});
  assert.match(r.stderr, /vault asked for PAM A2A alias keygate-demo: VAULT_DENIED/);
});
