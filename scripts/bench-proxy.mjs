// Proxy speed (issue 11 point 7): requests/s and p99 latency through keygate's backend proxy (TLS) against nginx
// and Apache httpd as TLS reverse proxies in front of the SAME backend process, and against that backend reached
// directly (plain HTTP). Called by scripts/bench.mjs (benchProxy()), and runs on its own after `npm run build`:
//   node scripts/bench-proxy.mjs
// Fair by construction (docs/performance.md, "Backend proxy"):
//   backend  scripts/bench-backend.cjs, one Node process, started once by keygate's own backend mode
//            (listen "fd": keygate binds 127.0.0.1:<port> and hands it over as fd 3); nginx, Apache and the direct
//            client connect to that very process on that port. All upstream traffic is loopback TCP.
//   upstream keep-alive everywhere: keygate's http.Agent (keepAlive), nginx `proxy_http_version 1.1` + an
//            upstream `keepalive 64` pool, Apache mod_proxy_http's connection pool (reuse on, the default).
//   client   wrk (autocannon when wrk is missing), 32 connections, 1 client thread, 1 s warm-up then 5 s
//            measured per setup, rounds interleaved (keygate, nginx, apache, direct, keygate, ...), medians.
//            Client keep-alive unlimited on every proxy (no TLS handshake mid-run for anyone).
//            Also CPU per request of each proxy's own processes (/proc/<pid>/stat, threads and children), which
//            moves far less than req/s when other work shares the host.
//   TLS      one certificate and key: the keystore keygate unlocks, exported to PEM with openssl for nginx and
//            Apache into the run's folder under .bench/ (0700, removed at the end). TLS 1.2 + 1.3 offered by all; every setup
//            negotiates TLS 1.3 with the same suite (checked and printed per row).
//   workers  keygate: one Node process (its design). nginx: worker_processes 1. Apache: mpm_event with Debian's
//            default mpm_event.conf (StartServers 2, ThreadsPerChild 25, MaxRequestWorkers 150).
//            The machine's cores are shared by client, proxy and backend alike.
//   headers  each proxy sets X-Forwarded-For/-Proto/-Host and sends Strict-Transport-Security, as keygate does;
//            no access log anywhere.
// A missing peer (nginx or apache2 not installed, or failing to start) becomes a row with a note; nothing here
// throws for it, and the function always resolves.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { renderTable } from './bench-table.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const NGINX = '/usr/sbin/nginx';
const APACHE = '/usr/sbin/apache2';
const APACHE_MODULES = '/usr/lib/apache2/modules';
const WRK = '/usr/bin/wrk';
/** HTTP/2 load (wrk and autocannon speak HTTP/1.1 only): Debian's nghttp2-client. */
const H2LOAD = '/usr/bin/h2load';
const BODY = 'hello from the bench backend\n';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, timeout: 120_000, ...opts });
  if ((r.status !== 0 || r.error) && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.error}): ${r.stderr}`);
  return r;
}

/** A free loopback port (bound, read, released). */
function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** One GET; resolves with { status, body } or rejects. TLS without verification: the bench trusts its own cert. */
function get(url, timeoutMs = 2000) {
  return new Promise((ok, fail) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? 'https' : 'http';
    import(`node:${mod}`).then(({ default: m }) => {
      const req = m.get(url, { agent: false, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => ok({ status: res.statusCode, body, headers: res.headers }));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', fail);
    }, fail);
  });
}

async function waitAnswer(url, ms, isAlive = () => true) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    if (!isAlive()) throw new Error('exited before answering');
    try {
      const r = await get(url);
      if (r.status === 200 && r.body === BODY) return r;
      last = new Error(`answered ${r.status}: ${r.body.slice(0, 80)}`);
    } catch (err) {
      last = err;
    }
    await sleep(50);
  }
  throw new Error(`no answer on ${url} within ${ms} ms${last ? ` (${last.message})` : ''}`);
}

/** The TLS version and suite a fresh connection negotiates (what wrk's OpenSSL gets too: same defaults). */
function negotiated(port) {
  return new Promise((ok) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      ok(`${s.getProtocol()} ${s.getCipher()?.standardName ?? s.getCipher()?.name}`);
      s.end();
    });
    s.on('error', (err) => ok(`? (${err.code ?? err.message})`));
  });
}

// ---- the project keygate serves ---------------------------------------------------------------------------

/**
 * A deployable project in a temp folder: the built entry, the A2A emulator, the backend program, a keystore
 * made by `keygate keystore create` with a random password (known here only so openssl can export the PEMs
 * the peers use), the manifest generated and pinned, the entry registered with the emulator.
 */
export function makeProject(work, node, distDir = join(ROOT, 'dist'), { separated = false } = {}) {
  const name = separated ? 'keygate-separated' : 'keygate';
  const dir = join(work, name);
  mkdirSync(join(dir, 'dist'), { recursive: true });
  for (const f of ['main.js', 'package.json']) cpSync(join(distDir, f), join(dir, 'dist', f));
  cpSync(join(ROOT, 'dev/cspm/package.json'), join(dir, 'dev/cspm/package.json'));
  cpSync(join(ROOT, 'dev/cspm/cspmclient'), join(dir, 'dev/cspm/cspmclient'), { recursive: true });
  mkdirSync(join(dir, 'backend'), { recursive: true });
  cpSync(join(ROOT, 'scripts/bench-backend.cjs'), join(dir, 'backend/server.cjs'));
  writeFileSync(join(dir, 'package.json'), '{"name":"kg-bench-proxy","private":true,"type":"module"}\n');
  const config = {
    vault: { provider: 'cspm', clientPath: 'dev/cspm/cspmclient/bin64/cspmclient64', alias: 'keygate-bench', output: 'xml' },
    keystore: { path: 'keystore/bench.p12' },
    server: {
      host: '127.0.0.1',
      port: 0,
      // sameUser: the bench runs keygate and its backend as one user (no root to split them); a production start
      // without it is refused (privilege separation, docs/backend.md).
      backend: { command: ['${NODE}', 'server.cjs'], cwd: 'backend', listen: 'fd', readyPath: '/', stopTimeoutMs: 3000, sameUser: true },
    },
  };
  if (separated) {
    // The recommended deployment (docs/backend.md#privilege-separation): started as root, keygate serves as one
    // uid and the backend runs as another, over a unix socket in the backend's folder. Numeric uids, no accounts.
    config.server.user = String(SEPARATED_UIDS.server);
    config.server.backend = { command: ['${NODE}', 'server.cjs', '${SOCKET}'], cwd: 'backend', listen: 'unix', readyPath: '/', stopTimeoutMs: 3000, user: String(SEPARATED_UIDS.backend) };
  }
  writeFileSync(join(dir, 'keygate.config.json'), JSON.stringify(config, null, 2) + '\n');
  writeFileSync(join(dir, 'filelist.template'), 'backend\nkeygate.config.json\npackage.json\ndist/package.json\n${NODE}\n${BACKEND}\n');
  // keygate refuses to run an entry or vault client that others could rewrite (its trust anchors): no group or
  // other write bit anywhere in the copy, whatever the umask or the source's modes were.
  sh('chmod', ['-R', 'go-w', dir]);
  const password = randomBytes(24).toString('base64url');
  const pwFile = join(work, `pw-${name}`);
  writeFileSync(pwFile, password + '\n', { mode: 0o600 });
  sh(node, ['dist/main.js', 'keystore', 'create', '--password-file', pwFile, '--out', 'keystore/bench.p12', '--key-size', '2048'], { cwd: dir });
  // The same key and certificate for nginx and Apache (PEM, 0600, in the temp folder that is removed at the end).
  const tlsDir = join(work, `tls-${name}`);
  mkdirSync(tlsDir, { mode: 0o700 });
  const p12 = join(dir, 'keystore/bench.p12');
  const exportPem = (extra, out) => {
    const args = ['pkcs12', '-in', p12, '-passin', `file:${pwFile}`, '-out', out, ...extra];
    const r = sh('openssl', args, { allowFail: true });
    if (r.status !== 0) sh('openssl', [...args, '-legacy']); // node-forge's 3DES/SHA-1 bags need the legacy provider
    chmodSync(out, 0o600);
  };
  exportPem(['-nocerts', '-nodes'], join(tlsDir, 'key.pem'));
  exportPem(['-clcerts', '-nokeys'], join(tlsDir, 'cert.pem'));
  rmSync(pwFile);
  sh(node, ['dist/main.js', 'generate-filelist'], { cwd: dir });
  const entrySha = sh(node, ['dist/main.js', 'pin'], { cwd: dir }).stdout.trim().split('\n').pop();
  writeFileSync(
    join(dir, 'dev/cspm/a2a-store.json'),
    JSON.stringify({ accounts: { 'keygate-bench': { userName: 'keystore', password } }, scripts: [{ path: join(dir, 'dist/main.js'), sha256: entrySha }] }, null, 2),
    { mode: 0o600 },
  );
  if (separated) {
    // The keystore and the emulator's store belong to the serving user; the vault client stays root's (a trust
    // anchor: keygate refuses one its own uid could rewrite).
    sh('chown', ['-R', `${SEPARATED_UIDS.server}:${SEPARATED_UIDS.server}`, join(dir, 'keystore'), join(dir, 'dev/cspm/a2a-store.json')]);
    chmodSync(join(dir, 'keystore'), 0o700);
  }
  return { dir, separated, key: join(tlsDir, 'key.pem'), cert: join(tlsDir, 'cert.pem') };
}

/** Starts a long-running process; collects its stderr/stdout; stop() = SIGTERM, then SIGKILL after 5 s. */
function startProcess(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  let exited = false;
  const done = new Promise((r) => child.once('exit', (code, sig) => ((exited = true), r(code ?? sig))));
  child.once('error', (e) => ((err += String(e)), (exited = true)));
  return {
    child,
    out: () => out,
    err: () => err,
    alive: () => !exited,
    done,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    },
  };
}

export async function startKeygate(project, node) {
  const p = startProcess(node, ['dist/main.js', 'serve'], { cwd: project.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' } });
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    const url = /https:\/\/[^\s]+:(\d+)\//.exec(p.out());
    const backend = /fd 3 = 127\.0\.0\.1:(\d+)/.exec(p.err());
    const pid = /backend ready: pid (\d+)/.exec(p.err());
    // Separated, the backend listens on a unix socket: no port to report.
    if (url && (backend || project.separated) && pid) return { proc: p, port: Number(url[1]), backendPort: backend ? Number(backend[1]) : undefined, backendPid: Number(pid[1]) };
    if (!p.alive()) break;
    await sleep(50);
  }
  await p.stop();
  throw new Error(`keygate serve did not start:\n${p.err().slice(-2000)}`);
}

// ---- the two HTTP/1.1 clients toward the backend (issue 29 point 5) ---------------------------------------

/**
 * What the bodiless fast path (keygate's pool, forwardBodiless) buys over node:http's client, which uploads use:
 * src/backend/proxy.ts bundled as it is (esbuild, from this tree), served by two plain-HTTP fronts in their own
 * processes, one per client (ProxyOptions.bodilessVia), in front of the same backend process. Plain HTTP so that
 * only the backend client differs (the TLS side is the same for both in keygate).
 */
export async function startCodecFronts(work, backendPort, node) {
  const { build } = await import(pathToFileURL(join(ROOT, 'node_modules/esbuild/lib/main.js')).href);
  const bundle = join(work, 'proxy-bundle.mjs');
  await build({ entryPoints: [join(ROOT, 'src/backend/proxy.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'silent' });
  const script = join(work, 'codec-front.mjs');
  writeFileSync(
    script,
    [
      "import http from 'node:http';",
      'const { createProxy } = await import(process.argv[2]);',
      "const proxy = createProxy({ target: () => ({ host: '127.0.0.1', port: Number(process.argv[4]) }), requestTimeoutMs: 60_000, bodilessVia: process.argv[3] });",
      'const server = http.createServer((req, res) => proxy.handle(req, res));',
      'server.keepAliveTimeout = 75_000;',
      'server.maxRequestsPerSocket = 0;',
      "server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\\n`));",
      "process.on('SIGTERM', () => process.exit(0));",
    ].join('\n'),
  );
  const fronts = {};
  for (const via of ['pool', 'node:http']) {
    const proc = startProcess(node, [script, pathToFileURL(bundle).href, via, String(backendPort)]);
    const end = Date.now() + 10_000;
    let port;
    while (Date.now() < end && proc.alive() && !(port = /listening (\d+)/.exec(proc.out())?.[1])) await sleep(20);
    if (!port) {
      await proc.stop();
      throw new Error(`the ${via} front did not start: ${proc.err().slice(-500)}`);
    }
    fronts[via] = { proc, port: Number(port) };
  }
  return fronts;
}

