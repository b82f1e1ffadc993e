// Start-up of a real app (issue 10 point 6): an Express 5 app with 3,000+ files of node_modules, from spawn to the
// first HTTPS response, under keygate (`init --dev`, in-process, every file verified and every module compiled from
// verified bytes) beside the same app started bare with PEM files. Called by scripts/bench.mjs
// (benchExpressStartup()); runs on its own after `npm run build`: node scripts/bench-express.mjs
// The app requires what it installs (express, lodash, moment, joi, helmet, cors, rxjs), so both sides load the same
// modules. npm installs from the registry into .bench/express-app once and reuses it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { renderTable } from './bench-table.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const DIR = join(ROOT, '.bench', 'express-app');
const PACKAGES = ['express@5', 'lodash@4', 'moment@2', 'joi@17', 'helmet@8', 'cors@2', 'rxjs@7'];
const KG_PORT = 18460;
const BARE_PORT = 18461;

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r;
}

function countFiles(dir) {
  let n = 0;
  for (const d of readdirSync(dir, { withFileTypes: true })) n += d.isDirectory() ? countFiles(join(dir, d.name)) : 1;
  return n;
}

function project() {
  if (!PACKAGES.every((p) => existsSync(join(DIR, 'node_modules', p.replace(/@[^@]*$/, ''))))) {
    rmSync(DIR, { recursive: true, force: true });
    mkdirSync(DIR, { recursive: true });
    writeFileSync(join(DIR, 'package.json'), JSON.stringify({ name: 'bench-express', version: '1.0.0', main: 'app.js', private: true }, null, 2));
    sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...PACKAGES], { cwd: DIR });
  }
  writeFileSync(
    join(DIR, 'app.js'),
    `'use strict';
const express = require('express');
const _ = require('lodash');
const moment = require('moment');
const Joi = require('joi');
const { of } = require('rxjs');
const app = express();
app.use(require('helmet')());
app.use(require('cors')());
const schema = Joi.object({ name: Joi.string().default('world') });
app.get('/', (req, res) => res.send('hello ' + _.escape(schema.validate({}).value.name) + ' at ' + moment(0).utc().format('YYYY')));
module.exports = app;
`,
  );
  writeFileSync(
    join(DIR, 'bare-server.cjs'),
    `'use strict';
const https = require('node:https');
const fs = require('node:fs');
const app = require('./app.js');
https.createServer({ key: fs.readFileSync(__dirname + '/bare.key'), cert: fs.readFileSync(__dirname + '/bare.crt') }, app).listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`,
  );
  if (!existsSync(join(DIR, 'bare.key'))) {
    sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'bare.key', '-out', 'bare.crt', '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { cwd: DIR });
  }
  // keygate's own init, from this checkout's bundle: the entry, template, config, the emulator, a keystore, pin
  sh(process.execPath, [join(ROOT, 'dist/main.js'), 'init', '--dev', '--force', '--port', String(KG_PORT)], { cwd: DIR });
  return DIR;
}

/** Resolves with the status of the first answer on url, retrying every 2 ms until the server listens. */
export function firstResponse(url, ca) {
  return new Promise((resolveDone) => {
    const tryOnce = () => {
      const req = https.get(url, { ca, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolveDone(res.statusCode));
      });
      req.on('error', () => setTimeout(tryOnce, 2));
    };
    tryOnce();
  });
}

async function startupOnce(args, url, ca) {
  const t = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { cwd: DIR, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const status = await firstResponse(url, ca);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  if (status !== 200) throw new Error(`${args.join(' ')}: first response ${status}\n${err}`);
  return { ms, stderr: err };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Rows for bench.mjs: { rows (raw runs), table (bench-table.mjs entries: the row with its target and met) }. */
export async function benchExpressStartup({ log = () => {}, runs = 5 } = {}) {
  log('start-up of an Express app under keygate vs bare ...');
  project();
  const files = countFiles(join(DIR, 'node_modules'));
  const kgCa = readFileSync(join(DIR, 'keystore', 'bench-express.crt'));
  const bareCa = readFileSync(join(DIR, 'bare.crt'));
  const kg = [];
  const bare = [];
  const verifyMs = [];
  for (let i = 0; i < runs + 1; i++) {
    const k = await startupOnce(['keygate/main.cjs', 'serve', '--log-format', 'json'], `https://localhost:${KG_PORT}/`, kgCa);
    const b = await startupOnce(['bare-server.cjs', String(BARE_PORT)], `https://localhost:${BARE_PORT}/`, bareCa);
    if (i === 0) continue; // warm-up
    kg.push(k.ms);
    bare.push(b.ms);
    for (const line of k.stderr.split('\n').filter(Boolean)) {
      const j = JSON.parse(line);
      if (j.gate === 'verify') verifyMs.push(Number(/in (\d+) ms/.exec(j.message)?.[1] ?? 0));
    }
  }
  const ratio = median(kg) / median(bare);
  const f = (ms) => `${(ms / 1000).toFixed(3)} s`;
  return {
    rows: [
      { group: 'express start-up', name: 'keygate serve (in-process Express) → first response', ms: median(kg), runs: kg },
      { group: 'express start-up', name: 'bare node https + the same app → first response', ms: median(bare), runs: bare },
    ],
    // Issue 10's target: keygate ÷ bare ≤ 1.5 (bench-table.mjs renders it with met / not met).
    table: [
      {
        measure: `start-up, Express app (${files} files in node_modules), in-process`,
        keygate: `${f(median(kg))} (verify ${median(verifyMs)} ms)`,
        competitor: `${f(median(bare))} bare https + PEM`,
        ratio: `keygate ÷ bare ${ratio.toFixed(2)}×`,
        target: '≤ 1.5× bare (issue 10)',
        met: ratio <= 1.5,
      },
    ],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await benchExpressStartup({ log: (...a) => console.error('bench:', ...a), runs: Number(process.env.BENCH_RUNS ?? 5) });
  console.log(renderTable(r.table).join('\n'));
  for (const row of r.rows) console.log(`  ${row.group} / ${row.name}: ${row.runs.map((x) => x.toFixed(0)).join(' ')}`);
}
