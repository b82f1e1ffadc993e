// keygate doctor, run as a user runs it (node dist/main.js doctor in a demo project with the A2A emulator): one
// line per check with its fix, --json, exit 3 while anything would stop a production start, and the vault never
// asked. Planted and seen red: a pin check that reported "current" without regenerating.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoProject, keygate, vaultCalls } from './helpers/project.js';

interface Report {
  ok: boolean;
  checks: { check: string; status: string; detail: string; fix?: string }[];
}
const byName = (r: Report) => Object.fromEntries(r.checks.map((c) => [c.check, c]));

test('doctor: pin current then stale after one changed byte, certificate expiry from the .crt, vault client checked on disk; never asks the vault', () => {
  const p = demoProject();
  const json = keygate(p.dir, ['doctor', '--json']);
  const report = JSON.parse(json.stdout) as Report;
  const c = byName(report);
  assert.equal(c['config']!.status, 'ok');
  assert.equal(c['pin']!.status, 'ok', c['pin']!.detail);
  assert.match(c['pin']!.detail, new RegExp(`^current: ${join(p.dir, 'dist/main.js')} pins [0-9a-f]{64}$`));
  assert.equal(c['vault-client']!.status, 'ok', c['vault-client']!.detail);
  assert.equal(c['certificate']!.status, 'ok', c['certificate']!.detail);
  assert.match(c['certificate']!.detail, /keygate-demo\.crt .* expires in \d+ days/);
  // the project lives under /tmp (mode 1777): production would refuse, so doctor exits 3 and says why
  assert.equal(c['anchors']!.status, 'problem');
  assert.match(c['anchors']!.detail, /the folder \/tmp is writable by its group and others/);
  assert.equal(report.ok, false);
  assert.equal(json.code, 3, json.stderr);
  assert.match(json.stderr, /^keygate: error: doctor: 1 problem would stop a production start\n$/);

  appendFileSync(join(p.dir, 'app/pages.cjs'), '\n// one more line\n');
  const text = keygate(p.dir, ['doctor']);
  assert.equal(text.code, 3);
  assert.match(text.stdout, /^ok {6}config {7}keygate\.config\.json is valid\n/);
  assert.match(text.stdout, /\nproblem pin {10}PIN_STALE: .*\n {21}fix: node dist\/main\.js generate-filelist && node dist\/main\.js pin/);
  assert.match(text.stderr, /doctor: 2 problems would stop a production start/);
  assert.equal(vaultCalls(p).length, 0, 'doctor asked the vault');
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
