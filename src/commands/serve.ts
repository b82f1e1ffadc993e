// serve: the gated launch. The order is the whole point and is enforced here, step by step:
//   1. refuse a runtime that loads code before us (NODE_OPTIONS --require/--import, -r, --loader)
//   2. verify: manifest sha256 == pin, every file == manifest, no new files   (else exit 3, vault not asked)
//   3. read keygate.config.json from verified bytes
//   4. load the request handler from verified bytes (before any secret is in the process), or, in backend mode,
//      check the backend's program is in the manifest and its settings hold (docs/backend.md)
//   5. ask the vault for the keystore password (bypassCache=false)
//   6. unlock the PKCS#12 keystore; on a wrong password ask again with bypassCache=true (PAM rotated it)
//   7. backend mode: start the backend (no secret in its env, argv, files or fds) and wait until it answers
//   8. listen; on SIGHUP or a keystore change re-fetch + unlock + swap the TLS context; on SIGINT/SIGTERM
//      drain open requests, stop the backend's process group, and exit 0.

import { existsSync, statSync, watchFile, unwatchFile } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CommandModule } from 'yargs';
import { EXIT, KeygateError, describeCause, type ExitStatus } from '../errors.js';
import type { Context, Handler } from '../context.js';
import { DEFAULT_CONFIG, validateConfig, type Config } from '../core/config.js';
import { assertConfigBytes, integrityError, resolvePaths, verifyTree } from '../gate/integrity.js';
import { ownPin } from '../pin-slot.js';
import type { SecretProvider } from '../adapters/vault.js';
import type { Secret } from '../adapters/secret.js';
import type { UnlockedKeystore } from '../adapters/keystore.js';
import { VerifiedTree, closeNodeLoader } from '../server/verified-tree.js';
import type { RequestHandler } from '../server/https-server.js';
import { canUnlockOffThread, unlockOffThread } from '../adapters/unlock-off-thread.js';
import { preflightBackend } from '../backend/preflight.js';
import { MAX_KEYSTORE_BYTES, readRegularFile } from '../adapters/read-regular-file.js';
import { assertSafeRuntime } from '../gate/runtime.js';
import { entryPackageJsons, findAnchorProblems } from '../gate/trust-anchors.js';
import { vaultClientPath } from '../core/vault-client.js';
import { assertPortFree } from '../server/port-check.js';
import { ReloadScheduler } from '../server/reload-scheduler.js';
import { assertKeyPinned } from '../gate/key-pin.js';
import type { Backend } from '../backend/supervisor.js';
import type { Proxy } from '../backend/proxy.js';

// node-forge, execa, fast-xml-parser and node:https are loaded only by serve, through these dynamic imports
// (in the bundle: late parts compiled on first use, src/late-runtime.ts); the other commands never pay for them.
const loadVault = () => import('../adapters/vault.js');
const loadKeystore = () => import('../adapters/keystore.js');
const loadServer = () => import('../server/https-server.js');
const loadBackend = () => Promise.all([import('../backend/supervisor.js'), import('../backend/proxy.js')]);

const CONFIG_FILE = 'keygate.config.json';
/** Time a reload may spend beyond the vault's own timeout: the worker's unlock limit (20 s) and some slack. */
const RELOAD_UNLOCK_BUDGET_MS = 25_000;
/** Reads and validates the config from verified bytes; defaults when the file does not exist. */
export function loadConfig(tree: VerifiedTree): Config {
  const file = resolve(tree.base, CONFIG_FILE);
  if (!existsSync(file) && !tree.has(file)) return DEFAULT_CONFIG;
  const bytes = tree.read(file); // refuses a config that is not in the manifest
  // The same check and message as verify and check (one problem per line); throws CONFIG_INVALID.
  assertConfigBytes(bytes);
  const result = validateConfig(JSON.parse(bytes.toString('utf8')));
  if (!result.ok) throw new KeygateError('INTERNAL', 'config passed assertConfigBytes but not validateConfig'); // unreachable
  return result.config;
}

