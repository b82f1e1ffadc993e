// Privilege separation (issue 19, docs/backend.md#privilege-separation), tried from the other side of the
// boundary: an attacker's code inside a real backend (Flask under gunicorn with gthread workers, and Express 5)
// goes for keygate's memory and environ, the keystore, the vault emulator's store and client, and every fd it
// was handed. Separated (keygate started as root, serving as uid 64101, the backend as 64102) it gets none of
// them; the same probe against a backend under keygate's own uid (sameUser) finds the password in keygate's
// memory, which is what proves the probe can see a leak.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicKey } from 'node:crypto';
import { IS_ROOT, ROOT, SENTINEL, curl, keygate, tempDir, vaultCalls, type Served } from './helpers/project.js';
import { PYTHON, alive, backendPid, backendProject, missingPeer, waitFor, type BackendProject } from './helpers/backend.js';
import { AdminClient } from '../src/admin/client.js';
import { addAdminChannel } from './helpers/admin-channel.js';

const SERVER_UID = 64101;
const BACKEND_UID = 64102;
const FIXTURES = join(ROOT, 'test/fixtures/backends');
const skip = !IS_ROOT ? 'switching users needs root (CI runs as root)' : missingPeer('flask');

/** What the attacker probes, relative to its working folder (<project>/backend or <project>/express). */
const ATTACK = {
  needles: [SENTINEL, 'PRIVATE KEY-----'],
  files: ['../keystore/keygate-demo.p12', '../dev/cspm/a2a-store.json'],
  folders: ['../keystore', '../dev/cspm'],
  programs: ['../dev/cspm/cspmclient/bin64/cspmclient64'],
};

type Kind = 'gunicorn' | 'express';

function attackProject(kind: Kind, separated: boolean): BackendProject {
  const backend: Record<string, unknown> =
    kind === 'gunicorn'
      ? {
          command: [PYTHON, '-m', 'gunicorn', '--bind', 'unix:${SOCKET}', '--worker-class', 'gthread', '--threads', '2', '--workers', '1', 'app:app'],
          listen: 'unix',
          readyPath: '/hello',
        }
      : {};
  backend['env'] = { KG_ATTACK: JSON.stringify(ATTACK) };
  if (separated) backend['user'] = String(BACKEND_UID);
  else backend['sameUser'] = true;
  const files: Record<string, string> = kind === 'gunicorn' ? { 'backend/app.py': readFileSync(join(FIXTURES, 'attack_app.py'), 'utf8') } : { 'express/app.js': readFileSync(join(FIXTURES, 'attack_app.js'), 'utf8') };
  const p = backendProject(kind === 'gunicorn' ? 'flask' : 'express', backend, { files, server: separated ? { user: String(SERVER_UID) } : {} });
  if (separated) {
    // The deployment docs/backend.md describes: the keystore and the vault client's home belong to the serving user.
    for (const dir of [join(p.dir, 'keystore'), join(p.dir, 'dev/cspm')]) {
      chownTree(dir, SERVER_UID);
      chmodSync(dir, 0o700);
    }
  }
  return p;
}

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid);
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), uid);
}

/**
 * serve, with fd 30 open on a secret file, as a parent's `30<file` would leave it (Node marks fds below 10 or so
 * close-on-exec itself; a higher one stays open unless keygate closes it).
 */
async function serveWithInheritedFd(dir: string, secretFile: string, wrapper: readonly string[] = []): Promise<Served> {
  const fd = openSync(secretFile, 'r');
  const [file, ...args] = [...wrapper, process.execPath, 'dist/main.js', 'serve'];
  const child = spawn(file!, args, {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe', ...Array<'ignore'>(27).fill('ignore'), fd],
  });
  closeSync(fd);
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start in 90 s\n${err}`));
    }, 90_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /https:\/\/[^\s]+:(\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[0], port: Number(m[1]), stdout: () => out, stderr: () => err, exited, stop: async (sig = 'SIGTERM') => (child.kill(sig), exited) });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening\n${err}`));
    });
  });
}

