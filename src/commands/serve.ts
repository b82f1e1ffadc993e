// serve: the gated launch. The order is the whole point and is enforced here, step by step (docs/serve.md);
// a stop signal is checked between the steps:
//   1. runtime allow-list and flags (gate/runtime.ts)
//   2. verify: manifest sha256 == pin, every file == manifest, no new files (gate/integrity.ts; else exit 3,
//      the vault is not asked)
//   3. read keygate.config.json from verified bytes
//   4. the in-process app compiled from verified bytes (server/apps.ts), or the backend's preflight
//   5. trust anchors (gate/trust-anchors.ts) and a free port
//   6–7. ask the vault, unlock the keystore, retry once with the cache bypassed (gate/unlock.ts); key pin
//   8. backend mode: start the backend (no secret in its env, argv, files or fds) and wait until it answers
//   9. listen; SIGHUP or a keystore change → coalesced, rate-limited reload; SIGINT/SIGTERM → drain, stop the
//      backend, exit 0.

import { dirname, resolve } from 'node:path';
import { closeSparedControlFd, sparedControlFd } from '../adapters/inherited-fds.js';
import { EXIT, KeygateError, describeCause, type ExitStatus } from '../errors.js';
import type { Context, Handler } from '../context.js';
import { DEFAULT_CONFIG, type Config } from '../core/config.js';
import { integrityError, parseConfigBytes, resolvePaths, verifyTree, type VerifyReport } from '../gate/integrity.js';
import { advanceState, type ReleaseInfo } from '../gate/release.js';
import { ownPin } from '../pin-slot.js';
import { CONFIG_FILE, MANIFEST_FILE, TEMPLATE_FILE, configuredEntry, isPackageCopy, projectOfEntry, shellWord } from '../project.js';
import type { UnlockedKeystore } from '../adapters/keystore.js';
import { VerifiedTree, closeNodeLoader } from '../server/verified-tree.js';
import { preflightBackend } from '../backend/preflight.js';
import { assertSafeRuntime } from '../gate/runtime.js';
import { checkTrustAnchors } from '../gate/trust-anchors.js';
import { assertPortFree } from '../server/port-check.js';
import { ReloadScheduler } from '../server/reload-scheduler.js';
import { assertKeyPinned } from '../gate/key-pin.js';
import { vaultClientPath } from '../core/vault-client.js';
import { fileExists, watchMtime } from '../adapters/files.js';
import { askVault, fetchAndUnlock, logUnlocked, providerFor, warnExpiry } from '../gate/unlock.js';
import { appHandler, helloHandler } from '../server/apps.js';
import { isHttp2Ready } from '../server/request-handler.js';
import type { GateCommand } from './common.js';
import { ADMIN_VERSION, loadAdminMaterial } from '../admin/setup.js';
import type { AdminServer } from '../admin/server.js';
import { createClientAuth } from '../server/client-auth.js';
import type { Backend } from '../backend/supervisor.js';
import type { Proxy } from '../backend/proxy.js';
import type { Identity } from '../backend/identity.js';
import type { AcmeRenewer } from '../acme/renewer.js';

// node:https and the backend modules are loaded only by serve, through dynamic imports (node:https: a late part
// compiled on first use, src/late-runtime.ts); the other commands never pay for them.
const loadServer = () => import('../server/https-server.js');
// The admin channel (src/admin/server.ts, a late part too): only when `admin` is configured.
const loadAdmin = () => import('../admin/server.js');
const loadBackend = () => Promise.all([import('../backend/supervisor.js'), import('../backend/proxy.js')]);
// Privilege separation (server.backend.user): the root half's orchestration, the serving half's backend view.
const loadSeparation = () => import('../backend/separation.js');
// ACME renewal (server.acme): acme-client and its HTTP stack, only when configured.
const loadAcme = () => import('../acme/renewer.js');

