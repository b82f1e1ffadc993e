// The dev A2A emulator's script check (issue 9 point 5): PAM releases the password only to the registered
// script, and the emulator stands in for that check in every end-to-end test and in `npm start`. It used to take
// the first non-option word of the caller's argv as "the script", so `node --redirect-warnings <entry> evil.js`
// (the entry is the option's value; evil.js runs) got status 400 and the password. Each case below asks the
// emulator from a process that is not exactly `node <registered entry> …` and expects 409.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SENTINEL, demoProject, serve, tempDir, vaultCalls, type DemoProject } from './helpers/project.js';

// Asks the emulator (as a child of the process running this code) and prints the status it answered.
const ASK = (client: string) => `
const { spawnSync } = require('node:child_process');
const r = spawnSync(process.execPath.endsWith('node') ? process.execPath : 'node', [${JSON.stringify(client)}, 'keygate-demo', 'false', '-x'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
const m = /<errorcode>(\\d+)<\\/errorcode>/.exec(r.stdout || '');
process.stdout.write('STATUS ' + (m ? m[1] : 'none') + (r.stdout && r.stdout.includes(${JSON.stringify(SENTINEL)}) ? ' PASSWORD' : '') + '\\n');
process.exit(0);
`;

function setup(): { p: DemoProject; entry: string; evil: string; client: string; dir: string } {
  const p = demoProject();
  const dir = tempDir('kg-evil-');
  const client = join(p.dir, 'dev/cspm/cspmclient/bin64/cspmclient64');
  const evil = join(dir, 'evil.cjs');
  writeFileSync(evil, ASK(client));
  return { p, entry: join(p.dir, 'dist/main.js'), evil, client, dir };
}

function statusOf(cmd: string, args: string[], options: { cwd: string; env?: Record<string, string> }): string {
  const r = spawnSync(cmd, args, { cwd: options.cwd, encoding: 'utf8', timeout: 30_000, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...options.env } });
  const line = /STATUS \d+( PASSWORD)?|STATUS none/.exec(r.stdout ?? '')?.[0];
  assert.ok(line, `no status from ${cmd} ${args.join(' ')}: ${r.stdout} ${r.stderr}`);
  return line;
}

test('node options before the registered entry: --redirect-warnings <entry> evil.js gets 409, not the password', () => {
  const { p, entry, evil } = setup();
  assert.equal(statusOf(process.execPath, ['--redirect-warnings', entry, evil], { cwd: p.dir }), 'STATUS 409');
  assert.equal(statusOf(process.execPath, ['--require', evil, entry], { cwd: p.dir }), 'STATUS 409');
  // the control case: an unregistered script is refused too
  assert.equal(statusOf(process.execPath, [evil], { cwd: p.dir }), 'STATUS 409');
  assert.deepEqual(vaultCalls(p).map((c) => c.status), [409, 409, 409]);
});

test('a preload through NODE_OPTIONS in front of the registered entry gets 409', () => {
  const { p, entry, evil } = setup();
  // argv is exactly `node <entry>`, but evil.cjs runs first in the same process and asks the emulator.
  assert.equal(statusOf(process.execPath, [entry, 'serve'], { cwd: p.dir, env: { NODE_OPTIONS: `--require ${evil}` } }), 'STATUS 409');
});

test('an executable that is not node, started as `node <entry>` (exec -a), gets 409', () => {
  const { p, entry, dir, client } = setup();
  // bash reads BASH_ENV before its script: argv is [node, <entry>] but /proc/<pid>/exe is bash.
  const env = join(dir, 'env.sh');
  writeFileSync(env, `r=$(node ${JSON.stringify(client)} keygate-demo false -x); case "$r" in *"<errorcode>400"*) echo "STATUS 400";; *) echo "STATUS $(echo "$r" | sed -n 's/.*<errorcode>\\([0-9]*\\).*/\\1/p')";; esac; exit 0\n`);
  assert.equal(statusOf('bash', ['-c', `exec -a node bash ${JSON.stringify(entry)}`], { cwd: p.dir, env: { BASH_ENV: env } }), 'STATUS 409');
});

test('the registered entry itself, started as `node dist/main.js serve`, still gets 400', async () => {
  const p = demoProject();
  const s = await serve(p.dir);
  await s.stop();
  assert.deepEqual(vaultCalls(p).map((c) => c.status), [400]);
});
