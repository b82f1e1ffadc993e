// Privilege separation (docs/backend.md#privilege-separation). keygate starts as root and splits in two before
// the vault is asked:
//   supervisor (this module, root, never holds the secret): verifies, starts the backend as server.backend.user,
//     restarts it (verified again first), and starts the serving process;
//   server (a fresh `node <entry> serve` as server.user): verifies again, asks the vault, unlocks, listens and
//     proxies to the backend's socket.
// Different uids: the kernel refuses the backend keygate's memory, environ, keystore and runtime folder. A fresh
// exec rather than setuid in place, so the vault's client sees the registered entry as a normal process, and
// only the root half can still start and signal the backend.

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { EXIT, KeygateError, describeCause, type ExitStatus } from '../errors.js';
import { pinSocket, type PinnedSocket } from '../adapters/pinned-socket.js';
import type { BackendConfig } from '../core/config.js';
import type { Logger } from '../adapters/logger.js';
import type { Backend } from './supervisor.js';
import { separationIdentities, type Identity } from './identity.js';

export { separationIdentities };

const SETPRIV = '/usr/bin/setpriv';
/** The serving process finds the backend's socket and its control channel (fd 3) by these two names. */
export const SOCKET_ENV = 'KG_BACKEND_SOCKET';
/** The backend's uid: the serving process connects only to a socket of that uid, pinned (adapters/pinned-socket). */
export const SOCKET_UID_ENV = 'KG_BACKEND_UID';
export const CONTROL_FD_ENV = 'KG_CONTROL_FD';
const CONTROL_FD = 3;

/** One line on the control channel. Supervisor → server: the backend's state; server → supervisor: restart. */
export type ControlMessage = { backend: 'up'; pid: number } | { backend: 'down' } | { restart: true };

export function parseControlLine(line: string): ControlMessage | undefined {
  try {
    const m = JSON.parse(line) as Record<string, unknown>;
    if (m['backend'] === 'up' && Number.isInteger(m['pid'])) return { backend: 'up', pid: m['pid'] as number };
    if (m['backend'] === 'down') return { backend: 'down' };
    if (m['restart'] === true) return { restart: true };
  } catch {
    /* not JSON: ignored */
  }
  return undefined;
}

