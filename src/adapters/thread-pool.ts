// libuv's thread pool does keygate's async file reads. Four threads (Node's default) leave a cold disk idle:
// more threads keep it busy and shorten a cold verify (docs/performance.md). libuv reads UV_THREADPOOL_SIZE
// once, at the pool's first use, which in a CommonJS entry has not happened yet here.
import { stat } from 'node:fs';

/** Threads for libuv's pool unless the user chose a number. */
export const POOL_THREADS = 8;

/**
 * Sizes the pool: sets UV_THREADPOOL_SIZE (unless set), makes the pool start now with one cheap request, then
 * takes the variable back out, so children keygate or the app starts do not inherit it.
 */
export function sizeThreadPool(env: NodeJS.ProcessEnv): void {
  if (env['UV_THREADPOOL_SIZE'] !== undefined) return;
  env['UV_THREADPOOL_SIZE'] = String(POOL_THREADS);
  stat('/', () => {
    delete env['UV_THREADPOOL_SIZE'];
  });
}
