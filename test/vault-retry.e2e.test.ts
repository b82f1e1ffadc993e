// Vault retries (issue 21: a fleet booting must not stampede the vault): a transient failure (the client hangs
// past vault.timeoutMs) is retried after a jittered, capped backoff; a refusal is not retried.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SENTINEL, demoProject, serve, serveRefused, tempDir } from './helpers/project.js';
import { retryDelayMs } from '../src/gate/unlock.js';

/** A vault command that counts its calls in a file beside it: hangs (or exits 1) on the first `bad` calls. */
function countingVault(bad: number, how: 'hang' | 'deny'): { script: string; calls: () => number } {
  const dir = tempDir('kg-vault-');
  const script = join(dir, 'vault.sh');
  writeFileSync(
    script,
    `#!/bin/sh\nf="$(dirname "$0")/calls"\nn=$(cat "$f" 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > "$f"\nif [ "$n" -le ${bad} ]; then ${how === 'hang' ? 'exec sleep 30' : 'exit 1'}; fi\nprintf '%s\\n' '${SENTINEL}'\n`,
  );
  chmodSync(script, 0o755);
  return { script, calls: () => Number(readFileSync(join(dir, 'calls'), 'utf8').trim()) };
}

test('retryDelayMs: full jitter under base·2^(n-1), capped', () => {
  const policy = { retries: 5, delayMs: 1000, maxDelayMs: 5000 };
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, policy, () => 0.999999)), [999, 1999, 3999, 4999, 4999]);
  assert.equal(retryDelayMs(3, policy, () => 0), 0);
});

test('a vault client that hangs once is retried after a backoff, and the start goes on', { timeout: 120_000 }, async () => {
  const vault = countingVault(1, 'hang');
  const p = demoProject({ config: { vault: { provider: 'command', command: [vault.script], timeoutMs: 1000, retries: 2, retryDelayMs: 200, retryMaxDelayMs: 400 } } });
  const s = await serve(p.dir);
  try {
    assert.equal(vault.calls(), 2);
    assert.match(s.stderr(), /vault VAULT_TIMEOUT: retry 1 of 2 in \d+ ms/);
  } finally {
    await s.stop();
  }
});

test('a refusal is not retried, and retries: 0 gives up on the first timeout', { timeout: 120_000 }, async () => {
  const denied = countingVault(5, 'deny');
  const p = demoProject({ config: { vault: { provider: 'command', command: [denied.script], retries: 3, retryDelayMs: 50 } } });
  const r = await serveRefused(p.dir);
  assert.equal(r.code, 4);
  assert.equal(denied.calls(), 1);
  const hang = countingVault(5, 'hang');
  const q = demoProject({ config: { vault: { provider: 'command', command: [hang.script], timeoutMs: 500, retries: 0 } } });
  assert.equal((await serveRefused(q.dir)).code, 4);
  assert.equal(hang.calls(), 1);
});
