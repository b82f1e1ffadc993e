// docs/pki.md's "A session", run line by line in a temp folder: each command's output lines must have the shape
// shown (paths, dates, hashes and serials as patterns; words and counts exact), so the page cannot drift from what
// keygate pki prints. Like test/readme-transcript.e2e.test.ts for the README.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, keygate, run, tempDir } from './helpers/project.js';

interface Step {
  readonly command: string;
  readonly stderr: string[];
  readonly stdout: string[];
}

/** The console block under "## A session": commands and their expected lines. */
function session(): Step[] {
  const page = readFileSync(join(ROOT, 'docs/pki.md'), 'utf8');
  const block = /## A session[\s\S]*?```console\n([\s\S]*?)```/.exec(page)![1]!;
  const steps: Step[] = [];
  for (const line of block.split('\n').filter(Boolean)) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2).replace(/\s{2,}#.*$/, ''), stderr: [], stdout: [] });
    else (line.startsWith('keygate: ') ? steps.at(-1)!.stderr : steps.at(-1)!.stdout).push(line);
  }
  return steps;
}

/** An expected line as a pattern: what varies from run to run is a pattern, everything else literal. */
function shape(line: string, dir: string): RegExp {
  const re = line
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/\/srv\/svc/g, '\u0000DIR\u0000')
    .replace(/\b[0-9a-f]{64}\b/g, '[0-9a-f]{64}')
    .replace(/\b[0-9a-f]{32}\b/g, '[0-9a-f]{1,40}')
    .replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\\\.\d{3}Z/g, '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z')
    .replace(/\u0000DIR\u0000/g, dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${re}$`);
}

const lines = (s: string) => s.split('\n').filter((l) => l !== '');

function assertShape(what: string, actual: string[], expected: string[], dir: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${expected.length} lines in docs/pki.md, ${actual.length} printed:\n${actual.join('\n')}`);
  expected.forEach((e, i) => assert.match(actual[i]!, shape(e, dir), `${what}, line ${i + 1}`));
}

const skip = spawnSync('sh', ['-c', 'command -v openssl'], { encoding: 'utf8' }).status === 0 ? undefined : 'openssl is missing: apt-get install openssl';

test('docs/pki.md: the session prints what the page shows', { skip }, () => {
  const steps = session();
  assert.ok(steps.filter((s) => s.command.startsWith('node dist/main.js pki ')).length >= 6, 'the session shows the pki commands');
  const dir = tempDir('kg-pki-doc-');
  mkdirSync(join(dir, 'dist'));
  for (const f of ['main.js', 'package.json']) writeFileSync(join(dir, 'dist', f), readFileSync(join(ROOT, 'dist', f)));
  for (const step of steps) {
    const kg = /^node dist\/main\.js (.*)$/.exec(step.command);
    if (kg) {
      const r = keygate(dir, kg[1]!.split(/\s+/));
      assert.equal(r.code, 0, `${step.command}: ${r.stderr}`);
      assertShape(`${step.command} (stderr)`, lines(r.stderr), step.stderr, dir);
      assertShape(`${step.command} (stdout)`, lines(r.stdout), step.stdout, dir);
    } else {
      assert.match(step.command, /^openssl /, `docs/pki.md session: only keygate and openssl commands: ${step.command}`);
      // openssl's own lines, both streams in the order a terminal shows them (a failing verify exits 2: shown, not an error)
      const r = run('sh', ['-c', `${step.command} 2>&1`], { cwd: dir });
      assertShape(step.command, lines(r.stdout), [...step.stderr, ...step.stdout], dir);
    }
  }
});