/** Calls `on` for each line of a stream. Lines are short and from keygate itself; longer ones are dropped. */
function readLines(stream: NodeJS.ReadableStream, on: (line: string) => void): void {
  let buf = '';
  stream.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    if (buf.length > 4096 && !buf.includes('\n')) buf = '';
    let nl: number;
    while ((nl = buf.indexOf('\n')) !== -1) {
      on(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

export interface SupervisorRun {
  readonly backendConfig: BackendConfig;
  readonly identities: { readonly server: Identity; readonly backend: Identity };
  readonly base: string;
  readonly nodePath: string;
  readonly entry: string;
  readonly argv: readonly string[];
  readonly execArgv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  readonly signal?: AbortSignal;
  readonly onReload?: (listener: () => void) => void;
  readonly reverify: () => Promise<void>;
}

/** The root half: backend first, then the serving process; resolves with the serving process's exit status. */
export async function superviseSeparated(run: SupervisorRun): Promise<ExitStatus> {
  const { log, identities } = run;
  if (process.getuid?.() !== 0) {
    throw new KeygateError('BACKEND_USER_INVALID', `failed to start the backend as ${identities.backend.name}: keygate runs as uid ${process.getuid?.()}, not root, so it cannot switch users`, {
      hint: 'start keygate as root (the systemd unit keygate init --backend writes); it serves as server.user from before the vault is asked',
    });
  }
  // Root here has no DAC override (the unit's capability set): it reaches the backend's socket folder (b/, 0710,
  // the serving user's group) as a member of that group, and of no other. The children set their own groups.
  process.setgroups?.([identities.server.gid]);
  let server: ChildProcess | undefined;
  let gaveUp: KeygateError | undefined;
  const send = (m: ControlMessage): void => {
    const ch = server?.stdio[CONTROL_FD] as NodeJS.WritableStream | undefined;
    if (ch && server?.exitCode === null) ch.write(`${JSON.stringify(m)}\n`);
  };
  const { createBackend } = await import('./supervisor.js'); // a part of its own (scripts/build.mjs)
  const backend: Backend = createBackend({
    config: run.backendConfig,
    base: run.base,
    nodePath: run.nodePath,
    env: run.env,
    log,
    separation: { backend: identities.backend, serverGid: identities.server.gid },
    onState: (pid) => send(pid === undefined ? { backend: 'down' } : { backend: 'up', pid }),
    onGiveUp: (err) => {
      gaveUp = err;
      server?.kill('SIGTERM');
    },
    reverify: run.reverify,
  });
  await backend.start(run.signal);
  const socketPath = (backend.target() as { socketPath?: string } | undefined)?.socketPath;
  if (run.signal?.aborted || socketPath === undefined) {
    await backend.stop();
    return EXIT.OK;
  }

  // The serving process: setpriv as root sets its uid, gid and groups, SIGTERM for it if this half dies, and
  // no_new_privs: no setuid program it runs (the vault client included) gets the root half's capabilities back.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(run.env)) if (v !== undefined) env[k] = v;
  env[SOCKET_ENV] = socketPath;
  env[SOCKET_UID_ENV] = String(identities.backend.uid);
  env[CONTROL_FD_ENV] = String(CONTROL_FD);
  const s = identities.server;
  const groups = s.hasPasswdEntry ? ['--init-groups'] : ['--clear-groups'];
  const argv = [SETPRIV, `--reuid=${s.uid}`, `--regid=${s.gid}`, ...groups, '--no-new-privs', '--pdeathsig', 'TERM', '--', run.nodePath, ...run.execArgv, run.entry, ...run.argv];
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
  server = child;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => {
    child.once('exit', (code, signal) => r({ code, signal }));
    child.once('error', () => r({ code: EXIT.INTERNAL, signal: null }));
  });
  log.info(`serving as ${s.name} (uid ${s.uid}): pid ${child.pid}; backend as ${identities.backend.name} (uid ${identities.backend.uid})`, { gate: 'separation', pid: child.pid });
  const ch = child.stdio[CONTROL_FD];
  if (ch) {
    ch.on('error', () => undefined); // the serving process exiting closes it: the exit is handled below
    // The serving half may ask for restarts; the supervisor takes one while the backend is up, at most one per
    // RESTART_REQUEST_GAP_MS (supervisor.ts), and ignores the rest.
    readLines(ch as NodeJS.ReadableStream, (line) => {
      const m = parseControlLine(line);
      if (m && 'restart' in m) backend.restart();
    });
  }
  const pid = backend.pid();
  if (pid) send({ backend: 'up', pid });
  run.onReload?.(() => child.kill('SIGHUP'));
  const stop = (): void => {
    child.kill('SIGTERM'); // it drains, then exits; the backend is stopped after it
  };
  run.signal?.addEventListener('abort', stop, { once: true });
  const e = await exited;
  run.signal?.removeEventListener('abort', stop);
  await backend.stop();
  if (gaveUp) throw gaveUp;
  if (e.signal) {
    log.error(`the serving process was killed by ${e.signal}`, { gate: 'separation' });
    return EXIT.INTERNAL;
  }
  return (e.code ?? EXIT.INTERNAL) as ExitStatus;
}

/** The serving half's view of a backend the root half runs: its socket, and its state from the control channel. */
export function separatedBackend(env: Readonly<Record<string, string | undefined>>, controlFd: number, log: Logger): Backend {
  const socketPath = env[SOCKET_ENV]!;
  const ownerUid = Number(env[SOCKET_UID_ENV]);
  const ch = new net.Socket({ fd: controlFd, readable: true, writable: true });
  ch.on('error', () => undefined);
  // The socket lives in the backend's folder: the path is pinned to the socket inode the backend bound (of its
  // uid, not a symlink) each time it comes up, and the proxy connects to that inode only.
  let pinned: PinnedSocket | undefined;
  const pin = (): void => {
    pinned?.close();
    pinned = undefined;
    try {
      pinned = pinSocket(socketPath, ownerUid);
    } catch (err) {
      log.error(`backend socket refused, answering 502: ${describeCause(err)}`, { gate: 'backend' });
    }
  };
  let up = true;
  let pid: number | undefined;
  pin();
  readLines(ch, (line) => {
    const m = parseControlLine(line);
    if (!m || 'restart' in m) return;
    up = m.backend === 'up';
    pid = m.backend === 'up' ? m.pid : undefined;
    if (up) pin();
  });
  // The supervisor's death ends this process too (pdeathsig); the channel must not keep the loop alive alone.
  ch.unref();
  return {
    target: () => (up && pinned ? { socketPath: pinned.path } : undefined),
    pid: () => (up ? pid : undefined),
    start: async () => undefined,
    stop: async () => {
      ch.destroy();
      pinned?.close();
    },
    restart: () => {
      log.info('asking the supervisor to restart the backend', { gate: 'backend' });
      ch.write(`${JSON.stringify({ restart: true } satisfies ControlMessage)}\n`);
    },
  };
}
