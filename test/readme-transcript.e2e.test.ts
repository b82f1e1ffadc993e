// The README's "A session" transcript, run against a copy of the demo: each command's output lines must have the
// shape shown (hashes, timings, dates, ports and the folder as patterns; counts and words exact), so the README
// cannot drift from what the commands print again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, demoProject, keygate, serve } from './helpers/project.js';

interface Step {
  readonly args: string[];
  readonly stderr: string[];
  readonly stdout: string[];
}

/** The console block under "## A session": commands and their expected lines, split by stream. */
function session(): Step[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /## A session[\s\S]*?```console\n([\s\S]*?)```/.exec(readme)![1]!;
  const steps: Step[] = [];
  for (const line of block.split('\n').filter(Boolean)) {
    const cmd = /^\$ node dist\/main\.js (.*?)\s*(#.*)?$/.exec(line);
    if (cmd) steps.push({ args: cmd[1]!.split(/\s+/), stderr: [], stdout: [] });
    else if (line.startsWith('$ ')) assert.fail(`README session: run commands as the user types them here, node dist/main.js ...: ${line}`);
    else if (line === '^C') continue;
    else (line.startsWith('keygate: ') ? steps.at(-1)!.stderr : steps.at(-1)!.stdout).push(line);
  }
  return steps;
}

/** An expected line as a pattern: what varies from run to run is a pattern, everything else literal. */
function shape(line: string, dir: string): RegExp {
  const esc = line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = esc
    .replace(/\/srv\/svc/g, '\u0000DIR\u0000')
    .replace(/[0-9a-f]{64}/g, '[0-9a-f]{64}')
    .replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\\\.\d{3}Z/g, '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z')
    .replace(/in \d+ ms/g, 'in \\d+ ms')
    .replace(/\\\(in \d+ days\\\)/g, '\\(in \\d+ days\\)')
    .replace(/ms=\d+/g, 'ms=\\d+')
    .replace(/:8443\//g, ':\\d+/')
    .replace(/port=8443/g, 'port=\\d+')
    .replace(/\u0000DIR\u0000/g, dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${re}$`);
}

const lines = (s: string) => s.split('\n').filter((l) => l !== '' && !l.startsWith('keygate: warn: '));

function assertShape(what: string, actual: string[], expected: string[], dir: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${expected.length} lines in the README, ${actual.length} printed:\n${actual.join('\n')}`);
  expected.forEach((e, i) => assert.match(actual[i]!, shape(e, dir), `${what}, line ${i + 1}`));
}

test('the README session prints what the README shows', async () => {
  const steps = session();
  assert.deepEqual(steps.map((s) => s.args[0]), ['generate-filelist', 'pin', 'verify', 'check', 'serve']);
  // The demo as npm start leaves it: the repo's own template and config (port 0 here), and what dev-setup makes
  // (the dev CA, the keystore it issued, the emulator's store).
  const p = demoProject();
  const setup = keygate(p.dir, ['dev-setup']);
  assert.equal(setup.code, 0, setup.stderr);
  copyFileSync(join(ROOT, 'filelist.template'), join(p.dir, 'filelist.template'));
  for (const step of steps) {
    if (step.args[0] === 'serve') {
      const s = await serve(p.dir, step.args.slice(1));
      assert.equal(await s.stop('SIGINT'), 0, s.stderr());
      assertShape('serve stderr', lines(s.stderr()), step.stderr, p.dir);
      assertShape('serve stdout', lines(s.stdout()), step.stdout, p.dir);
      continue;
    }
    const r = keygate(p.dir, step.args);
    assert.equal(r.code, 0, `${step.args.join(' ')}: ${r.stderr}`);
    assertShape(`${step.args[0]} stderr`, lines(r.stderr), step.stderr, p.dir);
    assertShape(`${step.args[0]} stdout`, lines(r.stdout), step.stdout, p.dir);
    if (step.args[0] === 'pin') {
      // register the new entry hash with the emulator, as PAM's A2A Script would be
      const store = JSON.parse(readFileSync(p.store, 'utf8'));
      store.scripts = [{ path: join(p.dir, 'dist/main.js'), sha256: r.stdout.trim() }];
      writeFileSync(p.store, JSON.stringify(store), { mode: 0o600 });
    }
  }
});