export interface ServeFlags {
  readonly port?: number;
  readonly host?: string;
  readonly alias?: string;
  readonly allowExpired?: boolean;
  /** Consent for options that weaken TLS (--allow-expired). */
  readonly insecure?: boolean;
}

async function providerFor(config: Config, base: string, env: Readonly<Record<string, string | undefined>>): Promise<SecretProvider> {
  const { cspmProvider, commandProvider } = await loadVault();
  const limits = { timeoutMs: config.vault.timeoutMs, maxOutputBytes: config.vault.maxOutputBytes };
  if (config.vault.provider === 'command') return commandProvider({ command: config.vault.command!, limits, env });
  const clientPath = vaultClientPath(config.vault, base, env);
  return cspmProvider({ clientPath, alias: config.vault.alias, output: config.vault.output, limits, env });
}

/** Steps 4–5: fetch and unlock, retrying once with the cache bypassed when the cached password is stale. */
export async function fetchAndUnlock(
  ctx: Context,
  provider: SecretProvider,
  keystorePath: string,
  opts: { alias?: string; allowExpired: boolean; bypassFirst?: boolean; offThread?: boolean },
): Promise<UnlockedKeystore> {
  // Open, fstat, refuse what is not a regular file, read at most the cap: a FIFO or /dev/zero in its place must
  // neither hang the start nor fill the memory.
  const bytes = readRegularFile(keystorePath, MAX_KEYSTORE_BYTES, 'keystore', {
    code: 'KEYSTORE_UNREADABLE',
    hint: 'check keystore.path in keygate.config.json, or create one: keygate keystore create',
  });
  const unlock = async (bypassCache: boolean): Promise<UnlockedKeystore> => {
    const asked = askVault(ctx, provider, bypassCache); // the client is spawned before this returns
    // node-forge needs no secret to be evaluated: do it while the vault client runs, not after it answers.
    const preload = loadKeystore();
    const secret = await asked.finally(() => preload.catch(() => undefined));
    return await timedUnlock(bytes, secret, keystorePath, opts);
  };
  // After a rotation the client's cache is stale by definition: a reload goes straight to the vault.
  if (opts.bypassFirst) return unlock(true);
  try {
    return await unlock(false);
  } catch (err) {
    if (!(err instanceof KeygateError) || err.code !== 'KEYSTORE_BAD_PASSWORD') throw err;
    ctx.log.warn('the cached password does not open the keystore; asking the vault again with bypassCache=true', { gate: 'vault' });
    return unlock(true);
  }
}

