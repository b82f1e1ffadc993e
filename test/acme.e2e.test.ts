// ACME renewal while serving (issue 30 point 2), against pebble, Let's Encrypt's RFC 8555 test CA (Debian's
// package), started here with its DNS (test/helpers/pebble.ts). The keystore starts as `keygate keystore csr`
// leaves it (the key and a placeholder); keygate orders at once, answers http-01 on its own listener, writes the
// chain under the same password with the ACME account key beside the server key, and the running server picks it
// up through the reload path. Then: renewals while a client keeps requesting (no request fails, the key stays),
// a deactivated account, the CA down, an order the CA refuses: each logged, retried with backoff, the old
// certificate serving meanwhile and the keystore left as it was. No private key is written in the clear.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join, relative } from 'node:path';
import * as acme from 'acme-client';
import { Agent } from 'node:https';
import { SENTINEL, copyEntry, curl, demoProject, keygate, run, serve, tempDir, vaultCalls, type DemoProject, type Served } from './helpers/project.js';
import { waitFor } from './helpers/backend.js';
import { NO_PEBBLE, startPebble, type Pebble } from './helpers/pebble.js';

const PASSWORD = `acme-${SENTINEL}`;
const NAME = 'shop.keygate.test';

/** A project whose keystore is keystore csr's (key + placeholder for `names`), configured for pebble. */
function acmeProject(pebble: Pebble, names: string[], acmeSettings: Record<string, unknown>): { demo: DemoProject; tmp: string; pw: string } {
  const setup = tempDir('kg-acme-csr-');
  copyEntry(setup);
  writeFileSync(join(setup, 'ks.pw'), `${PASSWORD}\n`, { mode: 0o600 });
  const csr = keygate(setup, ['keystore', 'csr', '--password-file', 'ks.pw', ...names.flatMap((n) => ['--dns', n]), '--out', 'ks.p12']);
  assert.equal(csr.code, 0, csr.stderr);
  const demo = demoProject({
    keystore: readFileSync(join(setup, 'ks.p12')),
    password: PASSWORD,
    files: { 'acme-ca.pem': pebble.tlsCaPem },
    templateExtra: 'acme-ca.pem',
    config: {
      keystore: { reloadMinIntervalMs: 0 },
      server: {
        acme: { directoryUrl: pebble.directoryUrl, domains: names, httpPort: pebble.httpPort, caFile: 'acme-ca.pem', jitterFraction: 0, retryMinMs: 1000, retryMaxMs: 2000, ...acmeSettings },
      },
    },
  });
  chmodSync(join(demo.dir, 'keystore/keygate-demo.p12'), 0o600); // as keystore csr writes it; a renewal keeps the mode
  return { demo, tmp: tempDir('kg-acme-tmp-'), pw: join(setup, 'ks.pw') };
}

const count = (text: string, re: RegExp): number => (text.match(new RegExp(re.source, 'g')) ?? []).length;

/** One HTTPS request on a new connection to NAME at 127.0.0.1:port, trusting only `root`: the served leaf's serial. */
function fetchServed(port: number, root: string): Promise<{ status: number; serial: string; spki: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/hello', servername: NAME, ca: root, agent: false, timeout: 10_000 }, (res) => {
      const cert = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate?.();
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          serial: cert?.serialNumber ?? '',
          spki: cert ? cert.publicKey.export({ type: 'spki', format: 'der' }).toString('hex') : '',
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function curlName(s: Served, rootFile: string): ReturnType<typeof curl> {
  return curl(`https://${NAME}:${s.port}/hello`, rootFile, ['--resolve', `${NAME}:${s.port}:127.0.0.1`]);
}

/** The keystore's two keys in memory (openssl prints them; nothing is written). */
function keysOf(p12: string, pwFile: string): { server: string; account: string } {
  const r = run('openssl', ['pkcs12', '-in', p12, '-nocerts', '-nodes', '-passin', `file:${pwFile}`]);
  assert.equal(r.code, 0, r.stderr);
  const blocks = [...r.stdout.matchAll(/friendlyName: (\S+)[\s\S]*?(-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----)/g)];
  const byName = new Map(blocks.map((m) => [m[1]!, m[2]!]));
  assert.ok(byName.has('keygate-acme-account'), `the account key is in the keystore: ${[...byName.keys()].join(', ')}`);
  const server = [...byName].find(([n]) => n !== 'keygate-acme-account')![1];
  return { server, account: byName.get('keygate-acme-account')! };
}

/** Files under dirs: no "PRIVATE KEY", no DER or base64 of either key, no password outside the password files. */
function assertNoPlaintextKeys(dirs: string[], keys: string[]): void {
  const ders = keys.map((k) => createPrivateKey(k).export({ type: 'pkcs8', format: 'der' }));
  for (const dir of dirs) {
    for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!e.isFile()) continue;
      const f = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
      if (/\/(node_modules|dist|dev|app)\//.test(f)) continue; // code, which names PEM labels
      const bytes = readFileSync(f);
      const name = relative(dir, f);
      assert.ok(!bytes.includes('PRIVATE KEY'), `${name} holds "PRIVATE KEY"`);
      for (const der of ders) {
        assert.ok(!bytes.includes(der), `${name} holds a private key's DER`);
        assert.ok(!bytes.includes(der.toString('base64').slice(8, 72)), `${name} holds a private key in base64`);
      }
      if (!/initial-password|ks\.pw|a2a-store\.json|calls\.jsonl/.test(f)) assert.ok(!bytes.includes(PASSWORD), `${name} holds the keystore password`);
    }
  }
}

