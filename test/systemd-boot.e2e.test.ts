// Production as installed (issue 27): the units `keygate init` writes, unchanged, started by a real systemd 252
// (its own container: test/helpers/systemd-container.ts) for the three deployments a user makes:
//   web   an Express app in-process (init: User=web);
//   shop  a Flask app under gunicorn, separated (init --python --backend: root half, shop serves, shop-app runs it);
//   api   an Express backend, separated (init --backend: api serves, api-app runs it).
// Each project is made inside the container the way docs/getting-started.md says (the packed keygate in
// /opt/keygate, the dev A2A emulator standing where PAM's client goes, in /opt/CA/cspm, as a rehearsal), and
// each is started, asked over HTTPS, attacked from inside its app (separated ones), reloaded, stopped, and
// started tampered. systemd enforces what the unit says: the capability set, RestrictSUIDSGID=,
// ProtectProc=invisible, ProtectSystem=strict, RestartPreventExitStatus=, ExecReload=.
// Planted and seen red (by hand, once each): the setgid b/ folder back (RestrictSUIDSGID refuses it: EPERM, the
// start loop of the issue); root's setgroups removed (EACCES in b/); RestartPreventExitStatus= removed (the
// tampered start restarts); ExecReload= removed ("Job type reload is not applicable"). Automated here: the
// separated unit without each capability of its set does not start (the set is the smallest that works).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { ROOT } from './helpers/project.js';
import { installExpress, missingPeer, waitFor } from './helpers/backend.js';
import { Container, containerSkip } from './helpers/systemd-container.js';
import { SEPARATED_CAPABILITIES } from '../src/core/init-plan.js';

const skip = containerSkip() ?? missingPeer('flask');
const FIXTURES = join(ROOT, 'test/fixtures/backends');
/** The node that runs this suite (Node 20 or the second line): the units name it by absolute path. */
const NODE = process.execPath;
const K = `${NODE} /opt/keygate/package/dist/main.js`;

interface Service {
  readonly name: string;
  readonly port: number;
  readonly separated: boolean;
  /** The app file a tamper changes. */
  readonly app: string;
}
const WEB: Service = { name: 'web', port: 8443, separated: false, app: 'app.js' };
const SHOP: Service = { name: 'shop', port: 8444, separated: true, app: 'app.py' };
const API: Service = { name: 'api', port: 8445, separated: true, app: 'app.js' };

let box: Container;

/** On the host, into the container's root before it boots: keygate as npm packs it, the emulator, three apps. */
function prepare(root: string): void {
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', join(root, 'opt')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(pack.status, 0, pack.stderr);
  mkdirSync(join(root, 'opt/keygate'));
  const untar = spawnSync('tar', ['xzf', join(root, 'opt', pack.stdout.trim().split('\n').pop()!), '-C', join(root, 'opt/keygate')], { encoding: 'utf8' });
  assert.equal(untar.status, 0, untar.stderr);
  // The rehearsal's vault: the dev emulator where PAM's client goes (docs/getting-started.md says so).
  cpSync(join(ROOT, 'dev/cspm'), join(root, 'opt/CA/cspm'), { recursive: true });
  const web = join(root, 'srv/web');
  mkdirSync(web, { recursive: true });
  installExpress(web);
  writeFileSync(join(web, 'package.json'), `${JSON.stringify({ name: 'web', version: '1.0.0', main: 'app.js', private: true }, null, 2)}\n`);
  writeFileSync(join(web, 'app.js'), "const app = require('express')();\napp.get('/hello', (req, res) => res.send('hello from web\\n'));\nmodule.exports = app;\n");
  const api = join(root, 'srv/api');
  cpSync(web, api, { recursive: true });
  writeFileSync(join(api, 'package.json'), `${JSON.stringify({ name: 'api', version: '1.0.0', main: 'app.js', private: true }, null, 2)}\n`);
  cpSync(join(FIXTURES, 'attack_app.js'), join(api, 'app.js'));
  mkdirSync(join(root, 'srv/shop'));
  cpSync(join(FIXTURES, 'attack_app.py'), join(root, 'srv/shop/app.py'));
  // docs/getting-started.md sections 1 and 2 (its console lines, as the user ran them) in root's ~/shop-api
  const checkout = join(root, 'root/shop-api');
  mkdirSync(checkout, { recursive: true });
  cpSync(join(root, 'opt', pack.stdout.trim().split('\n').pop()!), join(checkout, pack.stdout.trim().split('\n').pop()!));
  for (const cmd of guideSteps('## 1. The app', '## 3.')) {
    const r = spawnSync('bash', ['-c', cmd], { cwd: checkout, encoding: 'utf8', timeout: 240_000, env: { PATH: `${dirname(NODE)}:/usr/bin:/bin`, HOME: process.env['HOME'] ?? '/root', npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_loglevel: 'error' } });
    assert.equal(r.status, 0, `${cmd}\n${r.stderr}`);
  }
}

