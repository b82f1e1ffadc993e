// The reload worker: bounded by a timeout that terminates it, and running the same capped unlock as the main
// thread. The worker's code is built here from src/unlock-worker.ts the way scripts/build.mjs builds it (under
// tsx there is no bundle, so the real worker path would otherwise go untested).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, buildSync } from 'esbuild';
import { unlockOffThread } from './unlock-off-thread.js';
import { Secret } from './secret.js';
import { KeygateError } from '../errors.js';
import { ROOT, run, tempDir } from '../../test/helpers/project.js';

let workerSource: string;
let keystoreSource: string;
let dir: string;
const PW = 'changeit-Long-Pass';

function openssl(...args: string[]): void {
  const r = run('openssl', args, { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
}

before(async () => {
  const built = buildSync({ entryPoints: [join(ROOT, 'src/unlock-worker.ts')], bundle: true, platform: 'node', target: 'node20', format: 'iife', write: false, logLevel: 'warning' });
  workerSource = built.outputFiles[0]!.text;
  // The keystore part as scripts/build.mjs makes it: CommonJS, errors.ts left to the worker ('keygate:errors').
  const keystore = await build({
    entryPoints: [join(ROOT, 'src/adapters/keystore.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    logLevel: 'warning',
    plugins: [{ name: 'shared', setup: (b) => b.onResolve({ filter: /\/errors\.js$/ }, () => ({ path: 'keygate:errors', external: true })) }],
  });
  keystoreSource = keystore.outputFiles[0]!.text;
  dir = tempDir('kg-worker-');
  writeFileSync(join(dir, 'pw'), PW);
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '30', '-subj', '/CN=localhost');
  openssl('pkcs12', '-export', '-inkey', 'k.pem', '-in', 'c.pem', '-out', 'ok.p12', '-passout', `file:${join(dir, 'pw')}`);
});

async function failure(p: Promise<unknown>): Promise<KeygateError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof KeygateError, String(err));
    return err;
  }
  assert.fail('expected a failure');
}

test('a worker that never answers is terminated after the timeout, and the reload fails cleanly', async () => {
  // Stands in for any unlock stuck in synchronous code: the reload must settle and the thread must go away
  // (a worker left spinning would also keep the process alive after SIGTERM; this test file would not end).
  const spin = "require('node:worker_threads').parentPort.once('message', () => { for (;;) {} });";
  const t = Date.now();
  const err = await failure(unlockOffThread(Buffer.from('x'), new Secret('pw'), { name: 'keystore/ks.p12' }, { source: spin, keystoreSource: '', timeoutMs: 300 }));
  const ms = Date.now() - t;
  assert.equal(err.code, 'KEYSTORE_TIMEOUT');
  assert.equal(err.message, 'failed to unlock keystore/ks.p12: the unlock did not finish within 300 ms and was stopped');
  assert.ok(ms >= 290 && ms < 3000, `settled after ${ms} ms`);
});

test('the real worker unlocks a keystore and refuses one above the iteration cap at once', async () => {
  const ok = await unlockOffThread(readFileSync(join(dir, 'ok.p12')), new Secret(PW), { name: 'ok.p12' }, { source: workerSource, keystoreSource });
  assert.match(ok.subject, /CN=localhost/);
  assert.ok(ok.notAfter instanceof Date);
  openssl('pkcs12', '-export', '-inkey', 'k.pem', '-in', 'c.pem', '-out', 'big.p12', '-passout', `file:${join(dir, 'pw')}`, '-iter', '10000001', '-certpbe', 'NONE', '-keypbe', 'NONE');
  const t = Date.now();
  const err = await failure(unlockOffThread(readFileSync(join(dir, 'big.p12')), new Secret(PW), { name: 'big.p12' }, { source: workerSource, keystoreSource, timeoutMs: 10_000 }));
  assert.equal(err.code, 'KEYSTORE_UNSUPPORTED', err.message);
  assert.match(err.message, /MAC asks for 10000001 iterations/);
  assert.ok(Date.now() - t < 5000);
});