test('ACME: the placeholder is replaced from pebble at start, renewed twice while a client keeps requesting (no failure, same key), keystore readable by openssl and keytool, no key in the clear', { skip: NO_PEBBLE, timeout: 180_000 }, async () => {
  const pebble = await startPebble({ validitySeconds: 20 });
  const { demo, tmp, pw } = acmeProject(pebble, [NAME], { renewAtFraction: 0.4 });
  // the twice-daily expiry check, every second here: a 20-second certificate is always "in 0 days"
  const s = await serve(demo.dir, [], { TMPDIR: tmp, KG_TEST_EXPIRY_CHECK_MS: '1000' });
  try {
    await waitFor(() => /reloaded TLS context \([^)]*ACME renewal/.test(s.stderr()), 60_000, `the first ACME certificate\n${s.stderr()}\n${pebble.log()}`);
    assert.match(s.stderr(), /ACME: ordering a certificate now: the served certificate is self-issued/);
    assert.match(s.stderr(), /answered the http-01 challenge for token/);
    const rootFile = join(tmp, '..', `pebble-root-${process.pid}.pem`);
    const root = await pebble.root();
    writeFileSync(rootFile, root);
    // curl verifies the chain keygate serves (leaf + pebble's intermediate) against pebble's root, by name
    const c = curlName(s, rootFile);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /Hello, world/);

    // A client on a new connection every 50 ms through two more renewals: none may fail.
    const renewed = count(s.stderr(), /reloaded TLS context \([^)]*ACME renewal/);
    const seen = new Map<string, number>();
    const spkis = new Set<string>();
    let failures = 0;
    let requests = 0;
    let done = false;
    const client = (async () => {
      while (!done) {
        try {
          const r = await fetchServed(s.port, root);
          requests++;
          if (r.status !== 200) failures++;
          seen.set(r.serial, (seen.get(r.serial) ?? 0) + 1);
          spkis.add(r.spki);
        } catch (err) {
          failures++;
          seen.set(`error: ${(err as Error).message}`, 1);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await waitFor(() => count(s.stderr(), /reloaded TLS context \([^)]*ACME renewal/) >= renewed + 2, 60_000, `two renewals\n${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 500));
    done = true;
    await client;
    assert.equal(failures, 0, `failed requests during renewal: ${JSON.stringify([...seen])}`);
    assert.ok(seen.size >= 2, `the served certificate changed while the client ran: ${JSON.stringify([...seen])}`);
    assert.equal(spkis.size, 1, 'every renewal kept the keystore\'s key');
    assert.ok(requests > 20, `requests made: ${requests}`);

    // The keystore as written: openssl 3 (MAC sha256) and keytool 17 read it; the account key is in it.
    const p12 = join(demo.dir, 'keystore/keygate-demo.p12');
    const info = run('openssl', ['pkcs12', '-info', '-noout', '-in', p12, '-passin', `file:${pw}`]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stderr, /MAC: sha256/);
    const list = run('keytool', ['-list', '-storetype', 'PKCS12', '-keystore', p12, '-storepass:file', pw]);
    assert.equal(list.code, 0, list.stdout + list.stderr);
    assert.match(list.stdout, /keygate-acme-account/);
    assert.equal(statSync(p12).mode & 0o777, 0o600);
    const keys = keysOf(p12, pw);
    assert.equal(createPublicKey(keys.server).export({ type: 'spki', format: 'der' }).toString('hex'), [...spkis][0]);
    // The leaf beside the keystore is the served one (doctor reads it without the password).
    const crt = new X509Certificate(readFileSync(join(demo.dir, 'keystore/keygate-demo.crt')));
    assert.ok(crt.subjectAltName?.includes(`DNS:${NAME}`));
    assertNoPlaintextKeys([demo.dir, tmp], [keys.server, keys.account]);
    // every renewal asked the vault with the cache bypassed, and the password is in no log line
    const calls = vaultCalls(demo);
    assert.ok(calls.filter((v) => v.bypass === 'true' || String(v.bypass) === 'true').length >= 3, JSON.stringify(calls.map((v) => v.bypass)));
    assert.ok(!s.stderr().includes(PASSWORD) && !s.stdout().includes(PASSWORD));
    assert.match(s.stderr(), /warn: still serving: the served certificate CN=shop\.keygate\.test \[DNS:shop\.keygate\.test\] expires in 0 days .*renew it now/);
  } finally {
    await s.stop();
    await pebble.stop();
  }
});

test('ACME failures: a deactivated account, the CA down, each logged and retried while the old certificate serves; then renewed', { skip: NO_PEBBLE, timeout: 240_000 }, async () => {
  const pebble = await startPebble({ validitySeconds: 60 });
  const { demo, tmp, pw } = acmeProject(pebble, [NAME], { renewAtFraction: 0.15 });
  const s = await serve(demo.dir, [], { TMPDIR: tmp });
  const renewals = (): number => count(s.stderr(), /reloaded TLS context \([^)]*ACME renewal/);
  try {
    await waitFor(() => renewals() >= 1, 60_000, `the first ACME certificate\n${s.stderr()}`);
    let root = await pebble.root();

    // The account deactivated from outside (as an operator or the CA would), with its key from the keystore.
    const p12 = join(demo.dir, 'keystore/keygate-demo.p12');
    const { account } = keysOf(p12, pw);
    acme.axios.defaults.httpsAgent = new Agent({ ca: pebble.tlsCaPem });
    const outside = new acme.Client({ directoryUrl: pebble.directoryUrl, accountKey: account });
    await outside.createAccount({ onlyReturnExisting: true });
    await outside.updateAccount({ status: 'deactivated' });
    await waitFor(() => /ACME: renewal failed \(attempt 1\).*the CA says the ACME account is deactivated/.test(s.stderr()), 60_000, `the deactivated account seen\n${s.stderr()}`);
    const before = renewals();
    await waitFor(() => renewals() > before, 30_000, `a renewal with a new account\n${s.stderr()}`);
    assert.match(s.stderr(), /registering a new account key .*: the CA deactivated the previous account/);
    assert.notEqual(keysOf(p12, pw).account, account, 'a new account key replaced the deactivated one in the keystore');

    // The CA down: failures logged with the reason and a growing delay; the certificate already served still works.
    const served = await fetchServed(s.port, root);
    const keystoreBefore = readFileSync(p12);
    await pebble.down();
    await waitFor(() => /ACME: renewal failed \(attempt 2\).*cannot be reached \(ECONNREFUSED/.test(s.stderr()), 60_000, `two failures with the CA down\n${s.stderr()}`);
    const during = await fetchServed(s.port, root);
    assert.deepEqual([during.status, during.serial], [200, served.serial], 'the old certificate serves while the CA is down');
    assert.ok(readFileSync(p12).equals(keystoreBefore), 'a failed renewal leaves the keystore as it was');
    assert.match(s.stderr(), /next attempt in \d+ s/);

    // The CA back (a new pebble: a new root, no accounts): the next attempt renews.
    const down = renewals();
    await pebble.start();
    root = await pebble.root();
    await waitFor(() => renewals() > down, 60_000, `renewed after the CA came back\n${s.stderr()}`);
    const after = await fetchServed(s.port, root);
    assert.equal(after.status, 200);
    assert.notEqual(after.serial, served.serial);
  } finally {
    await s.stop();
    await pebble.stop();
  }
});

test('ACME: an order the CA refuses (http-01 cannot be fetched) is logged with the CA\'s reason, retried, and the keystore and the served placeholder stay', { skip: NO_PEBBLE, timeout: 120_000 }, async () => {
  const pebble = await startPebble({ validitySeconds: 60 });
  // The CA resolves this name to an address where nothing answers http-01.
  await pebble.mapHost('fail.keygate.test', '127.0.0.2');
  const { demo, tmp } = acmeProject(pebble, ['fail.keygate.test'], {});
  const p12 = join(demo.dir, 'keystore/keygate-demo.p12');
  const before = readFileSync(p12);
  const s = await serve(demo.dir, [], { TMPDIR: tmp });
  try {
    await waitFor(() => /ACME: renewal failed \(attempt 2\)/.test(s.stderr()), 60_000, `two failed orders\n${s.stderr()}\n${pebble.log()}`);
    const line = s.stderr().split('\n').find((l) => l.includes('ACME: renewal failed (attempt 1)'))!;
    // the CA's own words: where it tried to fetch the challenge and what it got
    assert.match(line, /http:\/\/fail\.keygate\.test:\d+\/\.well-known\/acme-challenge\/[\w-]+.*127\.0\.0\.2:\d+: connect: connection refused; next attempt in \d+ s/, line);
    assert.ok(readFileSync(p12).equals(before), 'the keystore is as keystore csr left it');
    // one account for all the attempts of a first order (a CA rate-limits new accounts), not one per retry
    assert.equal(count(s.stderr(), /registering a new account key/), 1, s.stderr());
    assert.doesNotMatch(s.stderr(), /reloaded TLS context/);
    // still serving the placeholder
    const r = run('openssl', ['s_client', '-connect', `127.0.0.1:${s.port}`, '-servername', 'fail.keygate.test'], { input: '' });
    assert.match(r.stdout, /keygate placeholder until keystore import/);
  } finally {
    await s.stop();
    await pebble.stop();
  }
});