interface Report {
  uid: number;
  pids: number[];
  environ: Record<string, string>;
  mem: Record<string, { result: string; found?: string[] }>;
  files: Record<string, string>;
  folders: Record<string, string>;
  exec: Record<string, string>;
  fds: Record<string, string>;
  status: Record<string, string>;
}

async function attackFromInside(kind: Kind, separated: boolean, wrapper: readonly string[] = []): Promise<{ report: Report; secretFile: string; served: Served; project: BackendProject }> {
  const project = attackProject(kind, separated);
  const secretDir = tempDir('kg-inherited-');
  chmodSync(secretDir, 0o700);
  const secretFile = join(secretDir, 'inherited-secret.txt');
  writeFileSync(secretFile, 'FD-SENTINEL\n', { mode: 0o600 });
  const served = await serveWithInheritedFd(project.dir, secretFile, wrapper);
  const r = curl(`${served.url}attack`, project.crt, ['--max-time', '120']);
  assert.equal(r.code, 0, `${r.stderr}\n${served.stderr()}`);
  return { report: JSON.parse(r.stdout) as Report, secretFile, served, project };
}

for (const kind of ['gunicorn', 'express'] as const) {
  test(`separated: an attacker inside the ${kind} backend gets neither keygate's memory, its environ, the keystore, the vault's store and client, nor an inherited fd`, { skip, timeout: 300_000 }, async () => {
    const { report, secretFile, served, project } = await attackFromInside(kind, true);
    try {
      assert.equal(report.uid, BACKEND_UID, 'the backend runs as server.backend.user');
      assert.ok(report.pids.length >= 2, `the supervisor and the serving process are seen: ${JSON.stringify(report.pids)}`);
      for (const [pid, how] of Object.entries(report.environ)) assert.notEqual(how, 'READ', `/proc/${pid}/environ was readable`);
      for (const [pid, m] of Object.entries(report.mem)) {
        assert.notEqual(m.result, 'read', `/proc/${pid}/mem was readable: ${JSON.stringify(m)}`);
      }
      for (const [file, how] of Object.entries(report.files)) assert.equal(how, 'EACCES', `${file}: ${how}`);
      for (const [dir, how] of Object.entries(report.folders)) assert.equal(how, 'EACCES', `${dir}: ${how}`);
      for (const [prog, how] of Object.entries(report.exec)) assert.equal(how, 'EACCES', `${prog}: ${how}`);
      assert.ok(!Object.values(report.fds).includes(secretFile), `an fd keygate inherited reached the backend: ${JSON.stringify(report.fds)}`);
      // No capability left from root's start, no supplementary group, and no setuid program can lift it again.
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb']) assert.equal(report.status[set], '0000000000000000', `${set}: ${JSON.stringify(report.status)}`);
      assert.equal(report.status['NoNewPrivs'], '1');
      assert.equal(report.status['Groups'], '');
      // keygate serves as server.user: the vault was asked by that user's process, and the page still comes through the proxy.
      assert.equal(curl(`${served.url}hello`, project.crt).stdout, 'attacker ready\n');
      const calls = vaultCalls(project);
      assert.equal(calls.length, 1);
      assert.equal(calls[0]!.uid, SERVER_UID, 'the vault client ran as server.user, not as root');
    } finally {
      assert.equal(await served.stop(), 0, served.stderr());
    }
  });
}

test('the probe sees a leak: a backend under keygate\'s own user (sameUser) reads the password out of keygate\'s memory and the keystore', { skip, timeout: 300_000 }, async () => {
  const { report, served } = await attackFromInside('gunicorn', false);
  try {
    const found = Object.values(report.mem).flatMap((m) => m.found ?? []);
    assert.ok(found.includes(SENTINEL), `the password was not found in keygate's memory: ${JSON.stringify(report.mem)}`);
    assert.equal(report.files['../keystore/keygate-demo.p12'], 'READ');
    assert.equal(report.files['../dev/cspm/a2a-store.json'], 'READ');
  } finally {
    await served.stop();
  }
});