/** Time a reload may spend beyond the vault's own timeout: the worker's unlock limit (UNLOCK_TIMEOUT_MS) and some slack. */
const RELOAD_UNLOCK_BUDGET_MS = 25_000;
/** Reads and validates the config from verified bytes; defaults when the file does not exist. */
export function loadConfig(tree: VerifiedTree): Config {
  const file = resolve(tree.base, CONFIG_FILE);
  if (!fileExists(file) && !tree.has(file)) return DEFAULT_CONFIG;
  const bytes = tree.read(file); // refuses a config that is not in the manifest
  // The same check and message as verify and check (one problem per line); throws CONFIG_INVALID.
  return parseConfigBytes(bytes);
}

export interface ServeFlags {
  readonly port?: number;
  readonly host?: string;
  readonly alias?: string;
  readonly allowExpired?: boolean;
  /** Consent for options that weaken TLS (--allow-expired). */
  readonly insecure?: boolean;
}

/** Signed releases: which release vouched for the manifest, and the host's floor raised to it when root may. */
function logRelease(ctx: Context, release: ReleaseInfo): void {
  const { payload, signedBy } = release;
  const floor = advanceState(release);
  ctx.log.info(`release ${payload.version} of ${payload.project} signed by ${signedBy.join(', ')}, expires ${payload.expires}`, {
    gate: 'release',
    floor: typeof floor === 'object' ? `stays ${release.floor}` : floor === 'raised' ? `raised to ${payload.version}` : floor === 'not root' ? `stays ${release.floor} (only root raises it: keygate release accept)` : floor,
  });
  if (typeof floor === 'object') {
    ctx.log.warn(`the host's release floor in ${release.stateFile} could not be raised to ${payload.version}: ${floor.failed}; older releases than this one still start here until it is`, {
      gate: 'release',
      fix: 'make its folder writable for the unit (StateDirectory=keygate, as keygate init --backend writes), or as root: keygate release accept',
    });
  }
}

/** Every 12 hours; KG_TEST_EXPIRY_CHECK_MS (tests only, at least 100 ms) shortens it. */
function expiryCheckMs(env: Readonly<Record<string, string | undefined>>): number {
  const t = Number(env['KG_TEST_EXPIRY_CHECK_MS']);
  return Number.isInteger(t) && t >= 100 ? t : 12 * 3_600_000;
}

/** Test-only pause point between verification and use, to prove swaps after verification are caught. */
async function testPause(env: Readonly<Record<string, string | undefined>>, log: Context['log']): Promise<void> {
  const ms = Number(env['KG_TEST_PAUSE_AFTER_VERIFY_MS'] ?? 0);
  if (ms > 0) {
    log.warn(`test pause: waiting ${ms} ms after verification (KG_TEST_PAUSE_AFTER_VERIFY_MS)`);
    await new Promise((r) => setTimeout(r, Math.min(ms, 60_000)));
  }
}

/**
 * The project the running entry serves: its own folder or the one above holding filelist.template
 * (src/project.ts). The npm package's copy is never an entry PAM knows: it says which command starts the service.
 */
export function projectToServe(entry: string, cwd: string, invokedAs?: string): string {
  if (isPackageCopy(entry, invokedAs)) {
    const configured = configuredEntry(cwd);
    throw new KeygateError('USAGE', `failed to serve: ${entry} is the keygate package's own copy, which the vault does not know; serve runs from your service's entry, the file registered in PAM`, {
      hint: configured ? `node ${shellWord(configured)} serve` : 'keygate init writes your service\'s entry and prints its start command',
    });
  }
  const project = projectOfEntry(entry, invokedAs);
  if (project === undefined) {
    throw new KeygateError('NOT_A_PROJECT', `failed to serve: ${entry} is not a keygate project's entry: neither its folder nor the one above holds ${TEMPLATE_FILE} or ${MANIFEST_FILE}`, {
      hint: 'start the entry inside your project (the file keygate init wrote), or set a project up: keygate init',
    });
  }
  return project;
}

