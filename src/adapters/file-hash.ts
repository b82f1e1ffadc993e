// Hashing many files fast, warm or cold page cache, with bounded memory.
//
// What is fast in Node 20 here (shared/notes/pkcs12-and-hashing-findings.md §2, and docs/performance.md):
// - warm cache: synchronous reads into a reused buffer; fs.promises and streams are several times slower;
// - cold cache: many reads in flight (callback API, the libuv pool) keep the disk busy; a sync loop waits on it;
// - 2 cores: a second thread hashes the other half; a worker is slow to start, so only for big lists.
// So: the main thread and (for big lists) one worker pull batches of files from a shared counter. Each thread
// starts with sync reads and times each batch; when a batch is slow for its size (the disk, not the CPU, is
// the limit) that thread switches to keeping many async reads in flight for the rest. One typed loop
// (src/adapters/hash-loop.ts) runs in both threads; the worker (src/hash-worker.ts) is embedded in the entry and
// started from memory (src/adapters/in-memory-worker.ts): no file is loaded.

import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { CODES, runHashLoop } from './hash-loop.js';
import { startInMemoryWorker } from './in-memory-worker.js';
import type { HashResult } from '../core/manifest.js';
import { PathTable, type PathList } from '../core/path-table.js';

/** sha256 (hex) of bytes. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export type HashStrategy = 'sync' | 'parallel' | 'auto';

export interface HashOptions {
  /** Folder that relative paths are resolved against. */
  readonly base: string;
  /** Called now and then with (done, total) for a progress display. */
  readonly onProgress?: (done: number, total: number) => void;
  /** 'sync': one thread, sync reads; 'parallel': start in async mode; 'auto': adapt per batch (default). */
  readonly strategy?: HashStrategy;
  /** Other work for the main thread while the worker starts and hashes (it joins the hashing afterwards). */
  readonly meanwhile?: () => Promise<void> | void;
}

/** Lists at least this long get a second thread. Below it the worker's start-up costs more than it saves. */
const WORKER_MIN_FILES = 2000;

function toResult(v: string | undefined): HashResult {
  if (v === undefined) return { ok: false, missing: false, reason: 'not hashed' };
  if (v.charCodeAt(0) !== 33 /* ! */) return { ok: true, sha256: v };
  const code = v.slice(1);
  if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, missing: true, reason: 'no such file' };
  if (code === 'EACCES' || code === 'EPERM') return { ok: false, missing: false, reason: 'permission denied' };
  if (code === 'EISDIR') return { ok: false, missing: false, reason: 'is a folder, not a file' };
  if (code === 'ENOTFILE') return { ok: false, missing: false, reason: 'is not a regular file' };
  if (code === 'ELOOP') return { ok: false, missing: false, reason: 'symlink loop' };
  return { ok: false, missing: false, reason: code };
}

/** Hashes one file synchronously (bounded memory). */
export function hashFileSync(file: string): HashResult {
  const table = new HashTable(1);
  const job = { prefix: '', paths: [file], counter: new Int32Array(new SharedArrayBuffer(4)), digestsSab: table.digests, statusSab: table.status };
  runHashLoop({ ...job, adaptive: false, startCold: false, progress: null }, () => {});
  return table.result(0);
}

