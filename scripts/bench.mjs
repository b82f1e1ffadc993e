// npm run bench: keygate against its competitors, side by side, in one run, with medians and ratios, and each
// row with its target and whether this run met it (issue 14, "Speed"; the targets of issues 10 and 11 too):
//   fixed cost (issue 14): `node <entry> verify` on a tiny tree, and serve up to the moment it starts the vault
//     client, each less `node -e 0`: what keygate costs before any file of the app is hashed
//   verify (warm and cold page cache)  vs  sha256sum -c on the same manifest, and vs the floor (below)
//   generate (warm and cold)           vs  find | xargs -0 -P2 sha256sum, and vs the floor
//   start-up to first HTTPS response   vs  bare Node https with PEM files and the same handler
//   the same for an Express app with 3,000+ files (scripts/bench-express.mjs), in-process under keygate
//   requests/s (autocannon)            vs  the same bare server; and a reload (SIGHUP) while serving
//   peak RSS while hashing a 100,000-file tree
//   backend proxy (scripts/bench-proxy.mjs): keygate vs nginx and Apache httpd as TLS reverse proxies in front
//   of the same backend process, and that backend direct; wrk, requests/s and p99
// The tree (≥ 15,000 files / 100 MB) is a node_modules installed from the npm registry into .bench/tree and
// reused on later runs. Cold cache: the tree's pages are evicted with posix_fadvise(DONTNEED) (python3's
// os.posix_fadvise) before each cold run. The floor (scripts/bench-floor.cjs) is a bare two-thread Node hash
// loop over the same list: what any Node program can reach here, so issue 14 states the warm targets against it.
// BENCH_RUNS=N: runs per command (default 5; the fixed-cost rows take at least 15: each run is short and noisy).
// BENCH_ONLY=fixed,verify,...: only these groups (fixed, verify, generate, startup, express, rps, rss, proxy;
// rps includes the reload row); default all. The last line counts the targets met among the rows that ran.
// No assertion here is a test: an unmet target is printed as such, and the bench exits 0.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import https from 'node:https';
import { benchProxy } from './bench-proxy.mjs';
import { benchExpressStartup, firstResponse } from './bench-express.mjs';
import { countMet, renderTable } from './bench-table.mjs';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const BENCH = join(ROOT, '.bench');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
// The fixed-cost rows: each run is 0.1–0.3 s and differences of a few ms matter, so more runs than the rest.
const FIXED_RUNS = Math.max(15, RUNS);
const GROUPS = ['fixed', 'verify', 'generate', 'startup', 'express', 'rps', 'rss', 'proxy'];
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').map((g) => g.trim()).filter(Boolean);
const unknownGroups = ONLY.filter((g) => !GROUPS.includes(g));
if (unknownGroups.length) {
  console.error(`bench: BENCH_ONLY names unknown group(s) ${unknownGroups.join(', ')}; the groups are ${GROUPS.join(', ')}`);
  process.exit(2);
}
const wanted = (group) => ONLY.length === 0 || ONLY.includes(group);
const TREE_PACKAGES = 'typescript eslint fastify winston yargs node-forge fast-glob execa jest @types/node lodash rxjs ts-node prettier'.split(' ');
const rows = [];
const log = (...a) => console.error('bench:', ...a);

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r;
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
function timeOnce(cmd, args, opts) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', ...opts });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

// ---- the tree ---------------------------------------------------------------------------------------------
function countTree(dir) {
  let files = 0;
  let bytes = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        files++;
        bytes += statSync(p).size;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}

function ensureTree() {
  const tree = join(BENCH, 'tree');
  if (!existsSync(join(tree, 'node_modules'))) {
    log(`installing the benchmark tree (${TREE_PACKAGES.length} packages from the npm registry) into .bench/tree ...`);
    mkdirSync(tree, { recursive: true });
    writeFileSync(join(tree, 'package.json'), '{"name":"kg-bench-tree","private":true}\n');
    sh('npm', ['install', '--no-audit', '--no-fund', '--legacy-peer-deps', '--ignore-scripts', ...TREE_PACKAGES], { cwd: tree, stdio: 'inherit' });
  }
  return tree;
}

