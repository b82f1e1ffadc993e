// Windows path rules in the pure core (template, manifest, path table), run on any host with the style given
// explicitly: seed 000's `C:\opt\...` lines and manifest form, `\` and `/`, drive letters, case-insensitive names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseTemplate } from './template.js';
import { parseManifest, serializeManifest, serializeTable } from './manifest.js';
import { PathTable } from './path-table.js';
import { foldCase, isAbsolutePath } from './path-style.js';
import { defaultCspmClientPath } from './vault-client.js';
import { KeygateError } from '../errors.js';

const vars = { node: 'C:\\Program Files\\nodejs\\node.exe', vaultClient: 'C:\\cspm\\cloakware\\cspmclient\\bin64\\cspmclient64.exe', env: {} };
const win = (line: string) => parseTemplate(line, vars, 'filelist.template', 'win32')[0]!;
const posix = (line: string) => parseTemplate(line, vars, 'filelist.template', 'posix')[0]!;
const H = (c: string) => c.repeat(64);

test('win32 template: seed lines, drive letters upper-cased, UNC kept, variables with backslashes', () => {
  const cases: [string, string, boolean][] = [
    ['.\\log_config.py', 'log_config.py', false],
    ['C:\\opt\\Python313\\Lib\\http', 'C:/opt/Python313/Lib/http', true],
    ['c:\\opt\\Python313\\Lib\\site-packages\\cryptography\\', 'C:/opt/Python313/Lib/site-packages/cryptography', true],
    ['z:/tmp/x', 'Z:/tmp/x', true],
    ['\\\\server\\share\\app', '//server/share/app', true],
    ['${NODE}', 'C:/Program Files/nodejs/node.exe', true],
    ['${VAULT_CLIENT}', 'C:/cspm/cloakware/cspmclient/bin64/cspmclient64.exe', true],
    ['.\\app\\\\static/', 'app/static', false],
  ];
  for (const [input, pattern, absolute] of cases) {
    const l = win(input);
    assert.deepEqual([l.pattern, l.absolute], [pattern, absolute], input);
  }
  // POSIX keeps what it always did with the same lines: no drive folding, a UNC pair collapses.
  assert.equal(posix('c:\\opt\\x').pattern, 'c:/opt/x');
  assert.equal(posix('\\\\server\\share').pattern, '/server/share');
  assert.equal(posix('C:x').pattern, 'C:x');
});

test('win32 template: a drive without a folder (C:x) is refused, naming the line', () => {
  assert.throws(
    () => parseTemplate('app\nC:opt\\x', vars, 't', 'win32'),
    (e: unknown) => e instanceof KeygateError && e.code === 'TEMPLATE_INVALID' && /line 2 names drive C: without a folder/.test(e.message),
  );
});

test('isAbsolutePath: drive paths are absolute only on Windows', () => {
  assert.equal(isAbsolutePath('C:/x', 'win32'), true);
  assert.equal(isAbsolutePath('C:/x', 'posix'), false);
  assert.equal(isAbsolutePath('/x', 'posix'), true);
  assert.equal(isAbsolutePath('x/C:/y', 'win32'), false);
});

// The seed's own manifest lines (seed 000, README), as its PowerShell generator wrote them.
const SEED_MANIFEST = [
  '1f4a73b1570489289ca565c5f25ae7d64b7ea5a6c2c01f3fd768daf086ea74bf *C:\\opt\\Python-WebServer\\__pycache__\\log_config.cpython-313.pyc',
  '66abf6ce7ad328f42b63f6a2c9eae5cf966fbd486b8cbdea261b6ad54441b26f *C:\\opt\\Python-WebServer\\log_config.py',
  '2de3db09da281b16141d32909dc39e30e48caf8509eea73e7bb80616965f1447 *C:\\opt\\Python313\\Lib\\__pycache__\\hashlib.cpython-313.opt-1.pyc',
  '61ecba35d155d4c3e3a29db8323fd57a78c4a60de451a328a5258e2b401b781b *C:\\opt\\Python313\\Lib\\site-packages\\cryptography\\x509\\ocsp.py',
  '0541f40c9be1ab6381e0b3577a7d4c433991535ee844af4fcf4af03e2ed498b5 *C:\\opt\\Python313\\Lib\\ssl.py',
].join('\n') + '\n';

test("win32 manifest: the seed's `<sha256> *C:\\opt\\...` lines parse; POSIX refuses them as unescaped", () => {
  const m = parseManifest(SEED_MANIFEST, 'filelist.sha256', 'win32');
  assert.equal(m.size, 5);
  assert.equal(m.get('C:/opt/Python313/Lib/ssl.py'), '0541f40c9be1ab6381e0b3577a7d4c433991535ee844af4fcf4af03e2ed498b5');
  assert.ok(m.has('c:/OPT/python313/lib/SSL.py'), 'lookups ignore case');
  // and what keygate writes for those paths on Windows is the seed's text, byte for byte
  assert.equal(serializeManifest([...m].map(([path, sha256]) => ({ path, sha256 })), 'win32'), SEED_MANIFEST);
  assert.throws(() => parseManifest(SEED_MANIFEST, 'f', 'posix'), /line 1 has a '\\' in its path but is not escaped/);
});

