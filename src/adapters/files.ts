// Plain file operations the gate and the commands need, in one adapter: atomic writes, whole reads of small
// files that are not secrets' carriers (the entry), existence and mode, and a change watch by mtime.
// Bounded reads of untrusted inputs (manifest, template, keystore, config) are src/adapters/read-regular-file.ts.

import { closeSync, constants, existsSync, fchmodSync, fchownSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, unwatchFile, watchFile, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file atomically (temp + rename) so a crash never leaves half a manifest or key, and safely in a folder
 * others can write: a random temp name opened O_EXCL|O_NOFOLLOW (a planted file or link fails the
 * open), the mode set on the descriptor, fsync, then rename, which replaces a link at the final name itself.
 */
export function writeAtomic(file: string, data: string | Uint8Array, mode?: number, owner?: { uid: number; gid: number }): void {
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${randomBytes(6).toString('hex')}`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode === undefined ? 0o666 : 0o600);
  try {
    if (owner) {
      try {
        fchownSync(fd, owner.uid, owner.gid); // before the mode and the data: never a moment with others' access
      } catch (err) {
        // not root, and not a member of the old group: the file gets this user's own, with the same mode
        if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
      }
    }
    if (mode !== undefined) fchmodSync(fd, mode); // exact, whatever the umask
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * A keystore rewritten in place (keystore import, ACME renewal): the new file keeps the old one's owner and group
 * (when this process may give them) and its mode, capped at 0640 (its owner may write it, its group read it,
 * nobody else anything), so `chgrp shop-api` + `chmod 640` survive a renewal. A new file is 0600.
 */
export function rewriteKeystore(file: string, data: Uint8Array): void {
  const old = lstatSync(file, { throwIfNoEntry: false });
  if (!old || !old.isFile()) {
    writeAtomicIn(file, data, 0o600);
    return;
  }
  writeAtomic(file, data, old.mode & 0o640, { uid: old.uid, gid: old.gid });
}

/**
 * A file keygate keeps beside a keystore: keystore/app.p12 → keystore/app.crt (the public certificate, what doctor
 * reads the expiry from) or keystore/app.csr (the request); a name without .p12/.pfx/.keystore gets it appended.
 */
export function besideKeystore(keystore: string, ext: '.crt' | '.csr'): string {
  return keystore.replace(/\.(p12|pfx|keystore)$/i, '') + ext;
}

/** writeAtomic into a folder made first (mkdir -p). */
export function writeAtomicIn(file: string, data: string | Uint8Array, mode?: number): void {
  mkdirSync(dirname(file), { recursive: true });
  writeAtomic(file, data, mode);
}

/** The whole file (throws the fs error). */
export function readWhole(file: string): Buffer {
  return readFileSync(file);
}

export function fileExists(file: string): boolean {
  return existsSync(file);
}

/** Permission bits of a file. */
export function fileMode(file: string): number {
  return statSync(file).mode & 0o7777;
}

function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Calls onChange when the file's mtime changes, polling every intervalMs (a keystore rewritten by PAM, maybe
 * through a rename: inotify on the old inode would miss it). Does not keep the process alive. Returns stop().
 */
export function watchMtime(file: string, intervalMs: number, onChange: () => void): () => void {
  let last = mtimeOf(file);
  const poll = (): void => {
    const m = mtimeOf(file);
    if (m !== last) {
      last = m;
      onChange();
    }
  };
  watchFile(file, { interval: intervalMs, persistent: false }, poll);
  return () => unwatchFile(file, poll);
}