function ensureManyTree() {
  const many = join(BENCH, 'many');
  if (!existsSync(join(many, 'done'))) {
    log('writing a synthetic 100,000-file tree into .bench/many ...');
    rmSync(many, { recursive: true, force: true });
    for (let d = 0; d < 100; d++) {
      const dir = join(many, 'files', `d${d}`);
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 1000; f++) writeFileSync(join(dir, `f${f}.txt`), `file ${d}/${f}\n`.repeat(8 + ((d * 7 + f) % 50)));
    }
    writeFileSync(join(many, 'done'), '');
  }
  return many;
}

/** A workspace: template `tree` beside a copy of the entry, manifest generated and pinned. */
function workspace(name, treeDir) {
  const ws = join(BENCH, name);
  mkdirSync(join(ws, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'dist/main.js'), join(ws, 'dist/main.js'));
  cpSync(join(ROOT, 'dist/package.json'), join(ws, 'dist/package.json'));
  writeFileSync(join(ws, 'package.json'), '{"private":true,"type":"module"}\n');
  rmSync(join(ws, 'tree'), { force: true, recursive: true });
  sh('ln', ['-sfn', treeDir, join(ws, 'tree')]);
  // The template names the tree through its symlink explicitly (followed, by the symlink policy).
  writeFileSync(join(ws, 'filelist.template'), 'tree\n');
  sh(process.execPath, ['dist/main.js', 'generate-filelist'], { cwd: ws });
  sh(process.execPath, ['dist/main.js', 'pin'], { cwd: ws });
  return ws;
}

function evict(dir) {
  // posix_fadvise(DONTNEED) on every file of the tree (data pages only; dentries and inodes stay cached).
  sh('python3', ['-c', `
import os, sys
for root, dirs, files in os.walk(sys.argv[1], followlinks=True):
    for f in files:
        p = os.path.join(root, f)
        try:
            fd = os.open(p, os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
        except OSError:
            pass
`, dir]);
}

/** Runs each named command RUNS times, interleaved, optionally evicting before each; returns medians. */
function compare(label, cmds, { cold = false, evictDir } = {}) {
  const times = cmds.map(() => []);
  for (const c of cmds) timeOnce(...c.run); // warm-up (and proof each command succeeds)
  for (let i = 0; i < RUNS; i++) {
    cmds.forEach((c, k) => {
      if (cold) evict(evictDir);
      times[k].push(timeOnce(...c.run));
    });
  }
  const med = times.map(median);
  cmds.forEach((c, k) => rows.push({ group: label, name: c.name, ms: med[k], runs: times[k] }));
  return med;
}

// ---- start-up and throughput ------------------------------------------------------------------------------
async function startupOnce(cmd, args, cwd, url, ca) {
  const t = process.hrtime.bigint();
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await firstResponse(url, ca);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  return { ms, stderr: err };
}

/**
 * Sequential keep-alive requests for 3 s; SIGHUP (re-fetch, unlock, swap) after 1 s. Returns the slowest request
 * before the signal and after it: a reload that blocked the event loop would show as a slow request.
 */
async function reloadStall(url, ca, server) {
  const agent = new https.Agent({ ca, keepAlive: true, maxSockets: 1 });
  const one = () =>
    new Promise((resolveMs, reject) => {
      const t = process.hrtime.bigint();
      https.get(url, { agent }, (r) => {
        r.resume();
        r.on('end', () => resolveMs(Number(process.hrtime.bigint() - t) / 1e6));
      }).on('error', reject);
    });
  const before = [];
  const after = [];
  const t0 = Date.now();
  let signalled = false;
  while (Date.now() - t0 < 3000) {
    if (!signalled && Date.now() - t0 > 1000) {
      signalled = true;
      server.kill('SIGHUP');
    }
    (signalled ? after : before).push(await one());
  }
  agent.destroy();
  return { before: Math.max(...before), after: Math.max(...after) };
}

function autocannon(url, ca) {
  const r = sh(process.execPath, [join(ROOT, 'node_modules/autocannon/autocannon.js'), '-j', '-c', '32', '-d', '8', url], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: ca },
  });
  return JSON.parse(r.stdout).requests.average;
}

