// stdout and stderr for the commands, written with one writeSync per write instead of through Node's
// process.stdout / process.stderr. Why: Node builds those streams on first access, and on a pipe (systemd's
// journal, CI, a parent process) that loads net.Socket and the stream machinery, a cost every start would pay
// for each (docs/performance.md). A line written this way is written at once and in order, as Node's own writes
// to files and pipes on Linux are. Node's stream is still used where a direct write cannot go on: a descriptor
// that is non-blocking and full (EAGAIN) hands the rest, and every later write, to it.

import type { OutStream } from './out-stream.js';

/**
 * fd 1 or 2 as an OutStream; `nodeStream` gives Node's own (process.stdout / process.stderr), built only if a
 * direct write cannot go on. isTTY and columns are asked only when needed (a progress line, help's width): they
 * load node:tty.
 */
export function directStream(fd: 1 | 2, nodeStream: () => NodeJS.WriteStream): OutStream {
  const fs = process.getBuiltinModule('node:fs');
  let handedOver = false;
  return {
    write(chunk: string | Uint8Array) {
      if (handedOver) return nodeStream().write(chunk);
      let bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      try {
        while (bytes.length > 0) bytes = bytes.subarray(fs.writeSync(fd, bytes));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // the reader went away (`| head`): what is left has nowhere to go, as with any closed pipe
        if (code === 'EPIPE') return false;
        handedOver = true;
        return nodeStream().write(bytes);
      }
      return true;
    },
    get isTTY() {
      return process.getBuiltinModule('node:tty').isatty(fd);
    },
    get columns() {
      return this.isTTY ? nodeStream().columns : undefined;
    },
  };
}