// ---- the peers ------------------------------------------------------------------------------------------

const IS_ROOT = process.getuid?.() === 0;
/** The separated setup's serving and backend uids (test/privilege-separation.e2e.test.ts uses the same). */
const SEPARATED_UIDS = { server: 64101, backend: 64102 };

export async function startNginx(work, tlsFiles, backendPort) {
  if (!existsSync(NGINX)) return { note: `not installed (${NGINX}; Debian package nginx-light)` };
  const prefix = join(work, 'nginx');
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  chmodSync(prefix, 0o755);
  const port = await freePort();
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `# keygate bench: nginx as a TLS reverse proxy in front of the bench backend (one worker: keygate is one process)
worker_processes 1;
${IS_ROOT ? 'user nobody nogroup;\n' : ''}pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 75s;
  upstream bench_backend {
    server 127.0.0.1:${backendPort};
    keepalive 64;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
  }
  server {
    # ALPN h2 and http/1.1, as keygate's server.http2: wrk negotiates HTTP/1.1, h2load h2. nginx 1.22 (Debian 12)
    # takes the listen parameter; 1.25.1+ prefers \`http2 on;\` and still accepts this with a warning.
    listen 127.0.0.1:${port} ssl http2;
    server_name localhost;
    ssl_certificate ${tlsFiles.cert};
    ssl_certificate_key ${tlsFiles.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    add_header Strict-Transport-Security "max-age=63072000" always;
    location / {
      proxy_pass http://bench_backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-Host $http_host;
    }
  }
}
`,
  );
  const p = startProcess(NGINX, ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log'), '-g', 'daemon off;']);
  const failed = await peerStarted(p, port, join(prefix, 'error.log'));
  if (failed) return failed;
  return { proc: p, port, version: sh(NGINX, ['-v'], { allowFail: true }).stderr.trim().replace(/^nginx version: /, '') };
}

