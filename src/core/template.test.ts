import { test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { parseTemplate } from './template.js';
import { KeygateError } from '../errors.js';

const vars = { node: '/usr/local/bin/node', env: { APP_HOME: '/opt/app', EMPTY: '' } };
const one = (line: string) => parseTemplate(line, vars)[0];

test('seed 000 lines parse unchanged', () => {
  const cases: [string, Partial<ReturnType<typeof one>>][] = [
    ['.\\log_config.py', { pattern: 'log_config.py', absolute: false, glob: false }],
    ['.\\__pycache__\\log_config.*', { pattern: '__pycache__/log_config.*', glob: true }],
    ['C:\\opt\\Python313\\Lib\\http', { pattern: 'C:/opt/Python313/Lib/http', absolute: true, glob: false }],
    ['C:\\opt\\Python313\\Lib\\site-packages\\cryptography\\', { pattern: 'C:/opt/Python313/Lib/site-packages/cryptography', absolute: true }],
    ['/usr/lib/node_modules', { pattern: '/usr/lib/node_modules', absolute: true }],
    ['./a//b/', { pattern: 'a/b' }],
    ['lib/**/*.js', { pattern: 'lib/**/*.js', glob: true }],
  ];
  for (const [input, expected] of cases) assert.deepEqual({ ...one(input), ...expected }, one(input), input);
});

test('comments, blank lines, CRLF, BOM, excludes, optional, variables', () => {
  const lines = parseTemplate('\uFEFF# comment\r\n\r\n  app  \r\n!app/cache\n? maybe/here\n${NODE}\n${APP_HOME}/lib\n', vars);
  assert.deepEqual(
    lines.map((l) => [l.line, l.pattern, l.exclude, l.optional]),
    [
      [3, 'app', false, false],
      [4, 'app/cache', true, false],
      [5, 'maybe/here', false, true],
      [6, '/usr/local/bin/node', false, false],
      [7, '/opt/app/lib', false, false],
    ],
  );
});

test('malformed lines are errors naming the line', () => {
  const cases: [string, RegExp][] = [
    ['ok\n../escape', /line 2 uses '\.\.'/],
    ['${UNSET_VAR}/x', /line 1 uses \$\{UNSET_VAR\}, which is not set/],
    ['${EMPTY}/x', /line 1 uses \$\{EMPTY\}/],
    ['${bad name}', /malformed variable/],
    ['a/${NODE', /unterminated/],
    ['a/[abc', /unmatched '\['/],
    ['a/{x,y', /unmatched '\{'/],
    ['a\n\nb\0c', /line 3 contains a NUL byte/],
    ['ok\nbad\x01ctl', /line 2 holds control characters/],
    ['!', /has a marker but no path/],
    ['x'.repeat(5000), /characters long/],
    ['/opt/../etc', /'\.\.' inside an absolute path/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseTemplate(text, vars), (err: unknown) => err instanceof KeygateError && err.code === 'TEMPLATE_INVALID' && re.test(err.message), text);
  }
});

test('a huge template is refused, not parsed', () => {
  assert.throws(() => parseTemplate('a\n'.repeat(200_001), vars), /more than the 100000 allowed/);
});

test('property: any text parses or fails with TEMPLATE_INVALID, never anything else', () => {
  const unit = fc.constantFrom('a', '/', '\\', '.', '*', '?', '[', ']', '{', '}', '!', '#', '$', '{', 'N', ' ', '\n', '\r', '\0', '\x01', 'é', '..');
  fc.assert(
    fc.property(fc.string({ unit, maxLength: 200 }), (text) => {
      try {
        for (const l of parseTemplate(text, vars)) {
          assert.ok(!l.pattern.includes('\\'), 'separators are normalised');
          assert.ok(l.absolute || !l.pattern.split('/').includes('..'), 'no relative .. escapes');
        }
      } catch (e) {
        assert.ok(e instanceof KeygateError && e.code === 'TEMPLATE_INVALID', String(e));
      }
    }),
    { numRuns: 2000 },
  );
});
