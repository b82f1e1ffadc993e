// docs/errors.md and src/errors.ts must not drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, EXIT } from '../src/errors.js';
import { ROOT } from './helpers/project.js';

const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');

test('every error code has a row with the same exit status and meaning, and no row is extra', () => {
  const rows = new Map<string, string[]>();
  for (const m of doc.matchAll(/^\| `([A-Z_]+)` \| (\d+) \| ([^|]+) \| ([^|]+) \|$/gm)) rows.set(m[1]!, [m[2]!, m[3]!.trim(), m[4]!.trim()]);
  assert.deepEqual([...rows.keys()].sort(), Object.keys(ERROR_CODES).sort());
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    const [exit, meaning, fix] = rows.get(code)!;
    assert.equal(Number(exit), info.exit, code);
    assert.equal(meaning, info.meaning, code);
    assert.ok((fix ?? "").length > 5, `${code} needs a fix`);
  }
});

test('every exit status is documented once', () => {
  const statuses = [...doc.matchAll(/^\| (\d) \| ([a-z]+) \|/gm)].map((m) => [Number(m[1]), m[2]]);
  assert.deepEqual(statuses, Object.entries(EXIT).map(([k, v]) => [v, k.toLowerCase()]));
});
