// Plain file operations the gate and the commands need, in one adapter: atomic writes, whole reads of small
// files that are not secrets' carriers (the entry), existence and mode, and a change watch by mtime.
// Bounded reads of untrusted inputs (manifest, template, keystore, config) are src/adapters/read-regular-file.ts.

import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, unwatchFile, watchFile, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Writes a file atomically (temp + rename) so a crash never leaves half a manifest or entry. */
export function writeAtomic(file: string, data: string | Uint8Array, mode?: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data, mode === undefined ? undefined : { mode });
  if (mode !== undefined) chmodSync(tmp, mode);
  renameSync(tmp, file);
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
