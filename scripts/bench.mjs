// npm run bench: keygate against its competitors, side by side, in one run, with medians and ratios.
//   verify (warm and cold page cache)  vs  sha256sum -c on the same manifest
//   generate (warm and cold)           vs  find | xargs -0 -P2 sha256sum
//   start-up to first HTTPS response   vs  bare Node https with PEM files and the same handler
//   the same for an Express app with 3,000+ files (scripts/bench-express.mjs), in-process under keygate
//   requests/s (autocannon)            vs  the same bare server
//   peak RSS while hashing a 100,000-file tree
//   backend proxy (scripts/bench-proxy.mjs): keygate vs nginx and Apache httpd as TLS reverse proxies in front
//   of the same backend process, and that backend direct; wrk, requests/s and p99
// The tree (≥ 15,000 files / 100 MB) is a node_modules installed from the npm registry into .bench/tree and
// reused on later runs. Cold cache: the tree's pages are evicted with posix_fadvise(DONTNEED) (python3's
// os.posix_fadvise) before each cold run. No assertion here is a test: it prints, and exits 0.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import https from 'node:https';
import { benchProxy } from './bench-proxy.mjs';
import { benchExpressStartup, firstResponse } from './bench-express.mjs';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const BENCH = join(ROOT, '.bench');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
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

// ---- run -------------------------------------------------------------------------------------------------
const tree = ensureTree();
const { files, bytes } = countTree(tree);
log(`tree: ${files} files, ${(bytes / 1e6).toFixed(1)} MB`);
const ws = workspace('ws', tree);
const node = process.execPath;
const verify = { name: 'keygate verify', run: [node, ['dist/main.js', 'verify'], { cwd: ws }] };
const sha256c = { name: 'sha256sum -c', run: ['sha256sum', ['-c', '--quiet', 'filelist.sha256'], { cwd: ws }] };
// The floor: a bare Node script hashing the same list with two threads, sync reads and nothing else (no
// manifest checks, no walk for new files, no report). With a warm cache no Node verify can beat it here, so it
// bounds the reachable ratio.
const floor = { name: 'node floor (2 threads, hash only)', run: [node, [join(ROOT, 'scripts/bench-floor.cjs'), 'filelist.sha256', ws], { cwd: ws }] };
const out = join(tmpdir(), 'kg-bench-manifest');
const generate = { name: 'keygate generate-filelist', run: [node, ['dist/main.js', 'generate-filelist', '--manifest', out], { cwd: ws }] };
const findx = { name: 'find | xargs -P2 sha256sum', run: ['sh', ['-c', `find -L tree -type f -print0 | xargs -0 -P2 -n256 sha256sum > ${out}.find`], { cwd: ws }] };

log('verify, warm cache ...');
const [vw, sw, flw] = compare('verify warm', [verify, sha256c, floor]);
log('generate, warm cache ...');
const [gw, fw, flg] = compare('generate warm', [generate, findx, floor]);
log('verify, cold cache ...');
const [vc, sc] = compare('verify cold', [verify, sha256c], { cold: true, evictDir: tree });
log('generate, cold cache ...');
const [gc, fc] = compare('generate cold', [generate, findx], { cold: true, evictDir: tree });

