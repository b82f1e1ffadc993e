// keygate doctor, run as a user runs it (node dist/main.js doctor in a demo project with the A2A emulator): one
// line per check with its fix, --json with the same verdicts, exit 3 while anything would stop (or make unsafe) a
// production start, and the vault never asked. It answers as production would (issue 28, newcomer F2/F3): the
// dev emulator and trust.anchors "warn" are problems; a changed file is named with verify's restore-first fix; a
// config problem is reported once and the rest is skipped, never guessed with defaults; users that do not exist
// and files the serving user cannot read are problems, found by trying them as that user.
// Planted and seen red: each test below against the doctor before issue 28 (git show e866788:src/commands/doctor.ts
// as of fe795dc), and a pin check that reported "current" without verifying.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { appendFileSync, chmodSync, chownSync, cpSync, linkSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { IS_ROOT, ROOT, demoProject, keygate, run, tempDir, vaultCalls, type DemoOptions } from './helpers/project.js';
import { findAnchorProblems } from '../src/gate/trust-anchors.js';

interface Check {
  check: string;
  status: string;
  detail: string;
  fix?: string;
}
interface Report {
  ok: boolean;
  checks: Check[];
}
const byName = (r: Report): Record<string, Check> => Object.fromEntries(r.checks.map((c) => [c.check, c]));
const doctorJson = (dir: string, args: string[] = [], uid?: number, env?: Record<string, string>) => {
  const r = keygate(dir, ['doctor', '--json', ...args], { ...(uid === undefined ? {} : { uid }), ...(env ? { env } : {}) });
  return { ...r, report: JSON.parse(r.stdout) as Report, c: byName(JSON.parse(r.stdout) as Report) };
};
/** Text lines `<status> <check> …` as a check → status table (the fix lines left out). */
const textVerdicts = (stdout: string): Record<string, string> =>
  Object.fromEntries([...stdout.matchAll(/^(ok|problem|unknown|skipped) +([a-z-]+) /gm)].map((m) => [m[2]!, m[1]!]));
const jsonVerdicts = (r: Report): Record<string, string> => Object.fromEntries(r.checks.map((c) => [c.check, c.status]));

const needsRoot = IS_ROOT ? undefined : 'trying files as another user needs root (CI runs as root)';
/** Two system users every Debian has, with groups of their own: nobody serves, daemon runs the app. */
const separated: DemoOptions['config'] = {
  server: { handler: undefined, staticDir: undefined, user: 'nobody', backend: { command: ['/bin/true'], user: 'daemon', listen: 'unix' } },
};

