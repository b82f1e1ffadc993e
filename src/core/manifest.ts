// The manifest (filelist.sha256): GNU coreutils `sha256sum --binary` lines, sorted by path bytes.
// Pure: parse, serialise and compare. `sha256sum -c filelist.sha256` reads what we write.
//
// Line form: `<64 lowercase hex> *<path>\n`. GNU escaping (coreutils 8.x+, src/digest.c): when a name holds
// `\`, newline or carriage return, the line starts with `\` and those become `\\`, `\n` and `\r`.

import { KeygateError } from '../errors.js';

export interface ManifestEntry {
  readonly path: string;
  readonly sha256: string;
}

export type Manifest = ReadonlyMap<string, string>;

const HEX64 = /^[0-9a-f]{64}$/;

/** Compares two paths by their UTF-8 bytes, the order `LC_ALL=C sort` gives. */
export function comparePaths(a: string, b: string): number {
  // UTF-16 code-unit order equals UTF-8 byte order below the surrogates (U+D800); only past that do we need
  // the bytes. Paths are almost always ASCII, and this runs ~n log n times per manifest.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    const from = i > 0 && x >= 0xdc00 && x <= 0xdfff ? i - 1 : i; // never split a surrogate pair
    return Buffer.compare(Buffer.from(a.slice(from), 'utf8'), Buffer.from(b.slice(from), 'utf8'));
  }
  return a.length - b.length;
}

function escapeName(path: string): { escaped: boolean; name: string } {
  if (!/[\\\n\r]/.test(path)) return { escaped: false, name: path };
  return { escaped: true, name: path.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r') };
}

function unescapeName(name: string): string | undefined {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = name[++i];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else return undefined;
  }
  return out;
}

/** Serialises entries as a sorted, deterministic GNU sha256sum binary-mode manifest. */
export function serializeManifest(entries: Iterable<ManifestEntry>): string {
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  const lines = sorted.map(({ path, sha256 }) => {
    const { escaped, name } = escapeName(path);
    return `${escaped ? '\\' : ''}${sha256} *${name}\n`;
  });
  return lines.join('');
}

/**
 * Parses a manifest strictly: exact GNU binary-mode lines, LF endings, sorted, no duplicates, final newline.
 * Strict because keygate wrote it: anything else is damage or tampering, and fails closed.
 */
export function parseManifest(text: string, manifestName = 'filelist.sha256'): Map<string, string> {
  const bad = (line: number, what: string): KeygateError =>
    new KeygateError('MANIFEST_MALFORMED', `failed to read ${manifestName}: line ${line} ${what}`, {
      hint: 'regenerate it: keygate generate-filelist && keygate pin',
      details: { line },
    });
  if (text.length === 0) {
    throw new KeygateError('MANIFEST_MALFORMED', `failed to read ${manifestName}: the file is empty`, {
      hint: 'regenerate it: keygate generate-filelist && keygate pin',
    });
  }
  if (text.includes('\0')) throw bad(text.slice(0, text.indexOf('\0')).split('\n').length, 'contains a NUL byte');
  if (!text.endsWith('\n')) throw bad(text.split('\n').length, 'has no final newline (file truncated?)');
  const lines = text.slice(0, -1).split('\n');
  const result = new Map<string, string>();
  let previous: string | undefined;
  lines.forEach((line, i) => {
    const n = i + 1;
    if (line.endsWith('\r')) throw bad(n, 'ends with CR (CRLF line endings; the manifest must use LF)');
    if (line === '') throw bad(n, 'is empty');
    const escaped = line.startsWith('\\');
    const body = escaped ? line.slice(1) : line;
    const hash = body.slice(0, 64);
    if (!HEX64.test(hash)) throw bad(n, 'does not start with 64 lowercase hex digits');
    if (body.slice(64, 66) !== ' *') throw bad(n, "lacks the ' *' (binary mode) between hash and path");
    const rawName = body.slice(66);
    if (rawName === '') throw bad(n, 'has no path');
    const path = escaped ? unescapeName(rawName) : rawName;
    if (path === undefined) throw bad(n, 'has an unknown escape sequence in its path');
    if (!escaped && rawName.includes('\\')) throw bad(n, "has a '\\' in its path but is not escaped");
    if (result.has(path)) throw bad(n, `lists ${JSON.stringify(path)} a second time`);
    if (previous !== undefined && comparePaths(previous, path) > 0) throw bad(n, 'is out of order (lines must be sorted by path)');
    previous = path;
    result.set(path, hash);
  });
  return result;
}

export interface ManifestDiff {
  /** In the manifest, hash differs on disk. */
  readonly changed: string[];
  /** In the manifest, gone from disk. */
  readonly missing: string[];
  /** On disk and matched by the template, not in the manifest. */
  readonly added: string[];
  /** In the manifest, exists but cannot be read (permission, a folder where a file was). */
  readonly unreadable: { path: string; reason: string }[];
}

export type HashResult = { readonly ok: true; readonly sha256: string } | { readonly ok: false; readonly missing: boolean; readonly reason: string };

/**
 * What was found for the i-th manifest path (in the manifest's order), expecting `sha256`; undefined when it
 * was not looked at. A lookup by index lets verify answer from its hash table without a path → result map.
 */
export type HashLookup = (path: string, sha256: string, i: number) => HashResult | undefined;

/** Compares expected hashes with what was found on disk, and the template's current file set with the manifest. */
export function compareManifest(expected: Manifest, actual: HashLookup, currentFiles?: Iterable<string>): ManifestDiff {
  const diff: ManifestDiff = { changed: [], missing: [], added: [], unreadable: [] };
  let i = 0;
  for (const [path, sha] of expected) {
    const got = actual(path, sha, i++);
    if (!got) diff.missing.push(path);
    else if (got.ok) {
      if (got.sha256 !== sha) diff.changed.push(path);
    } else if (got.missing) diff.missing.push(path);
    else diff.unreadable.push({ path, reason: got.reason });
  }
  if (currentFiles) {
    for (const path of currentFiles) if (!expected.has(path)) diff.added.push(path);
  }
  diff.added.sort(comparePaths);
  return diff;
}

export function isCleanDiff(diff: ManifestDiff): boolean {
  return diff.changed.length + diff.missing.length + diff.added.length + diff.unreadable.length === 0;
}

/** Human report: one line per problem, grouped, as `sha256sum -c` users expect (`path: FAILED`). */
export function formatDiff(diff: ManifestDiff, limit = 200): string[] {
  const rows: string[] = [];
  for (const p of diff.changed) rows.push(`changed:    ${p}`);
  for (const p of diff.missing) rows.push(`missing:    ${p}`);
  for (const p of diff.added) rows.push(`new:        ${p}`);
  for (const u of diff.unreadable) rows.push(`unreadable: ${u.path} (${u.reason})`);
  if (rows.length > limit) return [...rows.slice(0, limit), `... and ${rows.length - limit} more (use --json for the full list)`];
  return rows;
}

export function diffSummary(diff: ManifestDiff): string {
  const parts: string[] = [];
  if (diff.changed.length) parts.push(`${diff.changed.length} changed`);
  if (diff.missing.length) parts.push(`${diff.missing.length} missing`);
  if (diff.added.length) parts.push(`${diff.added.length} new`);
  if (diff.unreadable.length) parts.push(`${diff.unreadable.length} unreadable`);
  return parts.join(', ');
}
