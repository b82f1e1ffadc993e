// npm run demo:mtls — the `npm start` demo with client certificates required (server.clientAuth.mode "required",
// docs/client-auth.md): only a TLS client that presents a certificate issued by the demo's dev CA gets a page;
// any other client's handshake fails. The client certificate comes from keygate's own dev PKI (docs/pki.md):
// `keygate pki issue client` and `keygate pki p12`.
//
//   node scripts/demo-mtls.mjs [--root DIR] [--no-build] [-- serve flags, e.g. --port 0]
//
// The demo is built in DIR (default dev/mtls-demo, not committed): the entry, app/, content/ and the A2A emulator
// copied from the repo, keygate.config.json = the repo's plus server.clientAuth { mode: required, caFile: the dev
// CA's certificate } on port 8445, filelist.template = the repo's plus that CA file (caFile must be in the
// manifest). Then `dev-setup`, as npm start runs it: the dev CA and the server keystore it issued (passwords only
// in the emulator's store), generate-filelist, pin, the entry registered with the emulator. Then a client
// certificate CN=demo-client from the same CA, as a PKCS#12 with a random password, and a curl config file
// (0600) that holds it, so the password is never printed or put on a command line (keygate gets the CA's and
// the p12's password through a 0600 file in a 0700 temp folder, removed at once). Then `node dist/main.js serve`.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ROOT, buildAndCopyEntry, demoArgs, serveDemo } from './demo-common.mjs';

const options = demoArgs('mtls');
const { fail, serveFlags } = options;
const CA = 'keystore/keygate-demo.crt'; // what dev-setup writes: the dev CA's certificate (src/commands/dev-setup.ts)
const CA_KEY = 'keystore/keygate-demo-ca.key';
const CA_ACCOUNT = 'keygate-demo-dev-ca'; // the emulator account holding the CA key's password
const CLIENT = 'client/demo-client';

const demo = options.root ?? join(ROOT, 'dev/mtls-demo');

// The demo's files, fresh each run (a file left over in app/ would be a new file the gate refuses); the keystore,
// the CA and the emulator's store are kept.
for (const d of ['app', 'content', 'dist']) rmSync(join(demo, d), { recursive: true, force: true });
buildAndCopyEntry(options, demo);
for (const d of ['app', 'content']) cpSync(join(ROOT, d), join(demo, d), { recursive: true });
cpSync(join(ROOT, 'dev/cspm/cspmclient'), join(demo, 'dev/cspm/cspmclient'), { recursive: true });
cpSync(join(ROOT, 'dev/cspm/package.json'), join(demo, 'dev/cspm/package.json'));
writeFileSync(join(demo, 'package.json'), `${JSON.stringify({ name: 'keygate-mtls-demo', private: true }, null, 2)}\n`);

const config = JSON.parse(readFileSync(join(ROOT, 'keygate.config.json'), 'utf8'));
config.$comment = 'mTLS demo (npm run demo:mtls), written by scripts/demo-mtls.mjs: the npm start demo with client certificates required. The vault client is the A2A EMULATOR, NOT for production.';
config.server = { ...config.server, port: 8445, clientAuth: { mode: 'required', caFile: CA } };
writeFileSync(join(demo, 'keygate.config.json'), `${JSON.stringify(config, null, 2)}\n`);
const template = readFileSync(join(ROOT, 'filelist.template'), 'utf8');
writeFileSync(join(demo, 'filelist.template'), `${template.trimEnd()}\n\n# the CA client certificates must chain to (server.clientAuth.caFile): keygate reads it from verified bytes\n${CA}\n`);

/** `node dist/main.js <argv>` in the demo: stderr shown, the result returned. */
const run = (argv) => spawnSync(process.execPath, ['dist/main.js', ...argv], { cwd: demo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

/** Its stdout, or the demo stops (exit 2) naming the command. */
function succeeded(r, argv) {
  if (r.status !== 0) fail(`keygate ${argv.slice(0, 3).join(' ')} failed (exit ${r.status})`);
  return r.stdout.trim();
}

const keygate = (argv) => succeeded(run(argv), argv);

/**
 * Runs keygate with `password` in a 0600 file of a fresh 0700 folder, removed right after: keygate takes
 * passwords from files, never argv (its stdin here is a socket, which /dev/stdin cannot open).
 */
function keygateWithPassword(password, argvFor) {
  const dir = mkdtempSync(join(tmpdir(), 'kg-mtls-pw-'));
  let argv;
  let r;
  try {
    const file = join(dir, 'password');
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
    argv = argvFor(file);
    r = run(argv);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return succeeded(r, argv);
}

keygate(['dev-setup']); // the dev CA + server keystore (when missing or near expiry), generate-filelist, pin, register

// The client certificate, from the same CA.
const store = JSON.parse(readFileSync(join(demo, 'dev/cspm/a2a-store.json'), 'utf8'));
const caPassword = store.accounts?.[CA_ACCOUNT]?.password ?? fail(`the emulator store has no ${CA_ACCOUNT} account: delete ${join(demo, 'keystore')} and run again`);
keygateWithPassword(caPassword, (pw) => ['pki', 'issue', 'client', '--cn', 'demo-client', '--ca-cert', CA, '--ca-key', CA_KEY, '--ca-password-file', pw, '--cert', `${CLIENT}.crt`, '--force']);
const p12Password = randomBytes(24).toString('base64url');
keygateWithPassword(p12Password, (pw) => ['pki', 'p12', '--cert', `${CLIENT}.crt`, '--chain', CA, '--out', `${CLIENT}.p12`, '--password-file', pw, '--force']);
rmSync(join(demo, `${CLIENT}.key`), { force: true }); // the p12 holds it
// curl reads the p12 password from its --cert argument; a config file (curl -K) keeps it off the command line.
const curlrc = join(demo, `${CLIENT}.curlrc`);
writeFileSync(curlrc, `# the mTLS demo's client (npm run demo:mtls): curl -K ${curlrc} https://localhost:8445/hello\ncacert = "${join(demo, CA)}"\ncert-type = "P12"\ncert = "${join(demo, `${CLIENT}.p12`)}:${p12Password}"\n`, { mode: 0o600 });
chmodSync(curlrc, 0o600);

// The gated start. Its stdout (the URL) is passed on; once it listens, the commands to try are printed with the
// port it got.
const child = serveDemo(demo, serveFlags, ['ignore', 'pipe', 'inherit']);
let out = '';
let told = false;
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  out += d.toString();
  const m = /https:\/\/[^\s/]+:(\d+)\//.exec(out);
  if (m && !told) {
    told = true;
    const url = `https://localhost:${m[1]}/hello`;
    process.stderr.write(
      `demo:mtls: client certificate CN=demo-client: ${join(demo, `${CLIENT}.p12`)} (its password is in ${curlrc}, mode 0600)\n` +
        `demo:mtls: with it:    curl -K ${curlrc} ${url}\n` +
        `demo:mtls: without it: curl --cacert ${join(demo, CA)} ${url}   (the handshake fails: certificate required)\n`,
    );
  }
});

