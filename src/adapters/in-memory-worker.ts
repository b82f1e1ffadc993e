// One typed mechanism for worker threads: each worker is a TypeScript entry (src/hash-worker.ts,
// src/unlock-worker.ts) that scripts/build.mjs bundles on its own and embeds in dist/main.js as a string; it is
// started from that string (eval), so no file is read: a worker runs bytes of the verified entry, never a file
// from disk. Under tsx (the sources, in tests) there are no embedded workers: callers fall back or pass a source.

import { Worker, type WorkerOptions } from 'node:worker_threads';

declare const IN_MEMORY_WORKERS: Readonly<Record<string, string>> | undefined; // defined by scripts/build.mjs

export type InMemoryWorkerName = 'hash' | 'unlock';

/** The embedded source of a worker, or undefined when running from the sources. */
export function inMemoryWorkerSource(name: InMemoryWorkerName): string | undefined {
  return typeof IN_MEMORY_WORKERS === 'object' ? IN_MEMORY_WORKERS[name] : undefined;
}

/** Starts a worker from its embedded source (or the one given); undefined when there is none. */
export function startInMemoryWorker(name: InMemoryWorkerName, options: Omit<WorkerOptions, 'eval'> & { readonly source?: string }): Worker | undefined {
  const { source, ...rest } = options;
  const code = source ?? inMemoryWorkerSource(name);
  return code === undefined ? undefined : new Worker(code, { ...rest, eval: true });
}
