// No import circles among src/ (type-only imports included: a circle of types is still two modules that cannot be
// read or moved apart). late-runtime.ts importing itself is deliberate: it hands its own module to the parts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from './helpers/project.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

test('src/ has no import circles', () => {
  const files = sources(join(ROOT, 'src'));
  const known = new Set(files);
  const edges = new Map(
    files.map((f) => [
      f,
      [...readFileSync(f, 'utf8').matchAll(/^(?:import|export)\b[^;]*?from '(\.[^']+)'/gm)]
        .map((m) => join(dirname(f), m[1]!.replace(/\.js$/, '.ts')))
        .filter((t) => known.has(t) && t !== f),
    ]),
  );
  const circles: string[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (f: string): void => {
    if (path.includes(f)) {
      circles.push([...path.slice(path.indexOf(f)), f].map((p) => p.slice(ROOT.length + 1)).join(' -> '));
      return;
    }
    if (done.has(f)) return;
    path.push(f);
    for (const t of edges.get(f) ?? []) visit(t);
    path.pop();
    done.add(f);
  };
  for (const f of files) visit(f);
  assert.deepEqual(circles, []);
});