function demoProject() {
  const dir = join(BENCH, 'serve');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const p of ['dist', 'dev', 'app', 'content', 'filelist.template', 'package.json']) cpSync(join(ROOT, p), join(dir, p), { recursive: true });
  for (const p of ['dev/cspm/a2a-store.json', 'dev/cspm/a2a-calls.log']) rmSync(join(dir, p), { force: true });
  const config = JSON.parse(readFileSync(join(ROOT, 'keygate.config.json'), 'utf8'));
  config.server.port = 18444;
  // The reload row sends a SIGHUP every 3 s; the default rate limit (one reload per 10 s) would defer all but the
  // first past the window that measures it.
  config.keystore = { ...config.keystore, reloadMinIntervalMs: 0 };
  writeFileSync(join(dir, 'keygate.config.json'), JSON.stringify(config, null, 2));
  sh(process.execPath, ['dist/main.js', 'dev-setup'], { cwd: dir });
  // The bare competitor: the same handler, PEM files (EC P-256, like the demo's dev-CA certificate), no gate.
  sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'bare.key', '-out', 'bare.crt', '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { cwd: dir });
  writeFileSync(
    join(dir, 'bare-server.cjs'),
    `'use strict';
const https = require('node:https');
const fs = require('node:fs');
const path = require('node:path');
const { handle } = require('./app/request-handlers.cjs');
const ctx = { staticFile: (n) => { const p = path.resolve(__dirname, 'content', n); return p.startsWith(path.resolve(__dirname, 'content') + path.sep) && fs.existsSync(p) ? fs.readFileSync(p) : undefined; }, log: console };
https.createServer({ key: fs.readFileSync(path.join(__dirname, 'bare.key')), cert: fs.readFileSync(path.join(__dirname, 'bare.crt')) }, (req, res) => handle(req, res, ctx)).listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`,
  );
  return dir;
}

// ---- fixed cost (issue 14) --------------------------------------------------------------------------------
// What keygate costs before it hashes a single file of the app, and before the vault: loading the entry, the
// checks, the config, the trust anchors. Measured as `node <entry> verify` on a tiny tree, and as serve from
// spawn to the moment the vault client starts, each less `node -e 0` (Node's own start, which no entry avoids).
const STAMP_DIR = join(BENCH, 'fixed-stamp');
const STAMP = join(STAMP_DIR, 'started');
const STUB = 'vault/stub-client';

/**
 * A tiny production-like project in .bench/fixed: the demo's app and content (a few small files), a keystore,
 * trust.anchors left at its default "refuse" (the bench runs as root and everything here is root's and not
 * group/other-writable, so the ownership checks pass for real instead of being downgraded to warnings), and no
 * ${NODE} in the template (hashing the 100 MB node binary is hashing, not fixed cost). The vault client is a
 * /bin/sh stub that appends the wall-clock time it started (date +%s%N) to a file outside the project and exits
 * 1, so serve goes through every check that comes before the vault and then stops with a vault error.
 */
