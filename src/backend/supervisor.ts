// The backend process: started after verification, never given the secret, restarted with capped backoff,
// stopped as a process group. Its lifecycle (docs/backend.md):
//   start:   listen=unix → a fresh socket path in a keygate-owned 0700 folder, substituted for ${SOCKET};
//            listen=fd   → keygate binds 127.0.0.1:<port> and hands the listening socket over as fd 3.
//            The child gets its own process group (detached), an environment built only from
//            server.backend.env + passEnv, stdin closed, stdout/stderr into keygate's log (source=backend), and
//            with watchdog on it runs under `setpriv --pdeathsig TERM` so it is told to stop even if keygate
//            is SIGKILLed. Ready = an HTTP answer on its socket (readyPath: a 2xx/3xx there).
//   exit:    the tree is verified again (a restart re-reads the app's files), the group is killed (leftover
//            workers would keep serving a socket keygate no longer fronts), the proxy answers 502 meanwhile,
//            and the backend is restarted after initialDelayMs·2^(n-1) capped at maxDelayMs; n resets once it
//            stays up resetAfterMs; past maxRestarts keygate gives up (exit 6) so systemd's own policy takes over.
//   stop:    SIGTERM to the backend's main process (it stops its workers), stopTimeoutMs, then SIGKILL to the
//            group; whatever is left in the group then gets SIGTERM and SIGKILL; the runtime folder is removed.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { pinSocket } from '../adapters/pinned-socket.js';
import { signalGroup, sweepGroup, terminateGroup } from '../adapters/process-group.js';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BackendConfig } from '../core/config.js';
import { KeygateError, describeCause } from '../errors.js';
import type { Logger } from '../adapters/logger.js';

/** Where the proxy connects: a unix socket path or a loopback port. */
export type BackendTarget = { readonly socketPath: string } | { readonly host: string; readonly port: number };

/** util-linux, Essential on Debian: sets PR_SET_PDEATHSIG and execs the backend in place (same pid). */
const SETPRIV = '/usr/bin/setpriv';
/** Longest unix socket path Linux takes (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;
/** Longest backend log line passed on; a runaway line is cut, not buffered without end. */
const MAX_LOG_LINE = 4096;

export interface SupervisorOptions {
  readonly config: BackendConfig;
  /** The project folder (cwd is relative to it). */
  readonly base: string;
  readonly nodePath: string;
  /** keygate's own environment: only names in config.passEnv are copied from it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /** Called once when the backend keeps exiting and keygate must stop (BACKEND_GAVE_UP), or a re-check failed. */
  readonly onGiveUp: (err: KeygateError) => void;
  /**
   * Runs before every restart: a restart re-reads the app's files from disk, so they are verified again first
   * (throws the integrity error: keygate stops instead of starting code that changed since the first check).
   */
  readonly reverify?: () => Promise<void>;
  /**
   * Privilege separation (keygate runs as root here): the backend's uid/gid, and the gid of the user keygate
   * serves as, which alone may enter the socket folder besides the backend.
   */
  /** Told when the backend becomes ready (its pid) and when it goes down (undefined). */
  readonly onState?: (pid: number | undefined) => void;
  readonly separation?: { readonly backend: { readonly uid: number; readonly gid: number }; readonly serverGid: number };
}

/** Where the backend is in its lifecycle (createBackend): see the comment at its `state`. */
export type BackendState = 'starting' | 'up' | 'restarting' | 'stopping';

/** The least time between two restarts asked for (Backend.restart). */
export const RESTART_REQUEST_GAP_MS = 5_000;

export interface Backend {
  /** Where to connect, or undefined while the backend is down or restarting (the proxy answers 502). */
  target(): BackendTarget | undefined;
  /** pid of the running backend (its process group id too). */
  pid(): number | undefined;
  /** First start: resolves when ready; throws BACKEND_START_FAILED / BACKEND_NOT_READY (nothing left running). */
  start(signal?: AbortSignal): Promise<void>;
  /** Stops the backend and its group (SIGTERM, grace, SIGKILL) and removes the runtime folder. Idempotent. */
  stop(): Promise<void>;
  /**
   * A restart asked for (the admin channel's restart-backend): SIGTERM to a backend that is up, then it starts
   * again with the tree verified first. Not a crash: no backoff, not counted toward maxRestarts. At most one per
   * RESTART_REQUEST_GAP_MS; others are logged and ignored.
   */
  restart(): void;
}