const GUIDE = join(ROOT, 'docs/getting-started.md');

/** The `$` lines of the guide's console blocks between two headings. */
function guideSteps(from: string, to: string): string[] {
  const text = readFileSync(GUIDE, 'utf8');
  const part = text.slice(text.indexOf(from), text.indexOf(to));
  return (part.match(/```console\n[\s\S]*?```/g) ?? []).flatMap((b) => b.split('\n').filter((l) => l.startsWith('$ ')).map((l) => l.slice(2).trim()));
}

/** The guide's production block (section 4's sh block), verbatim. */
function productionBlock(): string {
  const text = readFileSync(GUIDE, 'utf8');
  const part = text.slice(text.indexOf('## 4. Production'), text.indexOf('## When something is wrong'));
  const block = /```sh\n([\s\S]*?)```/.exec(part)?.[1];
  assert.ok(block, 'docs/getting-started.md section 4 has its sh block');
  return block;
}

/** What the attacker inside a separated app tries: the keystore, its folder, the vault's store and client. */
function attackSpec(s: Service): string {
  return JSON.stringify({
    needles: ['PRIVATE KEY-----'],
    files: [`/srv/${s.name}/keystore/${s.name}.p12`, '/opt/CA/cspm/a2a-store.json'],
    folders: [`/srv/${s.name}/keystore`],
    programs: [],
  });
}

/** The user's steps for one service, as an admin's root shell runs them (getting-started, section 4). */
function setUp(s: Service): void {
  const init = s.name === 'shop' ? 'init --python --backend' : s.separated ? 'init --backend' : 'init';
  const keystore = s.separated ? `chown -R ${s.name}: keystore && chmod 700 keystore` : `chgrp ${s.name} keystore/${s.name}.p12 && chmod 640 keystore/${s.name}.p12`;
  const attack = s.separated
    ? `node -e 'const fs=require("fs"),f="keygate.config.json",c=JSON.parse(fs.readFileSync(f));c.server.backend.env={KG_ATTACK:process.argv[1]};fs.writeFileSync(f,JSON.stringify(c,null,2)+"\\n")' '${attackSpec(s)}'`
    : 'true';
  box.ok(`set -euo pipefail
export PATH=${dirname(NODE)}:$PATH CSPM_CLIENT_HOME=/opt/CA/cspm
cd /srv/${s.name}
${K} ${init} --port ${s.port} >/dev/null
${attack}
(umask 077 && openssl rand -base64 24 > /root/pw-${s.name})
${K} keystore create --password-file /root/pw-${s.name} --out keystore/${s.name}.p12 >/dev/null
${keystore}
${K} generate-filelist >/dev/null
H=$(${K} pin)
# the rehearsal's "PAM registration": the emulator's store learns the alias's password and the entry's hash
node -e 'const fs=require("fs"),f="/opt/CA/cspm/a2a-store.json";const st=fs.existsSync(f)?JSON.parse(fs.readFileSync(f)):{accounts:{},scripts:[]};st.accounts[process.argv[1]]={userName:process.argv[1],password:fs.readFileSync(process.argv[2],"utf8").trim()};st.scripts.push({path:process.argv[3],sha256:process.argv[4]});fs.writeFileSync(f,JSON.stringify(st,null,2)+"\\n")' ${s.name} /root/pw-${s.name} /srv/${s.name}/keygate/main.cjs "$H"
chgrp kgvault /opt/CA/cspm/a2a-store.json && chmod 640 /opt/CA/cspm/a2a-store.json
cp keygate/${s.name}.service /etc/systemd/system/
systemctl daemon-reload`);
}

