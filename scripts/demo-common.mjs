// What the demo scripts (demo-flask.mjs, demo-mtls.mjs) share: their command line, the build, the entry copied
// into the demo folder, and the gated start with signals passed on.
//   node scripts/demo-<name>.mjs [--root DIR] [--no-build] [-- serve flags, e.g. --port 0]
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The demo's own flags and the serve flags after `--`. `fail(message)` prints `demo:<name>: message` and exits 2;
 * `root` is --root's folder, resolved, when given.
 */
export function demoArgs(name, argv = process.argv.slice(2)) {
  const fail = (message) => {
    process.stderr.write(`demo:${name}: ${message}\n`);
    process.exit(2);
  };
  const dashes = argv.indexOf('--');
  const own = dashes >= 0 ? argv.slice(0, dashes) : argv;
  const rootAt = own.indexOf('--root');
  return {
    fail,
    serveFlags: dashes >= 0 ? argv.slice(dashes + 1) : [],
    root: rootAt >= 0 ? resolve(own[rootAt + 1] ?? fail('--root needs a folder')) : undefined,
    // --no-build: the tests' dist/ is built once by pretest; rebuilding it here would race the other test files.
    build: !own.includes('--no-build'),
  };
}

/** Builds dist/ (unless --no-build) and copies the entry and its package.json into <demo>/dist. */
export function buildAndCopyEntry({ build, fail }, demo) {
  if (build) {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) fail('the build failed');
  }
  mkdirSync(join(demo, 'dist'), { recursive: true });
  for (const f of ['main.js', 'package.json']) cpSync(join(ROOT, 'dist', f), join(demo, 'dist', f));
}

/**
 * The gated start, as production runs it: `node dist/main.js serve` in the demo folder. SIGINT/SIGTERM/SIGHUP are
 * passed on; this process exits with keygate's status.
 */
export function serveDemo(demo, serveFlags, stdio = 'inherit') {
  const child = spawn(process.execPath, ['dist/main.js', 'serve', ...serveFlags], { cwd: demo, stdio });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 128 : 1);
  });
  return child;
}
