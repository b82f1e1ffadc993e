// Signed releases (issue 21, docs/releases.md): the entry pins release keys once; CI signs each release; two
// "hosts" (two copies of the project) start every signed release with the registration they already have, and
// refuse an older release, an expired one, one signed by an unpinned key, one for another project, a tampered
// manifest and a stripped signature, each before the vault is asked.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign as signBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, lchownSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IS_ROOT, ROOT, curl, demoProject, keygate, serve, serveRefused, sha256, sha256File, tempDir, vaultCalls, type DemoProject } from './helpers/project.js';
import { backendPid, backendProject, missingPeer, waitFor } from './helpers/backend.js';

const skip = IS_ROOT ? undefined : 'the host floor (stateFile) must be root-owned: run as root (CI does)';

/** Registers an entry hash for a host's entry path with its dev vault (what an operator does once in PAM). */
function register(host: DemoProject, entryHash: string): void {
  const store = JSON.parse(readFileSync(host.store, 'utf8')) as { scripts: { path: string; sha256: string }[] };
  store.scripts = [{ path: join(host.dir, 'dist/main.js'), sha256: entryHash }];
  writeFileSync(host.store, JSON.stringify(store, null, 2), { mode: 0o600 });
}

/** CI's side: keygen with the package's own entry, in a folder of keys outside any project. */
const keygen = (dir: string, name: string, pw: string) => keygate(dir, ['release', 'keygen', '--out', name, '--password-file', pw], { entry: join(ROOT, 'dist/main.js') });

/**
 * Signs a payload as CI's key would, but by hand: for releases `release sign` refuses to make (an expiry in the
 * past, a time without a zone), to show that the gate refuses them too.
 */
