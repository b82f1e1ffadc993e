// One typed mechanism for worker threads: each worker is a TypeScript entry (src/hash-worker.ts,
// src/unlock-worker.ts) that scripts/build.mjs bundles on its own and embeds in dist/main.js as a part
// (src/late-runtime.ts); it is started from that text (eval), so no file is read: a worker runs bytes of the
// verified entry, never a file from disk. Under tsx (the sources, in tests) there are no embedded workers:
// callers fall back or pass a source.

import type { Worker, WorkerOptions } from 'node:worker_threads';
import { partSource } from '../late-runtime.js';

export type InMemoryWorkerName = 'hash' | 'unlock';

/** The embedded source of a worker, or undefined when running from the sources. */
export function inMemoryWorkerSource(name: InMemoryWorkerName): string | undefined {
  return partSource(`worker/${name}`);
}

/** Starts a worker from its embedded source (or the one given); undefined when there is none. */
export function startInMemoryWorker(name: InMemoryWorkerName, options: Omit<WorkerOptions, 'eval'> & { readonly source?: string }): Worker | undefined {
  const { source, ...rest } = options;
  const code = source ?? inMemoryWorkerSource(name);
  if (code === undefined) return undefined;
  // node:worker_threads is loaded on the first worker, so starts that start none do not pay for it (docs/performance.md)
  const { Worker: WorkerThread } = process.getBuiltinModule('node:worker_threads');
  return new WorkerThread(code, { ...rest, eval: true });
}