/** Every serve flag checked before anything else runs (yargs lets --port abc through as NaN). */
function validateServeFlags(flags: ServeFlags): void {
  const problems: string[] = [];
  if (flags.port !== undefined && (!Number.isInteger(flags.port) || flags.port < 0 || flags.port > 65535)) problems.push('--port must be a whole number from 0 to 65535');
  if (flags.host !== undefined && flags.host.trim() === '') problems.push('--host must not be empty');
  if (flags.allowExpired && !flags.insecure) problems.push('--allow-expired weakens TLS: it needs --insecure too');
  if (problems.length) throw new KeygateError('USAGE', `failed to read the serve flags: ${problems.join('; ')}`, { hint: 'keygate serve --help' });
}

/**
 * What the gate established before anything else may happen: the tree verified against the pin, the config read
 * from verified bytes, the backend's program checked. Every role below starts from it (OpenSSH's shape: the
 * gate first, then one function per process role).
 */
interface Gated {
  readonly paths: ReturnType<typeof resolvePaths>;
  readonly report: VerifyReport;
  readonly base: string;
  readonly tree: VerifiedTree;
  readonly config: Config;
  readonly host: string;
  readonly port: number;
  /** Before a backend restart: the same manifest as at this start, and every file still matching it. */
  readonly reverify: () => Promise<void>;
  /** True when a stop signal arrived; logs what it stopped before. */
  readonly stopRequested: (before: string) => boolean;
}

/**
 * Which process this is. Decided once, from the config and from what the root half hands its serving half (the
 * socket's path in the environment and the control channel as a spared fd):
 *   supervisor: root with server.backend.user set: starts the backend and the serving half, never asks the vault;
 *   half:       the serving half the supervisor started as server.user;
 *   single:     one process that serves (in-process app, or a backend under its own uid or sameUser).
 */
type Role = { kind: 'supervisor'; ids: SeparationIds } | { kind: 'half'; controlFd: number } | { kind: 'single' };

/** server.user and server.backend.user, resolved (backend/identity.ts). */
type SeparationIds = { readonly server: Identity; readonly backend: Identity };

/** The whole gated launch; resolves with the exit status after a signal stops the server. */
export async function serve(ctx: Context, flags: ServeFlags, execArgv: readonly string[]): Promise<ExitStatus> {
  const { io } = ctx;
  // From here SIGINT/SIGTERM are checked between the gates: a stop during the start never reaches the vault.
  io.holdSignals?.();
  assertSafeRuntime(io.env, execArgv, `node ${io.entry} serve`);
  validateServeFlags(flags);
  const gated = await passGate(ctx, flags);
  if (!gated) return EXIT.OK;
  const role = await processRole(gated.config, io.env, io.entry);
  if (role.kind === 'supervisor') return superviseRoot(ctx, gated, role.ids, execArgv);
  // The control fd is spared by main.ts's close of inherited fds; outside the serving half it must go too.
  if (role.kind === 'single') closeSparedControlFd();
  return serveTls(ctx, gated, flags, role);
}

/** Steps 2–4 and the port: verify, the config from verified bytes, the backend's preflight. Undefined: stopped. */
async function passGate(ctx: Context, flags: ServeFlags): Promise<Gated | undefined> {
  const { io, log } = ctx;
  const stopRequested = (before: string): boolean => {
    if (!io.signal?.aborted) return false;
    log.info(`stopped by ${String(io.signal.reason ?? 'a signal')} before ${before}`, { gate: 'shutdown' });
    return true;
  };
  // The project is the running entry's own (<project>/dist/main.js, <project>/keygate/main.cjs), whatever the
  // current folder: a start from / or from a systemd unit without WorkingDirectory= verifies the same tree.
  const paths = resolvePaths(projectToServe(io.entry, io.cwd, io.invokedAs), { entry: io.entry }, io.env);
  const report = await verifyTree(paths, ownPin(), { env: io.env, nodePath: io.nodePath });
  if (!report.ok) throw integrityError(report);
  log.info(`verified ${report.files} files in ${Math.round(report.ms)} ms`, { gate: 'verify', manifest: report.manifestSha256 });
  if (report.release) logRelease(ctx, report.release);
  await testPause(io.env, log);
  if (stopRequested('the vault was asked')) return undefined;

  const base = dirname(paths.template);
  const tree = new VerifiedTree(base, report.manifest);
  closeNodeLoader();
  const config = loadConfig(tree);
  // A backend is checked now and started only after the unlock (docs/backend.md: why after); separated, before.
  if (config.server.backend) preflightBackend(config.server.backend, base, io.nodePath, tree);
  const reverify = async (): Promise<void> => {
    const again = await verifyTree(paths, ownPin(), { env: io.env, nodePath: io.nodePath, acceptedManifest: report.manifestSha256 });
    if (!again.ok) throw integrityError(again);
    log.info(`verified ${again.files} files again before restarting the backend`, { gate: 'verify' });
  };
  return { paths, report, base, tree, config, host: flags.host ?? config.server.host, port: flags.port ?? config.server.port, reverify, stopRequested };
}