function signByHand(dir: string, keyFile: string, passFile: string, payload: Record<string, unknown>): void {
  const key = createPrivateKey({ key: readFileSync(keyFile), passphrase: readFileSync(passFile, 'utf8').trimEnd() });
  const raw = Buffer.from((createPublicKey(key).export({ format: 'jwk' }) as { x: string }).x, 'base64url');
  const type = 'application/vnd.keygate.release+json';
  const bytes = Buffer.from(JSON.stringify(payload));
  const sig = signBytes(null, Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${bytes.length} `), bytes]), key).toString('base64');
  writeFileSync(join(dir, 'filelist.sha256.sig'), JSON.stringify({ payloadType: type, payload: bytes.toString('base64'), signatures: [{ keyid: sha256(raw), sig }] }));
}

function ok(r: { code: number; stderr: string }, what: string): void {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
}

/** Copies the release files (a changed file, the manifest and its signature) from CI to a host. */
function deploy(ci: string, host: string, files: readonly string[]): void {
  for (const f of [...files, 'filelist.sha256', 'filelist.sha256.sig']) copyFileSync(join(ci, f), join(host, f));
}

async function startsAndServes(host: DemoProject, expectRelease: number): Promise<void> {
  const s = await serve(host.dir);
  try {
    assert.equal(curl(`${s.url}hello`, host.crt).code, 0);
    assert.match(s.stderr(), new RegExp(`release ${expectRelease} of kg-shop signed by [0-9a-f]{64}`));
  } finally {
    await s.stop();
  }
}

test('a release signed in CI starts on two hosts with one registration; a patched release too; every bad release is refused before the vault', { skip, timeout: 600_000 }, async () => {
  const keys = tempDir('kg-release-keys-');
  const pw = join(keys, 'pass');
  writeFileSync(pw, 'correct horse battery staple\n', { mode: 0o600 });
  ok(keygen(keys, 'ci', pw), 'keygen ci');
  ok(keygen(keys, 'rogue', pw), 'keygen rogue');
  assert.match(readFileSync(join(keys, 'ci.key'), 'latin1'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);

  // CI: the project's tree, the keys pinned once (the trust root's state file is the hosts' root-owned floor).
  const ci = demoProject();
  const stateDir = tempDir('kg-release-state-');
  const state = join(stateDir, 'kg-shop.version');
  const pinned = keygate(ci.dir, ['pin', '--release-keys', join(keys, 'ci.pub'), '--project', 'kg-shop', '--state-file', state]);
  ok(pinned, 'pin --release-keys');
  const entryHash = pinned.stdout.trim();
  assert.equal(sha256File(join(ci.dir, 'dist/main.js')), entryHash);
  const signAs = (key: string, version: number, extra: readonly string[] = []) =>
    keygate(ci.dir, ['release', 'sign', '--key', join(keys, `${key}.key`), '--password-file', pw, '--release-version', String(version), ...extra]);
  ok(keygate(ci.dir, ['generate-filelist']), 'generate');
  ok(signAs('ci', 1), 'sign 1');
  ok(keygate(ci.dir, ['release', 'verify']), 'release verify');
  ok(keygate(ci.dir, ['check']), 'check in release mode');

  // Two hosts: the same files, each with its own dev vault holding the one registration (the entry's hash).
  const hosts = [demoProject(), demoProject()];
  for (const host of hosts) {
    for (const f of ['dist/main.js', 'keygate.trust.json', 'keystore/keygate-demo.p12', 'keystore/keygate-demo.crt']) copyFileSync(join(ci.dir, f), join(host.dir, f));
    // the hosts' keystores are CI's (the demo's keystore password is the same sentinel everywhere)
    deploy(ci.dir, host.dir, []);
    register(host, entryHash);
  }
  // Install: root creates the floor from the release that verifies now.
  ok(keygate(hosts[0]!.dir, ['release', 'accept']), 'release accept');
  assert.equal(readFileSync(state, 'utf8'), '1\n');
  for (const host of hosts) await startsAndServes(host, 1);

  // A patch: one listed file changes; CI regenerates and signs release 2; both hosts start it as registered.
  const old = tempDir('kg-release-1-');
  for (const f of ['content/readme.txt', 'filelist.sha256', 'filelist.sha256.sig']) cpSync(join(ci.dir, f), join(old, f), { recursive: true });
  writeFileSync(join(ci.dir, 'content/readme.txt'), 'patched readme\n');
  ok(keygate(ci.dir, ['generate-filelist']), 'generate 2');
  assert.notEqual(keygate(ci.dir, ['release', 'verify']).code, 0, 'the old signature does not cover the new manifest');
  ok(signAs('ci', 2), 'sign 2');
  for (const host of hosts) {
    deploy(ci.dir, host.dir, ['content/readme.txt']);
    await startsAndServes(host, 2);
    // The vault released the password (A2A status 400) to the entry registered once: it hashed the entry and matched.
    const call = vaultCalls(host).at(-1) as { status: number; script?: string };
    assert.deepEqual([call.status, call.script], [400, join(host.dir, 'dist/main.js')], 'the vault did not release the password to the registered entry after the patch');
  }
  assert.equal(readFileSync(state, 'utf8'), '2\n', 'a root start raised the host floor to the release it accepted');

  // Each refusal: exit 3, the code named, and the vault not asked.
  const host = hosts[1]!;
  const refused = async (code: string, why: string): Promise<void> => {
    const before = vaultCalls(host).length;
    const r = await serveRefused(host.dir);
    assert.equal(r.code, 3, `${why}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(code), why);
    assert.equal(vaultCalls(host).length, before, `${why}: the vault was asked`);
  };
  const restore = (): void => deploy(ci.dir, host.dir, ['content/readme.txt']);

  // an older signed release (files, manifest and signature of release 1): the host accepted 2
  for (const f of ['content/readme.txt', 'filelist.sha256', 'filelist.sha256.sig']) copyFileSync(join(old, f), join(host.dir, f));
  await refused('RELEASE_ROLLBACK', 'an older release');
  restore();

  // expired
  signByHand(ci.dir, join(keys, 'ci.key'), pw, { project: 'kg-shop', version: 3, expires: '2020-01-01T00:00:00Z', manifestSha256: sha256File(join(ci.dir, 'filelist.sha256')) });
  deploy(ci.dir, host.dir, []);
  await refused('RELEASE_EXPIRED', 'an expired release');

  // signed by a key the entry does not pin
  ok(signAs('rogue', 3), 'sign rogue');
  deploy(ci.dir, host.dir, []);
  await refused('RELEASE_INVALID', 'an unpinned key');

  // for another project (a valid key, a valid signature)
  ok(signAs('ci', 3, ['--project', 'other-shop']), 'sign other project');
  deploy(ci.dir, host.dir, []);
  await refused('RELEASE_INVALID', 'another project\'s release');

  // a tampered manifest under a valid signature: one hash digit changed
  ok(signAs('ci', 3), 'sign 3');
  deploy(ci.dir, host.dir, []);
  const manifest = readFileSync(join(host.dir, 'filelist.sha256'), 'utf8');
  writeFileSync(join(host.dir, 'filelist.sha256'), manifest.replace(/^([0-9a-f])/, (d) => (d === '0' ? '1' : '0')));
  await refused('RELEASE_INVALID', 'a tampered manifest');

  // a pinned key's signature moved onto another payload (the version raised by hand)
  deploy(ci.dir, host.dir, []);
  const envelope = JSON.parse(readFileSync(join(host.dir, 'filelist.sha256.sig'), 'utf8')) as { payload: string };
  const payload = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as { version: number };
  envelope.payload = Buffer.from(JSON.stringify({ ...payload, version: 99 })).toString('base64');
  writeFileSync(join(host.dir, 'filelist.sha256.sig'), JSON.stringify(envelope));
  await refused('RELEASE_INVALID', 'a signature over another payload');

  // the signature stripped
  deploy(ci.dir, host.dir, []);
  rmSync(join(host.dir, 'filelist.sha256.sig'));
  await refused('RELEASE_INVALID', 'a stripped signature');

  // a floor the service user could lower is no floor: a state file others can write is refused
  deploy(ci.dir, host.dir, []);
  chmodSync(state, 0o666);
  await refused('RELEASE_STATE_UNSAFE', 'a state file others can write');
  chmodSync(state, 0o644);
  await startsAndServes(host, 3);
});

