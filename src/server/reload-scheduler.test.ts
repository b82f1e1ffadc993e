// The reload scheduler's guarantees, with a fake run: nothing lost, rate-limited, time-bound, stale results ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReloadScheduler } from './reload-scheduler.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function logger() {
  const lines: string[] = [];
  const add = (m: string) => void lines.push(m);
  return { lines, log: { info: add, warn: add, error: add } };
}

test('a request that arrives while a reload runs is run next, not dropped', async () => {
  const runs: string[] = [];
  const { log } = logger();
  const s = new ReloadScheduler(async (why) => {
    runs.push(why);
    await sleep(50);
  }, { minIntervalMs: 0, timeoutMs: 1000, log });
  s.request('keystore file changed');
  await sleep(10);
  s.request('SIGHUP');
  s.request('SIGHUP again');
  await sleep(200);
  assert.deepEqual(runs, ['keystore file changed', 'SIGHUP, SIGHUP again']);
});

test('at most one run per minIntervalMs: a burst becomes one deferred run', async () => {
  const runs: number[] = [];
  const { log, lines } = logger();
  const s = new ReloadScheduler(async () => void runs.push(Date.now()), { minIntervalMs: 150, timeoutMs: 1000, log });
  for (let i = 0; i < 20; i++) s.request(`touch ${i}`);
  await sleep(30);
  for (let i = 0; i < 20; i++) s.request(`touch b${i}`);
  await sleep(400);
  assert.equal(runs.length, 2, 'one at once, one after the interval');
  assert.ok(runs[1]! - runs[0]! >= 140, `${runs[1]! - runs[0]!} ms apart`);
  assert.ok(lines.some((l) => /deferred \d+ ms: at most one vault call per 150 ms/.test(l)));
});

test('a hung run is abandoned after timeoutMs, later requests run, and its late result is not applied', async () => {
  const applied: string[] = [];
  const { log, lines } = logger();
  let first = true;
  const s = new ReloadScheduler(async (why, current) => {
    if (first) {
      first = false;
      await sleep(300); // hangs past the timeout
    }
    if (current()) applied.push(why);
  }, { minIntervalMs: 0, timeoutMs: 80, log });
  s.request('hung');
  await sleep(120);
  assert.ok(lines.some((l) => /reload \(hung\) did not finish in 80 ms: abandoned/.test(l)));
  s.request('next');
  await sleep(400);
  assert.deepEqual(applied, ['next'], 'the abandoned run did not apply its result');
});

test('stop() cancels what waits', async () => {
  let runs = 0;
  const { log } = logger();
  const s = new ReloadScheduler(async () => void runs++, { minIntervalMs: 100, timeoutMs: 1000, log });
  s.request('a');
  s.request('b');
  s.stop();
  await sleep(200);
  assert.equal(runs, 1);
});
