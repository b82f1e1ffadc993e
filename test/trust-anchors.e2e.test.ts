// Trust anchors (issue 9 points 1 and 9): the node executable, the entry and its package.json, and the vault
// client cannot be protected by a hash keygate computes, so their ownership is checked at start, as sshd's
// StrictModes does, before the vault is asked. Projects here live in a root-owned folder under /srv (a temp
// folder's parent, /tmp, is writable by everyone, which is itself a finding). Root only: ownership needs chown.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, chownSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { IS_ROOT, curl, demoProject, keygate, serve, serveRefused, vaultCalls, type DemoProject } from './helpers/project.js';
import { findAnchorProblems } from '../src/gate/trust-anchors.js';

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A demo project in production mode (trust.anchors: refuse), moved into a fresh root-owned 0755 folder under /srv. */
function rootOwnedProject(): DemoProject {
  const tmp = demoProject({ config: { trust: { anchors: 'refuse' } }, templateExtra: '${VAULT_CLIENT}\n' });
  const home = mkdtempSync('/srv/kg-anchors-');
  chmodSync(home, 0o755);
  made.push(home);
  const dir = join(home, 'svc');
  cpSync(tmp.dir, dir, { recursive: true });
  // Paths moved: regenerate, pin and register the entry at its new place.
  const p = { ...tmp, dir, crt: join(dir, 'keystore/keygate-demo.crt'), store: join(dir, 'dev/cspm/a2a-store.json'), callLog: join(dir, 'dev/cspm/a2a-calls.log') };
  assert.equal(keygate(dir, ['generate-filelist']).code, 0);
  const pin = keygate(dir, ['pin']);
  const store = JSON.parse(readFileSync(p.store, 'utf8'));
  store.scripts = [{ path: join(dir, 'dist/main.js'), sha256: pin.stdout.trim() }];
  writeFileSync(p.store, JSON.stringify(store), { mode: 0o600 });
  return p;
}

test('anchor rules: owner root or a trusted uid, never the service user, never group/other-writable, folders too', { skip: !IS_ROOT && 'needs root (chown)' }, () => {
  const home = mkdtempSync('/srv/kg-anchors-');
  chmodSync(home, 0o755);
  made.push(home);
  const file = join(home, 'client');
  writeFileSync(file, '#!/bin/sh\n', { mode: 0o755 });
  const anchors = [{ what: 'the vault client', path: file }];
  assert.deepEqual(findAnchorProblems(anchors, { uid: 0, trustedUids: [] }), []);
  chownSync(file, 65534, 65534);
  assert.match(findAnchorProblems(anchors, { uid: 1000, trustedUids: [] })[0]!, /it is owned by uid 65534, not root or a trust\.owners uid/);
  assert.deepEqual(findAnchorProblems(anchors, { uid: 1000, trustedUids: [65534] }), []);
  assert.match(findAnchorProblems(anchors, { uid: 65534, trustedUids: [65534] })[0]!, /owned by uid 65534, the user keygate runs as/);
  chownSync(file, 0, 0);
  chmodSync(file, 0o775);
  assert.match(findAnchorProblems(anchors, { uid: 0, trustedUids: [] })[0]!, /it is writable by its group \(mode 775\)/);
  chmodSync(file, 0o755);
  chmodSync(home, 0o757);
  assert.match(findAnchorProblems(anchors, { uid: 0, trustedUids: [] })[0]!, new RegExp(`the folder ${home} is writable by others`));
  chmodSync(home, 0o755);
});

// Production mode needs a sound node to start with: the node running the tests must itself be root's.
const nodeUnsound = findAnchorProblems([{ what: 'the node executable', path: process.execPath }], { uid: 0, trustedUids: [] })[0];

test('production refuses a start whose vault client, entry folder or node others can write, before the vault is asked', { skip: (!IS_ROOT && 'needs root (chown)') || (nodeUnsound && `the test's own node is not a sound anchor: ${nodeUnsound}`) }, async () => {
  const p = rootOwnedProject();
  // Sound: serves.
  const s = await serve(p.dir);
  try {
    assert.match(curl(`https://localhost:${s.port}/hello`, p.crt).stdout, /Hello/);
    assert.doesNotMatch(s.stderr(), /TRUST ANCHOR/);
  } finally {
    assert.equal(await s.stop(), 0);
  }
  const calls = vaultCalls(p).length;

  // The vault client writable by its group: whoever is in it could replace it and keep the password.
  const client = join(p.dir, 'dev/cspm/cspmclient/bin64/cspmclient64');
  chmodSync(client, 0o775);
  let r = await serveRefused(p.dir);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /refused to start: 1 trust anchor problem .*\[UNTRUSTED_ANCHOR\]/);
  assert.match(r.stderr, /the vault client .*cspmclient64: it is writable by its group \(mode 775\)/);
  chmodSync(client, 0o755);

  // A folder above the entry writable by others: the entry could be swapped for one that restores itself.
  chmodSync(join(p.dir, 'dist'), 0o777);
  r = await serveRefused(p.dir);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /the main entry .*dist\/main\.js: the folder .*\/dist is writable by its group and others \(mode 777\)/);
  chmodSync(join(p.dir, 'dist'), 0o755);

  // A node executable in a folder others can write (a wrapper there would pass its own verification).
  const nodeDir = join(p.dir, '..', 'nodebin');
  mkdirSync(nodeDir, { mode: 0o777 });
  chmodSync(nodeDir, 0o777);
  copyFileSync(process.execPath, join(nodeDir, 'node'));
  chmodSync(join(nodeDir, 'node'), 0o755);
  const { spawnSync } = await import('node:child_process');
  const w = spawnSync(join(nodeDir, 'node'), ['dist/main.js', 'serve'], { cwd: p.dir, encoding: 'utf8', timeout: 60_000, env: { PATH: '/usr/bin:/bin' } });
  assert.equal(w.status, 3, w.stderr);
  assert.match(w.stderr, /the node executable .*nodebin\/node: the folder .*nodebin is writable by its group and others/);
  assert.equal(vaultCalls(p).length, calls, 'the vault was never asked by a refused start');
});

test('dev mode warns loudly and starts; a project under /tmp is a finding', async () => {
  const p = demoProject({ config: { trust: { anchors: 'warn' } } });
  const s = await serve(p.dir);
  try {
    assert.match(s.stderr(), /TRUST ANCHOR NOT PROTECTED \(dev: trust\.anchors is "warn", production refuses\): .*: the folder \/tmp is writable by its group and others \(mode 1777\)/);
  } finally {
    assert.equal(await s.stop(), 0);
  }
  const prod = demoProject({ config: { trust: { anchors: 'refuse' } } });
  const r = await serveRefused(prod.dir);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /\[UNTRUSTED_ANCHOR\]/);
  assert.equal(vaultCalls(prod).length, 0);
});

test('${VAULT_CLIENT} lists the vault client: a changed client is refused by the manifest before it is run', async () => {
  const p = demoProject({ templateExtra: '${VAULT_CLIENT}\n' });
  const manifest = readFileSync(join(p.dir, 'filelist.sha256'), 'utf8');
  assert.match(manifest, /\*dev\/cspm\/cspmclient\/bin64\/cspmclient64\n|cspmclient64\n/);
  appendFileSync(join(p.dir, 'dev/cspm/cspmclient/bin64/cspmclient64'), '\n// forwards the password elsewhere\n');
  const r = await serveRefused(p.dir);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /changed: .*cspmclient64/);
  assert.equal(vaultCalls(p).length, 0);
});