async function processRole(config: Config, env: Readonly<Record<string, string | undefined>>, entry: string): Promise<Role> {
  const backend = config.server.backend;
  if (backend?.user === undefined) return { kind: 'single' };
  const sep = await loadSeparation();
  const ids = sep.separationIdentities(config.server, backend);
  assertOwnersNotSeparated(config.trust.owners, ids, entry);
  const controlFd = sparedControlFd();
  if (env[sep.SOCKET_ENV] === undefined || controlFd === undefined) return { kind: 'supervisor', ids };
  // The serving half: refuse to go on as anything but server.user (the supervisor started it so).
  if (process.getuid?.() !== ids.server.uid) {
    throw new KeygateError('BACKEND_USER_INVALID', `failed to serve: this process runs as uid ${process.getuid?.()}, not server.user ${ids.server.name} (uid ${ids.server.uid})`, {
      hint: `start keygate as root without ${sep.SOCKET_ENV}/${sep.CONTROL_FD_ENV} in its environment`,
    });
  }
  return { kind: 'half', controlFd };
}

/**
 * Under separation the root half runs the node and the entry as root: an owner named in trust.owners may
 * replace them, so server.user or server.backend.user there would be as good as root (review M1).
 */
function assertOwnersNotSeparated(owners: readonly number[], ids: SeparationIds, entry: string): void {
  for (const [id, setting] of [
    [ids.server, 'server.user'],
    [ids.backend, 'server.backend.user'],
  ] as const) {
    if (!owners.includes(id.uid)) continue;
    throw new KeygateError('CONFIG_INVALID', `refused to start: trust.owners holds uid ${id.uid}, which is ${setting} ${id.name}; under privilege separation root runs what trust.owners may change, so that user would be as good as root`, {
      hint: `remove ${id.uid} from trust.owners in ${CONFIG_FILE} and give its files to root, then: node ${shellWord(entry)} generate-filelist && node ${shellWord(entry)} pin (register the new entry hash in PAM)`,
    });
  }
}

/**
 * The root half of privilege separation: the anchors it runs on (node, the entry; the vault client is the serving
 * half's, which checks it as the user that runs it), a free port, then the backend as server.backend.user and the
 * serving half as server.user. It parses nothing the serving half needs (client-auth material, the admin
 * registry, the app): review L7.
 */
async function superviseRoot(ctx: Context, g: Gated, ids: SeparationIds, execArgv: readonly string[]): Promise<ExitStatus> {
  const { io, log } = ctx;
  checkTrustAnchors(ctx, g.config, g.base, { vaultClient: false });
  await assertPortFree(g.host, g.port);
  if (g.stopRequested('the backend was started')) return EXIT.OK;
  const sep = await loadSeparation();
  return sep.superviseSeparated({
    backendConfig: g.config.server.backend!,
    identities: ids,
    base: g.base,
    nodePath: io.nodePath,
    entry: io.entry,
    argv: io.argv ?? ['serve'],
    execArgv,
    env: io.env,
    log,
    signal: io.signal,
    onReload: io.onReload,
    reverify: g.reverify,
  });
}

