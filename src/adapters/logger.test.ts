import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, createProgress } from './logger.js';

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