/** The backend's whole environment: explicit values and allow-listed names, nothing else (no secret is ever here). */
export function backendEnv(config: BackendConfig, parent: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of config.passEnv) {
    const v = parent[name];
    if (v !== undefined) env[name] = v;
  }
  // __pycache__ policy: an interpreter that writes compiled files into the tree would make the next start refuse
  // with "new" files; Python is told not to, unless the config says otherwise.
  env['PYTHONDONTWRITEBYTECODE'] = '1';
  Object.assign(env, config.env);
  return env;
}

/** argv with ${SOCKET} and ${NODE} substituted. */
export function backendArgv(config: BackendConfig, vars: { socket?: string; node: string }): string[] {
  return config.command.map((a) => a.replaceAll('${NODE}', vars.node).replaceAll('${SOCKET}', vars.socket ?? '${SOCKET}'));
}

/**
 * The runtime folder the backend's socket goes in, and the folder keygate removes at stop (never recursively).
 * Separated: `<root's 0711 folder>/b/backend.sock`. The outer folder is root's (others may only pass through),
 * so the backend can neither rename nor replace the inner one, and root's unlink and rmdir at stop resolve
 * through folders the backend cannot swap for a symlink. The inner folder is the backend's (it binds the socket
 * there), group = the serving user's, mode 0710: the serving user (and root, which carries that group, see
 * separation.ts) may pass through, nobody else may enter. No setgid bit (systemd's RestrictSUIDSGID= refuses
 * one) and no DAC override (the unit's capability set has none): root works in `b/` only as its group member,
 * takes the folder back (chown, CAP_CHOWN) before it unlinks anything there (reclaimRuntimeDir), and gives the
 * socket the serving group itself once it is pinned (probe).
 * Else: systemd's RuntimeDirectory= when set, or a fresh 0700 folder under the temp dir.
 */
interface RuntimeDir {
  /** Where backend.sock goes. */
  readonly dir: string;
  /** Folders keygate made, innermost first: removed with rmdir at stop (a folder the backend filled is left). */
  readonly made: readonly string[];
}

function makeRuntimeDir(env: Readonly<Record<string, string | undefined>>, separation: SupervisorOptions['separation']): RuntimeDir {
  const systemd = env['RUNTIME_DIRECTORY']?.split(':')[0];
  if (separation) {
    const outer = mkdtempSync(join(systemd ?? tmpdir(), 'keygate-backend-')); // 0700, root's; fresh: nothing planted
    const inner = join(outer, 'b');
    mkdirSync(inner, { mode: 0o700 });
    chmodSync(inner, 0o710); // while root still owns it: no CAP_FOWNER needed
    chownSync(inner, separation.backend.uid, separation.serverGid);
    chmodSync(outer, 0o711); // passed through by both users; b/ decides who enters
    return { dir: inner, made: [inner, outer] };
  }
  if (systemd) {
    const st = statSync(systemd);
    if ((st.mode & 0o077) !== 0 || (process.getuid && st.uid !== process.getuid())) {
      throw new KeygateError('BACKEND_START_FAILED', `failed to use RUNTIME_DIRECTORY ${systemd}: it must be owned by this user and mode 0700`, {
        hint: 'set RuntimeDirectoryMode=0700 in the systemd unit',
      });
    }
    return { dir: systemd, made: [] };
  }
  const dir = mkdtempSync(join(tmpdir(), 'keygate-backend-')); // mkdtemp makes it 0700
  return { dir, made: [dir] };
}

/**
 * Separated: the backend's folder back to root (CAP_CHOWN; root has no DAC override under the unit), the
 * socket the last run left unlinked as its owner, and, for a next run, the folder the backend's again. Runs
 * only while no backend runs; a worker that escaped the group loses its write right with the first chown.
 */
function reclaimRuntimeDir(dir: string, separation: SupervisorOptions['separation'], handBack: boolean): void {
  if (separation) chownSync(dir, 0, separation.serverGid);
  unlinkIfThere(join(dir, 'backend.sock'));
  if (separation && handBack) chownSync(dir, separation.backend.uid, separation.serverGid);
}