/**
 * The process that asks the vault and serves: a single process, or the serving half of separation (whose
 * backend the root half runs: it sees it through the control channel).
 */
async function serveTls(ctx: Context, g: Gated, flags: ServeFlags, role: Extract<Role, { kind: 'half' | 'single' }>): Promise<ExitStatus> {
  const { io, log } = ctx;
  const { paths, report, base, tree, config, host, port, reverify, stopRequested } = g;
  // The admin channel's registry and server key from verified bytes, checked now: a bad one stops the start here.
  const adminMaterial = config.admin ? loadAdminMaterial(config.admin, tree) : undefined;
  const backendConfig = config.server.backend;
  // Client certificates: the CA bundle and CRLs from verified bytes, checked now, before the vault is asked.
  const clientAuth = createClientAuth(config.server.clientAuth, tree, base, log);
  // The app is compiled from verified bytes before the secret exists in this process.
  const handler = backendConfig
    ? undefined
    : config.server.handler
      ? appHandler(tree, config.server.handler, config.server.staticDir, ctx, clientAuth?.contextFor)
      : helloHandler(tree, config.server.staticDir);
  // ACME: the CA bundle for the ACME server's HTTPS from verified bytes, and the http-01 port free, before the vault.
  const acmeConfig = config.server.acme;
  const acmeCa = acmeConfig?.caFile !== undefined ? tree.read(resolve(base, acmeConfig.caFile)) : undefined;
  if (acmeCa && !/-----BEGIN CERTIFICATE-----/.test(acmeCa.toString('latin1'))) {
    throw new KeygateError('CONFIG_INVALID', `failed to read server.acme.caFile ${acmeConfig!.caFile}: no PEM certificate in it`, { hint: 'point server.acme.caFile at the PEM certificate(s) your ACME server\'s HTTPS chains to, then keygate generate-filelist && keygate pin' });
  }
  checkTrustAnchors(ctx, config, base);
  await assertPortFree(host, port);
  if (acmeConfig) await assertPortFree(acmeConfig.httpHost ?? host, acmeConfig.httpPort);
  const separated: Backend | undefined = role.kind === 'half' ? (await loadSeparation()).separatedBackend(io.env, role.controlFd, log) : undefined;
  const provider = await providerFor(config, base, io.env);
  const keystorePath = resolve(base, config.keystore.path);
  const unlockOpts = {
    alias: flags.alias ?? config.keystore.alias,
    allowExpired: flags.allowExpired ?? config.keystore.allowExpired,
    retry: { retries: config.vault.retries, delayMs: config.vault.retryDelayMs, maxDelayMs: config.vault.retryMaxDelayMs },
  };
  if (stopRequested('the vault was asked')) return EXIT.OK;
  let material: UnlockedKeystore;
  try {
    material = await fetchAndUnlock(ctx, provider, keystorePath, unlockOpts);
  } catch (err) {
    // A stop while the vault client ran killed it: that is the stop, not a vault failure.
    if (stopRequested('the vault answered')) return EXIT.OK;
    throw devRegisterHint(err, config, base, io.env);
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
    backend = separated ?? createBackend({
      config: backendConfig,
      base,
      nodePath: io.nodePath,
      env: io.env,
      log,
      onGiveUp: (err) => {
        gaveUp = err;
        stopped.abort();
      },
      reverify,
    });
    await backend.start(io.signal); // returns early, not ready, when a stop arrives: checked before listening
    const b = backend;
    proxy = createProxy({
      target: () => b.target(),
      requestTimeoutMs: backendConfig.requestTimeoutMs,
      idleTimeoutMs: backendConfig.idleTimeoutMs,
      clientHeaders: clientAuth?.headersFor,
      onError: (message) => log.warn(message, { gate: 'proxy' }),
      onAccess: backendConfig.accessLog
        ? (e) => log.info(`${e.remote} "${e.method} ${e.path}" ${e.status} ${e.ms.toFixed(1)} ms`, { source: 'access' })
        : undefined,
    });
  }

  const { startHttpsServer } = await loadServer();
  if (stopRequested('listening')) {
    await backend?.stop();
    return EXIT.OK;
  }
  let server: Awaited<ReturnType<typeof startHttpsServer>>;
  try {
    server = await startHttpsServer({
      host,
      port,
      tls: material,
      handler: clientAuth ? clientAuth.gate(proxy ? proxy.handle : handler!) : proxy ? proxy.handle : handler!,
      onUpgrade: clientAuth ? clientAuth.gateUpgrade(proxy?.upgrade) : proxy?.upgrade,
      clientTls: clientAuth?.tls(),
      onSecureConnection: clientAuth?.onConnection,
      onTlsClientError: clientAuth?.onTlsClientError,
      hsts: config.server.hsts,
      // server.http2: the proxy, and in-process handlers written for keygate (not a whole Express app: request-handler.ts)
      http2: config.server.http2 && (proxy !== undefined || isHttp2Ready(handler)),
      headersTimeoutMs: config.server.headersTimeoutMs,
      clientBodyTimeoutMs: config.server.bodyTimeoutMs,
      onError: (err) => log.error(`request failed: ${err instanceof KeygateError ? err.message : describeCause(err)}`, { gate: 'request' }),
    });
  } catch (err) {
    await backend?.stop(); // a listen failure must not leave the backend running
    throw err;
  }
  log.info(`listening on ${server.url}`, { gate: 'listen', port: server.port });
  io.stdout.write(`${server.url}\n`);

  let acme: AcmeRenewer | undefined;
  // The expiry warnings again twice a day (and after each reload): months without a reload still warn.
  let serving: UnlockedKeystore = material;
  const expiryCheck = setInterval(() => warnExpiry(ctx, serving, new Date(), 'still serving: '), expiryCheckMs(io.env));
  expiryCheck.unref();
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
        serving = fresh;
        acme?.served(fresh.certPem);
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
  const stopWatching = watchMtime(keystorePath, 1000, () => reloads.request('keystore file changed'));
  let admin: AdminServer | undefined;
  let stopClientAuth: (() => void) | undefined;
  // One way down for everything started after listening, for a start that fails half-way (ACME's listener, the
  // admin channel) and for the stop: watchers and timers first, then drain (open requests still need the
  // backend), then the backend's process group.
  const teardown = async (): Promise<void> => {
    stopWatching();
    stopClientAuth?.();
    reloads.stop();
    clearInterval(expiryCheck);
    await acme?.stop();
    await admin?.close();
    await server.close();
    proxy?.close();
    await backend?.stop();
  };
  // ACME (docs/certificates.md#acme): the renewer orders when due and hands the keystore it wrote to the reload.
  if (acmeConfig) {
    try {
      acme = await (await loadAcme()).startAcmeRenewer({
        config: acmeConfig,
        ...(acmeCa ? { caPem: acmeCa } : {}),
        keystorePath,
        ...(unlockOpts.alias !== undefined ? { alias: unlockOpts.alias } : {}),
        servedPem: material.certPem,
        host,
        askSecret: () => askVault(ctx, provider, true),
        reload: (why) => reloads.request(why),
        log,
      });
    } catch (err) {
      await teardown();
      throw err instanceof KeygateError ? err : new KeygateError('SERVER_LISTEN_FAILED', `failed to listen for ACME http-01 challenges on ${acmeConfig.httpHost ?? host}:${acmeConfig.httpPort}: ${describeCause(err)}`, { hint: 'choose a free server.acme.httpPort in keygate.config.json' });
    }
  }
  // The admin channel (docs/admin.md): after the gate passed and the service listens; off unless configured.
  if (config.admin && adminMaterial) {
    const b = backend;
    try {
      admin = await (await loadAdmin()).startAdminServer({
        config: config.admin,
        base,
        serverKey: adminMaterial.serverKey,
        users: adminMaterial.users,
        log,
        version: ADMIN_VERSION,
        host: {
          status: () => ({ pid: process.pid, uptimeS: Math.round(process.uptime()), manifest: report.manifestSha256, listening: server.url, backendPid: b?.pid() ?? null }),
          verify: async () => {
            try {
              const again = await verifyTree(paths, ownPin(), { env: io.env, nodePath: io.nodePath });
              return { ok: again.ok, lines: again.ok ? [`verified ${again.files} files manifest=${again.manifestSha256}`] : integrityError(again).message.split('\n') };
            } catch (err) {
              return { ok: false, lines: [err instanceof KeygateError ? err.message : describeCause(err)] };
            }
          },
          reloadTls: () => reloads.request('admin reload-tls'),
          // The same CRL reload as SIGHUP (client-certificate auth with CRL files only); it logs what it applied.
          reloadCrl:
            clientAuth && clientAuth.config.mode !== 'off' && clientAuth.config.crlFiles.length > 0 ? async () => clientAuth.reloadCrls('admin reload-crl') : undefined,
          // The supervisor restarts a backend that exits (verified again first, with its backoff and restart cap).
          // Separated, only the root half may signal the backend: separatedBackend asks it on the control channel.
          restartBackend: b ? () => b.restart() : undefined,
        },
      });
    } catch (err) {
      await teardown();
      throw err;
    }
    log.info(`admin channel listening on ${admin.url}`, { gate: 'admin', users: adminMaterial.users.size, serverKey: adminMaterial.serverFingerprint });
  }
  // CRLs: reloaded on the same SIGHUP and when a CRL file changes (no vault call, so not rate-limited).
  stopClientAuth = clientAuth?.listen(server, io.onReload);

  await new Promise<void>((resolveStop) => {
    stopped.signal.addEventListener('abort', () => resolveStop(), { once: true });
    if (!io.signal) return; // no signal wiring: serve until the process is killed
    if (io.signal.aborted) return resolveStop();
    io.signal.addEventListener('abort', () => resolveStop(), { once: true });
  });
  log.info('shutting down: draining open connections', { gate: 'shutdown' });
  await teardown();
  if (gaveUp) throw gaveUp;
  log.info('stopped', { gate: 'shutdown' });
  return EXIT.OK;
}