test('k of n: a threshold of two needs two pinned keys; the single-hash pin still works beside it', { timeout: 300_000 }, async () => {
  const keys = tempDir('kg-release-keys-');
  const pw = join(keys, 'pass');
  writeFileSync(pw, 'another passphrase\n', { mode: 0o600 });
  for (const k of ['a', 'b']) ok(keygen(keys, k, pw), `keygen ${k}`);
  const p = demoProject();
  const pinned = keygate(p.dir, ['pin', '--release-keys', `${join(keys, 'a.pub')},${join(keys, 'b.pub')}`, '--threshold', '2', '--project', 'kg-shop']);
  ok(pinned, 'pin 2 of 2');
  register(p, pinned.stdout.trim());
  const sign = (k: string, extra: readonly string[] = []) => keygate(p.dir, ['release', 'sign', '--key', join(keys, `${k}.key`), '--password-file', pw, ...extra]);
  ok(sign('a', ['--release-version', '1']), 'sign a');
  assert.match(keygate(p.dir, ['release', 'verify']).stderr, /1 valid signature\(s\) by pinned keys, 2 needed/);
  const r = await serveRefused(p.dir);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /RELEASE_INVALID|2 needed/);
  ok(sign('b', ['--append']), 'sign b --append');
  ok(keygate(p.dir, ['release', 'verify']), 'verify 2 of 2');
  const s = await serve(p.dir);
  await s.stop();
  // back to the single-hash pin: refused unless asked for by name (PAM would need a new registration), then the
  // manifest's own hash, exactly as before releases existed
  const entryBefore = sha256File(join(p.dir, 'dist/main.js'));
  const refusedPin = keygate(p.dir, ['pin']);
  assert.equal(refusedPin.code, 2, refusedPin.stderr);
  assert.match(refusedPin.stderr, /refused to pin the manifest into .*PAM would need a new registration.*\[USAGE\]\n  fix: a change is a new signed release: .* release sign --key <release key> .*--release-version <next>; to leave signed releases on purpose: node dist\/main\.js pin --replace-trust-root/);
  assert.equal(sha256File(join(p.dir, 'dist/main.js')), entryBefore, 'a refused pin changed the entry');
  const plain = keygate(p.dir, ['pin', '--replace-trust-root']);
  ok(plain, 'plain pin');
  assert.equal(existsSync(join(p.dir, 'keygate.trust.json')), false, 'the trust root the entry no longer pins was left beside the template');
  register(p, plain.stdout.trim());
  const again = await serve(p.dir);
  assert.doesNotMatch(again.stderr(), /gate=release/);
  await again.stop();
});