function fixedProject() {
  const dir = join(BENCH, 'fixed');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'dist'), { recursive: true });
  mkdirSync(STAMP_DIR, { recursive: true });
  for (const f of ['main.js', 'package.json']) cpSync(join(ROOT, 'dist', f), join(dir, 'dist', f));
  for (const p of ['app', 'content']) cpSync(join(ROOT, p), join(dir, p), { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"name":"kg-bench-fixed","private":true,"type":"module"}\n');
  mkdirSync(join(dir, 'vault'));
  // /bin/date by its full path: keygate hands the client only a few variables (src/adapters/vault.ts childEnv).
  writeFileSync(
    join(dir, STUB),
    `#!/bin/sh\n# bench stub vault client: records when keygate started it, answers nothing, fails\n/bin/date +%s%N >> ${STAMP}\nexit 1\n`,
    { mode: 0o755 },
  );
  const config = {
    vault: { provider: 'cspm', clientPath: STUB, alias: 'kg-bench-fixed', output: 'xml', timeoutMs: 10000 },
    keystore: { path: 'keystore/fixed.p12' },
    // Port 0: the free-port probe runs as always, and no fixed port can be taken by something else.
    server: { host: '127.0.0.1', port: 0, handler: 'app/request-handlers.cjs', staticDir: 'content' },
  };
  writeFileSync(join(dir, 'keygate.config.json'), JSON.stringify(config, null, 2) + '\n');
  writeFileSync(join(dir, 'filelist.template'), 'app\ncontent\nkeygate.config.json\npackage.json\ndist/package.json\n${VAULT_CLIENT}\n');
  // Trust anchors: no group or other write bit anywhere in the copy, whatever the umask was.
  sh('chmod', ['-R', 'go-w', dir]);
  // serve reads the keystore before it asks the vault: a real one, its password thrown away (never asked for).
  const pwFile = join(BENCH, 'fixed-pw');
  writeFileSync(pwFile, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
  try {
    sh(process.execPath, ['dist/main.js', 'keystore', 'create', '--password-file', pwFile, '--out', 'keystore/fixed.p12', '--key-size', '2048'], { cwd: dir });
  } finally {
    rmSync(pwFile, { force: true });
  }
  sh(process.execPath, ['dist/main.js', 'generate-filelist'], { cwd: dir });
  sh(process.execPath, ['dist/main.js', 'pin'], { cwd: dir });
  const files = readFileSync(join(dir, 'filelist.sha256'), 'utf8').split('\n').filter(Boolean).length;
  return { dir, files };
}

/**
 * The wall clock (CLOCK_REALTIME, what `date +%s%N` reads) in ms with sub-ms resolution: Date.now() has whole
 * ms only, so wait for its next tick (≤ 1 ms) and carry that instant forward with the monotonic performance.now().
 * Taken afresh before every run, so an NTP slew during the bench cannot drift into the figures.
 */
function wallClock() {
  const t0 = Date.now();
  let tick;
  while ((tick = Date.now()) === t0);
  const offset = tick - performance.now();
  return () => offset + performance.now();
}

/**
 * Spawns cmd, returns ms from the spawn to the stub's start (its stamp), and whatever says the run did not
 * measure what it should: no stamp or several (the stub never ran, or ran twice), a stamp outside the run.
 */
function untilStubOnce(cmd, args, cwd) {
  rmSync(STAMP, { force: true });
  const now = wallClock();
  const spawnedAt = now();
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
  const runMs = Number(process.hrtime.bigint() - t) / 1e6;
  const stamps = existsSync(STAMP) ? readFileSync(STAMP, 'utf8').split('\n').filter(Boolean) : [];
  // The error line (a hint line may follow it): what tells where keygate stopped.
  const lastLine = (r.stderr ?? '').trim().split('\n').filter((l) => l.startsWith('keygate:')).pop() ?? (r.stderr ?? '').trim().split('\n').pop() ?? '';
  const ms = stamps.length === 1 ? Number(stamps[0]) / 1e6 - spawnedAt : NaN;
  let problem;
  if (stamps.length !== 1) problem = `the stub vault client ran ${stamps.length} times (expected once)`;
  // The stamp must fall inside the run (1 ms slack: the two clocks are read by different processes).
  else if (!(ms > -1 && ms <= runMs + 1)) problem = `the stub's start (${ms.toFixed(1)} ms after the spawn) is outside the run (${runMs.toFixed(0)} ms)`;
  return { ms, runMs, status: r.status, signal: r.signal, lastLine, problem };
}

function benchFixed() {
  log(`fixed cost: node -e 0, verify on a tiny tree, serve up to the vault client (interleaved, ${FIXED_RUNS} runs each) ...`);
  const { dir, files } = fixedProject();
  const e0 = [];
  const verifyT = [];
  const serveT = [];
  const stubT = [];
  const discarded = [];
  let seen;
  for (let i = 0; i < FIXED_RUNS + 1; i++) {
    const e = timeOnce(node, ['-e', '0']);
    const v = timeOnce(node, ['dist/main.js', 'verify'], { cwd: dir });
    const s = untilStubOnce(node, ['dist/main.js', 'serve'], dir);
    // The stub started straight from a Node parent: what spawning /bin/sh and date costs, inside the serve figure.
    const st = untilStubOnce(join(dir, STUB), [], dir);
    // serve must stop at the vault: exit 0 would mean it never asked it, and the figure would be something else.
    if (!s.problem && s.status === 0) s.problem = 'serve exited 0: it should stop with a vault error';
    if (i === 0) {
      // Shown once so a reader sees where serve stopped (expected: a vault error from the stub, exit 4).
      seen = s;
      log(`fixed: serve exited ${s.status ?? s.signal}; its last keygate: line: ${s.lastLine}${s.problem ? `; PROBLEM: ${s.problem}` : ''}`);
      continue; // warm-up
    }
    e0.push(e);
    verifyT.push(v);
    if (s.problem) discarded.push(s.problem);
    else serveT.push(s.ms);
    if (!st.problem) stubT.push(st.ms);
  }
  rows.push({ group: 'fixed', name: 'node -e 0', ms: median(e0), runs: e0 });
  rows.push({ group: 'fixed', name: `keygate verify, tiny tree (${files} files)`, ms: median(verifyT), runs: verifyT });
  rows.push({ group: 'fixed', name: 'keygate serve: spawn → vault client started', ms: median(serveT), runs: serveT, note: discarded.length ? `${discarded.length} runs discarded: ${discarded[0]}` : undefined });
  rows.push({ group: 'fixed', name: 'stub vault client alone: spawn → started', ms: median(stubT), runs: stubT });
  const base = median(e0);
  const verifyCost = median(verifyT) - base;
  const serveCost = serveT.length ? median(serveT) - base : NaN;
  notes.push(`fixed cost: serve stopped with exit ${seen.status ?? seen.signal} (expected 4, the stub's vault error): ${seen.lastLine}`);
  return [
    {
      measure: `fixed cost: verify, tiny tree (${files} files, no node binary) − node -e 0`,
      keygate: `${median(verifyT).toFixed(1)} ms`,
      competitor: `${base.toFixed(1)} ms node -e 0`,
      ratio: `fixed cost ${verifyCost.toFixed(1)} ms`,
      target: '≤ 40 ms (issue 14)',
      met: verifyCost <= 40,
    },
    {
      measure: 'fixed cost: serve, spawn → vault client started (same tree, anchors refused if unsound) − node -e 0',
      keygate: serveT.length ? `${median(serveT).toFixed(1)} ms` : 'not measured',
      competitor: `${base.toFixed(1)} ms node -e 0`,
      ratio: serveT.length
        ? `fixed cost ${serveCost.toFixed(1)} ms (of which the stub's own spawn and start ${stubT.length ? median(stubT).toFixed(1) : '?'} ms)${discarded.length ? `; ${discarded.length} runs discarded: ${discarded[0]}` : ''}`
        : `not measured: ${discarded[0] ?? 'no run'}`,
      target: '≤ 40 ms (issue 14)',
      met: serveT.length > 0 && serveCost <= 40,
    },
  ];
}

// ---- run -------------------------------------------------------------------------------------------------
// One table, filled group by group in this order; `notes` are lines printed under it (what a row saw).
const node = process.execPath;
const table = [];
const notes = [];
const details = [];
const f = (ms) => `${(ms / 1000).toFixed(3)} s`;
const ratio = (them, us) => `${(them / us).toFixed(2)}×`;
let treeInfo;

if (wanted('fixed')) table.push(...benchFixed());

if (wanted('verify') || wanted('generate')) {
  const tree = ensureTree();
  const { files, bytes } = countTree(tree);
  treeInfo = `tree: ${files} files, ${(bytes / 1e6).toFixed(1)} MB (node_modules from the npm registry); ${RUNS} runs each, medians`;
  log(`tree: ${files} files, ${(bytes / 1e6).toFixed(1)} MB`);
  const ws = workspace('ws', tree);
  const verify = { name: 'keygate verify', run: [node, ['dist/main.js', 'verify'], { cwd: ws }] };
  const sha256c = { name: 'sha256sum -c', run: ['sha256sum', ['-c', '--quiet', 'filelist.sha256'], { cwd: ws }] };
  // The floor: a bare Node script hashing the same list with two threads, sync reads and nothing else (no
  // manifest checks, no walk for new files, no report). With a warm cache no Node verify can beat it here, so it
  // bounds the reachable ratio, and issue 14 states the warm targets as floor ÷ keygate.
  const floor = { name: 'node floor (2 threads, hash only)', run: [node, [join(ROOT, 'scripts/bench-floor.cjs'), 'filelist.sha256', ws], { cwd: ws }] };
  const out = join(tmpdir(), 'kg-bench-manifest');
  const generate = { name: 'keygate generate-filelist', run: [node, ['dist/main.js', 'generate-filelist', '--manifest', out], { cwd: ws }] };
  const findx = { name: 'find | xargs -P2 sha256sum', run: ['sh', ['-c', `find -L tree -type f -print0 | xargs -0 -P2 -n256 sha256sum > ${out}.find`], { cwd: ws }] };

  if (wanted('verify')) {
    log('verify, warm cache ...');
    const [vw, sw, flw] = compare('verify warm', [verify, sha256c, floor]);
    log('verify, cold cache ...');
    // The floor runs cold too: how much of the cold ratio any Node program loses to the disk here.
    const [vc, sc, flc] = compare('verify cold', [verify, sha256c, floor], { cold: true, evictDir: tree });
    table.push(
      { measure: 'verify, warm cache: floor ÷ keygate', keygate: f(vw), competitor: `${f(flw)} floor (bare Node, 2 threads, hash only)`, ratio: `floor ÷ keygate ${(flw / vw).toFixed(2)}`, target: '≥ 0.9 (issue 14)', met: flw / vw >= 0.9 },
      { measure: 'verify, warm cache vs sha256sum -c', keygate: f(vw), competitor: `${f(sw)} sha256sum -c`, ratio: ratio(sw, vw), target: '(information: the warm target is the floor row above)' },
      { measure: 'floor, warm: bare Node, 2 threads, hash only', keygate: f(flw), competitor: `${f(sw)} sha256sum -c`, ratio: ratio(sw, flw), target: '(information: bounds any Node verify on this machine)' },
      { measure: 'verify, cold cache vs sha256sum -c', keygate: f(vc), competitor: `${f(sc)} sha256sum -c`, ratio: ratio(sc, vc), target: '≥ 2.0× (issue 14)', met: sc / vc >= 2.0 },
      { measure: 'floor, cold cache (run beside verify cold)', keygate: f(flc), competitor: `${f(sc)} sha256sum -c`, ratio: `${ratio(sc, flc)}; floor ÷ keygate ${(flc / vc).toFixed(2)}`, target: '(information: what any Node verify reaches cold here)' },
    );
  }
  if (wanted('generate')) {
    log('generate, warm cache ...');
    const [gw, fw, flg] = compare('generate warm', [generate, findx, floor]);
    log('generate, cold cache ...');
    const [gc, fc] = compare('generate cold', [generate, findx], { cold: true, evictDir: tree });
    table.push(
      { measure: 'generate, warm cache: floor ÷ keygate', keygate: f(gw), competitor: `${f(flg)} floor (run beside generate)`, ratio: `floor ÷ keygate ${(flg / gw).toFixed(2)}`, target: '≥ 0.9 (issue 14)', met: flg / gw >= 0.9 },
      { measure: 'generate, warm cache vs find | xargs -P2 sha256sum', keygate: f(gw), competitor: `${f(fw)} find | xargs -P2 sha256sum`, ratio: ratio(fw, gw), target: '(information: the warm target is the floor row above)' },
      { measure: 'floor, warm (run beside generate)', keygate: f(flg), competitor: `${f(fw)} find | xargs -P2 sha256sum`, ratio: ratio(fw, flg), target: '(information: bounds any Node generate: the floor does not even walk)' },
      { measure: 'generate, cold cache vs find | xargs -P2 sha256sum', keygate: f(gc), competitor: `${f(fc)} find | xargs -P2 sha256sum`, ratio: ratio(fc, gc), target: '(information)' },
    );
  }
}

// The demo project serves the start-up and the requests/s groups; built once, only when one of them runs.
let demo;
const demoDir = () => (demo ??= demoProject());
const kgUrl = 'https://localhost:18444/hello';

if (wanted('startup')) {
  log('start-up to first HTTPS response ...');
  const ca = readFileSync(join(demoDir(), 'keystore/keygate-demo.crt'));
  const bareCa = readFileSync(join(demoDir(), 'bare.crt'));
  const kgStart = [];
  const bareStart = [];
  const verifyMs = [];
  const unlockMs = [];
  const vaultMs = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const k = await startupOnce(node, ['dist/main.js', 'serve', '--log-format', 'json'], demoDir(), kgUrl, ca);
    const b = await startupOnce(node, ['bare-server.cjs', '18445'], demoDir(), 'https://localhost:18445/hello', bareCa);
    if (i === 0) continue; // warm-up
    kgStart.push(k.ms);
    bareStart.push(b.ms);
    for (const line of k.stderr.split('\n').filter(Boolean)) {
      const j = JSON.parse(line);
      if (j.gate === 'verify') verifyMs.push(Number(/in (\d+) ms/.exec(j.message)?.[1] ?? 0));
      if (j.gate === 'keystore' && typeof j.ms === 'number') unlockMs.push(j.ms);
      if (j.gate === 'vault' && typeof j.ms === 'number') vaultMs.push(j.ms);
    }
  }
  rows.push({ group: 'start-up', name: 'keygate serve → first response', ms: median(kgStart), runs: kgStart });
  rows.push({ group: 'start-up', name: 'bare node https → first response', ms: median(bareStart), runs: bareStart });
  // Overhead beyond hashing: keygate's time to first response, less the bare server's, less the hashing
  // (verify) and the vault client's own run time (an external program: the emulator is itself a node process).
  const overhead = median(kgStart) - median(bareStart) - median(verifyMs) - median(vaultMs);
  table.push({
    measure: 'start-up to first response: overhead beyond hashing and the vault client',
    keygate: f(median(kgStart)),
    competitor: `${f(median(bareStart))} bare https`,
    ratio: `overhead ${overhead.toFixed(0)} ms (verify ${median(verifyMs)} ms, vault client ${median(vaultMs)} ms, unlock ${unlockMs.length ? median(unlockMs) : '?'} ms)`,
    target: '≤ 100 ms (issue 14)',
    met: overhead <= 100,
  });
}

