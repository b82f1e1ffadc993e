// Asking for a password on the terminal, without echo. Only when stdin is a TTY: an unattended run (CI, a unit,
// a pipe) gets undefined and the caller fails with a usage error instead of waiting (CONVENTIONS.md §7.5).

import { KeygateError } from '../errors.js';

/** The typed line, or undefined when there is no terminal. With `confirm`, asks twice and fails on a mismatch. */
export async function promptPassword(question: string, confirm: boolean): Promise<string | undefined> {
  const stdin = process.stdin;
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') return undefined;
  const first = await readHidden(question);
  if (confirm) {
    const again = await readHidden('again: ');
    if (again !== first) throw new KeygateError('USAGE', 'failed to read the password: the two entries differ', { hint: 'run the command again and type the same password twice' });
  }
  return first;
}

function readHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  // Raw mode (no echo) before the question: a reply typed as soon as the question shows must not be echoed.
  stdin.setRawMode(true);
  process.stderr.write(question);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (err?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new KeygateError('USAGE', 'failed to read the password: interrupted', {}));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}