/** unlink that does not mind a missing file (it never follows a symlink in the last component). */
function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export function createBackend(options: SupervisorOptions): Backend {
  const { config, log } = options;
  const cwd = resolve(options.base, config.cwd);
  const env = backendEnv(config, options.env);
  const { separation } = options;
  // Separated, setpriv is not optional: it sets no_new_privs (no setuid program can lift the backend back up).
  const watchdog = (config.watchdog || separation !== undefined) && existsSync(SETPRIV);
  if (separation && !watchdog) {
    throw new KeygateError('BACKEND_USER_INVALID', `failed to start the backend as its own user: ${SETPRIV} is missing (it sets no_new_privs for the backend)`, { hint: 'apt-get install util-linux' });
  }
  if (config.watchdog && !watchdog) log.warn(`${SETPRIV} is missing: the backend will outlive keygate if keygate is killed with SIGKILL (KillMode=control-group covers it)`, { gate: 'backend' });

  // The backend's state, explicit: 'starting' (first start, not ready yet), 'up' (ready: the proxy connects to
  // `current`), 'restarting' (exited or asked to restart: 502 until the next run is ready), 'stopping' (stop()
  // was called: nothing restarts any more). Only runOnce makes it 'up'; only stop() makes it 'stopping'.
  let state: BackendState = 'starting';
  /** The socket folder (listen: unix), made once, kept across runs, removed at stop. */
  let runtime: RuntimeDir | undefined;
  /** The current run: its process and, while up, where to connect. */
  let child: ChildProcess | undefined;
  let current: BackendTarget | undefined;
  /** Crash restarts since the backend last stayed up resetAfterMs, the run's start time, the pending restart. */
  let restarts = 0;
  let startedAt = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  /** listen: fd: the port of the last run, taken again when it is still free. */
  let lastPort = 0;
  /** The pid a restart was asked for (its exit is not a crash), and when the last request was taken. */
  let requestedPid: number | undefined;
  let lastRequest = 0;
  const onProcessExit = (): void => killGroup('SIGKILL'); // last resort when keygate exits without stop()

  function killGroup(sig: NodeJS.Signals): void {
    if (child?.pid !== undefined) signalGroup(child.pid, sig);
  }

  /** Binds the loopback socket handed over as fd 3 (the port of the last run when it is still free). */
  async function bindLoopback(): Promise<net.Server> {
    const listen = (port: number) =>
      new Promise<net.Server>((ok, fail) => {
        const s = net.createServer();
        s.once('error', fail);
        s.listen({ host: '127.0.0.1', port, backlog: 511 }, () => ok(s));
      });
    try {
      return await listen(lastPort);
    } catch (err) {
      if (lastPort === 0) throw err;
      return listen(0); // someone took the old port while the backend was down: never connect to theirs
    }
  }

  /** Spawns one run of the backend; resolves when it is ready, rejects (with the group killed) when it is not. */
  async function runOnce(signal?: AbortSignal): Promise<void> {
    let socketPath: string | undefined;
    let listener: net.Server | undefined;
    if (config.listen === 'unix') {
      runtime ??= makeRuntimeDir(options.env, separation);
      socketPath = join(runtime.dir, 'backend.sock');
      if (socketPath.length > MAX_SOCKET_PATH) {
        throw new KeygateError('BACKEND_START_FAILED', `failed to start the backend: the socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes`, {
          hint: 'set TMPDIR (or RuntimeDirectory=) to a shorter folder',
        });
      }
      reclaimRuntimeDir(runtime.dir, separation, true); // a socket left by the previous run
    } else {
      listener = await bindLoopback();
    }
    const argv = backendArgv(config, { socket: socketPath, node: options.nodePath });
    const [file, ...args] = watchdog ? [SETPRIV, ...(separation ? ['--no-new-privs'] : []), '--pdeathsig', 'TERM', '--', ...argv] : argv;
    // The listening socket goes to the child as fd 3 by number: Node takes a net.Server in stdio only as a
    // readable stream (it pauses it after the spawn), so the handle's fd is used (Linux/macOS: libuv exposes it).
    const fd = listener ? (listener as unknown as { _handle?: { fd?: number } })._handle?.fd : undefined;
    if (listener && (typeof fd !== 'number' || fd < 0)) {
      listener.close();
      throw new KeygateError('BACKEND_START_FAILED', 'failed to start the backend: this Node cannot hand over a listening socket as fd 3', {
        hint: 'set server.backend.listen to "unix"',
      });
    }
    if (listener) lastPort = (listener.address() as net.AddressInfo).port;
    let proc: ChildProcess;
    // Separated: a umask that leaves the socket the backend creates usable by keygate's group (the folder keeps
    // everyone else out); umask is per process, so it is set for the spawn only.
    const umask = separation ? process.umask(0o007) : undefined;
    try {
      proc = spawn(file!, args, {
        cwd,
        env,
        detached: true, // its own process group: stop() signals the workers too
        stdio: ['ignore', 'pipe', 'pipe', ...(fd !== undefined ? [fd] : [])],
        // libuv drops supplementary groups, then sets gid and uid before exec: root's capabilities go with them.
        ...(separation ? { uid: separation.backend.uid, gid: separation.backend.gid } : {}),
      });
    } finally {
      if (umask !== undefined) process.umask(umask);
      // The child holds its own copy of the listening socket; keygate must not accept on it. close() runs in
      // the same tick as spawn, before the event loop could poll the socket.
      listener?.close();
    }
    child = proc;
    const target: BackendTarget = socketPath ? { socketPath } : { host: '127.0.0.1', port: lastPort };
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((r) => {
      proc.once('exit', (code, sig) => r({ code, signal: sig }));
      proc.once('error', (error) => r({ code: null, signal: null, error }));
    });
    pipeLog(proc, log);
    process.once('exit', onProcessExit);
    if (proc.pid === undefined) {
      const { error } = await exited;
      throw new KeygateError('BACKEND_START_FAILED', `failed to start the backend ${argv[0]}: ${error ? describeCause(error) : 'no pid'}`, {
        hint: `check server.backend.command and server.backend.cwd (${cwd})`,
      });
    }
    log.info(`backend started: pid ${proc.pid}, ${socketPath ? `unix socket ${socketPath}` : `fd 3 = 127.0.0.1:${lastPort}`}`, { gate: 'backend', pid: proc.pid });

    const ready = await Promise.race([
      waitReady(target, config, signal, separation && { uid: separation.backend.uid, gid: separation.serverGid }).then((r) => ({ ready: r })),
      exited.then((e) => ({ exited: e })),
    ]);
    if ('exited' in ready) {
      process.off('exit', onProcessExit);
      killGroup('SIGKILL');
      const e = ready.exited;
      throw new KeygateError(
        'BACKEND_START_FAILED',
        `failed to start the backend: ${argv[0]} ${e.error ? describeCause(e.error) : e.signal ? `was killed by ${e.signal}` : `exited with status ${e.code}`} before it was ready`,
        {
          // fd://3 is the socket keygate hands over: a shell has no fd 3, so by hand the backend binds a free port
          hint: `read its source=backend lines above, or run it by hand: cd ${cwd} && ${argv.map((a) => a.replaceAll('fd://3', '127.0.0.1:0')).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ')}`,
        },
      );
    }
    if (ready.ready !== true) {
      killGroup('SIGKILL');
      await exited;
      process.off('exit', onProcessExit);
      if (ready.ready === 'aborted') return;
      throw new KeygateError('BACKEND_NOT_READY', `failed to start the backend: no answer on ${socketPath ?? `127.0.0.1:${lastPort}`} within ${config.readyTimeoutMs} ms${ready.ready}`, {
        hint: config.listen === 'unix' ? 'make the backend listen on the ${SOCKET} path keygate passes, or raise server.backend.readyTimeoutMs' : 'make the backend serve on fd 3 (gunicorn --bind fd://3), or raise server.backend.readyTimeoutMs',
      });
    }
    current = target;
    state = 'up';
    startedAt = Date.now();
    log.info(`backend ready: pid ${proc.pid}`, { gate: 'backend', pid: proc.pid });
    options.onState?.(proc.pid);
    void exited.then((e) => onExit(proc, e));
  }

  function onExit(proc: ChildProcess, e: { code: number | null; signal: NodeJS.Signals | null }): void {
    if (child !== proc) return;
    process.off('exit', onProcessExit);
    if (state !== 'stopping') state = 'restarting';
    current = undefined;
    options.onState?.(undefined);
    killGroup('SIGKILL'); // workers the main process left behind
    if (state === 'stopping') return;
    const how = e.signal ? `was killed by ${e.signal}` : `exited with status ${e.code}`;
    if (requestedPid !== undefined && requestedPid === proc.pid) {
      requestedPid = undefined;
      log.info(`backend pid ${proc.pid} ${how} on request; answering 502 until it is up again`, { gate: 'backend' });
      reverifyAndRestart();
      return;
    }
    if (Date.now() - startedAt >= config.restart.resetAfterMs) restarts = 0;
    restarts += 1;
    if (restarts > config.restart.maxRestarts) {
      const err = new KeygateError('BACKEND_GAVE_UP', `backend pid ${proc.pid} ${how}: ${config.restart.maxRestarts} restarts did not keep it up, stopping`, {
        hint: 'read the backend log lines above (source=backend), fix the app, then start keygate again',
      });
      options.onGiveUp(err);
      return;
    }
    const delay = Math.min(config.restart.initialDelayMs * 2 ** (restarts - 1), config.restart.maxDelayMs);
    log.error(`backend pid ${proc.pid} ${how}; answering 502 and restarting in ${delay} ms (restart ${restarts} of ${config.restart.maxRestarts})`, { gate: 'backend' });
    restartTimer = setTimeout(() => reverifyAndRestart(), delay);
  }

  /** The tree verified again (a restart re-reads the app's files), then the backend started. */
  function reverifyAndRestart(): void {
    restartTimer = undefined;
    if (state === 'stopping') return;
    const checked = options.reverify ? options.reverify() : Promise.resolve();
    checked.then(
      () => restart(),
      (err: unknown) => {
        if (state === 'stopping') return;
        log.error(`backend not restarted: the check before it failed: ${err instanceof KeygateError ? err.message : describeCause(err)}`, { gate: 'backend' });
        options.onGiveUp(err instanceof KeygateError ? err : new KeygateError('INTERNAL', describeCause(err)));
      },
    );
  }

  function restart(): void {
    if (state === 'stopping') return;
    runOnce().catch((err: unknown) => {
      log.error(`backend restart failed: ${err instanceof KeygateError ? err.message : describeCause(err)}`, { gate: 'backend' });
      // A run that never got ready counts like an exit.
      if (state === 'restarting') onExit(child!, { code: null, signal: null });
    });
  }

  return {
    target: () => (state === 'up' ? current : undefined),
    pid: () => (state === 'up' ? child?.pid : undefined),
    restart() {
      // Each restart re-verifies the tree: a flood of requests must not become a load, nor a restart loop.
      if (state !== 'up' || child?.pid === undefined || Date.now() - lastRequest < RESTART_REQUEST_GAP_MS) {
        log.warn('a restart request was ignored: the backend is restarting, or was restarted moments ago', { gate: 'backend' });
        return;
      }
      lastRequest = Date.now();
      requestedPid = child.pid;
      log.info(`restarting the backend (pid ${child.pid}) on request`, { gate: 'backend' });
      process.kill(child.pid, 'SIGTERM');
    },
    async start(signal) {
      try {
        await runOnce(signal);
      } catch (err) {
        cleanupRuntime();
        throw err;
      }
    },
    async stop() {
      state = 'stopping';
      if (restartTimer) clearTimeout(restartTimer);
      const proc = child;
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        // SIGTERM to the leader first, as systemd's KillMode=mixed does: a master (gunicorn, uwsgi) stops its
        // own workers gracefully; workers signalled directly die mid-request and gunicorn 20's master then
        // logs a traceback. After stopTimeoutMs the whole group gets SIGKILL.
        const gone = new Promise<void>((r) => proc.once('exit', () => r()));
        if (!(await terminateGroup(proc.pid!, { leaderOnly: true, graceMs: config.stopTimeoutMs, ended: gone }))) await gone;
        log.info(`backend pid ${proc.pid} stopped`, { gate: 'backend' });
      }
      // Anything left in the group after its leader is gone (children it did not stop): SIGTERM, a moment, SIGKILL.
      if (child?.pid !== undefined) await sweepGroup(child.pid);
      process.off('exit', onProcessExit);
      current = undefined;
      cleanupRuntime();
    },
  };

  // Never a recursive removal: under separation the backend owns the inner folder and could plant a symlink
  // for root to follow. The socket is unlinked, the folders keygate made are rmdir'ed, and one the
  // backend left files in stays, with a warning.
  function cleanupRuntime(): void {
    if (!runtime) return;
    const { dir, made } = runtime;
    runtime = undefined;
    try {
      reclaimRuntimeDir(dir, separation, false);
      for (const d of made) rmdirSync(d);
    } catch (err) {
      log.warn(`the backend's runtime folder ${dir} was left in place: ${describeCause(err)}`, { gate: 'backend' });
    }
  }
}

