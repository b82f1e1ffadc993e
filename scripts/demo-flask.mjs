// npm run demo:flask — the second demo: a Flask app under Debian's gunicorn, started by keygate after every
// file (the app, Python's standard library and packages, the interpreter) is verified, and fronted by keygate's
// TLS. keygate holds the key; gunicorn never sees the key or the vault's answer (docs/backend.md).
//
//   node scripts/demo-flask.mjs [--root DIR] [--no-build] [-- serve flags, e.g. --port 0]
//
// Without --root it runs in dev/flask-demo (the emulator store is dev/cspm's). With --root it first copies
// dev/flask-demo and dev/cspm into DIR (the tests use a temp folder, so the repo is not touched).
// Steps: build, copy the entry into the demo, create the demo keystore (a random password known only to the
// A2A emulator), generate-filelist, pin, register the entry's hash with the emulator, then `node dist/main.js
// serve` in the demo folder. Needs python3-flask and gunicorn (apt-get install python3-flask gunicorn).
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ROOT, buildAndCopyEntry, demoArgs, serveDemo } from './demo-common.mjs';

const options = demoArgs('flask');
const { fail, serveFlags } = options;
const ALIAS = 'keygate-flask-demo';

for (const [file, pkg] of [['/usr/bin/python3', 'python3'], ['/usr/lib/python3/dist-packages/flask', 'python3-flask'], ['/usr/lib/python3/dist-packages/gunicorn', 'gunicorn']]) {
  if (!existsSync(file)) fail(`${file} is missing: apt-get install ${pkg}`);
}

let demo = join(ROOT, 'dev/flask-demo');
let cspm = join(ROOT, 'dev/cspm');
if (options.root) {
  const root = options.root;
  cpSync(demo, join(root, 'flask-demo'), { recursive: true });
  cpSync(join(cspm, 'cspmclient'), join(root, 'cspm/cspmclient'), { recursive: true });
  cpSync(join(cspm, 'package.json'), join(root, 'cspm/package.json'));
  demo = join(root, 'flask-demo');
  cspm = join(root, 'cspm');
}

buildAndCopyEntry(options, demo);

const keygate = (argv, opts = {}) => {
  const r = spawnSync(process.execPath, ['dist/main.js', ...argv], { cwd: demo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts });
  if (r.status !== 0) fail(`keygate ${argv[0]} failed (exit ${r.status})`);
  return r.stdout.trim();
};

// The emulator store: alias -> password, and the registered entry hashes (PAM's A2A Script registration).
const storeFile = join(cspm, 'a2a-store.json');
const store = existsSync(storeFile) ? JSON.parse(readFileSync(storeFile, 'utf8')) : { accounts: {}, scripts: [] };
store.accounts ??= {};
store.scripts ??= [];
const keystore = join(demo, 'keystore/flask-demo.p12');
if (!existsSync(keystore) || !store.accounts[ALIAS]) {
  const password = randomBytes(32).toString('base64url');
  mkdirSync(join(demo, 'keystore'), { recursive: true });
  const pwFile = join(demo, 'keystore/.initial-password');
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  try {
    keygate(['keystore', 'create', '--password-file', pwFile, '--out', 'keystore/flask-demo.p12', '--force']);
  } finally {
    rmSync(pwFile, { force: true });
  }
  store.accounts[ALIAS] = { userName: 'keystore', password };
}
keygate(['generate-filelist']);
const entryHash = keygate(['pin']).split('\n').pop();
const entry = join(demo, 'dist/main.js');
store.scripts = store.scripts.filter((s) => s.path !== entry);
store.scripts.push({ path: entry, sha256: entryHash });
writeFileSync(storeFile, JSON.stringify(store, null, 2), { mode: 0o600 });
chmodSync(storeFile, 0o600);
process.stderr.write(`demo:flask: entry ${entryHash} registered with the A2A emulator (NOT a vault)\n`);
process.stderr.write(`demo:flask: then try: curl --cacert ${join(demo, 'keystore/flask-demo.crt')} https://localhost:8444/hello\n`);

serveDemo(demo, serveFlags);