test('rotation: a re-pin that retires a key (one registration) refuses its releases and accepts the new key\'s', { timeout: 300_000 }, async () => {
  const keys = tempDir('kg-release-keys-');
  const pw = join(keys, 'pass');
  writeFileSync(pw, 'rotation passphrase\n', { mode: 0o600 });
  for (const k of ['old', 'backup', 'next']) ok(keygen(keys, k, pw), `keygen ${k}`);
  const p = demoProject();
  const sign = (k: string, version: number) => keygate(p.dir, ['release', 'sign', '--key', join(keys, `${k}.key`), '--password-file', pw, '--release-version', String(version), '--project', 'kg-shop']);
  const pinKeys = (list: string[]) => {
    const r = keygate(p.dir, ['pin', '--release-keys', list.map((k) => join(keys, `${k}.pub`)).join(','), '--project', 'kg-shop']);
    ok(r, `pin ${list.join(',')}`);
    register(p, r.stdout.trim());
  };
  pinKeys(['old', 'backup']);
  ok(sign('old', 1), 'sign old');
  await (await serve(p.dir)).stop();
  ok(sign('backup', 2), 'the backup key signs too, with the same registration');
  await (await serve(p.dir)).stop();
  pinKeys(['backup', 'next']); // retires "old": the one new registration of this rotation
  ok(sign('old', 3), 'sign with the retired key');
  const r = await serveRefused(p.dir);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /RELEASE_INVALID/);
  ok(sign('next', 3), 'sign next');
  await (await serve(p.dir)).stop();
});

test('a release that expires while the service runs does not stop it at a backend restart; a release deployed meanwhile waits for keygate\'s own restart', { skip: missingPeer('python'), timeout: 300_000 }, async () => {
  const keys = tempDir('kg-release-keys-');
  const pw = join(keys, 'pass');
  writeFileSync(pw, 'correct horse battery staple\n', { mode: 0o600 });
  ok(keygen(keys, 'ci', pw), 'keygen');
  const p = backendProject('plain', { restart: { initialDelayMs: 100, maxDelayMs: 200, maxRestarts: 5, resetAfterMs: 60_000 } });
  const pinned = keygate(p.dir, ['pin', '--release-keys', join(keys, 'ci.pub'), '--project', 'kg-shop']);
  ok(pinned, 'pin --release-keys');
  register(p, pinned.stdout.trim());
  const sign = (version: number, expires: string) => keygate(p.dir, ['release', 'sign', '--key', join(keys, 'ci.key'), '--password-file', pw, '--release-version', String(version), '--expires', expires]);
  ok(keygate(p.dir, ['generate-filelist']), 'generate');
  const expires = new Date(Date.now() + 10_000);
  ok(sign(1, expires.toISOString()), 'sign 1');
  const s = await serve(p.dir);
  try {
    await new Promise((r) => setTimeout(r, Math.max(0, expires.getTime() - Date.now() + 1000)));
    // Planted once (the release judged again at the restart): exit 3 with RELEASE_EXPIRED here.
    process.kill(backendPid(s)!, 'SIGKILL');
    const second = await waitFor(() => backendPid(s, 2), 30_000, 'the backend restarted after the release expired');
    assert.equal(s.child.exitCode, null, s.stderr());
    // Release 2 lands on disk while release 1 runs: the backend is not restarted on files keygate did not start with.
    writeFileSync(join(p.dir, 'backend/app.py'), readFileSync(join(p.dir, 'backend/app.py'), 'utf8') + '\n# release 2\n');
    ok(keygate(p.dir, ['generate-filelist']), 'generate 2');
    ok(sign(2, '90d'), 'sign 2');
    process.kill(second, 'SIGKILL');
    assert.equal(await s.exited, 3, s.stderr());
    assert.match(s.stderr(), /keygate started on [0-9a-f]{64} \[PIN_MISMATCH\]/);
    assert.match(s.stderr(), /fix: a new release is applied by a restart of keygate itself/);
  } finally {
    s.child.kill('SIGKILL');
  }
});

/** An Ed25519 public key's SPKI PEM from its raw 32 bytes, whatever point they encode. */
const spkiPem = (raw: Buffer): string => `-----BEGIN PUBLIC KEY-----\n${Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]).toString('base64')}\n-----END PUBLIC KEY-----\n`;

