// Rotation under attack (issue 9 points 4 and 10): reloads are rate-limited and coalesced (touching the keystore
// cannot make keygate call the vault every second, and a change is never dropped), and a pinned key
// (keystore.spkiSha256) refuses a keystore swapped for another, at start and on reload.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SENTINEL, curl, demoProject, keygate, run, serve, serveRefused, tempDir, vaultCalls, type DemoProject } from './helpers/project.js';
import { waitFor } from './helpers/backend.js';

/** Rewrites keygate.config.json with extra keystore settings, then regenerates, pins and registers the entry. */
function reconfigure(p: DemoProject, keystore: Record<string, unknown>): void {
  const file = join(p.dir, 'keygate.config.json');
  const config = JSON.parse(readFileSync(file, 'utf8'));
  config.keystore = { ...config.keystore, ...keystore };
  writeFileSync(file, JSON.stringify(config, null, 2));
  assert.equal(keygate(p.dir, ['generate-filelist']).code, 0);
  const pin = keygate(p.dir, ['pin']);
  const store = JSON.parse(readFileSync(p.store, 'utf8'));
  store.scripts = [{ path: join(p.dir, 'dist/main.js'), sha256: pin.stdout.trim() }];
  writeFileSync(p.store, JSON.stringify(store), { mode: 0o600 });
}

/** SPKI sha256 of a certificate, computed by openssl (not by keygate's own code). */
function opensslSpki(crt: string): string {
  const pub = run('openssl', ['x509', '-in', crt, '-noout', '-pubkey']);
  const der = run('sh', ['-c', 'openssl pkey -pubin -outform der | openssl dgst -sha256 -r'], { input: pub.stdout });
  return der.stdout.split(' ')[0]!;
}

/** A second keystore with the same password (what an attacker who can write the keystore file would plant). */
function swapKeystore(p: DemoProject): void {
  const pw = join(tempDir(), 'pw');
  writeFileSync(pw, SENTINEL);
  const made = keygate(p.dir, ['keystore', 'create', '--force', '--password-file', pw, '--out', 'keystore/keygate-demo.p12', '--crt', join(tempDir(), 'other.crt'), '--key-size', '2048']);
  assert.equal(made.code, 0, made.stderr);
}

test('a pinned key: the same key reloads; a swapped keystore is refused on reload (old one kept) and at start (exit 5)', async () => {
  const p = demoProject();
  reconfigure(p, { spkiSha256: opensslSpki(p.crt), reloadMinIntervalMs: 0 });
  const s = await serve(p.dir);
  try {
    s.child.kill('SIGHUP');
    await waitFor(() => /reloaded TLS context \(SIGHUP\)/.test(s.stderr()), 20_000, 'the pinned reload');
    swapKeystore(p);
    await waitFor(() => /reload failed, still serving the previous certificate: refused keystore .*not a pinned keystore\.spkiSha256/.test(s.stderr()), 20_000, `the refusal\n${s.stderr()}`);
    assert.match(curl(`https://localhost:${s.port}/hello`, p.crt).stdout, /Hello/, 'still serving the pinned certificate');
  } finally {
    assert.equal(await s.stop(), 0);
  }
  const r = await serveRefused(p.dir);
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /\[KEYSTORE_KEY_NOT_PINNED\]/);
  assert.match(r.stderr, /fix: if the key pair was replaced on purpose, put [0-9a-f]{64} in keystore\.spkiSha256/);
});

test('reloads are rate-limited and coalesced: a burst of SIGHUPs is two vault calls, none lost', async () => {
  const p = demoProject();
  reconfigure(p, { reloadMinIntervalMs: 3000 });
  const s = await serve(p.dir);
  try {
    for (let i = 0; i < 6; i++) {
      s.child.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitFor(() => (s.stderr().match(/reloaded TLS context/g) ?? []).length >= 2, 15_000, 'two reloads');
    await new Promise((r) => setTimeout(r, 3500)); // nothing more comes
    // Planted once: without the scheduler every SIGHUP asked the vault (7 calls) or later ones were dropped.
    assert.deepEqual(vaultCalls(p).map((c) => c.bypass), ['false', 'true', 'true']);
    assert.match(s.stderr(), /reload \(SIGHUP\) deferred \d+ ms: at most one vault call per 3000 ms/);
    assert.match(s.stderr(), /coalesced into the next run/);
  } finally {
    assert.equal(await s.stop(), 0);
  }
});
