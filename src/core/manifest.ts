// The manifest (filelist.sha256): GNU coreutils `sha256sum --binary` lines, sorted by path bytes.
// Pure: parse, serialise and compare. `sha256sum -c filelist.sha256` reads what we write.
//
// Line form: `<64 lowercase hex> *<path>\n`. GNU escaping (coreutils 8.x+, src/digest.c): when a name holds
// `\`, newline or carriage return, the line starts with `\` and those become `\\`, `\n` and `\r`.

import { isUtf8 } from 'node:buffer';
import { KeygateError } from '../errors.js';
import { PathTable } from './path-table.js';
import { HOST_PATH_STYLE, type PathStyle } from './path-style.js';

export interface ManifestEntry {
  readonly path: string;
  readonly sha256: string;
}

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

/** Undoes GNU sha256sum name escaping (`\\`, `\n`, `\r`); undefined for any other escape. */
export function unescapeName(name: string): string | undefined {
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

/**
 * Serialises entries as a sorted, deterministic GNU sha256sum binary-mode manifest. On Windows (style 'win32')
 * paths are written with `\`, unescaped, as seed 000's manifests are (`<sha256> *C:\opt\...`): a Windows name
 * holds no `\`, so nothing is ambiguous; lines are sorted by the bytes as written.
 */
export function serializeManifest(entries: Iterable<ManifestEntry>, style: PathStyle = HOST_PATH_STYLE): string {
  if (style === 'win32') return serializeWin32(entries);
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  const lines = sorted.map(({ path, sha256 }) => {
    const { escaped, name } = escapeName(path);
    return `${escaped ? '\\' : ''}${sha256} *${name}\n`;
  });
  return lines.join('');
}

function serializeWin32(entries: Iterable<ManifestEntry>): string {
  const rows = [...entries].map(({ path, sha256 }) => ({ name: path.replace(/\//g, '\\'), sha256 }));
  rows.sort((a, b) => comparePaths(a.name, b.name));
  // A newline cannot be in a Windows name; should one get here it is escaped GNU-style, so the line stays one line.
  return rows.map(({ name, sha256 }) => (/[\n\r]/.test(name) ? `\\${sha256} *${escapeName(name).name}\n` : `${sha256} *${name}\n`)).join('');
}

const HEX64 = /^[0-9a-f]{64}$/;
const NL = 10;
const CR = 13;
const BACKSLASH = 92;

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/**
 * The manifest for the paths of a PathTable with their digests (32 bytes each, by table index), sorted by path
 * bytes: the bytes serializeManifest's text encodes to (a test holds them equal), written into one buffer
 * without a string per line.
 */
export function serializeTable(paths: PathTable, digests: Uint8Array, style: PathStyle = HOST_PATH_STYLE): Buffer {
  if (style === 'win32') {
    // Windows lists are not measured for speed (docs/windows.md): one string per line is fine there.
    const entries = Array.from({ length: paths.length }, (_, i) => ({ path: paths.at(i)!, sha256: Buffer.from(digests.subarray(i * 32, i * 32 + 32)).toString('hex') }));
    return Buffer.from(serializeWin32(entries), 'utf8');
  }
  const order = paths.sorted();
  const escapedLines = new Map<number, Buffer>(); // the rare names with `\`, newline or CR: through the string path
  let size = 0;
  for (let i = 0; i < paths.length; i++) {
    const { bytes, start, end } = paths.span(i);
    let plain = true;
    for (let k = start; k < end && plain; k++) plain = bytes[k] !== BACKSLASH && bytes[k] !== NL && bytes[k] !== CR;
    if (plain) size += 67 + end - start;
    else {
      const line = Buffer.from(serializeManifest([{ path: paths.at(i)!, sha256: Buffer.from(digests.subarray(i * 32, i * 32 + 32)).toString('hex') }]));
      escapedLines.set(i, line);
      size += line.length;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const i of order) {
    const escaped = escapedLines.get(i);
    if (escaped) {
      at += escaped.copy(out, at);
      continue;
    }
    for (let k = i * 32; k < i * 32 + 32; k++) {
      out[at++] = HEX_DIGITS[digests[k]! >> 4]!;
      out[at++] = HEX_DIGITS[digests[k]! & 15]!;
    }
    out[at++] = 32; // ' '
    out[at++] = 42; // '*'
    const { bytes, start, end } = paths.span(i);
    for (let k = start; k < end; k++) out[at++] = bytes[k]!;
    out[at++] = NL;
  }
  return out;
}

/**
 * A parsed manifest: paths in a PathTable and digests in one buffer, 32 bytes per line, in file order. It is a
 * ReadonlyMap<path, hex> for callers that want one; verify uses the index and binary digests, so a large
 * manifest is compact bytes outside V8's heap, not a string per line inside it (docs/performance.md).
 */
export class ManifestIndex implements ReadonlyMap<string, string> {
  constructor(
    readonly paths: PathTable,
    readonly digests: Buffer,
  ) {}
  static empty(): ManifestIndex {
    return new ManifestIndex(new PathTable(), Buffer.alloc(0));
  }
  get size(): number {
    return this.paths.length;
  }
  /** Hex digest of line i. */
  hexAt(i: number): string {
    return this.digests.toString('hex', i * 32, i * 32 + 32);
  }
  get(path: string): string | undefined {
    const i = this.paths.indexOf(path);
    return i < 0 ? undefined : this.hexAt(i);
  }
  has(path: string): boolean {
    return this.paths.indexOf(path) >= 0;
  }
  /**
   * Listed with exactly this spelling. A Windows manifest matches names without case, but a folder can be
   * case-sensitive there (`fsutil file setCaseSensitiveInfo`, WSL's folders): `FOO.py` beside a listed `foo.py` is
   * another file, so the expansion reports any on-disk spelling the manifest does not hold (issue 31, review L10).
   */
  hasExact(path: string): boolean {
    const i = this.paths.indexOf(path);
    return i >= 0 && this.paths.at(i) === path;
  }
  *keys(): MapIterator<string> {
    for (let i = 0; i < this.size; i++) yield this.paths.at(i)!;
  }
  *values(): MapIterator<string> {
    for (let i = 0; i < this.size; i++) yield this.hexAt(i);
  }
  *entries(): MapIterator<[string, string]> {
    for (let i = 0; i < this.size; i++) yield [this.paths.at(i)!, this.hexAt(i)];
  }
  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }
  forEach(fn: (value: string, key: string, map: ReadonlyMap<string, string>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
}

/**
 * Parses a manifest strictly: exact GNU binary-mode lines, LF endings, sorted, no duplicates, final newline,
 * valid UTF-8. Strict because keygate wrote it: anything else is damage or tampering, and fails closed.
 * Works on the bytes (no string per line); src/core/manifest.test.ts checks it against a plain string parser.
 */
export function parseManifest(input: string | Uint8Array, manifestName = 'filelist.sha256', style: PathStyle = HOST_PATH_STYLE): ManifestIndex {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const bad = (line: number, what: string): KeygateError =>
    new KeygateError('MANIFEST_MALFORMED', `failed to read ${manifestName}: line ${line} ${what}`, {
      hint: 'regenerate it: keygate generate-filelist && keygate pin',
      details: { line },
    });
  const lineOf = (offset: number): number => {
    let n = 1;
    for (let at = bytes.indexOf(NL); at !== -1 && at < offset; at = bytes.indexOf(NL, at + 1)) n++;
    return n;
  };
  if (bytes.length === 0) {
    throw new KeygateError('MANIFEST_MALFORMED', `failed to read ${manifestName}: the file is empty`, {
      hint: 'regenerate it: keygate generate-filelist && keygate pin',
    });
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) throw bad(lineOf(nul), 'contains a NUL byte');
  if (bytes[bytes.length - 1] !== NL) throw bad(lineOf(bytes.length), 'has no final newline (file truncated?)');
  if (!isUtf8(bytes)) {
    const text = bytes.toString('utf8');
    throw bad(text.slice(0, text.indexOf('\uFFFD')).split('\n').length, 'is not valid UTF-8');
  }
  let lines = 0;
  for (let at = bytes.indexOf(NL); at !== -1; at = bytes.indexOf(NL, at + 1)) lines++;
  if (style === 'win32') return parseWin32Lines(bytes, lines, bad);
  const paths = new PathTable(bytes);
  const digests = Buffer.alloc(lines * 32);
  let n = 0;
  let slash = -1;
  for (let start = 0; start < bytes.length; ) {
    const end = bytes.indexOf(NL, start); // there is one: the file ends with a newline
    n++;
    if (end > start && bytes[end - 1] === CR) throw bad(n, 'ends with CR (CRLF line endings; the manifest must use LF)');
    if (end === start) throw bad(n, 'is empty');
    const escaped = bytes[start] === BACKSLASH;
    const body = escaped ? start + 1 : start;
    const hex = bytes.toString('latin1', body, Math.min(end, body + 64));
    if (!HEX64.test(hex)) throw bad(n, 'does not start with 64 lowercase hex digits');
    digests.write(hex, (n - 1) * 32, 32, 'hex');
    if (bytes[body + 64] !== 32 || bytes[body + 65] !== 42 || end - body < 66) throw bad(n, "lacks the ' *' (binary mode) between hash and path");
    const name = body + 66;
    if (name === end) throw bad(n, 'has no path');
    let added: { index: number; added: boolean };
    if (escaped) {
      const path = unescapeName(bytes.toString('utf8', name, end));
      if (path === undefined) throw bad(n, 'has an unknown escape sequence in its path');
      added = paths.add(path);
    } else {
      if (slash < name) {
        slash = bytes.indexOf(BACKSLASH, name); // the next '\' in the file: searched once, not per line
        if (slash === -1) slash = bytes.length;
      }
      if (slash < end) throw bad(n, "has a '\\' in its path but is not escaped");
      added = paths.addSpan(name, end);
    }
    if (!added.added) throw bad(n, `lists ${JSON.stringify(paths.at(added.index))} a second time`);
    if (added.index > 0 && paths.compare(added.index - 1, added.index) > 0) throw bad(n, 'is out of order (lines must be sorted by path)');
    start = end + 1;
  }
  return new ManifestIndex(paths, digests);
}

/**
 * The line loop for Windows manifests: `\` (or `/`) separate folders and need no escape, sorting is by the
 * bytes as written, and paths that differ only in case are one file (a second line for it is refused). Paths
 * are held with `/`, the form the template expands to, so lookups from the expansion find them.
 */
function parseWin32Lines(bytes: Buffer, lines: number, bad: (line: number, what: string) => KeygateError): ManifestIndex {
  const paths = new PathTable(undefined, { foldCase: true });
  const digests = Buffer.alloc(lines * 32);
  const rows = bytes.toString('utf8', 0, bytes.length - 1).split('\n');
  let previous: string | undefined;
  rows.forEach((row, i) => {
    const n = i + 1;
    if (row.endsWith('\r')) throw bad(n, 'ends with CR (CRLF line endings; the manifest must use LF)');
    if (row === '') throw bad(n, 'is empty');
    const escaped = row.startsWith('\\');
    const body = escaped ? row.slice(1) : row;
    const hex = body.slice(0, 64);
    if (!HEX64.test(hex)) throw bad(n, 'does not start with 64 lowercase hex digits');
    digests.write(hex, i * 32, 32, 'hex');
    if (body[64] !== ' ' || body[65] !== '*') throw bad(n, "lacks the ' *' (binary mode) between hash and path");
    const written = escaped ? unescapeName(body.slice(66)) : body.slice(66);
    if (written === undefined) throw bad(n, 'has an unknown escape sequence in its path');
    if (written === '') throw bad(n, 'has no path');
    if (previous !== undefined && comparePaths(previous, written) >= 0) {
      if (comparePaths(previous, written) === 0) throw bad(n, `lists ${JSON.stringify(written)} a second time`);
      throw bad(n, 'is out of order (lines must be sorted by path)');
    }
    previous = written;
    let path = written.replace(/\\/g, '/');
    while (path.startsWith('./')) path = path.slice(2);
    const added = paths.add(path);
    if (!added.added) throw bad(n, `lists ${JSON.stringify(written)} a second time (Windows names ignore case)`);
  });
  return new ManifestIndex(paths, digests);
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
 * What was found for line i of the manifest: 'same' when it matched (no strings made), a HashResult
 * otherwise, undefined when it was not looked at.
 */
export type HashLookup = (i: number) => HashResult | 'same' | undefined;

/** Compares expected hashes with what was found on disk, and the template's current file set with the manifest. */
export function compareManifest(expected: ManifestIndex, actual: HashLookup, currentFiles?: Iterable<string>): ManifestDiff {
  const diff: ManifestDiff = { changed: [], missing: [], added: [], unreadable: [] };
  for (let i = 0; i < expected.size; i++) {
    const got = actual(i);
    if (got === 'same') continue;
    const path = expected.paths.at(i)!;
    if (!got) diff.missing.push(path);
    else if (got.ok) {
      if (got.sha256 !== expected.hexAt(i)) diff.changed.push(path);
    } else if (got.missing) diff.missing.push(path);
    else diff.unreadable.push({ path, reason: got.reason });
  }
  if (currentFiles) {
    for (const path of currentFiles) if (!expected.hasExact(path)) diff.added.push(path);
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