test('a small-order or non-canonical release key is refused at the gate and at pin: with the identity point pinned, R=identity S=0 would verify any release', { timeout: 300_000 }, async () => {
  const keys = tempDir('kg-release-keys-');
  const pw = join(keys, 'pass');
  writeFileSync(pw, 'identity passphrase\n', { mode: 0o600 });
  ok(keygen(keys, 'ci', pw), 'keygen');
  const identity = Buffer.alloc(32);
  identity[0] = 1; // y = 1: the neutral element
  const p = demoProject();
  ok(keygate(p.dir, ['pin', '--release-keys', join(keys, 'ci.pub'), '--project', 'kg-shop']), 'pin a sound key');
  // The gate: a trust root naming the identity point, pinned in the entry by hand (as a reviewed PR might).
  const trustFile = join(p.dir, 'keygate.trust.json');
  const before = readFileSync(trustFile);
  const root = JSON.parse(before.toString('utf8')) as { keys: { id: string; publicKey: string }[] };
  root.keys = [{ id: sha256(identity), publicKey: identity.toString('base64') }];
  const rootBytes = Buffer.from(`${JSON.stringify(root, null, 2)}\n`);
  writeFileSync(trustFile, rootBytes);
  const entry = join(p.dir, 'dist/main.js');
  writeFileSync(entry, readFileSync(entry, 'latin1').replace(sha256(before), sha256(rootBytes)), 'latin1');
  register(p, sha256File(entry));
  // A forged release, made with no private key: R = the identity's encoding, S = 0.
  const payload = { project: 'kg-shop', version: 999, expires: new Date(Date.now() + 86_400_000).toISOString(), manifestSha256: sha256File(join(p.dir, 'filelist.sha256')) };
  const forged = Buffer.concat([identity, Buffer.alloc(32)]).toString('base64');
  writeFileSync(join(p.dir, 'filelist.sha256.sig'), JSON.stringify({ payloadType: 'application/vnd.keygate.release+json', payload: Buffer.from(JSON.stringify(payload)).toString('base64'), signatures: [{ keyid: sha256(identity), sig: forged }] }));
  const verified = keygate(p.dir, ['release', 'verify']);
  assert.equal(verified.code, 3, `release verify accepted a forged release: ${verified.stderr}`);
  assert.match(verified.stderr, /small order.*\[RELEASE_INVALID\]/);
  const before2 = vaultCalls(p).length;
  const r = await serveRefused(p.dir);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /small order.*\[RELEASE_INVALID\]/);
  assert.equal(vaultCalls(p).length, before2, 'the vault was asked');
  // pin: the identity, the other small-order points, and a non-canonical encoding (y = p + 1, the identity again)
  const p1 = Buffer.from('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex');
  const order8 = Buffer.from('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'hex');
  const zero = Buffer.alloc(32);
  const notOnCurve = Buffer.alloc(32);
  notOnCurve[0] = 2; // y = 2: (y²-1)/(dy²+1) has no square root mod p
  for (const [name, raw, why] of [
    ['identity', identity, /small order/],
    ['order8', order8, /small order/],
    ['zero', zero, /small order/],
    ['noncanonical', p1, /not canonical/],
    ['offcurve', notOnCurve, /not a point on the curve/],
  ] as const) {
    writeFileSync(join(keys, `${name}.pub`), spkiPem(raw));
    const pinned = keygate(p.dir, ['pin', '--release-keys', `${join(keys, 'ci.pub')},${join(keys, `${name}.pub`)}`, '--project', 'kg-shop']);
    assert.equal(pinned.code, 2, `pin accepted the ${name} key: ${pinned.stderr}`);
    assert.match(pinned.stderr, why, name);
    assert.match(pinned.stderr, new RegExp(`${name}\\.pub.*\\[USAGE\\]`), name);
  }
});

