// README's command table against the commands keygate's own --help lists: a command added without a row (doctor,
// issue 20; admin had none) or a row left for a removed command fails here (review C: nothing enforced it).
// Planted and seen red: the doctor row removed from README.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, keygate } from './helpers/project.js';

test('README\'s command table has one row per command that --help lists, and no other', () => {
  const help = keygate(ROOT, ['--help']);
  assert.equal(help.code, 0, help.stderr);
  const section = help.stdout.split('Commands:\n')[1]!.split('\n\n')[0]!;
  const listed = [...section.matchAll(/^ {2}node dist\/main\.js ([a-z-]+)/gm)].map((m) => m[1]!).sort();
  assert.ok(listed.includes('serve') && listed.includes('doctor'), section);
  const table = readFileSync(join(ROOT, 'README.md'), 'utf8').split('## Commands')[1]!;
  // `keygate <command> …` rows, and generate-filelist's own (it is also a bin); `keygate --version` is a flag
  const rows = [...table.matchAll(/^\| `(?:keygate ([a-z][a-z-]*)|([a-z][a-z-]*)`)/gm)].map((m) => (m[1] ?? m[2])!).filter((w) => w !== 'command');
  assert.deepEqual([...new Set(rows)].sort(), listed);
});