test('win32 manifest: relative paths written with `\\`, sorted by the written bytes; damage refused by line', () => {
  // `/` sorts before letters, `\` after upper case: sorting must use the written form.
  const text = serializeManifest(
    [
      { path: 'Lib/x.py', sha256: H('a') },
      { path: 'LibA.py', sha256: H('b') },
      { path: 'Z:/tmp/k/lib/http/client.py', sha256: H('c') },
    ],
    'win32',
  );
  assert.equal(text, `${H('b')} *LibA.py\n${H('a')} *Lib\\x.py\n${H('c')} *Z:\\tmp\\k\\lib\\http\\client.py\n`);
  assert.deepEqual([...parseManifest(text, 'm', 'win32').keys()], ['LibA.py', 'Lib/x.py', 'Z:/tmp/k/lib/http/client.py']);
  const bad: [string, RegExp][] = [
    [`${H('a')} *App\\x\n${H('b')} *app\\X\n`, /line 2 lists "app\\\\X" a second time \(Windows names ignore case\)/],
    [`${H('a')} *b\n${H('b')} *a\n`, /line 2 is out of order/],
    [`${H('a')} *a\n${H('a')} *a\n`, /line 2 lists "a" a second time/],
    [`${H('a')} *a\r\n`, /line 1 ends with CR/],
    [`${H('a')}  a\n`, /line 1 lacks the ' \*'/],
    [`${H('a')} *\n`, /line 1 has no path/],
  ];
  for (const [t, re] of bad) {
    assert.throws(() => parseManifest(t, 'm', 'win32'), (e: unknown) => e instanceof KeygateError && e.code === 'MANIFEST_MALFORMED' && re.test(e.message), t);
  }
});

const winPath = fc
  // segments as expansion makes them: never '.' or '..' (the template resolves those before anything is listed)
  .array(fc.string({ minLength: 1, maxLength: 5, unit: fc.constantFrom('a', 'B', 'z', '.', '-', '_', ' ', 'é', '漢') }).filter((seg) => !/^\.+$/.test(seg)), { minLength: 1, maxLength: 4 })
  .chain((segs) => fc.constantFrom('', 'C:/', 'z:/').map((root) => root + segs.join('/')));

test('property: win32 serialise then parse is the identity (up to case), and serializeTable writes the same bytes', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(winPath, fc.uint8Array({ minLength: 32, maxLength: 32 })), { selector: (t) => foldCase(t[0]), minLength: 1, maxLength: 30 }), (pairs) => {
      const entries = pairs.map(([path, d]) => ({ path, sha256: Buffer.from(d).toString('hex') }));
      const text = serializeManifest(entries, 'win32');
      assert.ok(!text.includes('/'), 'written with backslashes only');
      const parsed = parseManifest(text, 'm', 'win32');
      assert.deepEqual(new Map(parsed), new Map(entries.map((e) => [e.path, e.sha256])));
      const table = new PathTable();
      const digests = new Uint8Array(pairs.length * 32);
      pairs.forEach(([path, d], i) => {
        table.add(path);
        digests.set(d, i * 32);
      });
      assert.equal(serializeTable(table, digests, 'win32').toString('utf8'), text);
    }),
    { numRuns: 300 },
  );
});

test('property: a case-folding PathTable behaves like a Map keyed by the folded path', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ minLength: 1, maxLength: 5, unit: fc.constantFrom('a', 'A', 'b', 'B', '/', 'é', 'É') }), { maxLength: 2500 }), (paths) => {
      const table = new PathTable(undefined, { foldCase: true });
      const firsts = new Map<string, number>();
      for (const p of paths) {
        const k = foldCase(p);
        const r = table.add(p);
        if (!firsts.has(k)) firsts.set(k, firsts.size);
        assert.deepEqual(r, { index: firsts.get(k), added: r.added }, p);
        const upper = foldCase(p.toUpperCase()); // É stays É: only ASCII folds
        assert.equal(table.indexOf(p.toUpperCase()), firsts.get(upper) ?? -1);
      }
      assert.equal(table.length, firsts.size);
    }),
    { numRuns: 40 },
  );
  // the default table stays case-sensitive (POSIX)
  const plain = new PathTable();
  plain.add('App');
  assert.equal(plain.indexOf('app'), -1);
  const folded = new PathTable(undefined, { foldCase: true });
  folded.add('App/X.js');
  assert.equal(folded.indexOf('app/x.JS'), 0);
  assert.equal(folded.indexOf('app/x.js2'), -1);
  assert.equal(folded.indexOf('äpp/x.js'), -1, 'only ASCII folds');
});

test('the default vault client on Windows is cspmclient64.exe under CSPM_CLIENT_HOME, written with backslashes', () => {
  assert.equal(defaultCspmClientPath({ CSPM_CLIENT_HOME: 'D:\\PAM\\cloakware\\' }, 'win32'), 'D:\\PAM\\cloakware\\cspmclient\\bin64\\cspmclient64.exe');
  assert.equal(defaultCspmClientPath({}, 'win32'), 'c:\\cspm\\cloakware\\cspmclient\\bin64\\cspmclient64.exe');
  assert.equal(defaultCspmClientPath({ CSPM_CLIENT_HOME: '/opt/cloakware/' }, 'posix'), '/opt/cloakware/cspmclient/bin64/cspmclient64');
});
