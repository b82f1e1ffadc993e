import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareManifest, parseManifest, serializeManifest, comparePaths } from './manifest.js';
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
  const expected = new Map([
    ['same', H('a')],
    ['changed', H('a')],
    ['gone', H('a')],
    ['locked', H('a')],
  ]);
  const actual = new Map([
    ['same', { ok: true as const, sha256: H('a') }],
    ['changed', { ok: true as const, sha256: H('b') }],
    ['gone', { ok: false as const, missing: true, reason: 'no such file' }],
    ['locked', { ok: false as const, missing: false, reason: 'permission denied' }],
  ]);
  const diff = compareManifest(expected, (p) => actual.get(p), ['same', 'changed', 'locked', 'extra']);
  assert.deepEqual(diff, { changed: ['changed'], missing: ['gone'], added: ['extra'], unreadable: [{ path: 'locked', reason: 'permission denied' }] });
});

test('property: comparePaths is UTF-8 byte order', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 12 }), (a, b) => {
      assert.equal(Math.sign(comparePaths(a, b)), Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
    }),
    { numRuns: 2000 },
  );
});
