// The no-echo prompt against a stand-in terminal: what is typed is never written out, lines are cut at CR, LF
// or CR LF wherever the chunks split, Ctrl-C and Ctrl-D stop it, and raw mode is always switched off again.
// (test/pki.e2e.test.ts and test/admin.e2e.test.ts type at it on a real pseudo-terminal.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { KeygateError } from '../errors.js';
import { promptPassword, type TerminalInput } from './terminal-password.js';

/** A terminal that receives `chunks` one by one once the prompt listens, and records raw mode and output. */
function terminal(chunks: readonly string[], isTTY = true) {
  const events = new EventEmitter();
  const raw: boolean[] = [];
  let written = '';
  const input: TerminalInput = {
    isTTY,
    setRawMode: (on: boolean) => raw.push(on),
    on: (e, l) => events.on(e, l),
    off: (e, l) => events.off(e, l),
    resume: () => {
      // each chunk on its own turn of the loop, as a terminal delivers them
      let i = 0;
      const next = (): void => {
        if (i >= chunks.length) return;
        events.emit('data', Buffer.from(chunks[i++]!, 'utf8'));
        setImmediate(next);
      };
      setImmediate(next);
    },
    pause: () => undefined,
  };
  const out = { write: (t: string) => (written += t) };
  return { input, out, raw, written: () => written, listeners: () => events.listenerCount('data') };
}

test('a password typed twice: returned, never written out, raw mode on before the question and off after', async () => {
  const t = terminal(['s3cret-Pw\r', 's3cret-Pw\r']);
  assert.equal(await promptPassword('password: ', true, t.out, t.input), 's3cret-Pw');
  assert.equal(t.written(), 'password: \nagain: \n');
  assert.deepEqual(t.raw, [true, false]);
  assert.equal(t.listeners(), 0);
});

test('two lines pasted in one chunk, CR LF line ends (the LF in the next chunk too), backspace', async () => {
  const pasted = terminal(['abc\r\nabc\r\n']);
  assert.equal(await promptPassword('p: ', true, pasted.out, pasted.input), 'abc');
  const split = terminal(['abX\x7fc\r', '\nabc\r', '\n']);
  assert.equal(await promptPassword('p: ', true, split.out, split.input), 'abc');
  const lf = terminal(['abc\nabc\n']);
  assert.equal(await promptPassword('p: ', true, lf.out, lf.input), 'abc');
});

test('a mismatch, Ctrl-C and Ctrl-D are usage errors, and raw mode is off again after each', async () => {
  for (const [chunks, message] of [
    [['one\r', 'two\r'], /the two entries differ/],
    [['ab\u0003'], /interrupted/],
    [['ab\u0004'], /interrupted/],
  ] as const) {
    const t = terminal(chunks);
    await assert.rejects(promptPassword('p: ', true, t.out, t.input), (e: unknown) => e instanceof KeygateError && e.code === 'USAGE' && message.test(e.message));
    assert.deepEqual(t.raw, [true, false], `raw mode after ${JSON.stringify(chunks)}`);
    assert.equal(t.listeners(), 0);
    assert.ok(!/one|two|ab/.test(t.written()), 'nothing typed is written out');
  }
});

test('no terminal: undefined at once, nothing asked', async () => {
  const t = terminal(['x\r'], false);
  assert.equal(await promptPassword('p: ', false, t.out, t.input), undefined);
  assert.equal(t.written(), '');
  assert.deepEqual(t.raw, []);
});