/** Backend stdout/stderr into keygate's log, a line at a time; bytes past MAX_LOG_LINE are dropped as they arrive. */
function pipeLog(proc: ChildProcess, log: Logger): void {
  for (const [stream, name] of [
    [proc.stdout, 'stdout'],
    [proc.stderr, 'stderr'],
  ] as const) {
    if (!stream) continue;
    const split = lineSplitter(MAX_LOG_LINE, (line) => log.info(line, { source: 'backend', stream: name }));
    stream.on('data', (chunk: Buffer) => split.push(chunk));
    stream.on('end', () => split.end());
  }
}

/**
 * Splits a byte stream into lines while it is read, holding at most `max` bytes: a line longer than that is
 * passed on cut (with …) and the rest of it dropped up to its newline, so a backend that never writes a newline
 * cannot grow the heap of the process that holds the key.
 */
export function lineSplitter(max: number, emit: (line: string) => void): { push(chunk: Buffer): void; end(): void; held(): number } {
  let held: Buffer[] = [];
  let size = 0;
  let dropping = false;
  const flush = (cut: boolean): void => {
    const text = Buffer.concat(held).toString('utf8').replace(/\r$/, '');
    held = [];
    size = 0;
    emit(cut ? `${text}…` : text);
  };
  return {
    push(chunk) {
      let from = 0;
      while (from < chunk.length) {
        const nl = chunk.indexOf(0x0a, from);
        const stop = nl === -1 ? chunk.length : nl;
        if (!dropping) {
          const take = Math.min(stop - from, max - size);
          if (take > 0) {
            held.push(chunk.subarray(from, from + take));
            size += take;
          }
          if (stop - from > take) {
            flush(true); // over the limit: pass on what is held, drop the rest of this line
            dropping = true;
          }
        }
        if (nl === -1) return;
        if (dropping) dropping = false;
        else flush(false);
        from = nl + 1;
      }
    },
    end() {
      if (size > 0) flush(false);
    },
    held: () => size,
  };
}