test('separated: a backend that dies is restarted by the root half (verified again), the serving half follows it, SIGHUP reaches the serving half, and a stop leaves nothing running', { skip, timeout: 300_000 }, async () => {
  const p = attackProject('gunicorn', true);
  const served = await serveWithInheritedFd(p.dir, '/dev/null');
  try {
    const first = backendPid(served)!;
    assert.match(readFileSync(`/proc/${first}/status`, 'utf8'), new RegExp(`^Uid:\\s+${BACKEND_UID}\\s`, 'm'));
    process.kill(first, 'SIGKILL');
    const second = await waitFor(() => backendPid(served, 2), 30_000, 'the restarted backend');
    assert.notEqual(second, first);
    assert.match(served.stderr(), /verified \d+ files again before restarting the backend/);
    await waitFor(() => curl(`${served.url}hello`, p.crt).stdout === 'attacker ready\n', 20_000, 'the page through the restarted backend');
    // SIGHUP to the root half (systemctl reload) reaches the serving half: it asks the vault again, as server.user.
    assert.equal(vaultCalls(p).length, 1);
    process.kill(served.child.pid!, 'SIGHUP');
    await waitFor(() => vaultCalls(p).length === 2, 30_000, 'the reload\'s vault call');
    assert.equal(vaultCalls(p)[1]!.uid, SERVER_UID);
    assert.equal(await served.stop(), 0, served.stderr());
    assert.ok(!alive(-second), 'the backend\'s process group is gone after the stop');
  } finally {
    served.child.kill('SIGKILL');
  }
});

test('separation refuses before the vault is asked: keygate not started as root, a user that does not exist, trust.owners naming a separated user', { skip }, () => {
  const p = attackProject('gunicorn', true);
  const asServer = keygate(p.dir, ['serve'], { uid: SERVER_UID });
  assert.equal(asServer.code, 2, asServer.stderr);
  assert.match(asServer.stderr, /BACKEND_USER_INVALID|not root, so it cannot switch users/);
  assert.match(asServer.stderr, /fix: start keygate as root/);

  const config = JSON.parse(readFileSync(join(p.dir, 'keygate.config.json'), 'utf8')) as { server: { backend: Record<string, unknown> } };
  config.server.backend['user'] = 'kg-no-such-user';
  writeFileSync(join(p.dir, 'keygate.config.json'), JSON.stringify(config, null, 2) + '\n');
  assert.equal(keygate(p.dir, ['generate-filelist']).code, 0);
  assert.equal(keygate(p.dir, ['pin']).code, 0);
  const unknown = keygate(p.dir, ['serve']);
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /BACKEND_USER_INVALID/);
  assert.match(unknown.stderr, /kg-no-such-user/);
  assert.equal(vaultCalls(p).length, 0);

  // trust.owners naming a separated user: root would run node and the entry that user may replace (review M1)
  for (const uid of [SERVER_UID, BACKEND_UID]) {
    const c = JSON.parse(readFileSync(join(p.dir, 'keygate.config.json'), 'utf8')) as { server: { backend: Record<string, unknown> }; trust?: Record<string, unknown> };
    c.server.backend['user'] = String(BACKEND_UID);
    c.trust = { ...(c.trust ?? {}), owners: [uid] };
    writeFileSync(join(p.dir, 'keygate.config.json'), JSON.stringify(c, null, 2) + '\n');
    assert.equal(keygate(p.dir, ['generate-filelist']).code, 0);
    assert.equal(keygate(p.dir, ['pin']).code, 0);
    const owners = keygate(p.dir, ['serve']);
    assert.equal(owners.code, 2, owners.stderr);
    assert.match(owners.stderr, new RegExp(`trust\\.owners holds uid ${uid}, which is server(\\.backend)?\\.user .* as good as root \\[CONFIG_INVALID\\]`));
    assert.match(owners.stderr, new RegExp(`fix: remove ${uid} from trust\\.owners`));
    assert.equal(vaultCalls(p).length, 0);
  }
});