/** Waits until a started peer answers over TLS; undefined when it does, else a row note with its last log lines. */
async function peerStarted(p, port, errorLog) {
  try {
    await waitAnswer(`https://127.0.0.1:${port}/`, 10_000, p.alive);
    return undefined;
  } catch (err) {
    await p.stop();
    const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '';
    return { note: `failed to start: ${err.message} ${(p.err() + log).trim().split('\n').slice(-3).join(' | ')}` };
  }
}

export async function startApache(work, tlsFiles, backendPort) {
  const modules = ['mpm_event', 'authz_core', 'proxy', 'proxy_http', 'socache_shmcb', 'ssl', 'headers'];
  if (!existsSync(APACHE)) return { note: `not installed (${APACHE}; Debian package apache2)` };
  const missing = modules.filter((m) => !existsSync(join(APACHE_MODULES, `mod_${m}.so`)));
  if (missing.length) return { note: `not installed: mod_${missing.join(', mod_')} in ${APACHE_MODULES}` };
  const root = join(work, 'apache');
  mkdirSync(join(root, 'run'), { recursive: true });
  chmodSync(root, 0o755);
  chmodSync(join(root, 'run'), 0o777);
  const port = await freePort();
  const conf = join(root, 'httpd.conf');
  writeFileSync(
    conf,
    `# keygate bench: Apache httpd (mpm_event, Debian's default thread counts) as a TLS reverse proxy
ServerRoot ${root}
ServerName localhost
Listen 127.0.0.1:${port}
PidFile ${root}/run/httpd.pid
DefaultRuntimeDir ${root}/run
Mutex file:${root}/run default
ErrorLog ${root}/error.log
LogLevel warn
${modules.map((m) => `LoadModule ${m}_module ${APACHE_MODULES}/mod_${m}.so`).join('\n')}
${IS_ROOT ? 'User nobody\nGroup nogroup\n' : ''}# Debian's /etc/apache2/mods-available/mpm_event.conf
StartServers 2
MinSpareThreads 25
MaxSpareThreads 75
ThreadLimit 64
ThreadsPerChild 25
MaxRequestWorkers 150
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 75
SSLSessionCache shmcb:${root}/run/ssl_scache(512000)
SSLRandomSeed startup builtin
<VirtualHost 127.0.0.1:${port}>
  SSLEngine on
  SSLCertificateFile ${tlsFiles.cert}
  SSLCertificateKeyFile ${tlsFiles.key}
  SSLProtocol -all +TLSv1.2 +TLSv1.3
  Header always set Strict-Transport-Security "max-age=63072000"
  ProxyRequests Off
  ProxyPreserveHost On
  # mod_proxy adds X-Forwarded-For/-Host/-Server itself (ProxyAddHeaders On)
  RequestHeader set X-Forwarded-Proto https
  # disablereuse=Off: backend connections are pooled and kept alive (the default, stated)
  ProxyPass / http://127.0.0.1:${backendPort}/ disablereuse=Off
</VirtualHost>
`,
  );
  const p = startProcess(APACHE, ['-f', conf, '-DFOREGROUND'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' } });
  const failed = await peerStarted(p, port, join(root, 'error.log'));
  if (failed) return failed;
  const v = /Apache\/[\d.]+/.exec(sh(APACHE, ['-v'], { allowFail: true }).stdout)?.[0];
  return { proc: p, port, version: v };
}

// ---- the client -----------------------------------------------------------------------------------------

/** wrk's "1.23ms" / "456.00us" / "1.02s" → ms. */
function wrkMs(s) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s.trim());
  if (!m) return NaN;
  return Number(m[1]) * { us: 1e-3, ms: 1, s: 1e3, m: 6e4 }[m[2]];
}