log('start-up to first HTTPS response ...');
const demo = demoProject();
const kgUrl = 'https://localhost:18444/hello';
const ca = readFileSync(join(demo, 'keystore/keygate-demo.crt'));
const bareCa = readFileSync(join(demo, 'bare.crt'));
const kgStart = [];
const bareStart = [];
const verifyMs = [];
const unlockMs = [];
const vaultMs = [];
for (let i = 0; i < RUNS + 1; i++) {
  const k = await startupOnce(node, ['dist/main.js', 'serve', '--log-format', 'json'], demo, kgUrl, ca);
  const b = await startupOnce(node, ['bare-server.cjs', '18445'], demo, 'https://localhost:18445/hello', bareCa);
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

const express = await benchExpressStartup({ log, runs: RUNS });
for (const r of express.rows) rows.push(r);

log('requests per second (autocannon, 32 connections, 8 s each, 3 times, alternating) ...');
const kgServer = spawn(node, ['dist/main.js', 'serve'], { cwd: demo, stdio: 'ignore' });
await firstResponse(kgUrl, ca);
const bareServer = spawn(node, ['bare-server.cjs', '18445'], { cwd: demo, stdio: 'ignore' });
await firstResponse('https://localhost:18445/hello', bareCa);
const kgRps = [];
const bareRps = [];
for (let i = 0; i < 3; i++) {
  kgRps.push(autocannon(kgUrl, join(demo, 'keystore/keygate-demo.crt')));
  bareRps.push(autocannon('https://localhost:18445/hello', join(demo, 'bare.crt')));
}
log('request latency while a reload (SIGHUP) runs ...');
const stalls = [];
for (let i = 0; i < 3; i++) stalls.push(await reloadStall(kgUrl, ca, kgServer));
kgServer.kill('SIGTERM');
bareServer.kill('SIGTERM');

log('peak RSS while hashing a 100,000-file tree ...');
const many = ensureManyTree();
const mws = workspace('ws-many', join(many, 'files'));
const rss = (args) => {
  const r = sh('/usr/bin/time', ['-f', '%M', node, 'dist/main.js', ...args], { cwd: mws });
  return Number(r.stderr.trim().split('\n').pop()) / 1024;
};
const rssGenerate = rss(['generate-filelist', '--manifest', join(tmpdir(), 'kg-many.sha256')]);
const rssVerify = rss(['verify']);

log('backend proxy: keygate vs nginx vs Apache httpd vs direct (wrk) ...');
const proxy = await benchProxy({ log });
for (const r of proxy.rows) rows.push(r);

// ---- report ----------------------------------------------------------------------------------------------
const cpu = cpus()[0]?.model ?? 'unknown';
const f = (ms) => `${(ms / 1000).toFixed(3)} s`;
const ratio = (them, us) => `${(them / us).toFixed(2)}×`;
const lines = [];
lines.push(`machine: ${cpus().length} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
lines.push(`tree: ${files} files, ${(bytes / 1e6).toFixed(1)} MB (node_modules from the npm registry); ${RUNS} runs each, medians`);
lines.push('');
lines.push('| measure | keygate | competitor | ratio (competitor / keygate) | target |');
lines.push('|---|---:|---:|---:|---|');
lines.push(`| verify, warm cache | ${f(vw)} | ${f(sw)} sha256sum -c | ${ratio(sw, vw)} | ≥ 2.0× |`);
lines.push(`| verify, cold cache | ${f(vc)} | ${f(sc)} sha256sum -c | ${ratio(sc, vc)} | ≥ 2.5× |`);
lines.push(`| floor, warm: bare Node, 2 threads, hash only | ${f(flw)} | ${f(sw)} sha256sum -c | ${ratio(sw, flw)} | (bounds any Node verify on this machine) |`);
lines.push(`| generate, warm cache | ${f(gw)} | ${f(fw)} find \\| xargs -P2 sha256sum | ${ratio(fw, gw)} | ≥ 1.5× |`);
lines.push(`| floor, warm (run beside generate) | ${f(flg)} | ${f(fw)} find \\| xargs -P2 sha256sum | ${ratio(fw, flg)} | (bounds any Node generate: it does not even walk) |`);
lines.push(`| generate, cold cache | ${f(gc)} | ${f(fc)} find \\| xargs -P2 sha256sum | ${ratio(fc, gc)} | (≥ 1.5×) |`);
// Overhead beyond hashing: keygate's time to first response, less the bare server's, less the hashing
// (verify) and the vault client's own run time (an external program: the emulator is itself a node process).
const overhead = median(kgStart) - median(bareStart) - median(verifyMs) - median(vaultMs);
lines.push(`| start-up to first response | ${f(median(kgStart))} | ${f(median(bareStart))} bare https | overhead beyond hashing and the vault client: ${overhead.toFixed(0)} ms (verify ${median(verifyMs)} ms, vault client ${median(vaultMs)} ms, unlock ${unlockMs.length ? median(unlockMs) : '?'} ms) | ≤ 150 ms |`);
lines.push(...express.lines);
lines.push(`| requests/s | ${median(kgRps).toFixed(0)} | ${median(bareRps).toFixed(0)} bare https | ${(median(kgRps) / median(bareRps)).toFixed(3)} of bare | ≥ 0.95 |`);
lines.push(`| reload (SIGHUP) while serving | slowest request ${median(stalls.map((x) => x.after)).toFixed(1)} ms | ${median(stalls.map((x) => x.before)).toFixed(1)} ms before the signal | (unlock in a worker thread) | no stall |`);
lines.push(`| peak RSS, 100,000 files | generate ${rssGenerate.toFixed(0)} MB, verify ${rssVerify.toFixed(0)} MB | | | < 150 MB |`);
lines.push(...proxy.lines);
lines.push('');
lines.push('raw runs (ms; proxy rows: req/s):');
for (const r of rows) lines.push(`  ${r.group} / ${r.name}: ${r.runs.map((x) => x.toFixed(0)).join(' ')}${r.note ? ` (${r.note})` : ''}`);
lines.push(...proxy.detail);
console.log(lines.join('\n'));