/** Separated: the socket's owner (the backend) and the group that must reach it (the serving user's). */
type SocketOwner = { readonly uid: number; readonly gid: number };

/**
 * Polls until the backend answers HTTP (true), the time is up (a reason), or the signal aborts ('aborted').
 * With `owner` (separated) each probe goes to the pinned socket, never through a path the backend controls.
 */
async function waitReady(target: BackendTarget, config: BackendConfig, signal?: AbortSignal, owner?: SocketOwner): Promise<true | string> {
  const deadline = Date.now() + config.readyTimeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (signal?.aborted) return 'aborted';
    const r = await probe(target, config.readyPath ?? '/', Math.max(100, Math.min(2_000, deadline - Date.now())), owner);
    if (typeof r === 'number') {
      if (config.readyPath === undefined || (r >= 200 && r < 400)) return true;
      last = ` (${config.readyPath} answered ${r})`;
    } else last = r ? ` (${r})` : last;
    await new Promise((ok) => setTimeout(ok, 50));
  }
  return last;
}

/**
 * One GET; the status, or the error code ('' while the socket does not exist yet). Separated, the pinned socket
 * is given the serving user's group first (the backend made it with its own group and umask 007): through the
 * pinned inode, so nothing the backend puts at the path is changed.
 */
function probe(target: BackendTarget, path: string, timeoutMs: number, owner?: SocketOwner): Promise<number | string> {
  let to = target;
  let release = (): void => undefined;
  if ('socketPath' in target && owner !== undefined) {
    try {
      const pinned = pinSocket(target.socketPath, owner.uid);
      release = () => pinned.close();
      try {
        chownSync(pinned.path, -1, owner.gid);
      } catch (err) {
        release();
        throw err;
      }
      to = { socketPath: pinned.path };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return Promise.resolve(e.code === 'ENOENT' ? '' : e.message);
    }
  }
  return new Promise<number | string>((done) => {
    // An absolute deadline, not only the socket's idle timeout: a backend that trickles a header byte at a time
    // would otherwise hold the probe (and the start, and a stop waiting on it) open for hours.
    const deadline = setTimeout(() => req.destroy(new Error('timed out')), timeoutMs);
    const req = http.request({ ...to, path, method: 'GET', agent: false, timeout: timeoutMs, headers: { 'user-agent': 'keygate-readiness' } }, (res) => {
      clearTimeout(deadline);
      res.destroy(); // the status is all the probe needs; a body streamed without end is not read
      done(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(deadline);
      done(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? '' : describeCause(err));
    });
    req.end();
  }).finally(release);
}
