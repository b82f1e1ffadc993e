// Hashing many files fast, warm or cold page cache, with bounded memory.
//
// What is fast in Node 20 here (shared/notes/pkcs12-and-hashing-findings.md §2, and docs/performance.md):
// - warm cache: synchronous reads into a reused buffer (~15 µs a file); fs.promises and streams are 3-7× slower;
// - cold cache: many reads in flight (callback API, the libuv pool) keep the disk busy; a sync loop waits on it;
// - 2 cores: a second thread hashes the other half; a worker costs ~30 ms to start, so only for big lists.
// So: the main thread and (for big lists) one worker pull batches of files from a shared counter. Each thread
// starts with sync reads and times each batch; when a batch is slow for its size (the disk, not the CPU, is
// the limit) that thread switches to keeping many async reads in flight for the rest. One source, HASH_LOOP,
// runs in both threads (the worker gets it as a string: no file is loaded, it is part of the verified entry).

import { createHash } from 'node:crypto';
import { SHARE_ENV, Worker } from 'node:worker_threads';
import { resolve } from 'node:path';
import { createRequire } from 'node:module';
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

// The loop both threads run. Plain JS in a string so the same text runs in the main thread (compiled once
// with `new Function`) and in the worker (`eval: true`). Results go into shared memory, so nothing is copied
// between the threads: the 32-byte digest of file i at digests[32i..], and status[i] = 1 (ok) or -k for the
// error CODES[k].
/** Error codes a result can carry; index 0 and 1 are not errors, the last is the catch-all. */
const CODES = ['', 'OK', 'ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'EISDIR', 'ENOTFILE', 'ELOOP', 'EMFILE', 'ENFILE', 'ENAMETOOLONG', 'EIO'];

const HASH_LOOP = String.raw`
const fs = require('node:fs');
const crypto = require('node:crypto');
const CHUNK = 1 << 20;        // reused read buffer
const BATCH = 32;             // files claimed at a time from the shared counter
const INFLIGHT = 32;          // async reads in flight per thread in cold mode
const SLOT = 128 << 10;       // read buffer of each async read in flight
const COLD_US = 60;           // per-file time (after the bytes' own hashing cost) that means "waiting on disk"
const buf = Buffer.allocUnsafe(CHUNK);
const DIG = Buffer.from(digestsSab);
const STATUS = new Int32Array(statusSab);
const CODES = ${JSON.stringify(CODES)};
const n = paths.length;
function put(i, v) {
  if (typeof v === 'string') { const k = CODES.indexOf(v.slice(1)); STATUS[i] = -(k > 1 ? k : CODES.length - 1); }
  else { v.copy(DIG, i * 32); STATUS[i] = 1; }
}
let done = 0;

// Absolute paths are built per file (a short-lived string) rather than kept in a second 100k-entry array.
function fullPath(p) { return p.charCodeAt(0) === 47 ? p : prefix + p; }
// ESPIPE: a positioned read of a pipe (a FIFO in place of a file).
function errCode(e) { return !e || !e.code ? '!EIO' : e.code === 'ESPIPE' ? '!ENOTFILE' : '!' + e.code; }
// O_NONBLOCK: opening a FIFO must not wait for a writer (it is reported as not a regular file instead).
const FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY;
// A read of a regular file returns less than asked only at its end. So a first read that is short but not
// empty is the whole file: open, read, close and no fstat (~10% of the per-file cost). An empty first read
// or a full one is checked with fstat before going on (a FIFO reads as empty, /dev/zero never ends).
function kindOf(st) {
  return st.isFile() ? null : st.isDirectory() ? '!EISDIR' : '!ENOTFILE';
}
function hashSync(file) {
  let fd;
  try {
    fd = fs.openSync(file, FLAGS);
    let got = fs.readSync(fd, buf, 0, CHUNK, null);
    if (got > 0 && got < CHUNK) return [crypto.createHash('sha256').update(buf.subarray(0, got)).digest(), got];
    const bad = kindOf(fs.fstatSync(fd));
    if (bad) return [bad, 0];
    const h = crypto.createHash('sha256');
    let total = 0;
    while (got > 0) {
      total += got;
      h.update(got === CHUNK ? buf : buf.subarray(0, got));
      if (got < CHUNK) break;
      got = fs.readSync(fd, buf, 0, CHUNK, null);
    }
    return [h.digest(), total];
  } catch (e) {
    return [errCode(e), 0];
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function runSync() {
  let slow = 0;
  for (;;) {
    const start = Atomics.add(counter, 0, BATCH);
    if (start >= n) return false;
    const end = Math.min(start + BATCH, n);
    const t0 = process.hrtime.bigint();
    let bytes = 0;
    for (let i = start; i < end; i++) {
      const r = hashSync(fullPath(paths.at(i)));
      put(i, r[0]);
      bytes += r[1];
    }
    done += end - start;
    if (progress) progress(done);
    const us = Number(process.hrtime.bigint() - t0) / 1000 - bytes / 1000; // ~1 ns a byte is CPU, not disk
    // Three slow batches in a row: a cold cache, not a JIT warm-up, a GC pause or one big file.
    slow = us / (end - start) > COLD_US ? slow + 1 : 0;
    if (adaptive && slow >= 3) return true;
  }
}

// Cold cache: INFLIGHT files at a time, each read through its own SLOT-sized buffer with the same
// short-read rule as hashSync (open, read, close for most files), so little work per file on this thread.
function runAsync(finish) {
  let active = 0;
  let exhausted = false;
  const noop = () => {};
  const next = (slot) => {
    if (exhausted) { if (active === 0) finish(); return; }
    const i = Atomics.add(counter, 0, 1);
    if (i >= n) { exhausted = true; if (active === 0) finish(); return; }
    active++;
    const settle = (v) => { put(i, v); active--; done++; if (progress && (done & 255) === 0) progress(done); next(slot); };
    fs.open(fullPath(paths.at(i)), FLAGS, (err, fd) => {
      if (err) return settle(errCode(err));
      const fail = (v) => { fs.close(fd, noop); settle(v); };
      let h = null;
      let pos = 0;
      const consume = (got) => {
        if (got > 0) { (h ??= crypto.createHash('sha256')).update(got === SLOT ? slot : slot.subarray(0, got)); pos += got; }
        if (got < SLOT) { fs.close(fd, noop); settle((h ?? crypto.createHash('sha256')).digest()); }
        else fs.read(fd, slot, 0, SLOT, pos, onRead);
      };
      const onRead = (e, got) => {
        if (e) return fail(errCode(e));
        if (pos > 0 || (got > 0 && got < SLOT)) return consume(got);
        fs.fstat(fd, (e2, st) => {
          const bad = e2 ? errCode(e2) : kindOf(st);
          if (bad) fail(bad);
          else consume(got);
        });
      };
      fs.read(fd, slot, 0, SLOT, 0, onRead);
    });
  };
  for (let k = 0; k < INFLIGHT; k++) next(Buffer.allocUnsafe(SLOT));
}

function run(finish) {
  if (startCold || runSync()) runAsync(finish);
  else finish();
}
`;

type LoopFn = (
  prefix: string,
  paths: PathList,
  counter: Int32Array,
  digestsSab: SharedArrayBuffer,
  statusSab: SharedArrayBuffer,
  adaptive: boolean,
  startCold: boolean,
  progress: ((done: number) => void) | null,
  finish: () => void,
) => void;

let compiled: LoopFn | undefined;
function loop(): LoopFn {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  compiled ??= new Function('require', `return function (prefix, paths, counter, digestsSab, statusSab, adaptive, startCold, progress, finish) {${HASH_LOOP}\nrun(finish);\n};`)(
    requireShim,
  ) as LoopFn;
  return compiled;
}

const requireShim = createRequire(import.meta.url);

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { prefix, shared, counterBuffer, digestsSab, statusSab, adaptive, startCold } = workerData;
// The paths arrive as shared UTF-8 bytes with where each starts and ends: a string is made per file when it
// is hashed, so the worker never holds a second copy of 100,000 paths.
const names = Buffer.from(shared.bytes);
const starts = new Int32Array(shared.starts);
const ends = new Int32Array(shared.ends);
const paths = { length: shared.count, at: (i) => names.toString('utf8', starts[i], ends[i]) };
const counter = new Int32Array(counterBuffer);
let reported = 0;
const progress = (d) => { if (d - reported >= 1024) { reported = d; parentPort.postMessage({ progress: d }); } };
${HASH_LOOP}
run(() => parentPort.postMessage({ done: true }));
`;

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
  loop()('', [file], new Int32Array(new SharedArrayBuffer(4)), table.digests, table.status, false, false, null, () => {});
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
 * copy between threads: a 100,000-file tree stays well under 150 MB.
 */
export async function hashFilesRaw(paths: PathTable, options: HashOptions): Promise<HashTable> {
  const strategy = options.strategy ?? 'auto';
  const base = resolve(options.base);
  const prefix = base.endsWith('/') ? base : `${base}/`;
  // Relative paths (also ./x and ../x) are joined to the base per file, as they are hashed.
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const table = new HashTable(paths.length);
  const total = paths.length;
  const adaptive = strategy === 'auto';
  const startCold = strategy === 'parallel';
  let workerDone = 0;
  let mainDone = 0;
  const report = options.onProgress ? () => options.onProgress!(Math.min(total, mainDone + workerDone), total) : null;

  const useWorker = strategy !== 'sync' && total >= WORKER_MIN_FILES;
  const workerResult = useWorker
    ? new Promise<void>((resolveWorker, rejectWorker) => {
        const w = new Worker(WORKER_SOURCE, {
          eval: true,
          workerData: { prefix, shared: paths.toShared(), counterBuffer: counter.buffer, digestsSab: table.digests, statusSab: table.status, adaptive, startCold },
          // Huge lists: keep the worker's young generation small (its garbage is short-lived) to bound peak RSS;
          // 2 MB measured as fast as 8 on 100,000 files (169 -> 160 MB peak); smaller lists run without the limit.
          ...(total > 50_000 ? { resourceLimits: { maxYoungGenerationSizeMb: 2 } } : {}),
          env: SHARE_ENV,
          stdout: false,
        });
        w.on('message', (m: { progress?: number; done?: boolean }) => {
          if (m.done) resolveWorker();
          else if (m.progress !== undefined) {
            workerDone = m.progress;
            report?.();
          }
        });
        w.on('error', rejectWorker);
        w.on('exit', (code) => code !== 0 && rejectWorker(new Error(`hash worker exited with ${code}`)));
      })
    : Promise.resolve();

  if (options.meanwhile) await options.meanwhile();
  await new Promise<void>((finish) =>
    loop()(
      prefix,
      paths,
      counter,
      table.digests,
      table.status,
      adaptive,
      startCold,
      report
        ? (d) => {
            mainDone = d;
            report();
          }
        : null,
      finish,
    ),
  );
  await workerResult;
  options.onProgress?.(total, total);
  return table;
}

/** Hashes every path; a result object per path (for reports). Never throws for a file. */
export async function hashFiles(paths: readonly string[], options: HashOptions): Promise<Map<string, HashResult>> {
  const list = new PathTable();
  for (const p of paths) list.add(p);
  const table = await hashFilesRaw(list, options);
  return new Map(paths.map((p) => [p, table.result(list.indexOf(p))]));
}
