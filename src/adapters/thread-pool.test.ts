// The pool is sized for keygate only: the variable is gone again before anything could start a child.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { POOL_THREADS, sizeThreadPool } from './thread-pool.js';

test('sizeThreadPool sets UV_THREADPOOL_SIZE until the pool has started, and leaves a user value alone', async () => {
  const env: NodeJS.ProcessEnv = {};
  sizeThreadPool(env);
  assert.equal(env['UV_THREADPOOL_SIZE'], String(POOL_THREADS));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(env['UV_THREADPOOL_SIZE'], undefined);
  const mine: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: '2' };
  sizeThreadPool(mine);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(mine['UV_THREADPOOL_SIZE'], '2');
});

test('in a CommonJS entry the pool really starts with POOL_THREADS threads', () => {
  // Threads of a process that only sized the pool and made one request, with the default and with the sizing.
  const count = (sized: boolean) =>
    Number(
      spawnSync(process.execPath, ['-e', `
        const fs = require('node:fs');
        if (${sized}) { process.env.UV_THREADPOOL_SIZE = '${POOL_THREADS}'; }
        fs.stat('/', () => console.log(fs.readdirSync('/proc/self/task').length));`], { encoding: 'utf8', env: { PATH: process.env['PATH'] } }).stdout.trim(),
    );
  assert.equal(count(true) - count(false), POOL_THREADS - 4);
});