/** The separated setup's serving half: the root supervisor's child that is not the backend. */
function servingHalf(rootPid, backendPid) {
  try {
    const kids = readFileSync(`/proc/${rootPid}/task/${rootPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return kids.filter((k) => k !== backendPid).map((pid) => ({ pid }));
  } catch {
    return [];
  }
}

/** CPU time (ms, user + system, every thread) used so far by the processes and their direct children. */
function cpuMs(pids) {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  let total = 0;
  const seen = new Set();
  const add = (pid) => {
    if (seen.has(pid)) return;
    seen.add(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) * tick;
    } catch {
      /* gone */
    }
  };
  for (const { pid, children } of pids) {
    add(pid);
    if (!children) continue;
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) add(Number(c));
    } catch {
      /* no children file */
    }
  }
  return total;
}

/**
 * One HTTP/2 load run with h2load: the same requests in flight as the HTTP/1.1 runs (connections / 4
 * connections × 4 streams each), p99 from its per-request log.
 */
function loadH2(url, { connections, seconds, threads }, work) {
  const logFile = join(work, 'h2load.log');
  const c = Math.max(1, Math.floor(connections / 4));
  const r = sh(H2LOAD, ['-c', String(c), '-m', '4', '-t', String(threads), '-D', String(seconds), '--log-file', logFile, url], { allowFail: true, timeout: (seconds + 30) * 1000 });
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(r.stdout)?.[1]);
  const m = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(r.stdout);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(r.stdout);
  let p99 = NaN;
  try {
    const times = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => Number(l.split('\t')[2]) / 1000).sort((a, b) => a - b);
    p99 = times[Math.min(times.length - 1, Math.floor(times.length * 0.99))];
    rmSync(logFile);
  } catch {
    /* no log: p99 stays NaN */
  }
  const bad = status ? Number(status[3]) + Number(status[4]) : 0;
  const errors = [m && Number(m[3]) ? `${m[3]} failed` : '', m && Number(m[4]) ? `${m[4]} errored` : '', bad ? `${bad} non-2xx` : '', m ? '' : `h2load: ${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0]}`].filter(Boolean).join(', ');
  return { rps, p99, requests: m ? Number(m[2]) : 0, errors };
}

/** One load run: { rps, p99 (ms), requests, errors }. */
function load(url, { connections, seconds, threads }, proto = 'http/1.1', work = '') {
  if (proto === 'h2') return loadH2(url, { connections, seconds, threads }, work);
  if (existsSync(WRK)) {
    const r = sh(WRK, ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--timeout', '5s', '--latency', url], { allowFail: true, timeout: (seconds + 30) * 1000 });
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
    const p99 = wrkMs(/^\s+99%\s+(\S+)/m.exec(r.stdout)?.[1] ?? '');
    const errLine = /Socket errors: (.*)/.exec(r.stdout)?.[1];
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0);
    const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0);
    return { rps, p99, requests, errors: [errLine, non2xx ? `${non2xx} non-2xx` : ''].filter(Boolean).join(', ') };
  }
  const r = sh(process.execPath, [join(ROOT, 'node_modules/autocannon/autocannon.js'), '-j', '-c', String(connections), '-d', String(seconds), url], {
    allowFail: true,
    timeout: (seconds + 30) * 1000,
    env: { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: '0' },
  });
  const j = JSON.parse(r.stdout);
  return { rps: j.requests.average, p99: j.latency.p99, requests: j.requests.total, errors: j.errors || j.non2xx ? `${j.errors} errors, ${j.non2xx} non-2xx` : '' };
}

// ---- run ------------------------------------------------------------------------------------------------

/**
 * Runs the four setups and returns { rows, table, detail, meta }: rows for bench.mjs's raw-runs list, table =
 * bench-table.mjs entries (keygate vs nginx, vs Apache, vs direct, each with its target and met / not met).
 */
export async function benchProxy(options = {}) {
  const node = options.node ?? process.execPath;
  const rounds = options.rounds ?? Number(process.env.BENCH_PROXY_ROUNDS ?? 3);
  const seconds = options.seconds ?? Number(process.env.BENCH_PROXY_SECONDS ?? 5);
  const connections = options.connections ?? 32;
  const threads = options.threads ?? 1;
  const log = options.log ?? ((...a) => console.error('bench-proxy:', ...a));
  // BENCH_PROXY_DIST: another build's dist folder (an A/B of a proxy change with the same command).
  const distDir = options.distDir ?? process.env.BENCH_PROXY_DIST ?? join(ROOT, 'dist');
  // BENCH_PROXY_SETUPS=keygate,separated: only these setups (keygate, separated, nginx, apache, direct,
  // codec-pool, codec-node).
  const only = (options.setups ?? process.env.BENCH_PROXY_SETUPS ?? '').split(',').filter(Boolean);
  const wanted = (key) => !only.length || only.includes(key);
  if (!existsSync(join(distDir, 'main.js'))) throw new Error(`${distDir}/main.js missing: run npm run build first`);
  // Under .bench (git-ignored), not the shared temp dir: keygate refuses an entry below a world-writable folder.
  mkdirSync(join(ROOT, '.bench'), { recursive: true });
  const work = mkdtempSync(join(ROOT, '.bench', 'proxy-'));
  chmodSync(work, 0o755); // the separated setup's serving and backend users enter their project below it
  const started = [];
  const cleanup = () => {
    for (const p of started) if (p.alive()) p.child.kill('SIGKILL');
  };
  process.once('exit', cleanup);
  try {
    log('building the keygate project (keystore, manifest, emulator registration) ...');
    const project = makeProject(work, node, distDir);
    const kg = await startKeygate(project, node);
    started.push(kg.proc);
    const backendUrl = `http://127.0.0.1:${kg.backendPort}/`;
    await waitAnswer(backendUrl, 5000);
    log(`keygate on ${kg.port}, its backend pid ${kg.backendPid} on 127.0.0.1:${kg.backendPort}`);
    const off = { note: 'not asked for (BENCH_PROXY_SETUPS)' };
    const nginx = wanted('nginx') ? await startNginx(work, project, kg.backendPort) : off;
    if (nginx.proc) started.push(nginx.proc);
    log(nginx.proc ? `nginx ${nginx.version} on ${nginx.port}` : `nginx: ${nginx.note}`);
    const apache = wanted('apache') ? await startApache(work, project, kg.backendPort) : off;
    if (apache.proc) started.push(apache.proc);
    log(apache.proc ? `${apache.version} on ${apache.port}` : `apache: ${apache.note}`);
    // The recommended deployment: privilege separation (root start, serving uid, backend uid, unix socket). Its
    // own backend process (same program), since the backend's uid and socket are the point.
    let sep = { note: IS_ROOT ? off.note : 'needs root (keygate starts as root to separate)' };
    if (IS_ROOT && wanted('separated')) {
      const sepProject = makeProject(work, node, distDir, { separated: true });
      try {
        sep = await startKeygate(sepProject, node);
        started.push(sep.proc);
        log(`keygate separated on ${sep.port}, its backend pid ${sep.backendPid} (uid ${SEPARATED_UIDS.backend}, unix socket)`);
      } catch (err) {
        sep = { note: `did not start: ${String(err.message).split('\n').slice(0, 4).join(' ')}` };
        log(`keygate separated: ${sep.note}`);
      }
    }

    let codec = { note: off.note };
    if (wanted('codec-pool') || wanted('codec-node')) {
      try {
        codec = await startCodecFronts(work, kg.backendPort, node);
        started.push(codec.pool.proc, codec['node:http'].proc);
        log(`codec fronts (plain HTTP, proxy.ts bundled from this tree): pool on ${codec.pool.port}, node:http on ${codec['node:http'].port}`);
      } catch (err) {
        codec = { note: `did not start: ${String(err.message).split('\n')[0]}` };
        log(`codec fronts: ${codec.note}`);
      }
    }

    const setups = [
      // cpu: the proxy's own processes (keygate's main process only: its child is the backend).
      { key: 'keygate', name: 'keygate (backend proxy, TLS)', url: `https://localhost:${kg.port}/`, port: kg.port, cpu: [{ pid: kg.proc.child.pid }], backendPid: kg.backendPid },
      // cpu: the serving half only (the root supervisor is idle while serving); found below once it answers.
      { key: 'separated', name: 'keygate separated (serving uid, backend uid, unix socket; TLS)', url: sep.port && `https://localhost:${sep.port}/`, port: sep.port, note: sep.note, cpu: [], backendPid: sep.backendPid },
      { key: 'nginx', name: `${nginx.version ?? 'nginx'} (TLS proxy, 1 worker)`, url: nginx.port && `https://localhost:${nginx.port}/`, port: nginx.port, note: nginx.note, cpu: nginx.proc && [{ pid: nginx.proc.child.pid, children: true }] },
      { key: 'apache', name: `${apache.version ?? 'Apache httpd'} (TLS proxy, mpm_event)`, url: apache.port && `https://localhost:${apache.port}/`, port: apache.port, note: apache.note, cpu: apache.proc && [{ pid: apache.proc.child.pid, children: true }] },
      // HTTP/2 on the front (issue 32), the same listeners: h2load, the same requests in flight.
      ...[
        ['keygate-h2', 'keygate (backend proxy, TLS), HTTP/2', kg.port, undefined, [{ pid: kg.proc.child.pid }], kg.backendPid],
        ['nginx-h2', `${nginx.version ?? 'nginx'} (TLS proxy, 1 worker), HTTP/2`, nginx.port, nginx.note, nginx.proc && [{ pid: nginx.proc.child.pid, children: true }], undefined],
      ].map(([key, name, port, note, cpu, backendPid]) => ({
        key,
        name,
        proto: 'h2',
        url: port && existsSync(H2LOAD) ? `https://localhost:${port}/` : undefined,
        port,
        note: note ?? (existsSync(H2LOAD) ? undefined : `h2load not installed (${H2LOAD}; Debian package nghttp2-client)`),
        cpu: cpu ?? [],
        backendPid: backendPid ?? kg.backendPid,
      })),
      { key: 'direct', name: 'backend direct (plain HTTP)', url: backendUrl, cpu: [], backendPid: kg.backendPid },
      // The same proxy code, plain HTTP in front; bodiless GETs on keygate's pool, or on node:http's client.
      ...[
        ['codec-pool', 'pool', "proxy.ts, bodiless GETs on keygate's pool (plain HTTP front)"],
        ['codec-node', 'node:http', "proxy.ts, bodiless GETs on node:http's client (plain HTTP front)"],
      ].map(([key, via, name]) => ({ key, name, url: codec[via] && `http://127.0.0.1:${codec[via].port}/`, note: codec.note, cpu: codec[via] ? [{ pid: codec[via].proc.child.pid }] : [], backendPid: kg.backendPid })),
    ];
    for (const s of setups) {
      s.runs = [];
      if (s.url && !wanted(s.key)) {
        s.url = undefined;
        s.note = off.note;
      }
      if (!s.url) continue;
      const r = await get(s.url.replace('localhost', '127.0.0.1')).catch((e) => ({ status: 0, body: e.message }));
      if (r.status !== 200 || r.body !== BODY) {
        s.note = `answered ${r.status} ${JSON.stringify(r.body.slice(0, 60))}, not the backend's body`;
        s.url = undefined;
        continue;
      }
      s.tls = s.port ? await negotiated(s.port) : 'none';
      if (s.key === 'separated') s.cpu = servingHalf(sep.proc.child.pid, sep.backendPid);
    }
    const live = setups.filter((s) => s.url);
    const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    log(`${rounds} rounds × ${live.length} setups: ${existsSync(WRK) ? 'wrk' : 'autocannon'}, ${connections} connections, ${threads} thread, 1 s warm-up + ${seconds} s each, interleaved ...`);
    for (let i = 0; i < rounds; i++) {
      for (const s of live) {
        load(s.url, { connections, seconds: 1, threads }, s.proto, work); // warm-up: connections, TLS sessions, JIT, pools
        const cpu0 = cpuMs(s.cpu);
        const backend0 = cpuMs([{ pid: s.backendPid }]);
        const r = load(s.url, { connections, seconds, threads }, s.proto, work);
        // CPU per request: less sensitive to other load on the host than req/s (the proxy's own work only).
        r.cpuUs = s.key === 'direct' || !s.cpu.length ? NaN : ((cpuMs(s.cpu) - cpu0) * 1000) / r.requests;
        r.backendUs = ((cpuMs([{ pid: s.backendPid }]) - backend0) * 1000) / r.requests;
        s.runs.push(r);
        log(`  round ${i + 1} ${s.key}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99.toFixed(2)} ms, proxy CPU ${Number.isNaN(r.cpuUs) ? '-' : r.cpuUs.toFixed(0)} µs/request, backend ${r.backendUs.toFixed(0)} µs${r.errors ? ` (${r.errors})` : ''}`);
      }
    }
    for (const s of setups) {
      s.rps = median(s.runs.map((r) => r.rps));
      s.p99 = median(s.runs.map((r) => r.p99));
      s.cpuUs = median(s.runs.map((r) => r.cpuUs));
      s.errors = s.runs.map((r) => r.errors).filter(Boolean).join('; ');
    }
    return report(setups, { rounds, seconds, connections, threads, client: existsSync(WRK) ? 'wrk' : 'autocannon', load: [load0, readFileSync('/proc/loadavg', 'utf8').split(' ')[0]] });
  } finally {
    for (const p of started.reverse()) await p.stop();
    process.off('exit', cleanup);
    rmSync(work, { recursive: true, force: true });
  }
}