/** Results of hashing n files, in shared memory: a digest and a status per file. */
export class HashTable {
  readonly digests: SharedArrayBuffer;
  readonly status: SharedArrayBuffer;
  readonly #dig: Buffer;
  readonly #st: Int32Array;
  constructor(readonly size: number) {
    this.digests = new SharedArrayBuffer(Math.max(1, size) * 32);
    this.status = new SharedArrayBuffer(Math.max(1, size) * 4);
    this.#dig = Buffer.from(this.digests);
    this.#st = new Int32Array(this.status);
  }
  /** Whether file i was hashed. */
  ok(i: number): boolean {
    return this.#st[i] === 1;
  }
  /** Whether file i hashed to the 32 bytes of digests at offset (no string per file). */
  sameDigest(i: number, digests: Uint8Array, offset: number): boolean {
    return this.#st[i] === 1 && this.#dig.compare(digests, offset, offset + 32, i * 32, i * 32 + 32) === 0;
  }
  /** Hex digest of file i, or undefined when it could not be hashed. */
  hex(i: number): string | undefined {
    return this.#st[i] === 1 ? this.#dig.toString('hex', i * 32, i * 32 + 32) : undefined;
  }
  result(i: number): HashResult {
    const st = this.#st[i]!;
    if (st === 1) return { ok: true, sha256: this.hex(i)! };
    return toResult(st === 0 ? undefined : `!${CODES[-st] ?? 'EIO'}`);
  }
}

/**
 * Hashes every path (relative to base, or absolute), in order, into a HashTable. No object per file, no
 * copy between threads, so memory stays bounded however big the tree (peak RSS: docs/performance.md).
 */
export async function hashFilesRaw(paths: PathTable, options: HashOptions): Promise<HashTable> {
  const strategy = options.strategy ?? 'auto';
  const base = resolve(options.base);
  const prefix = base.endsWith('/') || (process.platform === 'win32' && base.endsWith('\\')) ? base : `${base}/`; // `Z:\` on Windows
  // Relative paths (also ./x and ../x) are joined to the base per file, as they are hashed.
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const table = new HashTable(paths.length);
  const total = paths.length;
  const adaptive = strategy === 'auto';
  const startCold = strategy === 'parallel';
  let workerDone = 0;
  let mainDone = 0;
  const report = options.onProgress ? () => options.onProgress!(Math.min(total, mainDone + workerDone), total) : null;

  // A second thread for big lists; from the sources (tsx) there is no embedded worker and one thread hashes all.
  const worker =
    strategy !== 'sync' && total >= WORKER_MIN_FILES
      ? startInMemoryWorker('hash', {
          workerData: { prefix, shared: paths.toShared(), counterBuffer: counter.buffer, digestsSab: table.digests, statusSab: table.status, adaptive, startCold },
          // Huge lists: keep the worker's young generation small (its garbage is short-lived) to bound peak RSS
          // at no cost in speed (docs/performance.md); smaller lists run without the limit.
          ...(total > 50_000 ? { resourceLimits: { maxYoungGenerationSizeMb: 2 } } : {}),
          env: process.getBuiltinModule('node:worker_threads').SHARE_ENV, // loaded here: starts that never need it skip it
          stdout: false,
        })
      : undefined;
  const workerResult = worker
    ? new Promise<void>((resolveWorker, rejectWorker) => {
        worker.on('message', (m: { progress?: number; done?: boolean }) => {
          if (m.done) resolveWorker();
          else if (m.progress !== undefined) {
            workerDone = m.progress;
            report?.();
          }
        });
        worker.on('error', rejectWorker);
        worker.on('exit', (code) => code !== 0 && rejectWorker(new Error(`hash worker exited with ${code}`)));
      })
    : Promise.resolve();

  if (options.meanwhile) await options.meanwhile();
  await new Promise<void>((finish) =>
    runHashLoop(
      {
        prefix,
        paths,
        counter,
        digestsSab: table.digests,
        statusSab: table.status,
        adaptive,
        startCold,
        progress: report
          ? (d) => {
              mainDone = d;
              report();
            }
          : null,
      },
      finish,
    ),
  );
  await workerResult;
  options.onProgress?.(total, total);
  return table;
}

/** Hashes every path; a result object per path (for reports). Never throws for a file. */
export async function hashFiles(paths: readonly string[], options: HashOptions): Promise<Map<string, HashResult>> {
  const list = new PathTable(undefined, { foldCase: process.platform === 'win32' });
  for (const p of paths) list.add(p);
  const table = await hashFilesRaw(list, options);
  return new Map(paths.map((p) => [p, table.result(list.indexOf(p))]));
}