test('what binds a release to a deployment: pin needs --project; an expiry without a zone is refused by sign and by the gate; sign refuses an expiry in the past', { timeout: 300_000 }, () => {
  const keys = tempDir('kg-release-keys-');
  const pw = join(keys, 'pass');
  writeFileSync(pw, 'binding passphrase\n', { mode: 0o600 });
  ok(keygen(keys, 'ci', pw), 'keygen');
  const p = demoProject();
  const noProject = keygate(p.dir, ['pin', '--release-keys', join(keys, 'ci.pub')]);
  assert.equal(noProject.code, 2, noProject.stderr);
  assert.match(noProject.stderr, /no --project .*\[USAGE\]\n  fix: pass --project <name>/);
  assert.equal(existsSync(join(p.dir, 'keygate.trust.json')), false, 'pin wrote a trust root without a project');
  ok(keygate(p.dir, ['pin', '--release-keys', join(keys, 'ci.pub'), '--project', 'kg-shop-prod']), 'pin --project');
  const sign = (expires: string) => keygate(p.dir, ['release', 'sign', '--key', join(keys, 'ci.key'), '--password-file', pw, '--release-version', '1', '--expires', expires]);
  const local = sign('2099-01-01T00:00:00');
  assert.equal(local.code, 2, local.stderr);
  assert.match(local.stderr, /--expires 2099-01-01T00:00:00: not an ISO time with a zone/);
  const past = sign('2020-01-01T00:00:00Z');
  assert.equal(past.code, 2, past.stderr);
  assert.match(past.stderr, /refused to sign: --expires 2020-01-01T00:00:00Z is .*not after now/);
  assert.equal(existsSync(join(p.dir, 'filelist.sha256.sig')), false, 'a refused sign wrote an envelope');
  const manifestSha256 = sha256File(join(p.dir, 'filelist.sha256'));
  signByHand(p.dir, join(keys, 'ci.key'), pw, { project: 'kg-shop-prod', version: 1, expires: '2099-01-01T00:00:00', manifestSha256 });
  const zoneless = keygate(p.dir, ['release', 'verify']);
  assert.equal(zoneless.code, 3, zoneless.stderr);
  assert.match(zoneless.stderr, /expires "2099-01-01T00:00:00" is not an ISO 8601 time with a zone.*\[RELEASE_INVALID\]/);
  signByHand(p.dir, join(keys, 'ci.key'), pw, { project: 'kg-shop-prod', version: 1, expires: '2099-01-01T00:00:00+01:00', manifestSha256 });
  ok(keygate(p.dir, ['release', 'verify']), 'the same release with its zone');
  ok(sign('2099-01-01T00:00:00Z'), 'sign with a zone');
});

/** The command a fix line prints, from `node dist/main.js` up to where `until` matches, placeholders filled in. */
function printedFix(stderr: string, until: RegExp, fill: Record<string, string>): string {
  const line = /^  fix: (.*)$/m.exec(stderr)?.[1] ?? assert.fail(`no fix line in: ${stderr}`);
  const from = line.indexOf('node dist/main.js');
  assert.ok(from >= 0, `no command in the fix line: ${line}`);
  const rest = line.slice(from);
  let command = rest.slice(0, until.exec(rest)?.index ?? rest.length);
  for (const [placeholder, value] of Object.entries(fill)) command = command.split(placeholder).join(value);
  assert.doesNotMatch(command, /<[^>]*>/, `a placeholder left in ${command}`);
  return command;
}

