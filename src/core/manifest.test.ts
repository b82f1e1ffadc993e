import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareManifest, parseManifest, serializeManifest, serializeTable, comparePaths, unescapeName, type HashResult } from './manifest.js';
import { PathTable } from './path-table.js';
import { KeygateError } from '../errors.js';

const H = (c: string) => c.repeat(64);

test('serialises sorted GNU binary lines with escapes', () => {
  const text = serializeManifest([
    { path: 'b', sha256: H('b') },
    { path: 'a\\x', sha256: H('a') },
    { path: 'A', sha256: H('c') },
    { path: 'new\nline', sha256: H('d') },
  ]);
  assert.equal(text, `${H('c')} *A\n\\${H('a')} *a\\\\x\n${H('b')} *b\n\\${H('d')} *new\\nline\n`);
  assert.deepEqual([...parseManifest(text).keys()], ['A', 'a\\x', 'b', 'new\nline']);
});

test('malformed manifests are refused with the line number', () => {
  const ok = `${H('a')} *x\n`;
  const cases: [string, RegExp][] = [
    ['', /empty/],
    [`${'g'.repeat(64)} *x\n`, /line 1 does not start with 64 lowercase hex/],
    [`${H('A')} *x\n`, /64 lowercase hex/],
    [`${H('a')}  x\n`, /lacks the ' \*'/],
    [`${H('a')} *x\r\n`, /CRLF/],
    [`${H('a')} *x`, /no final newline/],
    [`${ok}\n`, /line 2 is empty/],
    [`${H('a')} *b\n${H('a')} *a\n`, /line 2 is out of order/],
    [`${ok}${ok}`, /line 2 lists "x" a second time/],
    [`\\${H('a')} *bad\\q\n`, /unknown escape/],
    [`${H('a')} *a\\b\n`, /not escaped/],
    [`${H('a')} *\n`, /has no path/],
    [`${H('a')} *x\0\n`, /NUL/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseManifest(text), (e: unknown) => e instanceof KeygateError && e.code === 'MANIFEST_MALFORMED' && re.test(e.message), JSON.stringify(text));
  }
});

test('property: serialise then parse is the identity on any set of paths', () => {
  const pathArb = fc.string({ minLength: 1, maxLength: 40, unit: fc.constantFrom('a', 'b', 'Z', '/', '\\', '\n', '\r', ' ', '*', 'é', '.', '-') });
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(pathArb, fc.stringMatching(/^[0-9a-f]{64}$/)), { selector: (t) => t[0], maxLength: 30 }), (pairs) => {
      fc.pre(pairs.length > 0);
      const text = serializeManifest(pairs.map(([path, sha256]) => ({ path, sha256 })));
      const back = parseManifest(text);
      assert.deepEqual(new Map([...back].sort((a, b) => comparePaths(a[0], b[0]))), new Map(pairs.sort((a, b) => comparePaths(a[0], b[0]))));
      assert.equal(serializeManifest([...back].map(([path, sha256]) => ({ path, sha256 }))), text);
    }),
    { numRuns: 300 },
  );
});

test('property: the parser never throws anything but MANIFEST_MALFORMED', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      try {
        parseManifest(text);
      } catch (e) {
        assert.ok(e instanceof KeygateError && e.code === 'MANIFEST_MALFORMED', String(e));
      }
    }),
    { numRuns: 500 },
  );
});

test('compareManifest sorts problems into changed, missing, new, unreadable', () => {
  const expected = parseManifest(serializeManifest(['same', 'changed', 'gone', 'locked', 'unlooked'].map((path) => ({ path, sha256: H('a') }))));
  const actual = new Map<string, HashResult | 'same'>([
    ['same', 'same'],
    ['changed', { ok: true as const, sha256: H('b') }],
    ['gone', { ok: false as const, missing: true, reason: 'no such file' }],
    ['locked', { ok: false as const, missing: false, reason: 'permission denied' }],
  ]);
  const diff = compareManifest(expected, (i) => actual.get(expected.paths.at(i)!), ['same', 'changed', 'locked', 'extra']);
  assert.deepEqual(diff, { changed: ['changed'], missing: ['gone', 'unlooked'], added: ['extra'], unreadable: [{ path: 'locked', reason: 'permission denied' }] });
});

