// Reads a small input file (manifest, template, keystore) with a hard size cap that holds for every kind of
// file. stat().size is 0 for a FIFO and for /dev/zero, so a cap taken from stat() lets a FIFO hang the start
// (open() waits for a writer, in a system call where no signal handler runs) and /dev/zero fill memory.
// So: open with O_NONBLOCK (a FIFO opens at once), fstat the descriptor we will read (no race with a rename
// between stat and open), refuse anything but a regular file, and read at most the cap, whatever the file
// claims its size is. The hasher (file-hash.ts) follows the same rule for listed files.

import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { KeygateError, describeCause, type ErrorCode } from '../errors.js';

export interface ReadRegularFileOptions {
  /** The code for "cannot be read" and "not a regular file" (e.g. MANIFEST_UNREADABLE). */
  readonly code: ErrorCode;
  /** The code for "larger than the cap"; `code` when absent. */
  readonly tooBigCode?: ErrorCode;
  /** The fix line for "cannot be read". */
  readonly hint?: string;
  /** The fix line for "larger than the cap". */
  readonly tooBigHint?: string;
}

// O_NOCTTY: a terminal device given as a path must not become our controlling terminal.
const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** What a non-regular file is, in words a user knows. */
export function fileKind(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

/**
 * Reads `path` (following symlinks) if it is a regular file of at most `maxBytes` bytes. `what` names it in
 * messages ("manifest", "template", "keystore"). Every failure is a KeygateError with the code given.
 */
export function readRegularFile(path: string, maxBytes: number, what: string, options: ReadRegularFileOptions): Buffer {
  const unreadable = (cause: string, err?: unknown): KeygateError =>
    new KeygateError(options.code, `failed to read ${what} ${path}: ${cause}`, { hint: options.hint, ...(err === undefined ? {} : { cause: err }) });
  const tooBig = (size: string): KeygateError =>
    new KeygateError(options.tooBigCode ?? options.code, `failed to read ${what} ${path}: ${size} bytes, more than the ${maxBytes} allowed`, {
      hint: options.tooBigHint ?? options.hint,
    });
  let fd: number;
  try {
    fd = openSync(path, FLAGS);
  } catch (err) {
    // ENXIO: open() of a unix socket; say what it is rather than the errno.
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') throw unreadable('it is a socket or a device without a reader, not a regular file', err);
    throw unreadable(describeCause(err), err);
  }
  try {
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch (err) {
      throw unreadable(describeCause(err), err);
    }
    if (!st.isFile()) throw unreadable(`it is ${fileKind(st)}, not a regular file`);
    if (st.size > maxBytes) throw tooBig(String(st.size));
    // Read at most maxBytes + 1 bytes, whatever fstat said: one byte more than the cap proves the file grew
    // past it after fstat (a file that grows under the cap is read to its end).
    let buf = Buffer.allocUnsafe(Math.min(st.size, maxBytes) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got > maxBytes) throw tooBig(`more than ${maxBytes}`);
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, maxBytes + 1));
        buf.copy(bigger, 0, 0, got);
        buf = bigger;
      }
      let n: number;
      try {
        n = readSync(fd, buf, got, buf.length - got, null);
      } catch (err) {
        throw unreadable(describeCause(err), err);
      }
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * Largest keystore accepted. A PKCS#12 with a key and a chain is a few KB; even thousands of entries stay far
 * below this, and forge's parse time grows with the size, so anything bigger only stalls the start.
 */
export const MAX_KEYSTORE_BYTES = 4 * 1024 * 1024;
