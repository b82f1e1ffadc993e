// A worker thread's entry: hashes its share of the files (src/adapters/hash-loop.ts) into the shared tables.
// scripts/build.mjs bundles this file on its own and embeds it in dist/main.js as a part; src/adapters/file-hash.ts
// starts it from that text through src/adapters/in-memory-worker.ts: no file is read, it is part of the verified
// entry.
import { parentPort, workerData } from 'node:worker_threads';
import { runHashLoop } from './adapters/hash-loop.js';

export interface HashWorkerData {
  readonly prefix: string;
  /** The paths as shared UTF-8 bytes with where each starts and ends (PathTable.toShared()). */
  readonly shared: { bytes: SharedArrayBuffer; starts: SharedArrayBuffer; ends: SharedArrayBuffer; count: number };
  readonly counterBuffer: SharedArrayBuffer;
  readonly digestsSab: SharedArrayBuffer;
  readonly statusSab: SharedArrayBuffer;
  readonly adaptive: boolean;
  readonly startCold: boolean;
}

const data = workerData as HashWorkerData;
// A string is made per file when it is hashed, so the worker never holds a second copy of every path.
const names = Buffer.from(data.shared.bytes);
const starts = new Int32Array(data.shared.starts);
const ends = new Int32Array(data.shared.ends);
let reported = 0;
runHashLoop(
  {
    prefix: data.prefix,
    paths: { length: data.shared.count, at: (i) => names.toString('utf8', starts[i], ends[i]) },
    counter: new Int32Array(data.counterBuffer),
    digestsSab: data.digestsSab,
    statusSab: data.statusSab,
    adaptive: data.adaptive,
    startCold: data.startCold,
    progress: (d) => {
      if (d - reported >= 1024) {
        reported = d;
        parentPort!.postMessage({ progress: d });
      }
    },
  },
  () => parentPort!.postMessage({ done: true }),
);