test('property: comparePaths is UTF-8 byte order', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 12 }), (a, b) => {
      assert.equal(Math.sign(comparePaths(a, b)), Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
    }),
    { numRuns: 2000 },
  );
});

// The parser works on bytes for speed and memory. This is the obvious string version it replaced, kept as an
// oracle: on any input both must give the same entries, or the same error message. Both undo GNU escapes with
// the same unescapeName (escapes have their own tests above).
const HEX64 = /^[0-9a-f]{64}$/;
function referenceParse(text: string, manifestName = 'filelist.sha256'): Map<string, string> {
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

function outcome(parse: () => Iterable<[string, string]>): string {
  try {
    return JSON.stringify([...parse()]);
  } catch (e) {
    return e instanceof KeygateError ? `${e.code}: ${e.message}` : `other: ${String(e)}`;
  }
}

test('property: the byte parser agrees with a plain string parser, also on damaged manifests', () => {
  const pathArb = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('a', 'b', 'Z', '/', '\\', '\n', '\r', ' ', '*', 'é', '漢', '😀', '.') });
  const edit = fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.constantFrom('', '\n', '\r', '\\', ' ', '*', 'g', 'A', '0', '\0', 'é', 'n', 'q'));
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(pathArb, fc.stringMatching(/^[0-9a-f]{64}$/)), { selector: (t) => t[0], maxLength: 8 }),
      fc.array(edit, { maxLength: 3 }),
      fc.boolean(),
      (pairs, edits, shuffle) => {
        let entries = pairs.map(([path, sha256]) => ({ path, sha256 }));
        let text = serializeManifest(entries);
        if (shuffle && entries.length > 1) {
          entries = [...entries].reverse();
          text = entries.map((e) => serializeManifest([e])).join('') + (pairs.length > 2 ? serializeManifest([entries[0]!]) : '');
        }
        for (const [at, del, ins] of edits) {
          const i = text.length ? at % text.length : 0;
          text = text.slice(0, i) + ins + text.slice(i + del);
        }
        text = Buffer.from(text).toString('utf8'); // as read from a file (an edit may split a surrogate pair)
        assert.equal(outcome(() => parseManifest(text)), outcome(() => referenceParse(text)), JSON.stringify(text));
      },
    ),
    { numRuns: 3000 },
  );
});

test('invalid UTF-8 in a manifest is refused with its line (keygate never writes it)', () => {
  const bytes = Buffer.concat([Buffer.from(`${H('a')} *a\n${H('a')} *b`), Buffer.from([0xff]), Buffer.from('\n')]);
  assert.throws(() => parseManifest(bytes), /line 2 is not valid UTF-8/);
});

test('the parsed manifest answers lookups by path and by line', () => {
  const m = parseManifest(serializeManifest([{ path: 'b/é', sha256: H('b') }, { path: 'a', sha256: H('a') }]));
  assert.equal(m.size, 2);
  assert.equal(m.get('b/é'), H('b'));
  assert.equal(m.get('b/e'), undefined);
  assert.ok(m.has('a') && !m.has('c'));
  assert.deepEqual([...m.keys()], ['a', 'b/é']);
  assert.equal(m.hexAt(1), H('b'));
  assert.deepEqual(m.digests.subarray(0, 32), Buffer.alloc(32, 0xaa)); // binary digests, by line
  assert.notDeepEqual(m.digests.subarray(32, 64), Buffer.alloc(32, 0xaa));
});

test('property: serializeTable writes exactly the bytes of serializeManifest', () => {
  const pathArb = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('a', 'b', 'Z', '/', '\\', '\n', '\r', ' ', '*', '.', 'é', '漢', '😀') });
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(pathArb, fc.uint8Array({ minLength: 32, maxLength: 32 })), { selector: (t) => t[0], maxLength: 40 }), (pairs) => {
      const table = new PathTable();
      const digests = new Uint8Array(pairs.length * 32);
      pairs.forEach(([path, digest], i) => {
        table.add(path);
        digests.set(digest, i * 32);
      });
      const expected = serializeManifest(pairs.map(([path, digest]) => ({ path, sha256: Buffer.from(digest).toString('hex') })));
      assert.equal(serializeTable(table, digests).toString('utf8'), expected);
    }),
    { numRuns: 500 },
  );
});
