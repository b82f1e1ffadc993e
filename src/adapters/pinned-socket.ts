// A unix socket path another user controls, reached without trusting the path at connect time.
//
// Under privilege separation the backend binds its socket in a folder it owns, so it can replace the socket with a
// symlink (or another file) at any moment; connect(2) follows symlinks and has no O_NOFOLLOW. The socket's inode is
// pinned instead: open(O_PATH|O_NOFOLLOW) gives an fd for the file itself (a symlink stays a symlink), fstat checks
// it is a socket the expected user owns, and connecting to /proc/self/fd/<fd> then reaches exactly that inode —
// whatever the path names later. Linux only (O_PATH, procfs); privilege separation is Linux-only too.

import { closeSync, constants, fstatSync, openSync } from 'node:fs';

/** O_PATH on Linux (asm-generic and x86); node:fs does not export it, open(2) takes it as a number. */
const O_PATH = 0o10000000;

export interface PinnedSocket {
  /** The path to connect to: /proc/self/fd/<fd>, valid until close(). */
  readonly path: string;
  close(): void;
}

/**
 * Pins the socket at `path` if it is a socket owned by `uid` (not a symlink, not another file); throws an Error
 * that says which (code ENOENT while it does not exist yet, else ESOCKETOWNER).
 */
export function pinSocket(path: string, uid: number): PinnedSocket {
  const fd = openSync(path, O_PATH | constants.O_NOFOLLOW);
  try {
    const st = fstatSync(fd);
    if (!st.isSocket() || st.uid !== uid) {
      const what = st.isSymbolicLink() ? 'a symlink' : st.isSocket() ? `a socket of uid ${st.uid}` : 'not a socket';
      throw Object.assign(new Error(`${path} is ${what}, not a socket of uid ${uid}`), { code: 'ESOCKETOWNER' });
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  let open = true;
  return {
    path: `/proc/self/fd/${fd}`,
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
