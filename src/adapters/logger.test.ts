import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, createProgress, jsonLine, textLine } from './logger.js';

function sink(isTTY: boolean): Writable & { text: string; isTTY: boolean } {
  const w = new Writable({
    write(chunk, _e, cb) {
      w.text += chunk.toString();
      cb();
    },
  }) as Writable & { text: string; isTTY: boolean };
  w.text = '';
  w.isTTY = isTTY;
  return w;
}

test('progress: nothing when stderr is not a TTY; on a TTY only once the work lasts past a moment', async () => {
  const pipe = sink(false);
  const p1 = createProgress(pipe, 'hashing');
  p1(1, 10);
  p1(10, 10);
  assert.equal(pipe.text, '');
  const tty = sink(true);
  const p2 = createProgress(tty, 'hashing');
  p2(1, 10); // too early: quiet
  assert.equal(tty.text, '');
  await new Promise((r) => setTimeout(r, 550));
  p2(5, 10);
  p2(10, 10);
  assert.equal(tty.text, '\rhashing 5/10\rhashing 10/10\n');
});

test('logger: text for people, one JSON object per line for machines', async () => {
  const text = sink(false);
  const l1 = createLogger({ stream: text, format: 'text' });
  l1.info('verified 3 files', { gate: 'verify' });
  l1.warn('careful');
  await l1.close();
  assert.equal(text.text, 'keygate: verified 3 files gate=verify\nkeygate: warn: careful\n');
  const json = sink(false);
  const l2 = createLogger({ stream: json, format: 'json' });
  l2.error('failed to x', { code: 'USAGE' });
  await l2.close();
  const line = JSON.parse(json.text);
  assert.equal(line.message, 'failed to x');
  assert.equal(line.code, 'USAGE');
  assert.equal(line.level, 'error');
});

test('logger: its lines are the ones winston wrote before (text printf, json with timestamp; keys sorted)', async () => {
  // winston stays for --log-file; stderr lines are formatted here (the gate path does no winston work), so the
  // two are held side by side: any difference in a field's rendering shows.
  const { default: winston } = await import('winston');
  const { jsonLine, textLine } = await import('./logger.js');
  const fields = { gate: 'verify', ms: 3, nested: { b: [1, 'x y', null], a: true }, path: '/a b/c', n: null, gone: undefined };
  const lines: string[] = [];
  const out = new Writable({
    write(chunk, _e, cb) {
      lines.push(chunk.toString().replace(/\n$/, ''));
      cb();
    },
  });
  const printf = winston.format.printf((info) => {
    const { level, message, timestamp: _t, ...rest } = info as Record<string, unknown>;
    const extras = Object.keys(rest);
    const tail = extras.length ? ' ' + extras.map((k) => `${k}=${typeof rest[k] === 'string' ? (/\s/.test(rest[k] as string) ? JSON.stringify(rest[k]) : rest[k]) : JSON.stringify(rest[k])}`).join(' ') : '';
    return `keygate: ${level === 'info' ? '' : `${String(level)}: `}${String(message)}${tail}`;
  });
  const at = new Date('2026-11-23T23:04:03.021Z');
  const w = winston.createLogger({
    level: 'debug',
    transports: [
      new winston.transports.Stream({ stream: out, format: printf }),
      new winston.transports.Stream({ stream: out, format: winston.format.combine(winston.format.timestamp({ format: () => at.toISOString() }), winston.format.json()) }),
    ],
  });
  for (const level of ['info', 'warn', 'error', 'debug'] as const) {
    w.log(level, `m ${level}`, { ...fields });
    await new Promise((r) => setImmediate(r));
    assert.equal(textLine(level, `m ${level}`, fields), lines.shift());
    assert.equal(jsonLine(level, `m ${level}`, fields, at), lines.shift());
  }
  w.log('info', 'bare', {});
  await new Promise((r) => setImmediate(r));
  assert.equal(textLine('info', 'bare'), lines.shift());
  assert.equal(jsonLine('info', 'bare', undefined, at), lines.shift());
});

test('text lines escape C0 and C1 controls in the message and in fields: backend output and file names cannot move the cursor or rewrite the line (review L5)', () => {
  // ESC [2J clears the screen, a bare \r returns to the line's start and overwrites it, \x9b is the 8-bit CSI
  const line = textLine('warn', 'backend said \x1b[2J\rkeygate: all good\x9b31m\x07', { file: 'a\x1b]0;t\x07b', path: 'x\ry', ok: 'plain' });
  assert.equal(line, 'keygate: warn: backend said \\u001b[2J\\rkeygate: all good\\u009b31m\\u0007 file="a\\u001b]0;t\\u0007b" path="x\\ry" ok=plain');
  assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f]/);
  // printable text, tabs aside, is left as it is: UTF-8 beyond C1 stays readable
  assert.equal(textLine('info', 'café → ok', { name: 'naïve' }), 'keygate: café → ok name=naïve');
  const json = jsonLine('error', 'x\x9by', { f: '\x85' }, new Date(0));
  assert.doesNotMatch(json, /[\x00-\x1f\x7f-\x9f]/);
  assert.equal(JSON.parse(json).message, 'x\x9by', 'still the same string once parsed');
});