if (wanted('express')) {
  const express = await benchExpressStartup({ log, runs: RUNS });
  rows.push(...express.rows);
  table.push(...express.table);
}

if (wanted('rps')) {
  log('requests per second (autocannon, 32 connections, 8 s each, 3 times, alternating) ...');
  const ca = readFileSync(join(demoDir(), 'keystore/keygate-demo.crt'));
  const bareCa = readFileSync(join(demoDir(), 'bare.crt'));
  // JSON log lines kept: the start's own unlock time is the yardstick of the reload row below.
  const kgServer = spawn(node, ['dist/main.js', 'serve', '--log-format', 'json'], { cwd: demoDir(), stdio: ['ignore', 'ignore', 'pipe'] });
  let kgLog = '';
  kgServer.stderr.on('data', (d) => (kgLog += d));
  await firstResponse(kgUrl, ca);
  const bareServer = spawn(node, ['bare-server.cjs', '18445'], { cwd: demoDir(), stdio: 'ignore' });
  await firstResponse('https://localhost:18445/hello', bareCa);
  const kgRps = [];
  const bareRps = [];
  for (let i = 0; i < 3; i++) {
    kgRps.push(autocannon(kgUrl, join(demoDir(), 'keystore/keygate-demo.crt')));
    bareRps.push(autocannon('https://localhost:18445/hello', join(demoDir(), 'bare.crt')));
  }
  log('request latency while a reload (SIGHUP) runs ...');
  const stalls = [];
  for (let i = 0; i < 3; i++) stalls.push(await reloadStall(kgUrl, ca, kgServer));
  kgServer.kill('SIGTERM');
  bareServer.kill('SIGTERM');
  rows.push({ group: 'requests/s', name: 'keygate serve', runs: kgRps });
  rows.push({ group: 'requests/s', name: 'bare node https', runs: bareRps });
  const rpsRatio = median(kgRps) / median(bareRps);
  table.push({ measure: 'requests/s', keygate: median(kgRps).toFixed(0), competitor: `${median(bareRps).toFixed(0)} bare https`, ratio: `keygate ÷ bare ${rpsRatio.toFixed(3)}`, target: '≥ 0.97 of bare (issue 14)', met: rpsRatio >= 0.97 });
  // A stall is a request held up by the reload. The start unlocked the keystore on the event loop and logged how
  // long that took; had a reload done the same, some request would have waited about that long beyond the
  // slowest one before the signal (which has CPU contention from the vault client's process on 2 cores in it
  // too, so the excess, not the raw time, is compared).
  const unlocks = kgLog
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((j) => j.gate === 'keystore' && typeof j.ms === 'number');
  const startUnlock = unlocks.find((j) => j.thread !== 'worker')?.ms;
  // Each round must really have reloaded (off the event loop): a round without one would measure nothing.
  const reloads = unlocks.filter((j) => j.thread === 'worker').length;
  const after = median(stalls.map((x) => x.after));
  const before = median(stalls.map((x) => x.before));
  table.push({
    measure: 'reload (SIGHUP) while serving',
    keygate: `slowest request ${after.toFixed(1)} ms`,
    competitor: `${before.toFixed(1)} ms before the signal`,
    ratio: `excess ${(after - before).toFixed(1)} ms; the unlock at start took ${startUnlock ?? '?'} ms (${reloads} of ${stalls.length} reloads unlocked in a worker thread)`,
    target: 'no stall: excess < the unlock at start',
    met: startUnlock !== undefined && reloads >= stalls.length && after - before < startUnlock,
  });
}

