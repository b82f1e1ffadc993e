// Test helpers: temp dirs, fixture trees, a copy of the built keygate project, and real subprocesses.
// Every project copy has no node_modules at all, so each end-to-end run also proves that dist/main.js
// loads nothing but itself and Node's built-ins.

import { after } from 'node:test';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SENTINEL = 'SENTINEL-kg-5f3e9b1d-PASSWORD';
export const IS_ROOT = process.getuid?.() === 0;

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp dir, removed after the test file. */
export function tempDir(prefix = 'kg-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(d, 0o755);
  made.push(d);
  return d;
}

/** Writes files (path → content) under dir, creating folders. */
export function writeTree(dir: string, files: Record<string, string | Buffer>): void {
  for (const [p, content] of Object.entries(files)) {
    const full = join(dir, p);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(file: string): string {
  return sha256(readFileSync(file));
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: Record<string, string>;
  readonly input?: string;
  readonly uid?: number;
  readonly entry?: string;
  readonly timeout?: number;
}

function baseEnv(extra?: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', LANG: 'C.UTF-8' };
  return { ...env, ...extra };
}

/** Runs `node dist/main.js <args>` in dir (a real subprocess). */
export function keygate(dir: string, args: readonly string[], options: RunOptions = {}): RunResult {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [options.entry ?? 'dist/main.js', ...args], {
    cwd: dir,
    env: baseEnv(options.env),
    encoding: 'utf8',
    input: options.input,
    timeout: options.timeout ?? 120_000,
    // keygate blocked in a system call ignores the default SIGTERM: a hang must not wedge the run.
    killSignal: 'SIGKILL',
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}),
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs any command, returning status and output. */
export function run(cmd: string, args: readonly string[], options: { cwd?: string; input?: string | Buffer } = {}): RunResult {
  const r = spawnSync(cmd, args, { cwd: options.cwd, encoding: 'utf8', input: options.input, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/**
 * Copies the built entry (and only what a deployment has) into a temp project, unpinned: the build keeps the pin
 * `npm start` wrote into the checkout's dist/main.js (scripts/build.mjs), and a copy must not depend on whether the
 * README's `npm start` ran before `npm test`.
 */
export function copyEntry(dir: string): void {
  if (!existsSync(join(ROOT, 'dist/main.js'))) throw new Error('dist/main.js missing: run npm run build');
  mkdirSync(join(dir, 'dist'), { recursive: true });
  const entry = readFileSync(join(ROOT, 'dist/main.js'), 'latin1').replace(/(@@KEYGATE_PIN@@:)[0-9a-f]{64}/, (_m, marker: string) => marker + '0'.repeat(64));
  writeFileSync(join(dir, 'dist/main.js'), entry, { encoding: 'latin1', mode: 0o755 });
  cpSync(join(ROOT, 'dist/generate-filelist.js'), join(dir, 'dist/generate-filelist.js'));
  cpSync(join(ROOT, 'dist/package.json'), join(dir, 'dist/package.json'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'kg-test', private: true, type: 'module' }) + '\n');
}

export interface DemoProject {
  readonly dir: string;
  readonly crt: string;
  readonly store: string;
  readonly callLog: string;
  readonly entryHash: string;
}

export interface DemoOptions {
  readonly password?: string;
  /** Extra files and template lines. */
  readonly files?: Record<string, string | Buffer>;
  readonly templateExtra?: string;
  readonly config?: Record<string, unknown>;
  /** Keystore file to use instead of creating one (with its password). */
  readonly keystore?: Buffer;
  readonly keySize?: 2048 | 4096;
  /** Runs in the project folder before generate-filelist (e.g. installs a backend's dependencies). */
  readonly prepare?: (dir: string) => void;
}

/**
 * A deployable demo in a temp dir: entry, emulator, app, content, config (port 0), a keystore created by
 * `keygate keystore create` with the sentinel password, generate-filelist + pin, the entry registered.
 */
export function demoProject(options: DemoOptions = {}): DemoProject {
  const dir = tempDir('kg-demo-');
  copyEntry(dir);
  cpSync(join(ROOT, 'dev/cspm/package.json'), join(dir, 'dev/cspm/package.json'));
  cpSync(join(ROOT, 'dev/cspm/cspmclient'), join(dir, 'dev/cspm/cspmclient'), { recursive: true });
  cpSync(join(ROOT, 'app'), join(dir, 'app'), { recursive: true });
  cpSync(join(ROOT, 'content'), join(dir, 'content'), { recursive: true });
  const config = JSON.parse(readFileSync(join(ROOT, 'keygate.config.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  config['server'] = { ...config['server'], port: 0 };
  for (const [k, v] of Object.entries(options.config ?? {})) config[k] = { ...(config[k] ?? {}), ...(v as Record<string, unknown>) };
  writeTree(dir, {
    'keygate.config.json': JSON.stringify(config, null, 2),
    'filelist.template': `app\ncontent\nkeygate.config.json\npackage.json\ndist/package.json\n${options.templateExtra ?? ''}\n`,
    ...(options.files ?? {}),
  });
  const password = options.password ?? SENTINEL;
  const pwFile = join(dir, '.initial-password');
  writeFileSync(pwFile, password + '\n', { mode: 0o600 });
  const p12 = join(dir, 'keystore/keygate-demo.p12');
  if (options.keystore) {
    mkdirSync(dirname(p12), { recursive: true });
    writeFileSync(p12, options.keystore);
  } else {
    const created = keygate(dir, ['keystore', 'create', '--password-file', pwFile, '--out', 'keystore/keygate-demo.p12', '--key-size', String(options.keySize ?? 2048)]);
    if (created.code !== 0) throw new Error(`keystore create failed: ${created.stderr}`);
  }
  rmSync(pwFile);
  options.prepare?.(dir);
  const store = join(dir, 'dev/cspm/a2a-store.json');
  const gen = keygate(dir, ['generate-filelist']);
  if (gen.code !== 0) throw new Error(`generate-filelist failed: ${gen.stderr}`);
  const pin = keygate(dir, ['pin']);
  if (pin.code !== 0) throw new Error(`pin failed: ${pin.stderr}`);
  const entryHash = pin.stdout.trim().split('\n').pop()!;
  writeFileSync(
    store,
    JSON.stringify({ accounts: { 'keygate-demo': { userName: 'keystore', password } }, scripts: [{ path: join(dir, 'dist/main.js'), sha256: entryHash }] }, null, 2),
    { mode: 0o600 },
  );
  return { dir, crt: join(dir, 'keystore/keygate-demo.crt'), store, callLog: join(dir, 'dev/cspm/a2a-calls.log'), entryHash };
}

/** Calls the emulator received (alias, bypass, status, argv, env). */
export function vaultCalls(project: DemoProject): { alias: string; bypass: string; status: number; uid?: number; argv: string[]; env: Record<string, string> }[] {
  if (!existsSync(project.callLog)) return [];
  return readFileSync(project.callLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

export interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Starts `node dist/main.js serve` and waits for the URL line (or the exit). */
export function serve(dir: string, args: readonly string[] = [], env: Record<string, string> = {}, entry = 'dist/main.js'): Promise<Served> {
  const child = spawn(process.execPath, [entry, 'serve', ...args], { cwd: dir, env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolveServed, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start in 60 s\n${err}`));
    }, 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /https:\/\/[^\s]+:(\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveServed({
          child,
          url: m[0],
          port: Number(m[1]),
          stdout: () => out,
          stderr: () => err,
          exited,
          stop: async (signal = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
        });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`serve exited with ${code} before listening\n${err}`), { code, stderr: err, stdout: out }));
    });
  });
}

/** Runs serve expecting it to refuse: returns exit code and output. */
export async function serveRefused(dir: string, env: Record<string, string> = {}): Promise<RunResult> {
  try {
    const s = await serve(dir, [], env);
    await s.stop();
    throw new Error('serve started but was expected to refuse');
  } catch (err) {
    const e = err as { code?: number; stderr?: string; stdout?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** curl over real TLS, trusting only the given certificate. */
export function curl(url: string, cacert: string, extra: readonly string[] = []): RunResult {
  return run('curl', ['-sS', '--max-time', '20', '--cacert', cacert, ...extra, url]);
}

export interface DemoScript {
  readonly child: ChildProcess;
  /** What it printed so far (appended as it comes). */
  readonly output: { out: string; err: string };
  readonly exited: Promise<number | null>;
}

/** Starts `node scripts/<script> --root <root> --no-build -- --port 0` (npm run demo:*) with a minimal environment. */
export function startDemoScript(script: string, root: string): DemoScript {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', script), '--root', root, '--no-build', '--', '--port', '0'], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', LANG: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { out: '', err: '' };
  child.stdout!.on('data', (d: Buffer) => (output.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output.err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output, exited };
}