/** A 409 from init --dev's emulator: its fix is the dev loop's own command, not PAM's A2A Script. */
function devRegisterHint(err: unknown, config: Config, base: string, env: Readonly<Record<string, string | undefined>>): unknown {
  if (!(err instanceof KeygateError) || err.code !== 'VAULT_DENIED' || (err.details as { status?: number } | undefined)?.status !== 409) return err;
  if (config.vault.provider !== 'cspm' || !vaultClientPath(config.vault, base, env).startsWith(`${resolve(base, 'keygate/dev-cspm')}/`)) return err;
  return new KeygateError(err.code, err.message, { hint: 'the dev emulator does not know this entry yet: keygate init --dev --refresh (re-generates, re-pins and re-registers; keeps your edits)', details: err.details });
}

/**
 * `serve`, for the gate's own parser (src/gate-args.ts) and for yargs (src/cli-yargs.ts). Named, never the
 * default: a bare `keygate` prints usage instead of starting a server that blocks whoever ran it.
 */
export const serveGate: GateCommand = {
  name: 'serve',
  describe: 'verify, ask the vault, unlock the keystore, then serve HTTPS',
  examples: [['$0 serve', 'the gated start (verify, vault, unlock, listen)']],
  epilogue: 'Exit codes: 0 stopped by signal, 3 integrity, 4 vault, 5 keystore, 6 server (docs/errors.md)',
  flags: {
    port: { type: 'number', describe: 'port (default: server.port in keygate.config.json, else 8443)' },
    host: { type: 'string', describe: 'address to listen on (default 127.0.0.1)' },
    alias: { type: 'string', describe: 'keystore entry to use when it holds several keys' },
    'allow-expired': { type: 'boolean', describe: 'serve an expired certificate (needs --insecure)' },
    insecure: { type: 'boolean', describe: 'consent to options that weaken TLS' },
  },
  handler: (ctx, args) =>
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
};