if (wanted('rss')) {
  log('peak RSS while hashing a 100,000-file tree ...');
  const many = ensureManyTree();
  const mws = workspace('ws-many', join(many, 'files'));
  const rss = (args) => {
    const r = sh('/usr/bin/time', ['-f', '%M', node, 'dist/main.js', ...args], { cwd: mws });
    return Number(r.stderr.trim().split('\n').pop()) / 1024;
  };
  const rssGenerate = rss(['generate-filelist', '--manifest', join(tmpdir(), 'kg-many.sha256')]);
  const rssVerify = rss(['verify']);
  table.push(
    { measure: 'peak RSS, 100,000 files: generate', keygate: `${rssGenerate.toFixed(0)} MB`, competitor: '', ratio: '', target: '< 150 MB (issue 14)', met: rssGenerate < 150 },
    { measure: 'peak RSS, 100,000 files: verify', keygate: `${rssVerify.toFixed(0)} MB`, competitor: '', ratio: '', target: '< 150 MB (issue 14)', met: rssVerify < 150 },
  );
}

if (wanted('proxy')) {
  log('backend proxy: keygate (same-user and separated) vs nginx vs Apache httpd vs direct ...');
  const proxy = await benchProxy({ log });
  rows.push(...proxy.rows);
  table.push(...proxy.table);
  details.push(...proxy.detail);
}

