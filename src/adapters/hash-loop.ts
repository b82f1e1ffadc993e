// The hashing loop both threads run (src/adapters/file-hash.ts starts it on the main thread; src/hash-worker.ts
// runs the same function in the worker). Files are claimed in batches from a shared counter; results go into
// shared memory, so nothing is copied between the threads: the 32-byte digest of file i at digests[32i..], and
// status[i] = 1 (ok) or -k for the error CODES[k]. Each thread starts with sync reads into a reused buffer and
// times each batch; when batches are slow for their size (the disk, not the CPU, is the limit) it switches to
// keeping many async reads in flight for the rest (docs/performance.md).

import fs from 'node:fs';
import crypto from 'node:crypto';
import type { PathList } from '../core/path-table.js';

/** Error codes a result can carry; index 0 and 1 are not errors, the last is the catch-all. */
export const CODES = ['', 'OK', 'ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'EISDIR', 'ENOTFILE', 'ELOOP', 'EMFILE', 'ENFILE', 'ENAMETOOLONG', 'EIO'] as const;

export interface HashJob {
  /** Joined to every relative path (ends with '/'). */
  readonly prefix: string;
  readonly paths: PathList;
  /** Shared counter of the next file to claim. */
  readonly counter: Int32Array;
  readonly digestsSab: SharedArrayBuffer;
  readonly statusSab: SharedArrayBuffer;
  /** Switch to async reads when batches are slow for their size. */
  readonly adaptive: boolean;
  /** Start with async reads (a cold cache is expected). */
  readonly startCold: boolean;
  readonly progress: ((done: number) => void) | null;
}

const CHUNK = 1 << 20; // reused read buffer
const BATCH = 32; // files claimed at a time from the shared counter
const INFLIGHT = 32; // async reads in flight per thread in cold mode
const SLOT = 128 << 10; // read buffer of each async read in flight
const COLD_US = 60; // per-file time (after the bytes' own hashing cost) that means "waiting on disk"
// O_NONBLOCK: opening a FIFO must not wait for a writer (it is reported as not a regular file instead).
const FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY;

const WIN32 = process.platform === 'win32';

/** A digest, or '!CODE' for a file that could not be hashed. */
type Outcome = Buffer | string;

// ESPIPE: a positioned read of a pipe (a FIFO in place of a file).
function errCode(e: NodeJS.ErrnoException | null | undefined): string {
  return !e || !e.code ? '!EIO' : e.code === 'ESPIPE' ? '!ENOTFILE' : `!${e.code}`;
}

function kindOf(st: fs.Stats): string | null {
  return st.isFile() ? null : st.isDirectory() ? '!EISDIR' : '!ENOTFILE';
}

/** Runs the loop until every file is claimed; calls finish once this thread's share is done. */
export function runHashLoop(job: HashJob, finish: () => void): void {
  const { prefix, paths, counter, adaptive, startCold, progress } = job;
  const buf = Buffer.allocUnsafe(CHUNK);
  const DIG = Buffer.from(job.digestsSab);
  const STATUS = new Int32Array(job.statusSab);
  const n = paths.length;
  let done = 0;

  const put = (i: number, v: Outcome): void => {
    if (typeof v === 'string') {
      const k = (CODES as readonly string[]).indexOf(v.slice(1));
      STATUS[i] = -(k > 1 ? k : CODES.length - 1);
    } else {
      v.copy(DIG, i * 32);
      STATUS[i] = 1;
    }
  };
  // Absolute paths are built per file (a short-lived string) rather than kept in a second 100k-entry array.
  // Windows: `C:/x` is absolute too; joined to the base, a drive path would be reported missing.
  const fullPath = WIN32 ? (p: string): string => (p.charCodeAt(0) === 47 || p.charCodeAt(1) === 58 ? p : prefix + p) : (p: string): string => (p.charCodeAt(0) === 47 ? p : prefix + p);

  // A read of a regular file returns less than asked only at its end. So a first read that is short but not
  // empty is the whole file: open, read, close and no fstat (a fair share of the per-file cost). An empty first read
  // or a full one is checked with fstat before going on (a FIFO reads as empty, /dev/zero never ends).
  const hashSync = (file: string): [Outcome, number] => {
    let fd: number | undefined;
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
      return [errCode(e as NodeJS.ErrnoException), 0];
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  };

  /** Sync reads, batch by batch; true when the cache looks cold (switch to async). */
  const runSync = (): boolean => {
    let slow = 0;
    for (;;) {
      const start = Atomics.add(counter, 0, BATCH);
      if (start >= n) return false;
      const end = Math.min(start + BATCH, n);
      const t0 = process.hrtime.bigint();
      let bytes = 0;
      for (let i = start; i < end; i++) {
        const r = hashSync(fullPath(paths.at(i)!));
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
  };

  // Cold cache: INFLIGHT files at a time, each read through its own SLOT-sized buffer with the same
  // short-read rule as hashSync (open, read, close for most files), so little work per file on this thread.
  const runAsync = (): void => {
    let active = 0;
    let exhausted = false;
    const noop = (): void => {};
    const next = (slot: Buffer): void => {
      if (exhausted) {
        if (active === 0) finish();
        return;
      }
      const i = Atomics.add(counter, 0, 1);
      if (i >= n) {
        exhausted = true;
        if (active === 0) finish();
        return;
      }
      active++;
      const settle = (v: Outcome): void => {
        put(i, v);
        active--;
        done++;
        if (progress && (done & 255) === 0) progress(done);
        next(slot);
      };
      fs.open(fullPath(paths.at(i)!), FLAGS, (err, fd) => {
        if (err) return settle(errCode(err));
        const fail = (v: string): void => {
          fs.close(fd, noop);
          settle(v);
        };
        let h: crypto.Hash | null = null;
        let pos = 0;
        const consume = (got: number): void => {
          if (got > 0) {
            (h ??= crypto.createHash('sha256')).update(got === SLOT ? slot : slot.subarray(0, got));
            pos += got;
          }
          if (got < SLOT) {
            fs.close(fd, noop);
            settle((h ?? crypto.createHash('sha256')).digest());
          } else fs.read(fd, slot, 0, SLOT, pos, onRead);
        };
        const onRead = (e: NodeJS.ErrnoException | null, got: number): void => {
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
  };

  if (startCold || runSync()) runAsync();
  else finish();
}