test('separated: a backend that points its socket at another server, and fills its folder, gets neither root nor the serving user to follow', { skip, timeout: 120_000 }, async () => {
  // A server only root and the serving user should reach; the rogue backend makes ${SOCKET} a symlink to it.
  // Its own process: keygate() below blocks this one's event loop.
  const victimDir = tempDir('kg-victim-');
  chmodSync(victimDir, 0o755);
  const victim = join(victimDir, 'victim.sock');
  const asked = join(victimDir, 'asked.log');
  const server = spawn(process.execPath, ['-e', `require('http').createServer((q, r) => { require('fs').appendFileSync(${JSON.stringify(asked)}, q.url + '\\n'); r.end('victim\\n'); }).listen(${JSON.stringify(victim)}, () => require('fs').chmodSync(${JSON.stringify(victim)}, 0o777))`], { stdio: 'ignore' });
  await waitFor(() => existsSync(victim), 10_000, 'the victim server');
  const canaryDir = tempDir('kg-canary-');
  writeFileSync(join(canaryDir, 'keep'), 'root\'s file\n');
  const runtimeParent = tempDir('kg-tmp-');
  chmodSync(runtimeParent, 0o755);
  const p = backendProject('plain', { command: [PYTHON, 'rogue_socket.py', '${SOCKET}'], listen: 'unix', user: String(BACKEND_UID), readyTimeoutMs: 3000, env: { KG_VICTIM: victim, KG_CANARY: canaryDir } }, {
    files: { 'backend/rogue_socket.py': readFileSync(join(FIXTURES, 'rogue_socket.py'), 'utf8') },
    server: { user: String(SERVER_UID) },
  });
  try {
    const r = keygate(p.dir, ['serve'], { env: { TMPDIR: runtimeParent } });
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /BACKEND_NOT_READY/);
    assert.match(r.stderr, /is a symlink, not a socket of uid 64102/);
    assert.ok(!existsSync(asked), `the readiness probe reached the server the symlink names: ${existsSync(asked) ? readFileSync(asked, 'utf8') : ''}`);
    assert.equal(vaultCalls(p).length, 0);
    // What the backend left in its folder stays (with a warning), root never walks it: the canary it links to is whole.
    assert.match(r.stderr, /runtime folder .* was left in place/);
    const [outer] = readdirSync(runtimeParent);
    assert.ok(outer, 'the runtime folder is left');
    // taken back by root before it removed anything (no DAC override under the unit): the backend writes there no more
    assert.equal(statSync(join(runtimeParent, outer, 'b')).uid, 0);
    assert.equal(readFileSync(join(canaryDir, 'keep'), 'utf8'), 'root\'s file\n');
  } finally {
    server.kill();
  }
});