function curlHello(s: Service): { status: number; out: string } {
  const r = box.sh(`curl -sS --max-time 20 --cacert /srv/${s.name}/keystore/${s.name}.crt --retry 40 --retry-connrefused --retry-delay 1 https://localhost:${s.port}/hello`, 90_000);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function startAndAnswer(s: Service): void {
  box.ok(`systemctl start ${s.name}`);
  const page = curlHello(s);
  assert.equal(page.status, 0, `${page.out}\n${box.journal(s.name)}`);
  assert.match(page.out, s.separated ? /attacker ready/ : /hello from web/);
  assert.equal(box.show(s.name, 'ActiveState').ActiveState, 'active');
}

before(async () => {
  if (skip) return;
  box = await Container.boot(prepare, NODE.startsWith('/usr/') ? [] : [`--bind-ro=${dirname(dirname(NODE))}`]);
  box.ok(`set -e
groupadd --system kgvault
for u in web shop api; do useradd --system --no-create-home --shell /usr/sbin/nologin -G kgvault $u; done
for u in shop-app api-app; do useradd --system --no-create-home --shell /usr/sbin/nologin $u; done`);
  for (const s of [WEB, SHOP, API]) setUp(s);
});

after(async () => {
  if (box) await box.stop();
});

for (const s of [WEB, SHOP, API]) {
  const kind = s.name === 'web' ? 'the in-process Express unit (User=)' : s.name === 'shop' ? 'the separated Flask/gunicorn unit' : 'the separated Express unit';
  test(`real systemd: ${kind} starts, answers over HTTPS, reloads on systemctl reload, and stops leaving no process`, { skip, timeout: 300_000 }, async () => {
    startAndAnswer(s);
    const pid = box.show(s.name, 'MainPID').MainPID;
    const from = box.cursor();
    // systemctl reload → SIGHUP: the vault asked again (cache bypassed), the keystore read again, still serving
    box.ok(`systemctl reload ${s.name}`);
    await waitFor(() => /reloaded TLS context \(SIGHUP\)/.test(box.journal(s.name, from)), 30_000, 'the reload line');
    assert.equal(box.show(s.name, 'MainPID').MainPID, pid, 'reload is no restart');
    assert.equal(curlHello(s).status, 0);
    box.ok(`systemctl stop ${s.name}`);
    assert.equal(box.show(s.name, 'ActiveState').ActiveState, 'inactive');
    const users = s.separated ? `${s.name},${s.name}-app` : s.name;
    const left = box.sh(`pgrep -a -u ${users}`);
    assert.equal(left.stdout, '', `processes left after stop: ${left.stdout}`);
    assert.doesNotMatch(box.journal(s.name, from), /left in place|unexpected error/, 'the runtime folder is removed');
  });
}

for (const s of [SHOP, API]) {
  test(`real systemd: from inside the ${s.name === 'shop' ? 'gunicorn' : 'Express'} app of the separated unit, keygate's processes are invisible and its memory, environ, keystore and the vault's store out of reach`, { skip, timeout: 300_000 }, () => {
    startAndAnswer(s);
    try {
      const known = [box.show(s.name, 'MainPID').MainPID ?? '', ...box.sh(`pgrep -u ${s.name}`).stdout.trim().split('\n')].filter((p) => /^\d+$/.test(p) && p !== '0');
      assert.ok(known.length >= 2, `the root half and the serving half: ${known.join(',')}`);
      const r = box.ok(`curl -sS --max-time 60 --cacert /srv/${s.name}/keystore/${s.name}.crt 'https://localhost:${s.port}/attack?pids=${known.join(',')}'`);
      const report = JSON.parse(r) as {
        uid: number;
        pids: number[];
        environ: Record<string, string>;
        mem: Record<string, { result: string }>;
        files: Record<string, string>;
        folders: Record<string, string>;
        status: Record<string, string>;
      };
      assert.equal(String(report.uid), box.ok(`id -u ${s.name}-app`).trim(), 'the app runs as server.backend.user');
      // ProtectProc=invisible really applied: listing /proc finds no keygate process at all
      assert.deepEqual(report.pids, [], `keygate processes visible from the app: ${JSON.stringify(report.pids)}`);
      for (const p of known) {
        assert.notEqual(report.environ[p], 'READ', `/proc/${p}/environ`);
        assert.notEqual(report.mem[p]?.result, 'read', `/proc/${p}/mem`);
      }
      for (const [f, how] of Object.entries(report.files)) assert.equal(how, 'EACCES', `${f}: ${how}`);
      for (const [d, how] of Object.entries(report.folders)) assert.equal(how, 'EACCES', `${d}: ${how}`);
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb']) assert.equal(report.status[set], '0000000000000000', `${set}: ${JSON.stringify(report.status)}`);
      assert.equal(report.status['NoNewPrivs'], '1');
      // and the serving half is under no_new_privs too, with no capability left
      const half = box.ok(`grep -E '^(CapEff|NoNewPrivs)' /proc/$(pgrep -u ${s.name} -f main.cjs | head -1)/status`);
      assert.match(half, /CapEff:\s+0000000000000000/);
      assert.match(half, /NoNewPrivs:\s+1/);
    } finally {
      box.sh(`systemctl stop ${s.name}`);
    }
  });
}

for (const s of [WEB, SHOP]) {
  test(`real systemd: ${s.name === 'web' ? 'the in-process' : 'the separated'} unit with a tampered ${s.app} exits 3 before the vault is asked, and is not restarted`, { skip, timeout: 300_000 }, async () => {
    box.ok(`cp /srv/${s.name}/${s.app} /root/${s.name}-app.orig && echo '# tampered' >> /srv/${s.name}/${s.app} && systemctl reset-failed ${s.name} || true`);
    try {
      const from = box.cursor();
      box.sh(`systemctl start ${s.name}`);
      await waitFor(() => box.show(s.name, 'ActiveState').ActiveState === 'failed', 30_000, 'the unit to fail');
      await new Promise((r) => setTimeout(r, 2000)); // Restart= would have fired by now (RestartSec=100ms)
      const st = box.show(s.name, 'ActiveState', 'ExecMainStatus', 'NRestarts');
      assert.deepEqual(st, { ActiveState: 'failed', ExecMainStatus: '3', NRestarts: '0' }, box.journal(s.name));
      const journal = box.journal(s.name, from);
      assert.match(journal, new RegExp(`changed: .*${s.app.replace('.', '\\.')}`));
      assert.doesNotMatch(journal, /vault asked|gate=vault/, 'the vault was not asked');
    } finally {
      box.ok(`cp /root/${s.name}-app.orig /srv/${s.name}/${s.app} && systemctl reset-failed ${s.name}`);
    }
  });
}

test('real systemd: the separated unit needs each capability of its set (each dropped once: no start), and starts with exactly that set', { skip, timeout: 300_000 }, async () => {
  const caps = SEPARATED_CAPABILITIES.split(' ');
  // Restart=no in the drop-in: on a loaded machine each failed start can outlast StartLimitIntervalSec's share,
  // and the unit would restart forever instead of failing; what is tested is that it cannot start.
  for (const drop of caps.filter((c) => c !== 'CAP_KILL')) {
    box.ok(`mkdir -p /etc/systemd/system/shop.service.d && printf '[Service]\\nCapabilityBoundingSet=\\nCapabilityBoundingSet=${caps.filter((c) => c !== drop).join(' ')}\\nRestart=no\\n' > /etc/systemd/system/shop.service.d/planted.conf && systemctl daemon-reload`);
    try {
      box.sh('systemctl start shop');
      await waitFor(() => box.show('shop', 'ActiveState').ActiveState === 'failed', 30_000, `shop without ${drop} to fail`);
      assert.notEqual(box.show('shop', 'ExecMainStatus').ExecMainStatus, '0', drop);
    } finally {
      box.ok('rm -rf /etc/systemd/system/shop.service.d && systemctl daemon-reload && systemctl reset-failed shop');
    }
  }
  // CAP_KILL: the root half signals the app's processes (another uid) at stop; without it they outlive the stop
  box.ok(`mkdir -p /etc/systemd/system/shop.service.d && printf '[Service]\\nCapabilityBoundingSet=\\nCapabilityBoundingSet=${caps.filter((c) => c !== 'CAP_KILL').join(' ')}\\nTimeoutStopSec=5\\n' > /etc/systemd/system/shop.service.d/planted.conf && systemctl daemon-reload`);
  try {
    startAndAnswer(SHOP);
    const from = box.cursor();
    box.sh('systemctl stop shop', 60_000);
    assert.match(box.journal('shop', from), /EPERM|operation not permitted|State 'stop-sigterm' timed out|Killing process/i, 'without CAP_KILL the stop is not clean');
  } finally {
    box.ok('rm -rf /etc/systemd/system/shop.service.d && systemctl daemon-reload && systemctl reset-failed shop || true');
  }
  startAndAnswer(SHOP);
  box.ok('systemctl stop shop');
});

test('real systemd: signed releases under ProtectSystem=strict: the separated unit raises the host floor (StateDirectory=), and an older release is then refused with exit 3 and no restart', { skip, timeout: 300_000 }, async () => {
  // CI's side (keys, pin, sign) and the host's (accept, start), as docs/releases.md says; then a patch, release 2.
  box.ok(`set -euo pipefail
export PATH=${dirname(NODE)}:$PATH CSPM_CLIENT_HOME=/opt/CA/cspm
cd /srv/shop
(umask 077 && openssl rand -base64 24 > /root/ci-pass)
${K} release keygen --out /root/ci --password-file /root/ci-pass >/dev/null 2>&1
${K} generate-filelist >/dev/null 2>&1
H=$(${K} pin --release-keys /root/ci.pub --project shop --state-file /var/lib/keygate/shop.version 2>/dev/null)
${K} release sign --key /root/ci.key --password-file /root/ci-pass --release-version 1 --expires 30d >/dev/null 2>&1
install -d -m 0755 /var/lib/keygate
node /srv/shop/keygate/main.cjs release accept >/dev/null 2>&1
cp app.py filelist.sha256 filelist.sha256.sig /root/
node -e 'const fs=require("fs"),f="/opt/CA/cspm/a2a-store.json",st=JSON.parse(fs.readFileSync(f));st.scripts.push({path:"/srv/shop/keygate/main.cjs",sha256:process.argv[1]});fs.writeFileSync(f,JSON.stringify(st,null,2)+"\\n")' "$H"
echo '# patch 2' >> app.py
${K} generate-filelist >/dev/null 2>&1
${K} release sign --key /root/ci.key --password-file /root/ci-pass --release-version 2 --expires 30d >/dev/null 2>&1`);
  assert.equal(box.ok('cat /var/lib/keygate/shop.version').trim(), '1');
  box.sh('systemctl reset-failed shop');
  startAndAnswer(SHOP);
  box.ok('systemctl stop shop');
  assert.equal(box.ok('cat /var/lib/keygate/shop.version').trim(), '2', `the floor was not raised under ProtectSystem=strict:\n${box.journal('shop')}`);
  // release 1 deployed again (a rollback to a release with a known hole): refused before the vault, not restarted
  box.ok('cp /root/app.py /root/filelist.sha256 /root/filelist.sha256.sig /srv/shop/');
  const from = box.cursor();
  box.sh('systemctl start shop');
  await waitFor(() => box.show('shop', 'ActiveState').ActiveState === 'failed', 30_000, 'the rolled-back start to fail');
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual(box.show('shop', 'ExecMainStatus', 'NRestarts'), { ExecMainStatus: '3', NRestarts: '0' });
  const journal = box.journal('shop', from);
  assert.match(journal, /RELEASE_ROLLBACK/);
  assert.doesNotMatch(journal, /vault asked/);
});

test('real systemd: docs/getting-started.md\'s production block, run verbatim as root from ~/shop-api, serves the page; the unit as installed runs as shop-api', { skip, timeout: 300_000 }, () => {
  const r = box.sh(`set -euo pipefail\n${productionBlock()}`, 240_000);
  assert.equal(r.status, 0, `the guide's block failed:\n${r.stdout}\n${r.stderr}\n${box.journal('shop-api')}`);
  assert.match(r.stdout, /hello from shop-api/);
  // production init removed the dev setup (the emulator with plain-text passwords, the dev CA)
  assert.match(r.stderr, /warn: removed the dev setup: keygate\/dev-cspm, keystore\/shop-api-ca\.key/);
  assert.equal(box.ok('stat -c %a /srv/shop-api/filelist.sha256').trim(), '644');
  assert.equal(box.show('shop-api', 'ActiveState').ActiveState, 'active');
  assert.equal(box.ok("ps -o user= -p $(systemctl show -p MainPID --value shop-api)").trim(), 'shop-api');
  box.ok('systemctl stop shop-api');
});

test('real systemd: BACKEND_USER_INVALID\'s printed fix (useradd) run as printed in the container: then the separated unit starts with that user', { skip, timeout: 300_000 }, () => {
  // a backend user that does not exist yet (the config edited as a user would, re-pinned and re-registered)
  box.ok(`set -euo pipefail
export PATH=${dirname(NODE)}:$PATH CSPM_CLIENT_HOME=/opt/CA/cspm
cd /srv/api
node -e 'const fs=require("fs"),f="keygate.config.json",c=JSON.parse(fs.readFileSync(f));c.server.backend.user="api-worker";fs.writeFileSync(f,JSON.stringify(c,null,2)+"\\n")'
${K} generate-filelist >/dev/null 2>&1
H=$(${K} pin 2>/dev/null)
node -e 'const fs=require("fs"),f="/opt/CA/cspm/a2a-store.json",st=JSON.parse(fs.readFileSync(f));st.scripts.push({path:"/srv/api/keygate/main.cjs",sha256:process.argv[1]});fs.writeFileSync(f,JSON.stringify(st,null,2)+"\\n")' "$H"
# the guide's rehearsal (test above) gave the shared store to shop-api: the serving users' group reads it again
chown root:kgvault /opt/CA/cspm/a2a-store.json && chmod 640 /opt/CA/cspm/a2a-store.json`);
  const refused = box.sh(`CSPM_CLIENT_HOME=/opt/CA/cspm ${NODE} /srv/api/keygate/main.cjs serve`); // as the unit runs it, by hand
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /failed to find the user api-worker \(server\.backend\.user\): no such user on this host \[BACKEND_USER_INVALID\]/);
  const fix = /^ {2}fix: (.*)$/m.exec(refused.stderr)?.[1] ?? '';
  assert.match(fix, /^useradd /);
  box.ok(fix); // as printed, as root
  box.sh('systemctl reset-failed api');
  startAndAnswer(API);
  assert.equal(box.ok(`ps -o user= -p $(pgrep -f -u api-worker 'app.js' | head -1)`).trim(), 'api-worker');
  box.ok('systemctl stop api');
});
