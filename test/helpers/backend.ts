// Helpers for backend-mode tests: demo projects whose app is a real backend process (Flask under gunicorn,
// Express 5, a plain http.server app), the backend's pid from keygate's log, and raw TLS requests that curl
// will not send (Transfer-Encoding with Content-Length, an Upgrade handshake).

import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { spawnSync } from 'node:child_process';
import { findSymlinkedFolders } from '../../src/adapters/symlinked-folders.js';
import { symlinkLines } from '../../src/core/template.js';
import { ROOT, demoProject, tempDir, type DemoProject, type Served } from './project.js';

/** Debian's python3: the one python3-flask and gunicorn are installed for. */
export const PYTHON = '/usr/bin/python3';

/**
 * Why a peer's tests cannot run on this machine (a skip reason naming the install), or undefined. .ci/run
 * installs every peer, so in CI none is skipped; on a fresh machine `npm test` still passes and says what to add.
 */
export function missingPeer(kind: 'python' | 'flask'): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing: apt-get install python3`;
  if (kind === 'flask') {
    for (const [dir, pkg] of [['/usr/lib/python3/dist-packages/flask', 'python3-flask'], ['/usr/lib/python3/dist-packages/gunicorn', 'gunicorn']] as const) {
      if (!existsSync(dir)) return `${dir} is missing: apt-get install ${pkg}`;
    }
  }
  return undefined;
}
const FIXTURES = join(ROOT, 'test/fixtures/backends');

export interface BackendProject extends DemoProject {
  /** A file outside the verified tree where the backend writes "started <pid>" (proof it ran). */
  readonly mark: string;
}

export type BackendKind = 'flask' | 'express' | 'plain';

/** The Python folders a Flask/gunicorn app loads from (stdlib, Debian's site-packages), listed whole. */
const PYTHON_FOLDERS = ['/usr/lib/python3.11', '/usr/lib/python3/dist-packages'];
/** With the lines init --python writes for symlinked folders in them (python3-babel's locale-data on a stock host). */
const PYTHON_TEMPLATE = ['${BACKEND}', ...PYTHON_FOLDERS, ...symlinkLines(findSymlinkedFolders(PYTHON_FOLDERS.filter((d) => existsSync(d))).folders)].join('\n') + '\n';

/** Installs Express 5 into dir/node_modules from the npm cache (the repo's devDependency keeps it warm). */
export function installExpress(dir: string): void {
  const version = JSON.parse(readFileSync(join(ROOT, 'node_modules/express/package.json'), 'utf8')).version as string;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'kg-express-backend', private: true }) + '\n');
  const r = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', `express@${version}`], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (r.status !== 0) throw new Error(`npm install express failed: ${r.stderr}`);
}

/** A demo project served by a backend of the given kind; backend settings override the defaults here. */
export function backendProject(
  kind: BackendKind,
  backend: Record<string, unknown> = {},
  extra: { templateExtra?: string; files?: Record<string, string>; server?: Record<string, unknown> } = {},
): BackendProject {
  const markDir = tempDir('kg-mark-');
  const mark = join(markDir, 'started');
  const env = { KG_MARK: mark, KG_CLIENT: 'dev/cspm/cspmclient/bin64/cspmclient64' };
  const common = { env, restart: { initialDelayMs: 1500, maxDelayMs: 4000, maxRestarts: 3, resetAfterMs: 60_000 }, stopTimeoutMs: 5000 };
  let settings: Record<string, unknown>;
  let files: Record<string, string>;
  let template: string;
  if (kind === 'flask') {
    files = { 'backend/app.py': readFileSync(join(FIXTURES, 'flask_app.py'), 'utf8') };
    template = `backend\n${PYTHON_TEMPLATE}`;
    settings = { command: [PYTHON, '-m', 'gunicorn', '--bind', 'fd://3', '--workers', '2', '--access-logfile', '-', 'app:app'], cwd: 'backend', listen: 'fd', readyPath: '/hello' };
    // The app runs the client by a path relative to the project in /steal.
    (env as Record<string, string>)['KG_CLIENT'] = '../dev/cspm/cspmclient/bin64/cspmclient64';
  } else if (kind === 'plain') {
    files = { 'backend/app.py': readFileSync(join(FIXTURES, 'plain_app.py'), 'utf8') };
    template = `backend\n\${BACKEND}\n/usr/lib/python3.11\n`;
    settings = { command: [PYTHON, 'app.py'], cwd: 'backend', listen: 'fd' };
  } else {
    files = { 'express/app.js': readFileSync(join(FIXTURES, 'express_app.js'), 'utf8') };
    template = 'express\n${BACKEND}\n';
    settings = { command: ['${NODE}', 'app.js', '${SOCKET}'], cwd: 'express', listen: 'unix', readyPath: '/hello' };
  }
  const project = demoProject({
    files: { ...files, ...(extra.files ?? {}) },
    templateExtra: template + (extra.templateExtra ?? ''),
    config: { server: { handler: undefined, staticDir: undefined, ...(extra.server ?? {}), backend: { ...common, ...settings, ...backend } } },
    prepare: kind === 'express' ? (dir) => installExpress(join(dir, 'express')) : undefined,
  });
  return { ...project, mark };
}

/** Copies the fixture app of a kind (for tests that build their own project). */
export function copyFixture(name: string, to: string): void {
  mkdirSync(join(to, '..'), { recursive: true });
  cpSync(join(FIXTURES, name), to);
}

/** Polls fn until it returns a truthy value or the time is up. */
export async function waitFor<T>(fn: () => T | undefined | false, ms = 20_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pid of the n-th backend start logged by keygate (1 = first). */
export function backendPid(s: Served, nth = 1): number | undefined {
  const all = [...s.stderr().matchAll(/backend ready: pid (\d+)/g)];
  return all[nth - 1] ? Number(all[nth - 1]![1]) : undefined;
}

/** True while the process (or, with a negative number, the process group) exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Raw bytes over TLS (trusting ca): returns everything the server sent until it closed or ms passed. */
export function rawTls(port: number, ca: string, payload: string, ms = 5_000, onData?: (sofar: string, send: (s: string) => void) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(ca) }, () => sock.write(payload));
    let got = '';
    const timer = setTimeout(() => sock.destroy(), ms);
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      onData?.(got, (s) => sock.write(s));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    sock.on('error', (err) => (got ? resolve(got) : reject(err)));
  });
}

export function markLines(p: BackendProject): string[] {
  return existsSync(p.mark) ? readFileSync(p.mark, 'utf8').split('\n').filter(Boolean) : [];
}