// ---- report ----------------------------------------------------------------------------------------------
const cpu = cpus()[0]?.model ?? 'unknown';
const lines = [];
lines.push(`machine: ${cpus().length} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} at the end`);
if (treeInfo) lines.push(treeInfo);
if (wanted('fixed')) lines.push(`fixed cost: ${FIXED_RUNS} interleaved runs each, medians`);
lines.push('');
lines.push(...renderTable(table));
if (notes.length) lines.push('', ...notes);
lines.push('');
lines.push('raw runs (ms; requests/s and proxy rows: req/s):');
// The fixed-cost rows to 0.1 ms: their differences are a few ms.
for (const r of rows) lines.push(`  ${r.group} / ${r.name}: ${r.runs.map((x) => x.toFixed(r.group === 'fixed' ? 1 : 0)).join(' ')}${r.note ? ` (${r.note})` : ''}`);
lines.push(...details);
lines.push('');
// Only the rows that ran count; a subset says which groups it left out, so "all met" is never read into it.
const { met, total } = countMet(table);
const skipped = GROUPS.filter((g) => !wanted(g));
lines.push(`targets met: ${met} of ${total}${skipped.length ? ` (BENCH_ONLY: groups not run: ${skipped.join(', ')})` : ''}`);
console.log(lines.join('\n'));