function helloHandler(tree: VerifiedTree, staticDir: string | undefined): RequestHandler {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.pathname === '/' || url.pathname === '/hello') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>keygate</title><h1>Hello from keygate</h1><p>Every file verified before the keystore was unlocked.</p>\n');
      return;
    }
    if (staticDir && url.pathname.startsWith('/static/')) {
      const body = tree.staticFile(staticDir, url.pathname.slice('/static/'.length));
      if (body) {
        res.writeHead(200, { 'content-type': contentType(url.pathname), 'content-length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
  };
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  png: 'image/png',
  ico: 'image/x-icon',
  svg: 'image/svg+xml',
};

/** Content type by extension, for static files. */
export function contentType(path: string): string {
  return TYPES[path.slice(path.lastIndexOf('.') + 1).toLowerCase()] ?? 'application/octet-stream';
}

/** The app module contract: `module.exports = { handle(req, res, ctx) }` (CommonJS). */
export interface AppContext {
  /** Bytes of a file under the static folder, verified; undefined when absent or outside it. */
  staticFile(name: string): Buffer | undefined;
  readonly log: Context['log'];
}

function appHandler(tree: VerifiedTree, file: string, staticDir: string | undefined, ctx: Context): RequestHandler {
  let mod: unknown;
  try {
    mod = tree.loadModule(file);
  } catch (err) {
    if (err instanceof KeygateError) throw err;
    throw new KeygateError('APP_LOAD_FAILED', `failed to load request handler ${file}: ${describeCause(err)}`, { hint: `run node ${file} to see the error` });
  }
  const handle = (mod as { handle?: unknown }).handle;
  if (typeof handle !== 'function') {
    throw new KeygateError('APP_LOAD_FAILED', `failed to load request handler ${file}: it does not export handle(req, res, ctx)`, {
      hint: 'export it: module.exports = { handle(req, res, ctx) { ... } }',
    });
  }
  const appCtx: AppContext = { staticFile: (name) => (staticDir ? tree.staticFile(staticDir, name) : undefined), log: appLogger(ctx.log) };
  return (req: IncomingMessage, res: ServerResponse) => handle(req, res, appCtx) as void;
}

/**
 * The app's own logger: every line says source=app, and the app cannot set gate= (or source=), so it cannot
 * write lines that read as keygate's audit trail (a vault call, an unlock).
 */
function appLogger(log: Context['log']): Context['log'] {
  const tag = (fields?: Record<string, unknown>) => {
    const { gate: _g, source: _s, ...rest } = fields ?? {};
    return { ...rest, source: 'app' };
  };
  return {
    info: (m, f) => log.info(m, tag(f)),
    warn: (m, f) => log.warn(m, tag(f)),
    error: (m, f) => log.error(m, tag(f)),
    debug: (m, f) => log.debug(m, tag(f)),
    close: async () => {},
  };
}

/** Test-only pause point between verification and use, to prove swaps after verification are caught. */
async function testPause(env: Readonly<Record<string, string | undefined>>, log: Context['log']): Promise<void> {
  const ms = Number(env['KG_TEST_PAUSE_AFTER_VERIFY_MS'] ?? 0);
  if (ms > 0) {
    log.warn(`test pause: waiting ${ms} ms after verification (KG_TEST_PAUSE_AFTER_VERIFY_MS)`);
    await new Promise((r) => setTimeout(r, Math.min(ms, 60_000)));
  }
}

/** Ownership of what cannot be hashed (src/gate/trust-anchors.ts): refuse, or warn loudly in the dev demo. */
function checkTrustAnchors(ctx: Context, config: Config, base: string): void {
  const { io, log } = ctx;
  const anchors = [
    { what: 'the node executable', path: io.nodePath },
    { what: 'the main entry', path: io.entry },
    ...entryPackageJsons(io.entry).map((path) => ({ what: "the entry's package.json", path })),
    { what: 'the vault client', path: vaultClientPath(config.vault, base, io.env) },
  ];
  const problems = findAnchorProblems(anchors, { uid: process.getuid?.() ?? 0, trustedUids: config.trust.owners });
  if (problems.length === 0) return;
  if (config.trust.anchors === 'warn') {
    for (const p of problems) log.warn(`TRUST ANCHOR NOT PROTECTED (dev: trust.anchors is "warn", production refuses): ${p}`, { gate: 'anchors' });
    return;
  }
  throw new KeygateError('UNTRUSTED_ANCHOR', `refused to start: ${problems.length} trust anchor problem${problems.length > 1 ? 's' : ''} (what runs before the gate or receives the password must be root's)\n${problems.join('\n')}`, {
    hint: 'chown root:root <file and each folder above it> && chmod go-w <same>, or name the deploy user\'s uid in trust.owners (docs/security.md#trust-anchors)',
  });
}

/** <project>/dist/main.js → <project>; an entry elsewhere → its own folder. */
export function projectOf(entry: string): string {
  const dir = dirname(entry);
  return basename(dir) === 'dist' ? dirname(dir) : dir;
}

/** Every serve flag checked before anything else runs (yargs lets --port abc through as NaN). */
function validateServeFlags(flags: ServeFlags): void {
  const problems: string[] = [];
  if (flags.port !== undefined && (!Number.isInteger(flags.port) || flags.port < 0 || flags.port > 65535)) problems.push('--port must be a whole number from 0 to 65535');
  if (flags.host !== undefined && flags.host.trim() === '') problems.push('--host must not be empty');
  if (flags.allowExpired && !flags.insecure) problems.push('--allow-expired weakens TLS: it needs --insecure too');
  if (problems.length) throw new KeygateError('USAGE', `failed to read the serve flags: ${problems.join('; ')}`, { hint: 'run node dist/main.js serve --help' });
}

/** The whole gated launch; resolves with the exit status after a signal stops the server. */
export async function serve(ctx: Context, flags: ServeFlags, execArgv: readonly string[]): Promise<ExitStatus> {
  const { io, log } = ctx;
  // From here SIGINT/SIGTERM are checked between the gates: a stop during the start never reaches the vault.
  io.holdSignals?.();
  const stopRequested = (before: string): boolean => {
    if (!io.signal?.aborted) return false;
    log.info(`stopped by ${String(io.signal.reason ?? 'a signal')} before ${before}`, { gate: 'shutdown' });
    return true;
  };
  assertSafeRuntime(io.env, execArgv, `node ${io.entry} serve`);
  validateServeFlags(flags);
  // The project is the running entry's own (<project>/dist/main.js), whatever the current folder: a start from /
  // or from a systemd unit without WorkingDirectory= verifies the same tree.
  const paths = resolvePaths(projectOf(io.entry), { entry: io.entry });
  const report = await verifyTree(paths, ownPin(), { env: io.env, nodePath: io.nodePath });
  if (!report.ok) throw integrityError(report);
  log.info(`verified ${report.files} files in ${Math.round(report.ms)} ms`, { gate: 'verify', manifest: report.manifestSha256 });
  await testPause(io.env, log);
  if (stopRequested('the vault was asked')) return EXIT.OK;

  const base = dirname(paths.template);
  const tree = new VerifiedTree(base, report.manifest);
  closeNodeLoader();
  const config = loadConfig(tree);
  const backendConfig = config.server.backend;
  // The app is compiled from verified bytes before the secret exists in this process; a backend is checked now
  // and started only after the unlock (docs/backend.md: why after).
  if (backendConfig) preflightBackend(backendConfig, base, io.nodePath, tree);
  const handler = backendConfig
    ? undefined
    : config.server.handler
      ? appHandler(tree, config.server.handler, config.server.staticDir, ctx)
      : helloHandler(tree, config.server.staticDir);
  checkTrustAnchors(ctx, config, base);
  const host = flags.host ?? config.server.host;
  const port = flags.port ?? config.server.port;
  await assertPortFree(host, port);
  const provider = await providerFor(config, base, io.env);
  const keystorePath = resolve(base, config.keystore.path);
  const unlockOpts = { alias: flags.alias ?? config.keystore.alias, allowExpired: flags.allowExpired ?? config.keystore.allowExpired };
  if (stopRequested('the vault was asked')) return EXIT.OK;
  let material: UnlockedKeystore;
  try {
    material = await fetchAndUnlock(ctx, provider, keystorePath, unlockOpts);
  } catch (err) {
    // A stop while the vault client ran killed it: that is the stop, not a vault failure.
    if (stopRequested('the vault answered')) return EXIT.OK;
    throw err;
  }
  assertKeyPinned(material.certPem, config.keystore.spkiSha256, keystorePath);
  logUnlocked(ctx, material);
  if (stopRequested('listening')) return EXIT.OK;

  let backend: Backend | undefined;
  let proxy: Proxy | undefined;
  let gaveUp: KeygateError | undefined;
  const stopped = new AbortController();
  if (backendConfig) {
    const [{ createBackend }, { createProxy }] = await loadBackend();
    backend = createBackend({
      config: backendConfig,
      base,
      nodePath: io.nodePath,
      env: io.env,
      log,
      onGiveUp: (err) => {
        gaveUp = err;
        stopped.abort();
      },
      reverify: async () => {
        const again = await verifyTree(paths, ownPin(), { env: io.env, nodePath: io.nodePath });
        if (!again.ok) throw integrityError(again);
        log.info(`verified ${again.files} files again before restarting the backend`, { gate: 'verify' });
      },
    });
    await backend.start(io.signal);
    if (stopRequested('listening')) {
      await backend.stop();
      return EXIT.OK;
    }
    const b = backend;
    proxy = createProxy({
      target: () => b.target(),
      requestTimeoutMs: backendConfig.requestTimeoutMs,
      onError: (message) => log.warn(message, { gate: 'proxy' }),
      onAccess: backendConfig.accessLog
        ? (e) => log.info(`${e.remote} "${e.method} ${e.path}" ${e.status} ${e.ms.toFixed(1)} ms`, { source: 'access' })
        : undefined,
    });
  }

  const { startHttpsServer } = await loadServer();
  let server: Awaited<ReturnType<typeof startHttpsServer>>;
  try {
    if (io.signal?.aborted) throw new KeygateError('SERVER_LISTEN_FAILED', 'stopped by a signal before listening', { hint: 'start it again' });
    server = await startHttpsServer({
      host,
      port,
      tls: material,
      handler: proxy ? proxy.handle : handler!,
      onUpgrade: proxy?.upgrade,
      hsts: config.server.hsts,
      headersTimeoutMs: config.server.headersTimeoutMs,
      onError: (err) => log.error(`request failed: ${err instanceof KeygateError ? err.message : describeCause(err)}`, { gate: 'request' }),
    });
  } catch (err) {
    await backend?.stop();
    if (io.signal?.aborted && backend) return EXIT.OK;
    throw err;
  }
  log.info(`listening on ${server.url}`, { gate: 'listen', port: server.port });
  io.stdout.write(`${server.url}\n`);

  // Rotation: SIGHUP or a rewritten keystore → re-fetch (bypass cache), unlock, swap. A failure keeps the old
  // context. Runs are coalesced, rate-limited and time-bound (src/server/reload-scheduler.ts).
  const reloads = new ReloadScheduler(
    async (why, current) => {
      try {
        const fresh = await fetchAndUnlock(ctx, provider, keystorePath, { ...unlockOpts, bypassFirst: true, offThread: true });
        if (!current()) return; // abandoned after its timeout: a newer run owns the context
        assertKeyPinned(fresh.certPem, config.keystore.spkiSha256, keystorePath);
        server.setTls(fresh);
        logUnlocked(ctx, fresh);
        log.info(`reloaded TLS context (${why})`, { gate: 'reload' });
      } catch (err) {
        log.error(`reload failed, still serving the previous certificate: ${err instanceof KeygateError ? err.message : describeCause(err)}`, {
          gate: 'reload',
          ...(err instanceof KeygateError ? { code: err.code } : {}),
        });
      }
    },
    { minIntervalMs: config.keystore.reloadMinIntervalMs, timeoutMs: config.vault.timeoutMs + RELOAD_UNLOCK_BUDGET_MS, log },
  );
  io.onReload?.(() => reloads.request('SIGHUP'));
  // A keystore being rewritten changes its mtime more than once: the poll (every second) sees the last state.
  let lastMtime = safeMtime(keystorePath);
  const onChange = (): void => {
    const m = safeMtime(keystorePath);
    if (m !== lastMtime) {
      lastMtime = m;
      reloads.request('keystore file changed');
    }
  };
  watchFile(keystorePath, { interval: 1000, persistent: false }, onChange);

  await new Promise<void>((resolveStop) => {
    stopped.signal.addEventListener('abort', () => resolveStop(), { once: true });
    if (!io.signal) return; // no signal wiring: serve until the process is killed
    if (io.signal.aborted) return resolveStop();
    io.signal.addEventListener('abort', () => resolveStop(), { once: true });
  });
  unwatchFile(keystorePath, onChange);
  reloads.stop();
  log.info('shutting down: draining open connections', { gate: 'shutdown' });
  // Drain first (open requests still need the backend), then stop the backend's process group.
  await server.close();
  proxy?.close();
  await backend?.stop();
  if (gaveUp) throw gaveUp;
  log.info('stopped', { gate: 'shutdown' });
  return EXIT.OK;
}

/** One audit line per vault call, ok or the error code; never the answer. */
async function askVault(ctx: Context, provider: SecretProvider, bypassCache: boolean): Promise<Secret> {
  const t = process.hrtime.bigint();
  try {
    const secret = await provider.fetch({ bypassCache, signal: ctx.io.signal });
    ctx.log.info(`vault asked for ${provider.description}: ok`, { gate: 'vault', bypassCache, ms: Math.round(Number(process.hrtime.bigint() - t) / 1e6) });
    return secret;
  } catch (err) {
    const code = err instanceof KeygateError ? err.code : 'INTERNAL';
    ctx.log.warn(`vault asked for ${provider.description}: ${code}`, { gate: 'vault', bypassCache });
    throw err;
  }
}

type Timed<T> = T & { readonly ms: number; readonly offThread?: boolean };

/**
 * Unlocks and times it. offThread (reloads, while serving): in a worker thread, so requests are not stalled;
 * ms is then the wall time of the worker's run, not time the event loop was blocked.
 */
async function timedUnlock(bytes: Buffer, secret: Secret, name: string, opts: { alias?: string; allowExpired: boolean; offThread?: boolean }): Promise<Timed<UnlockedKeystore>> {
  const options = { alias: opts.alias, allowExpired: opts.allowExpired, name };
  if (opts.offThread && canUnlockOffThread) {
    const t = process.hrtime.bigint();
    const u = await unlockOffThread(bytes, secret, options);
    return { ...u, ms: Number(process.hrtime.bigint() - t) / 1e6, offThread: true };
  }
  const { unlockKeystore } = await loadKeystore();
  const t = process.hrtime.bigint();
  const u = unlockKeystore(bytes, secret, options);
  return { ...u, ms: Number(process.hrtime.bigint() - t) / 1e6 };
}

function safeMtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function logUnlocked(ctx: Context, m: UnlockedKeystore & { ms?: number; offThread?: boolean }): void {
  ctx.log.info(`keystore unlocked: ${m.subject}, expires ${m.notAfter.toISOString()}`, {
    gate: 'keystore',
    alias: m.alias ?? null,
    keyType: m.keyType,
    ...(m.ms !== undefined ? { ms: Math.round(m.ms) } : {}),
    ...(m.offThread ? { thread: 'worker' } : {}),
  });
  const days = (m.notAfter.getTime() - Date.now()) / 86_400_000;
  if (days < 30) ctx.log.warn(`the certificate expires in ${Math.max(0, Math.floor(days))} days`, { gate: 'keystore' });
}

/** yargs adapter for serve; also the default command (`node dist/main.js`). */
export function serveCommand(choose: (h: Handler) => (args: Record<string, unknown>) => void): CommandModule {
  return {
    command: ['serve', '$0'],
    describe: 'verify, ask the vault, unlock the keystore, then serve HTTPS (the default command)',
    builder: (y) =>
      y
        .option('port', { type: 'number', describe: 'port (default: server.port in keygate.config.json, else 8443)' })
        .option('host', { type: 'string', describe: 'address to listen on (default 127.0.0.1)' })
        .option('alias', { type: 'string', describe: 'keystore entry to use when it holds several keys' })
        .option('allow-expired', { type: 'boolean', describe: 'serve an expired certificate (needs --insecure)' })
        .option('insecure', { type: 'boolean', describe: 'consent to options that weaken TLS' })
        .example('node dist/main.js serve', 'the gated start (what npm start runs)')
        .epilogue('Exit codes: 0 stopped by signal, 3 integrity, 4 vault, 5 keystore, 6 server (docs/errors.md)'),
    handler: choose((ctx, args) =>
      serve(
        ctx,
        {
          port: args['port'] as number | undefined,
          host: args['host'] as string | undefined,
          alias: args['alias'] as string | undefined,
          allowExpired: args['allow-expired'] as boolean | undefined,
          insecure: args['insecure'] as boolean | undefined,
        },
        ctx.io.execArgv ?? [],
      ),
    ),
  };
}
