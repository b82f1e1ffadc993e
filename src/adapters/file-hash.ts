// Hashing files: sha256 of file contents, memory-bounded (one reused buffer), never a whole file in memory.
// Why sync reads: on Node 20 a sync loop with a reused buffer is the fastest warm-cache hasher measured here
// (shared/notes/pkcs12-and-hashing-findings.md §2.3: ~64k files/s vs ~16k for fs.promises); the cold-cache
// path (many reads in flight) lives in hashFilesParallel below.

import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, readFile, constants as fsConstants } from 'node:fs';
import { resolve } from 'node:path';
import type { HashResult } from '../core/manifest.js';

const CHUNK = 1 << 20;
let shared: Buffer | undefined;

/** sha256 (hex) of bytes. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function classify(err: unknown): HashResult {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return { ok: false, missing: true, reason: 'no such file' };
  if (e.code === 'EACCES' || e.code === 'EPERM') return { ok: false, missing: false, reason: 'permission denied' };
  if (e.code === 'EISDIR') return { ok: false, missing: false, reason: 'is a folder, not a file' };
  if (e.code === 'ELOOP') return { ok: false, missing: false, reason: 'symlink loop' };
  return { ok: false, missing: false, reason: e.code ?? String(e.message) };
}

/** Hashes one file synchronously with a reused 1 MiB buffer. */
export function hashFileSync(file: string): HashResult {
  let fd: number | undefined;
  try {
    fd = openSync(file, fsConstants.O_RDONLY);
    const st = fstatSync(fd);
    if (st.isDirectory()) return { ok: false, missing: false, reason: 'is a folder, not a file' };
    if (!st.isFile()) return { ok: false, missing: false, reason: 'is not a regular file' };
    const buf = (shared ??= Buffer.allocUnsafe(CHUNK));
    const h = createHash('sha256');
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      h.update(n === CHUNK ? buf : buf.subarray(0, n));
    }
    return { ok: true, sha256: h.digest('hex') };
  } catch (err) {
    return classify(err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface HashOptions {
  /** Folder that relative paths are resolved against. */
  readonly base: string;
  /** Called now and then with (done, total) for a progress display. */
  readonly onProgress?: (done: number, total: number) => void;
  /** 'sync' (warm cache), 'parallel' (cold cache), or 'auto' (probe and pick). */
  readonly strategy?: HashStrategy;
}

export type HashStrategy = 'sync' | 'parallel' | 'auto';

/** Hashes every path (relative to base, or absolute); returns a result per path, never throws for a file. */
export async function hashFiles(paths: readonly string[], options: HashOptions): Promise<Map<string, HashResult>> {
  const strategy = options.strategy ?? 'auto';
  if (strategy === 'parallel' || (strategy === 'auto' && paths.length > 256 && looksCold(paths, options.base))) {
    return hashFilesParallel(paths, options);
  }
  return hashFilesSync(paths, options);
}

function hashFilesSync(paths: readonly string[], options: HashOptions): Map<string, HashResult> {
  const out = new Map<string, HashResult>();
  const total = paths.length;
  paths.forEach((p, i) => {
    out.set(p, hashFileSync(resolve(options.base, p)));
    if (options.onProgress && (i & 1023) === 1023) options.onProgress(i + 1, total);
  });
  options.onProgress?.(total, total);
  return out;
}

/**
 * Probes whether the page cache is cold: times a sample of sync reads. Warm reads of small files take a few
 * µs; cold ones wait on the disk (≥ 50 µs). Cheap: 16 files.
 */
function looksCold(paths: readonly string[], base: string): boolean {
  const step = Math.max(1, Math.floor(paths.length / 16));
  const start = process.hrtime.bigint();
  let n = 0;
  for (let i = 0; i < paths.length && n < 16; i += step, n++) hashFileSync(resolve(base, paths[i]!));
  const perFileUs = Number(process.hrtime.bigint() - start) / 1000 / Math.max(1, n);
  return perFileUs > 200;
}

/** Cold-cache hasher: up to 64 callback reads in flight keep the disk queue full (findings §2.4). */
function hashFilesParallel(paths: readonly string[], options: HashOptions): Promise<Map<string, HashResult>> {
  const out = new Map<string, HashResult>();
  const total = paths.length;
  let next = 0;
  let done = 0;
  return new Promise((resolveAll) => {
    if (total === 0) return resolveAll(out);
    const startOne = (): void => {
      const i = next++;
      if (i >= total) return;
      const p = paths[i]!;
      const file = resolve(options.base, p);
      readFile(file, (err, data) => {
        if (err) out.set(p, classify(err));
        else if (data.length > 64 * CHUNK) out.set(p, hashFileSync(file)); // big file: bounded memory
        else out.set(p, { ok: true, sha256: sha256(data) });
        done++;
        if (options.onProgress && (done & 1023) === 0) options.onProgress(done, total);
        if (done === total) {
          options.onProgress?.(total, total);
          resolveAll(out);
        } else startOne();
      });
    };
    for (let k = 0; k < 64; k++) startOne();
  });
}
