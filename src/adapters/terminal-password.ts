// Asking for a password on the terminal, without echo. Only when stdin is a TTY: an unattended run (CI, a unit,
// a pipe) gets undefined and the caller fails with a usage error instead of waiting (CONVENTIONS.md §7.5).

import { KeygateError } from '../errors.js';

/** What the prompt needs of a terminal: process.stdin, or a test's stand-in. */
export interface TerminalInput {
  readonly isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/**
 * The typed line, or undefined when there is no terminal. With `confirm`, asks twice and fails on a mismatch.
 * Ctrl-C or Ctrl-D stops with a usage error; nothing typed is ever written out.
 */
export async function promptPassword(
  question: string,
  confirm: boolean,
  out: { write(text: string): unknown } = process.stderr,
  stdin: TerminalInput = process.stdin,
): Promise<string | undefined> {
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') return undefined;
  // Typed-ahead or pasted input can hold both lines in one chunk: whole lines wait in `lines`. A line ends at
  // CR or LF, and CR LF is one end (a paste from a file with Windows line ends), whichever chunk the LF is in.
  let pending = '';
  let afterCr = false;
  const lines: string[] = [];
  let interrupted = false;
  let wake: (() => void) | undefined;
  const onData = (chunk: Buffer): void => {
    for (const ch of chunk.toString('utf8')) {
      const lf = ch === '\n';
      if (lf && afterCr) {
        afterCr = false;
        continue;
      }
      afterCr = ch === '\r';
      if (ch === '\r' || lf) {
        lines.push(pending);
        pending = '';
      } else if (ch === '\u0003' || ch === '\u0004') interrupted = true;
      else if (ch === '\u007f' || ch === '\b') pending = pending.slice(0, -1);
      else pending += ch;
    }
    wake?.();
  };
  const ask = async (label: string): Promise<string> => {
    out.write(label);
    while (lines.length === 0 && !interrupted) await new Promise<void>((r) => (wake = r));
    out.write('\n');
    if (interrupted) throw new KeygateError('USAGE', 'failed to read the password: interrupted', { hint: 'run the command again, or pass the password in a file' });
    return lines.shift()!;
  };
  // Raw mode (no echo) before the question: a reply typed as soon as the question shows must not be echoed.
  stdin.setRawMode!(true);
  stdin.on('data', onData);
  stdin.resume();
  try {
    const first = await ask(question);
    if (confirm && (await ask('again: ')) !== first) {
      throw new KeygateError('USAGE', 'failed to read the password: the two entries differ', { hint: 'run the command again and type the same password twice' });
    }
    return first;
  } finally {
    stdin.off('data', onData);
    stdin.setRawMode!(false);
    stdin.pause();
  }
}
