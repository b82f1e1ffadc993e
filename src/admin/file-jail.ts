// /get and /put kept to their folders (remo_serv reads and writes any path as the server user). A read opens
// the file with O_NOFOLLOW and then asks the kernel where the open file really is (/proc/self/fd), so neither
// `..`, nor a symlink anywhere on the path, nor a swap between check and open reaches outside the folder.
// A write goes to a fresh temp file in the drop folder (O_EXCL, 0600) and is renamed over the name: atomic.

import { closeSync, constants, fstatSync, openSync, readSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { writeAtomic } from '../adapters/files.js';
import { isAbsolute, join, resolve, sep } from 'node:path';

/** A refusal of /get or /put; its message never holds the requested name (the audit log keeps only its digest). */
export class JailError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Largest file /get sends (the response is built in memory, then encrypted). */
export const MAX_GET_BYTES = 64 * 1024 * 1024;

function inside(folder: string, file: string): boolean {
  return file.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}

/** Reads `requested` (relative to base, or absolute) if it is a regular file inside one of `folders`. */
export function readJailed(base: string, folders: readonly string[], requested: string): Buffer {
  if (requested === '' || requested.includes('\0')) throw new JailError(400, 'the file name is empty or holds NUL');
  if (requested.split(/[\\/]/).includes('..')) throw new JailError(403, '".." is not allowed');
  const roots = folders.flatMap((f) => {
    try {
      return [realpathSync(resolve(base, f))];
    } catch {
      return [];
    }
  });
  const path = isAbsolute(requested) ? requested : resolve(base, requested);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer; this way it opens and fstat refuses it below.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new JailError(code === 'ENOENT' ? 404 : 403, code === 'ENOENT' ? 'no such file' : code === 'ELOOP' ? 'is a symlink' : 'cannot be opened');
  }
  try {
    const real = readlinkSync(`/proc/self/fd/${fd}`);
    if (!roots.some((root) => inside(root, real))) throw new JailError(403, 'outside the folders /get may read (admin.getFolders)');
    const st = fstatSync(fd);
    if (!st.isFile()) throw new JailError(403, 'not a regular file');
    if (st.size > MAX_GET_BYTES) throw new JailError(413, `larger than ${MAX_GET_BYTES} bytes`);
    const out = Buffer.alloc(st.size);
    let got = 0;
    while (got < out.length) {
      const n = readSync(fd, out, got, out.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return out.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** A name /put accepts: one plain file name, no folder, not hidden. */
export const DROP_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** Writes data atomically as dropFolder/name; returns the final path. */
export function writeDrop(base: string, dropFolder: string, name: string, data: Uint8Array): string {
  if (!DROP_NAME.test(name)) throw new JailError(403, '/put takes a plain file name (letters, digits, . _ -), no folder');
  let folder: string;
  try {
    folder = realpathSync(resolve(base, dropFolder));
    if (!statSync(folder).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new JailError(403, 'the drop folder (admin.dropFolder) does not exist');
  }
  const final = join(folder, name);
  writeAtomic(final, data, 0o600);
  return final;
}

/** The last `lines` lines of a file (reads at most its last 1 MiB); "" when it does not exist yet. */
export function readTail(file: string, lines: number): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, 1024 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const all = buf.toString('utf8').split('\n');
    if (all[all.length - 1] === '') all.pop();
    return all.slice(-lines).join('\n');
  } finally {
    closeSync(fd);
  }
}