function report(setups, meta) {
  const by = Object.fromEntries(setups.map((s) => [s.key, s]));
  const k = by.keygate;
  const fmt = (s) => (s.url ? `${s.rps.toFixed(0)} req/s, p99 ${s.p99.toFixed(2)} ms${Number.isNaN(s.cpuUs) ? '' : `, ${s.cpuUs.toFixed(0)} µs CPU/req`}` : `— (${s.note})`);
  // A row with no target of its own: the ratio only when both setups ran.
  const infoRow = (measure, a, b, target, ratio) => ({ measure, keygate: fmt(a), competitor: fmt(b), ratio: a.url && b.url ? ratio() : 'not measured', target });
  // One bench-table.mjs entry per peer: issue 11's targets (keygate ÷ nginx ≥ 0.7, ÷ Apache ≥ 1.0, req/s) with
  // met / not met; the direct backend is the ceiling, information only. A peer that could not run is a row
  // that says so and counts as not met: a missing measurement must not look like a met target.
  const table = [];
  const target = { nginx: 0.7, apache: 1.0 };
  for (const peer of ['nginx', 'apache', 'direct']) {
    const s = by[peer];
    const measure = peer === 'direct' ? 'proxy: keygate vs the backend direct (plain HTTP)' : `proxy: keygate vs ${peer === 'nginx' ? 'nginx' : 'Apache httpd'} (TLS, same backend)`;
    const targetText = target[peer] ? `≥ ${target[peer].toFixed(1)}× req/s (issue 11)` : undefined;
    if (!s.url || !k.url) {
      table.push({ measure, keygate: fmt(k), competitor: fmt(s), ratio: 'not measured', target: targetText, met: target[peer] ? false : undefined });
      continue;
    }
    const r = k.rps / s.rps;
    table.push({
      measure,
      keygate: fmt(k),
      competitor: fmt(s),
      ratio: `keygate ÷ ${peer}: ${r.toFixed(3)}× req/s, p99 ${(k.p99 / s.p99).toFixed(2)}×`,
      target: targetText ?? '(the ceiling: no proxy, no TLS; information)',
      met: target[peer] ? r >= target[peer] : undefined,
    });
  }
  // Privilege separation against the same-user setup above (review 2026-12b L3: the pool reused no backend
  // connection there, 0.48× the req/s). Information: no target of its own beyond "about the same".
  const sep = by.separated;
  if (sep) {
    table.push(
      infoRow('proxy: keygate separated vs keygate same-user (TLS, each its own backend)', sep, k, '(information: the recommended deployment)', () => `separated ÷ same-user: ${(sep.rps / k.rps).toFixed(3)}× req/s, p99 ${(sep.p99 / k.p99).toFixed(2)}×`),
    );
  }
  // What the second HTTP/1.1 client (the bodiless fast path) buys over node:http's, measured side by side
  // (review 2026-12b worst 2: keep it only if it pays). Information, no target.
  const cp = by['codec-pool'];
  const cn = by['codec-node'];
  if (cp && cn) {
    table.push(
      infoRow("proxy codec: bodiless GETs, keygate's pool vs node:http's client (same proxy.ts, same backend, plain HTTP)", cp, cn, '(information: the fast path stays if it pays)', () => `pool ÷ node:http: ${(cp.rps / cn.rps).toFixed(3)}× req/s, ${(cp.cpuUs / cn.cpuUs).toFixed(2)}× CPU/req, p99 ${(cp.p99 / cn.p99).toFixed(2)}×`),
    );
  }
  // HTTP/2 on the front (issue 32): keygate's h2 against nginx's h2, and keygate's h2 against its own HTTP/1.1
  // (same listener, same backend). Information: issue 32 sets no ratio of its own.
  const kh2 = by['keygate-h2'];
  const nh2 = by['nginx-h2'];
  if (kh2 && nh2) {
    const h2target = '(information: issue 32)';
    table.push(
      infoRow('proxy HTTP/2: keygate vs nginx (h2load, TLS, same backend)', kh2, nh2, h2target, () => `keygate ÷ nginx: ${(kh2.rps / nh2.rps).toFixed(3)}× req/s, p99 ${(kh2.p99 / nh2.p99).toFixed(2)}×`),
      infoRow(`proxy: keygate HTTP/2 (h2load) vs keygate HTTP/1.1 (${meta.client}), same listener`, kh2, k, h2target, () => `h2 ÷ HTTP/1.1: ${(kh2.rps / k.rps).toFixed(3)}× req/s (different load tools)`),
    );
  }
  const rows = setups.map((s) => ({ group: 'proxy', name: s.name, runs: s.runs.map((r) => r.rps), p99: s.runs.map((r) => r.p99), note: s.note, tls: s.tls, errors: s.errors }));
  const detail = [
    `proxy setups: ${meta.client}, ${meta.connections} connections, ${meta.threads} client thread, 1 s warm-up + ${meta.seconds} s measured, ${meta.rounds} interleaved rounds, medians; one backend process (scripts/bench-backend.cjs, started by keygate, listen fd) behind all`,
    ...setups.map(
      (s) =>
        `  ${s.name}: ${s.url ? `${s.tls}; req/s ${s.runs.map((r) => r.rps.toFixed(0)).join(' ')}; p99 ms ${s.runs.map((r) => r.p99.toFixed(2)).join(' ')}; proxy µs CPU/req ${s.runs.map((r) => (Number.isNaN(r.cpuUs) ? '-' : r.cpuUs.toFixed(0))).join(' ')}; backend µs CPU/req ${s.runs.map((r) => r.backendUs.toFixed(0)).join(' ')}${s.errors ? `; errors: ${s.errors}` : ''}` : s.note}`,
    ),
    `  host load average before/after: ${meta.load.join(' → ')}`,
  ];
  return { rows, table, detail, setups: by, meta };
}

// ---- on its own -----------------------------------------------------------------------------------------
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const result = await benchProxy();
  const cpu = cpus()[0]?.model ?? 'unknown';
  const out = [
    `machine: ${cpus().length} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
    '',
    ...renderTable(result.table),
    '',
    ...result.detail,
  ];
  console.log(out.join('\n'));
}
