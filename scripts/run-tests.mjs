// Runs every test file with Node's own test runner (TypeScript through tsx). Node 20's --test takes no
// globs, so the files are listed here.
// Two Node lines: the suite runs on the node running this script, then once more on each node binary named in
// KEYGATE_TEST_NODES (colon-separated; .ci/run puts Node 24 LTS there), since keygate's start runs on the
// node that runs it and Node 20 is past its end of life. A line that fails fails the whole run.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? find(join(dir, d.name)) : d.name.endsWith('.test.ts') ? [join(dir, d.name)] : [],
  );
}
const only = process.argv.slice(2);
const files = only.length ? only : [...find('src'), ...find('test')].sort();
const nodes = [process.execPath, ...(process.env.KEYGATE_TEST_NODES ?? '').split(':').filter(Boolean)];
let failed = 0;
for (const node of nodes) {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '?';
  process.stdout.write(`# keygate tests on node ${version} (${node})\n`);
  const r = spawnSync(node, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed += 1;
    process.stdout.write(`# FAILED on node ${version}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