test('separated: the admin channel\'s restart-backend is a request on the control pipe; the root half restarts the backend once, not on every request', { skip, timeout: 300_000 }, async () => {
  const p = attackProject('gunicorn', true);
  const privateKey = addAdminChannel(p, 'ops', 'status,restart-backend');
  // The serving half (server.user) reads the channel's key (that user's, 0600) and writes the audit log.
  chownTree(join(p.dir, 'admin'), SERVER_UID);
  chownTree(join(p.dir, 'dev/cspm'), SERVER_UID);
  // Without a folder the serving user can write the audit log into: refused before the vault is asked.
  const refused = keygate(p.dir, ['serve']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /failed to set up the admin audit log .*: .* is not writable by uid 64101 \(EACCES\) \[ADMIN_INVALID\]/);
  assert.match(refused.stderr, /fix: create its folder for the user keygate serves as \(server\.user\): install -d -m 0700 -o <that user> /);
  assert.equal(vaultCalls(p).length, 0);
  mkdirSync(join(p.dir, 'log'), { mode: 0o700 });
  chownTree(join(p.dir, 'log'), SERVER_UID);
  const served = await serveWithInheritedFd(p.dir, '/dev/null');
  try {
    const url = await waitFor(() => /admin channel listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(served.stderr())?.[1], 20_000, 'the admin channel').catch((err: Error) => {
      throw new Error(`${err.message}\n${served.stderr()}`);
    });
    const c = await AdminClient.login({ url }, 'ops', privateKey, createPublicKey(readFileSync(join(p.dir, 'admin/server.pem'))));
    const first = backendPid(served)!;
    assert.equal(JSON.parse((await c.request('cmd', 'status')).data.toString()).backendPid, first);
    assert.equal((await c.request('cmd', 'restart-backend')).status, 200);
    // A second request at once is refused by the root half: restarts cannot be asked for in a storm.
    assert.equal((await c.request('cmd', 'restart-backend')).status, 200);
    const asked = Date.now();
    const second = await waitFor(() => backendPid(served, 2), 30_000, 'the backend started again');
    assert.notEqual(second, first);
    assert.match(readFileSync(`/proc/${second}/status`, 'utf8'), new RegExp(`^Uid:\\s+${BACKEND_UID}\\s`, 'm'));
    // The new backend is up and another request comes within 5 s of the first: the root half still refuses it
    // (without the gap it would SIGTERM the new backend and a third would start).
    assert.ok(Date.now() - asked < 4_000, 'the restart took too long for this check');
    assert.equal((await c.request('cmd', 'restart-backend')).status, 200);
    await waitFor(() => (served.stderr().match(/a restart request was ignored/g) ?? []).length >= 2, 10_000, 'the ignored requests');
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(backendPid(served, 3), undefined, 'a request within the gap restarted the backend again');
    // The serving half learns the new pid on the control pipe.
    let seen: unknown;
    for (let i = 0; i < 40 && seen !== second; i++) {
      seen = JSON.parse((await c.request('cmd', 'status')).data.toString()).backendPid;
      if (seen !== second) await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(seen, second);
    assert.equal(await served.stop(), 0, served.stderr());
  } finally {
    served.child.kill('SIGKILL');
  }
});

/**
 * What systemd does for ProtectProc=invisible and ProcSubset=pid (the unit init --backend writes): a private mount
 * namespace whose /proc is mounted hidepid=invisible,subset=pid. Reproduced with unshare and mount, since CI runs
 * no systemd; undefined when this kernel or container refuses it (the test is then skipped, with the reason).
 */
const PROTECT_PROC = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount -t proc -o hidepid=invisible,subset=pid proc /proc && exec "$@"', 'sh'];
function protectProcUnavailable(): string | undefined {
  if (skip) return skip;
  const r = spawnSync(PROTECT_PROC[0]!, [...PROTECT_PROC.slice(1), '/bin/true'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `unshare + mount -t proc -o hidepid=invisible,subset=pid refused here: ${r.stderr.trim()}`;
}

test('separated, with the unit\'s ProtectProc=invisible and ProcSubset=pid: the attacker inside gunicorn cannot even see a keygate process; the vault still identifies its caller', { skip: protectProcUnavailable(), timeout: 300_000 }, async () => {
  const { report, served, project } = await attackFromInside('gunicorn', true, PROTECT_PROC);
  try {
    // Planted once without the wrapper: pids held the supervisor and the serving process (the first test here).
    assert.deepEqual(report.pids, [], `keygate processes visible to the backend: ${JSON.stringify(report.pids)}`);
    assert.equal(report.uid, BACKEND_UID);
    assert.equal(curl(`${served.url}hello`, project.crt).stdout, 'attacker ready\n');
    const calls = vaultCalls(project);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.status, 400, 'the vault client, running as server.user, still read its caller in /proc');
    assert.equal(calls[0]!.uid, SERVER_UID);
  } finally {
    assert.equal(await served.stop(), 0, served.stderr());
  }
});