test('doctor on the demo: pin current, the emulator and trust.anchors "warn" are problems in production, anchors under /tmp named; --json and text agree; never asks the vault', () => {
  const p = demoProject();
  const json = doctorJson(p.dir);
  const { c } = json;
  assert.equal(c['config']!.status, 'ok');
  assert.equal(c['pin']!.status, 'ok', c['pin']!.detail);
  assert.match(c['pin']!.detail, new RegExp(`^current: ${join(p.dir, 'dist/main.js')} pins [0-9a-f]{64}$`));
  assert.equal(c['certificate']!.status, 'ok', c['certificate']!.detail);
  assert.match(c['certificate']!.detail, /keygate-demo\.crt .* expires in \d+ days/);
  // the demo's vault client is the emulator: a plain-text password store is no production vault
  assert.equal(c['vault-client']!.status, 'problem', c['vault-client']!.detail);
  assert.match(c['vault-client']!.detail, /cspmclient64 is keygate's dev A2A emulator, not a vault/);
  assert.match(c['vault-client']!.fix!, /^install PAM's A2A client/);
  // the project lives under /tmp (mode 1777), and trust.anchors is "warn": production refuses both
  assert.equal(c['anchors']!.status, 'problem');
  assert.match(c['anchors']!.detail, /the folder \/tmp is writable by its group and others/);
  assert.match(c['anchors']!.detail, /trust\.anchors is "warn"/);
  assert.match(c['anchors']!.fix!, /set trust\.anchors to "refuse" in keygate\.config\.json/);
  assert.equal(json.report.ok, false);
  assert.equal(json.code, 3, json.stderr);
  assert.match(json.stderr, /^keygate: error: doctor: 2 problems would stop a production start\n$/);
  // the text form gives the same verdicts
  const text = keygate(p.dir, ['doctor']);
  assert.equal(text.code, 3);
  assert.deepEqual(textVerdicts(text.stdout), jsonVerdicts(json.report));
  assert.match(text.stdout, /^ok {6}config {7}keygate\.config\.json is valid\n/);
  assert.equal(vaultCalls(p).length, 0, 'doctor asked the vault');
});

test('doctor: a changed file is named (changed: app/pages.cjs) and the fix restores it first; re-pinning comes second, as verify says', () => {
  const p = demoProject();
  appendFileSync(join(p.dir, 'app/pages.cjs'), '\n// evil\n');
  const json = doctorJson(p.dir);
  const pin = json.c['pin']!;
  assert.equal(pin.status, 'problem');
  assert.match(pin.detail, /^INTEGRITY_MISMATCH: .*; changed: app\/pages\.cjs$/);
  assert.match(pin.fix!, /^restore the files from your release; if the change is intended: node dist\/main\.js generate-filelist && node dist\/main\.js pin/);
  const verify = keygate(p.dir, ['verify']);
  assert.match(verify.stderr, new RegExp(`fix: ${pin.fix!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`), 'doctor and verify give the same fix');
  const text = keygate(p.dir, ['doctor']);
  assert.match(text.stdout, /\nproblem pin {10}INTEGRITY_MISMATCH: .*changed: app\/pages\.cjs\n {21}fix: restore the files from your release/);
  assert.deepEqual(textVerdicts(text.stdout), jsonVerdicts(json.report));
});

test('doctor: a typo in the config is one problem, the other checks say they were skipped (no default keystore path, no "keystore create")', () => {
  const p = demoProject();
  const file = join(p.dir, 'keygate.config.json');
  writeFileSync(file, JSON.stringify({ vault: { clientPath: 'dev/cspm/cspmclient/bin64/cspmclient64', alias: 'keygate-demo' }, keystore: { path: 'keystore/keygate-demo.p12' }, server: { prot: 8443 } }));
  const json = doctorJson(p.dir);
  assert.equal(json.code, 3, json.stderr);
  const problems = json.report.checks.filter((c) => c.status === 'problem');
  assert.deepEqual(problems.map((c) => c.check), ['config']);
  assert.match(problems[0]!.detail, /server\.prot: unknown setting \(did you mean "port"\?\)/);
  for (const c of json.report.checks.filter((x) => x.check !== 'config')) {
    assert.equal(c.status, 'skipped', `${c.check}: ${c.detail}`);
    assert.match(c.detail, /skipped until keygate\.config\.json is fixed/);
  }
  const text = keygate(p.dir, ['doctor']);
  assert.doesNotMatch(text.stdout + text.stderr, /keystore create|keygate\.p12|server\.prot.*server\.prot/s);
  assert.equal(text.stdout.match(/server\.prot/g)?.length, 1, text.stdout);
  assert.match(text.stderr, /doctor: 1 problem would stop a production start \(6 checks skipped until it is fixed\)/);
  assert.deepEqual(textVerdicts(text.stdout), jsonVerdicts(json.report));
});

test('doctor: the dev emulator as the vault client of a production config (trust.anchors "refuse") is a problem, and a missing client is not an ownership problem', () => {
  const p = demoProject({ config: { trust: { anchors: 'refuse' } } });
  const { c } = doctorJson(p.dir);
  assert.equal(c['vault-client']!.status, 'problem');
  assert.match(c['vault-client']!.detail, /keygate's dev A2A emulator, not a vault: it keeps the keystore password in a plain-text file/);
  assert.doesNotMatch(c['anchors']!.detail, /trust\.anchors is "warn"/);
  // a client that is not there: the vault-client check says so; anchors does not ask to chown it
  const q = demoProject({ config: { trust: { anchors: 'refuse' }, vault: { clientPath: '/nonexistent/cspmclient64' } } });
  const m = doctorJson(q.dir).c;
  assert.equal(m['vault-client']!.status, 'problem');
  assert.match(m['vault-client']!.detail, /^\/nonexistent\/cspmclient64: /);
  assert.doesNotMatch(m['anchors']!.detail, /vault client/);
  // no clientPath and no CSPM_CLIENT_HOME: said so, not a Windows path to install into (newcomer F3, last row)
  const r = demoProject({ config: { trust: { anchors: 'refuse' }, vault: { clientPath: undefined } } });
  const unset = doctorJson(r.dir).c['vault-client']!;
  assert.match(unset.detail, /^CSPM_CLIENT_HOME is not set and vault\.clientPath names no client/);
  assert.match(unset.fix!, /^export CSPM_CLIENT_HOME=<the A2A client's folder> where keygate runs/);
  const home = doctorJson(r.dir, [], undefined, { CSPM_CLIENT_HOME: '/opt/CA/cspm-none' }).c['vault-client']!;
  assert.match(home.detail, /^\/opt\/CA\/cspm-none\/cspmclient\/bin64\/cspmclient64: /);
});

test('doctor: a backend program the manifest does not list is a problem with its fix', () => {
  const p = demoProject();
  // a backend added by hand after the last generate-filelist: the manifest does not list its program
  writeFileSync(join(p.dir, 'keygate.config.json'), JSON.stringify({ vault: { clientPath: 'dev/cspm/cspmclient/bin64/cspmclient64', alias: 'keygate-demo' }, keystore: { path: 'keystore/keygate-demo.p12' }, trust: { anchors: 'warn' }, server: { port: 0, backend: { command: ['/bin/true'] } } }));
  const c = byName(JSON.parse(keygate(p.dir, ['doctor', '--json']).stdout) as Report);
  assert.equal(c['config']!.status, 'ok', c['config']!.detail);
  assert.equal(c['backend']!.status, 'problem');
  assert.match(c['backend']!.detail, /\/(usr\/)?bin\/true is not in the manifest/);
  assert.match(c['backend']!.fix!, /add the line \$\{BACKEND\} to filelist\.template/);
});

test('doctor: server.backend.user or server.user naming no user is a problem with the useradd line; the access check waits for it', () => {
  const p = demoProject({ config: { server: { ...separated!['server'] as object, backend: { command: ['/bin/true'], user: 'kg-no-such-user', listen: 'unix' } } }, templateExtra: '${BACKEND}\n' });
  const { c, code } = doctorJson(p.dir);
  assert.equal(code, 3);
  assert.equal(c['users']!.status, 'problem');
  assert.match(c['users']!.detail, /^BACKEND_USER_INVALID: failed to find the user kg-no-such-user \(server\.backend\.user\): no such user on this host$/);
  assert.equal(c['users']!.fix, 'useradd --system --no-create-home --shell /usr/sbin/nologin kg-no-such-user');
  assert.equal(c['access']!.status, 'skipped');
  const q = demoProject({ config: { server: { ...separated!['server'] as object, user: 'kg-no-such-server' } }, templateExtra: '${BACKEND}\n' });
  const s = doctorJson(q.dir).c;
  assert.match(s['users']!.detail, /failed to find the user kg-no-such-server \(server\.user\)/);
  // --user (an in-process unit's User=) is checked the same way
  const r = demoProject();
  const u = doctorJson(r.dir, ['--user', 'kg-no-such-unit-user']).c;
  assert.equal(u['users']!.status, 'problem');
  assert.match(u['users']!.detail, /failed to find the user kg-no-such-unit-user \(--user\)/);
});

test('doctor as root: a manifest the unit\'s user cannot read (umask 077) is named, tried as that user; the printed fix, run as printed, clears it', { skip: needsRoot }, () => {
  const p = demoProject();
  chmodSync(join(p.dir, 'filelist.sha256'), 0o600); // what generate-filelist leaves under getting-started's umask 077
  // the unit init writes beside the entry names the user the service reads as
  writeFileSync(join(p.dir, 'dist/demo.service'), '[Service]\nUser=nobody\nExecStart=/usr/bin/node dist/main.js serve\n');
  const { c, code } = doctorJson(p.dir);
  assert.equal(code, 3);
  const access = c['access']!;
  assert.equal(access.status, 'problem', access.detail);
  assert.match(access.detail, new RegExp(`^as nobody \\(uid 65534, User= in ${join(p.dir, 'dist/demo.service')}\\): cannot read ${join(p.dir, 'filelist.sha256')} \\(EACCES\\)`));
  assert.match(access.detail, /cannot read .*keygate-demo\.p12 \(EACCES\)/, 'the keystore (0600 root) too');
  assert.match(access.fix!, /^chmod a\+r \S+filelist\.sha256 && chown nobody \S+keygate-demo\.p12$/);
  const fixed = run('sh', ['-c', access.fix!]);
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.equal(doctorJson(p.dir).c['access']!.status, 'ok', 'the fix as printed');
  // --user names the user when there is no unit; a folder the user cannot enter is named as the blocker
  chmodSync(join(p.dir, 'keystore'), 0o700);
  const v = doctorJson(p.dir, ['--user', 'nobody']).c['access']!;
  assert.match(v.detail, /^as nobody \(uid 65534, --user\): cannot read \S+keygate-demo\.p12 \(cannot enter \S+\/keystore\) \(EACCES\)$/);
  assert.match(v.fix!, /^chmod a\+x \S+\/keystore$/);
});

test('doctor run as the service user itself (not root): it tries the reads as itself, as the start would (newcomer F2: it passed)', { skip: needsRoot }, () => {
  const p = demoProject();
  chmodSync(join(p.dir, 'filelist.sha256'), 0o600);
  const r = doctorJson(p.dir, [], 65534);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.c['access']!.status, 'problem', r.c['access']!.detail);
  assert.match(r.c['access']!.detail, /^as nobody \(uid 65534, the user doctor runs as; --user names another\): cannot read \S+filelist\.sha256 \(EACCES\)/);
  assert.match(r.c['access']!.fix!, /^as root: chmod a\+r \S+filelist\.sha256/);
  assert.match(r.c['pin']!.detail, /MANIFEST_UNREADABLE/, 'the start itself would stop there');
});

test('doctor as root with privilege separation: the keystore root:root 0600 is unreadable for server.user; users named with their uids', { skip: needsRoot }, () => {
  const p = demoProject({ config: separated, templateExtra: '${BACKEND}\n' });
  const { c } = doctorJson(p.dir);
  assert.equal(c['users']!.status, 'ok', c['users']!.detail);
  assert.match(c['users']!.detail, /^server\.user nobody \(uid 65534\) serves and asks the vault; server\.backend\.user daemon \(uid 1\) runs the app$/);
  assert.equal(c['access']!.status, 'problem', c['access']!.detail);
  assert.match(c['access']!.detail, /^as nobody \(uid 65534, server\.user\): cannot read \S+keygate-demo\.p12 \(EACCES\)$/);
  assert.match(c['access']!.fix!, /^chown nobody \S+keygate-demo\.p12$/);
  assert.equal(run('sh', ['-c', c['access']!.fix!]).code, 0);
  assert.equal(doctorJson(p.dir).c['access']!.status, 'ok');
  // doctor run as a third user cannot try the files as server.user: it says so (unknown), and how to get an answer
  const q = demoProject({ config: { server: { ...separated!['server'] as object, user: 'daemon', backend: { command: ['/bin/true'], user: 'nobody', listen: 'unix' } } }, templateExtra: '${BACKEND}\n' });
  const other = doctorJson(q.dir, [], 65534).c['access']!;
  assert.equal(other.status, 'unknown', other.detail);
  assert.match(other.detail, /^not checked as daemon \(uid 1, server\.user\): doctor runs as uid 65534, and only root can try it as uid 1$/);
  assert.equal(other.fix, 'run node dist/main.js doctor as root (it then tries each file as that user)');
});

// A production-shaped project needs a sound node: the node running the tests must itself be root's.
const nodeUnsound = findAnchorProblems([{ what: 'the node executable', path: process.execPath }], { uid: 0, trustedUids: [] })[0];
const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('doctor passes (exit 0) on a production-shaped project: root-owned folder under /srv, "refuse", a vault client that is not the emulator, every file readable by the unit\'s user', { skip: needsRoot ?? (nodeUnsound && `the test's own node is not a sound anchor: ${nodeUnsound}`) }, () => {
  const home = mkdtempSync('/srv/kg-doctor-');
  chmodSync(home, 0o755);
  made.push(home);
  // where PAM's client would be: root's, and not the emulator (doctor never runs it)
  const client = join(home, 'cspm/cspmclient/bin64/cspmclient64');
  mkdirSync(join(home, 'cspm/cspmclient/bin64'), { recursive: true, mode: 0o755 });
  writeFileSync(client, '#!/bin/sh\necho "stand-in for PAM\'s A2A client"\n', { mode: 0o755 });
  const tmp = demoProject({ config: { trust: { anchors: 'refuse' }, vault: { clientPath: client } }, templateExtra: '${VAULT_CLIENT}\n' });
  const dir = join(home, 'svc');
  cpSync(tmp.dir, dir, { recursive: true });
  assert.equal(keygate(dir, ['generate-filelist']).code, 0); // paths moved: generate and pin at the new place
  assert.equal(keygate(dir, ['pin']).code, 0);
  chownSync(join(dir, 'keystore/keygate-demo.p12'), 65534, 65534); // the serving user's, 0600
  const ok = doctorJson(dir, ['--user', 'nobody']);
  assert.deepEqual(ok.report.checks.filter((c) => c.status !== 'ok'), [], ok.stdout);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /doctor: a production start would pass these checks \(the vault was not asked\)/);
  // the same project with the dev emulator and "warn" (a dev project copied to /srv): doctor says no
  const dev = join(home, 'devcopy');
  cpSync(dir, dev, { recursive: true });
  chownSync(join(dev, 'keystore/keygate-demo.p12'), 65534, 65534); // a copy is root's again
  writeFileSync(join(dev, 'keygate.config.json'), JSON.stringify({ vault: { clientPath: 'dev/cspm/cspmclient/bin64/cspmclient64', alias: 'keygate-demo' }, keystore: { path: 'keystore/keygate-demo.p12' }, server: { port: 0, handler: 'app/request-handlers.cjs', staticDir: 'content' }, trust: { anchors: 'warn' } }));
  assert.equal(keygate(dev, ['generate-filelist']).code, 0);
  assert.equal(keygate(dev, ['pin']).code, 0);
  const bad = doctorJson(dev, ['--user', 'nobody']);
  assert.equal(bad.code, 3, bad.stderr);
  assert.deepEqual(bad.report.checks.filter((c) => c.status === 'problem').map((c) => c.check), ['anchors', 'vault-client'], bad.stdout);
});

test('doctor as root in signed-release mode: the host floor (stateFile) the serving user cannot read is named; the pin line names the release', { skip: needsRoot }, () => {
  const keys = tempDir('kg-doctor-keys-');
  const pw = join(keys, 'pass');
  writeFileSync(pw, 'doctor release passphrase\n', { mode: 0o600 });
  const ok = (r: { code: number; stderr: string }, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  ok(keygate(keys, ['release', 'keygen', '--out', 'ci', '--password-file', pw], { entry: join(ROOT, 'dist/main.js') }), 'keygen');
  const p = demoProject({ config: separated, templateExtra: '${BACKEND}\n' });
  chownSync(join(p.dir, 'keystore/keygate-demo.p12'), 65534, 65534);
  const state = join(tempDir('kg-doctor-state-'), 'kg-shop.version');
  ok(keygate(p.dir, ['pin', '--release-keys', join(keys, 'ci.pub'), '--project', 'kg-shop', '--state-file', state]), 'pin --release-keys');
  ok(keygate(p.dir, ['generate-filelist']), 'generate');
  ok(keygate(p.dir, ['release', 'sign', '--key', join(keys, 'ci.key'), '--password-file', pw, '--release-version', '1']), 'sign');
  ok(keygate(p.dir, ['release', 'accept']), 'accept');
  const before = doctorJson(p.dir).c;
  assert.match(before['pin']!.detail, /^current: \S+dist\/main\.js pins the release keys; release 1 signs [0-9a-f]{64}$/);
  assert.equal(before['access']!.status, 'ok', before['access']!.detail);
  chmodSync(state, 0o600); // root's still (the floor stays safe), but server.user reads it at every start
  const denied = doctorJson(p.dir).c['access']!;
  assert.equal(denied.status, 'problem');
  assert.match(denied.detail, new RegExp(`^as nobody \\(uid 65534, server\\.user\\): cannot read ${state} \\(EACCES\\)$`));
  assert.equal(denied.fix, `chmod a+r ${state}`);
});

test('doctor as root: a node the serving user cannot run (in a folder only root enters, as under /root/.nvm) is named with the folder to open', { skip: needsRoot }, () => {
  const p = demoProject();
  const home = tempDir('kg-doctor-node-');
  const priv = join(home, 'private');
  mkdirSync(priv, { mode: 0o700 });
  const node = join(priv, 'node');
  linkSync(realpathSync(process.execPath), node); // the same binary (a hard link: no copy), in a folder nobody cannot enter
  const doctorWith = () => {
    const r = spawnSync(node, ['dist/main.js', 'doctor', '--json', '--user', 'nobody'], { cwd: p.dir, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' }, encoding: 'utf8' });
    return byName(JSON.parse(r.stdout) as Report)['access']!;
  };
  const access = doctorWith();
  assert.equal(access.status, 'problem', access.detail);
  assert.ok(access.detail.includes(`; cannot run ${node} (cannot enter ${priv}) (EACCES)`), access.detail);
  assert.match(access.fix!, new RegExp(`^chmod a\\+x ${priv} && chown nobody \\S+keygate-demo\\.p12$`));
  assert.match(access.detail, /^as nobody \(uid 65534, --user\): cannot read \S+keygate-demo\.p12 \(EACCES\); /, 'the other files still tried');
  assert.equal(run('sh', ['-c', access.fix!]).code, 0);
  assert.equal(doctorWith().status, 'ok', 'the fix as printed');
});
