// Every docs/*.md a message, a script or a doc points at exists (with its #anchor), and docs/configuration.md
// names every setting src/core/config.ts knows, and only those.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../src/core/config.js';
import { ROOT } from './helpers/project.js';

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(join(dir, d.name), ext) : ext.test(d.name) ? [join(dir, d.name)] : [],
  );
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(md: string): Set<string> {
  const out = new Set<string>();
  for (const m of md.matchAll(/^#+ (.+)$/gm)) out.add(m[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-'));
  return out;
}

/**
 * Broken links in files another engineer owns, reported to them: listed here so this test stays green meanwhile,
 * and checked to be still broken so the entry is removed the day they are fixed.
 */
const PENDING = new Set<string>();

test('every docs/*.md (and #anchor) named in src, scripts, README.md and docs exists', () => {
  const sources = [...files('src', /\.ts$/), ...files('scripts', /\.(mjs|cjs|sh)$/), 'README.md', ...files('docs', /\.md$/), 'keygate.config.json'];
  const missing: string[] = [];
  for (const file of sources) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    // docs/x.md from anywhere; in docs/, also the relative form (x.md)
    const refs = [...text.matchAll(/docs\/([a-z0-9-]+\.md)(#[a-z0-9-]+)?/g)].map((m) => [m[1]!, m[2]] as const);
    if (file.startsWith('docs/')) for (const m of text.matchAll(/\]\(([a-z0-9-]+\.md)(#[a-z0-9-]+)?\)/g)) refs.push([m[1]!, m[2]] as const);
    for (const [doc, anchor] of refs) {
      const path = join(ROOT, 'docs', doc);
      if (!existsSync(path)) missing.push(`${file}: docs/${doc}`);
      else if (anchor && !anchors(readFileSync(path, 'utf8')).has(anchor.slice(1))) missing.push(`${file}: docs/${doc}${anchor}`);
    }
  }
  assert.deepEqual(missing.filter((m) => !PENDING.has(m)), []);
  assert.deepEqual([...PENDING].filter((p) => !missing.includes(p)), [], 'fixed: remove it from PENDING');
});

test('docs/configuration.md lists every setting of src/core/config.ts, and each one it lists is known', () => {
  const source = readFileSync(join(ROOT, 'src/core/config.ts'), 'utf8');
  const known = /const KNOWN[^=]*= \{([\s\S]*?)\n\};/.exec(source)![1]!;
  const settings: string[] = [];
  for (const m of known.matchAll(/^\s*'?([\w.]*)'?: \[([^\]]*)\]/gm)) {
    for (const k of m[2]!.matchAll(/'([^']+)'/g)) {
      if (k[1]!.startsWith('$') || k[1]!.startsWith('_')) continue;
      settings.push(m[1] ? `${m[1]}.${k[1]}` : k[1]!);
    }
  }
  const sections = new Set(settings.filter((s) => settings.some((t) => t.startsWith(`${s}.`))));
  const leaves = settings.filter((s) => !sections.has(s) || s === 'server.backend');
  assert.ok(leaves.length > 30, `parsed ${leaves.length} settings`);
  const doc = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
  const listed = new Set([...doc.matchAll(/^\| `([\w.]+)`/gm)].map((m) => m[1]!));
  assert.deepEqual(leaves.filter((s) => !listed.has(s)), [], 'settings missing from docs/configuration.md');
  for (const name of listed) {
    const raw: Record<string, unknown> = {};
    const path = name.split('.');
    let o = raw;
    for (const p of path.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
    o[path.at(-1)!] = null; // a wrong value: "unknown setting" would mean the doc names something that does not exist
    const r = validateConfig(raw);
    assert.ok(!(r.ok === false && r.errors.some((e) => e.startsWith(`${name}: unknown setting`))), `${name} is not a setting`);
  }
});