/** Runs a printed fix line through the shell, in the project (as the operator would paste it). */
function runFix(dir: string, command: string): { code: number; stderr: string } {
  const r = spawnSync('sh', ['-c', command], { cwd: dir, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', LANG: 'C.UTF-8' } });
  return { code: r.status ?? -1, stderr: r.stderr };
}

test('release mode: each fix line signs a new release (--release-version, never pin), and works as printed', { timeout: 300_000 }, async () => {
  const keys = tempDir('kg-release-keys-');
  const pw = join(keys, 'pass');
  writeFileSync(pw, 'fix line passphrase\n', { mode: 0o600 });
  ok(keygen(keys, 'ci', pw), 'keygen');
  const p = demoProject();
  const pinned = keygate(p.dir, ['pin', '--release-keys', join(keys, 'ci.pub'), '--project', 'kg-shop', '--min-version', '3']);
  ok(pinned, 'pin --release-keys --min-version 3');
  register(p, pinned.stdout.trim());
  const fill = { '<release key>': join(keys, 'ci.key'), '<its passphrase file>': pw };
  const sig = join(p.dir, 'filelist.sha256.sig');
  const version = (): number => (JSON.parse(Buffer.from((JSON.parse(readFileSync(sig, 'utf8')) as { payload: string }).payload, 'base64').toString('utf8')) as { version: number }).version;

  // RELEASE_ROLLBACK: release 1 is below minVersion 3; the printed sign command makes release 3, which verifies.
  ok(keygate(p.dir, ['release', 'sign', '--key', join(keys, 'ci.key'), '--password-file', pw, '--release-version', '1']), 'sign 1');
  const rollback = keygate(p.dir, ['release', 'verify']);
  assert.equal(rollback.code, 3, rollback.stderr);
  assert.match(rollback.stderr, /\[RELEASE_ROLLBACK\]\n  fix: deploy the current release, or in CI sign a newer one: node dist\/main\.js release sign .*--release-version <next>$/m);
  ok(runFix(p.dir, printedFix(rollback.stderr, /$/, { ...fill, '<next>': '3' })), 'the RELEASE_ROLLBACK fix as printed');
  assert.equal(version(), 3, 'the printed fix signed no new release');
  ok(keygate(p.dir, ['release', 'verify']), 'release 3 verifies');

  // check's PIN_STALE: a file changed, the manifest not regenerated; the printed fix regenerates and signs release 4.
  writeFileSync(join(p.dir, 'content/readme.txt'), 'release 4\n');
  const stale = keygate(p.dir, ['check']);
  assert.equal(stale.code, 3, stale.stderr);
  assert.match(stale.stderr, /\[PIN_STALE\]\n  fix: node dist\/main\.js generate-filelist, then node dist\/main\.js release sign .*--release-version <next>$/m);
  assert.doesNotMatch(stale.stderr, /main\.js pin\b/);
  ok(runFix(p.dir, printedFix(stale.stderr, /$/, { ...fill, '<next>': '4', ', then ': ' && ' })), 'the PIN_STALE fix as printed');
  assert.equal(version(), 4);
  ok(keygate(p.dir, ['check']), 'check after the printed fix');

  // INTEGRITY_MISMATCH at start: a changed file; the fix says sign a new release (CI), never pin; run as printed it
  // makes release 5, which starts with the registration the host already has.
  writeFileSync(join(p.dir, 'content/readme.txt'), 'release 5\n');
  const calls = vaultCalls(p).length;
  const tampered = await serveRefused(p.dir);
  assert.equal(tampered.code, 3, tampered.stderr);
  assert.equal(vaultCalls(p).length, calls, 'the vault was asked');
  assert.match(tampered.stderr, /\[INTEGRITY_MISMATCH\]\n(?:  .*\n)*?  fix: restore the files from your release; if the change is intended, it is a new release: in CI node dist\/main\.js generate-filelist && node dist\/main\.js release sign .*--release-version <next>, and deploy/);
  assert.doesNotMatch(tampered.stderr, /main\.js pin\b/);
  ok(runFix(p.dir, printedFix(tampered.stderr, /, and deploy/, { ...fill, '<next>': '5' })), 'the INTEGRITY_MISMATCH fix as printed');
  assert.equal(version(), 5);
  const s = await serve(p.dir);
  try {
    assert.match(s.stderr(), /release 5 of kg-shop signed by/);
  } finally {
    await s.stop();
  }

  // keygate.trust.json edited (a key added): PIN_MISMATCH says restore it, and pin still refuses to replace it.
  const trustFile = join(p.dir, 'keygate.trust.json');
  const trustBytes = readFileSync(trustFile);
  writeFileSync(trustFile, trustBytes.toString('utf8').replace('"threshold"', '"$comment2": 0, "threshold"'));
  const edited = keygate(p.dir, ['verify']);
  assert.equal(edited.code, 3, edited.stderr);
  assert.match(edited.stderr, /\[PIN_MISMATCH\]\n  fix: restore keygate\.trust\.json and the manifest from your release/);
  const entryHash = sha256File(join(p.dir, 'dist/main.js'));
  const pinOverEdited = keygate(p.dir, ['pin']);
  assert.equal(pinOverEdited.code, 2, pinOverEdited.stderr);
  assert.match(pinOverEdited.stderr, /keygate\.trust\.json says this project uses signed releases, but the entry does not pin it as it is now.*\[USAGE\]/);
  assert.equal(sha256File(join(p.dir, 'dist/main.js')), entryHash, 'pin replaced the trust root');
  writeFileSync(trustFile, trustBytes);
  ok(keygate(p.dir, ['release', 'verify']), 'the trust root restored');

  // MANIFEST_UNREADABLE: the fix restores it with its .sig, and names no pin.
  rmSync(join(p.dir, 'filelist.sha256'));
  const gone = keygate(p.dir, ['verify']);
  assert.equal(gone.code, 3, gone.stderr);
  assert.match(gone.stderr, /\[MANIFEST_UNREADABLE\]\n  fix: restore it with its \.sig from your release/);
  assert.doesNotMatch(gone.stderr, /main\.js pin\b/);
});

test('the host floor: accept writes nothing before a release verifies; an unsafe state file is replaced by the printed reset-floor fix with the floor the operator states, never the attacker\'s', { skip, timeout: 300_000 }, () => {
  const keys = tempDir('kg-release-keys-');
  const pw = join(keys, 'pass');
  writeFileSync(pw, 'floor passphrase\n', { mode: 0o600 });
  ok(keygen(keys, 'ci', pw), 'keygen');
  const p = demoProject();
  const lib = join(tempDir('kg-release-state-'), 'lib');
  const state = join(lib, 'kg-shop.version');
  ok(keygate(p.dir, ['pin', '--release-keys', join(keys, 'ci.pub'), '--project', 'kg-shop', '--state-file', state]), 'pin');

  // accept before any release exists: refused, and neither the floor nor its folder is created (newcomer F6)
  const early = keygate(p.dir, ['release', 'accept']);
  assert.equal(early.code, 3, early.stderr);
  assert.match(early.stderr, /\[RELEASE_INVALID\]/);
  assert.equal(existsSync(lib), false, 'a refused accept created the floor\'s folder or file');
  ok(keygate(p.dir, ['release', 'sign', '--key', join(keys, 'ci.key'), '--password-file', pw, '--release-version', '5']), 'sign 5');
  ok(keygate(p.dir, ['release', 'accept']), 'accept 5');
  assert.equal(readFileSync(state, 'utf8'), '5\n');

  const nobody = 65534;
  const fill = (fix: string) => printedFix(fix, / \(/, { '<version>': '5' });
  const unsafe = (why: string): string => {
    const r = keygate(p.dir, ['release', 'verify']);
    assert.equal(r.code, 3, `${why}: ${r.stderr}`);
    assert.match(r.stderr, /\[RELEASE_STATE_UNSAFE\]\n  fix: as root: node dist\/main\.js release reset-floor --at-least <version> \(the highest N in this host's "release N of … signed by" log lines/, why);
    assert.doesNotMatch(r.stderr, /chown/, why);
    return r.stderr;
  };
  const rootsFloor = (what: string): void => {
    const st = lstatSync(state);
    assert.ok(st.isFile() && st.uid === 0 && (st.mode & 0o777) === 0o644, `${what}: the floor is not root's 0644 file`);
    assert.equal(readFileSync(state, 'utf8'), '5\n', `${what}: the floor is not the one the operator stated`);
    ok(keygate(p.dir, ['release', 'verify']), `${what}: release verify after the fix`);
  };

  // The service user owns the state file and lowered it to 1: chown would keep the 1; the printed fix writes 5.
  writeFileSync(state, '1\n');
  chownSync(state, nobody, nobody);
  ok(runFix(p.dir, fill(unsafe('a state file the service user owns'))), 'the RELEASE_STATE_UNSAFE fix as printed');
  rootsFloor('owned by the service user');

  // A link the service user owns, into its own folder: the link is removed, what it leads to is not touched.
  const attacker = tempDir('kg-attacker-');
  chownSync(attacker, nobody, nobody);
  const theirs = join(attacker, 'floor');
  writeFileSync(theirs, '1\n');
  chownSync(theirs, nobody, nobody);
  rmSync(state);
  symlinkSync(theirs, state);
  lchownSync(state, nobody, nobody);
  ok(runFix(p.dir, fill(unsafe('a link the service user owns'))), 'the fix for a link');
  rootsFloor('a link');
  assert.equal(readFileSync(theirs, 'utf8'), '1\n', 'reset-floor followed the link');

  // A sound floor is never lowered; a floor below minVersion is raised to it.
  const lower = keygate(p.dir, ['release', 'reset-floor', '--at-least', '2']);
  ok(lower, 'reset-floor --at-least 2 on a sound floor');
  assert.equal(lower.stdout, '5\n');
  rootsFloor('a sound floor');

  // The folder itself the service user's: refused until root owns it (the fix says so, then reset-floor).
  chownSync(lib, nobody, nobody);
  const folder = keygate(p.dir, ['release', 'reset-floor', '--at-least', '5']);
  assert.equal(folder.code, 3, folder.stderr);
  assert.match(folder.stderr, new RegExp(`\\[RELEASE_STATE_UNSAFE\\]\\n  fix: as root: chown root:root ${lib} && chmod go-w ${lib}, then node dist/main\\.js release reset-floor --at-least 5$`, 'm'));
  chownSync(lib, 0, 0);
  rootsFloor('the folder given back to root');
});
