// keygate.config.json: validated in one pure function that returns every problem at once.
// Precedence (applied by the caller): flags, then KEYGATE_* env (yargs), then this file, then defaults.

import { validateAdminConfig, type AdminConfig } from '../admin/config.js';
import { validateClientAuthConfig, type ClientAuthConfig } from '../server/client-auth-config.js';
import { ACME_ACCOUNT_ALIAS, validateAcmeConfig, type AcmeConfig } from './acme-config.js';
import { didYouMean } from './suggest.js';

export interface Config {
  /**
   * The project's main entry (the file registered in PAM), relative to the project: `keygate init` writes it.
   * `npx keygate pin|verify|check` use it; a project entry always knows itself.
   */
  readonly entry?: string;
  readonly vault: {
    readonly provider: 'cspm' | 'command';
    /** cspm: path of cspmclient64; default $CSPM_CLIENT_HOME/cspmclient/bin64/cspmclient64. */
    readonly clientPath?: string;
    readonly alias: string;
    readonly output: 'xml' | 'text';
    /** command provider: argv of a program that prints the password. */
    readonly command?: readonly string[];
    readonly timeoutMs: number;
    readonly maxOutputBytes: number;
    /** Retries after a transient failure (timeout, client crash), each after a jittered, capped backoff. */
    readonly retries: number;
    readonly retryDelayMs: number;
    readonly retryMaxDelayMs: number;
  };
  readonly keystore: {
    readonly path: string;
    readonly alias?: string;
    readonly allowExpired: boolean;
    /** At most one reload (a bypass-cache vault call) per this many ms; requests meanwhile are coalesced. */
    readonly reloadMinIntervalMs: number;
    /**
     * Optional pins of the server key (base64 or hex SHA-256 of the certificate's SubjectPublicKeyInfo, as HPKP
     * and `openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256` give it). PAM
     * rotation changes the password, never the key pair: a keystore swapped for another is refused.
     */
    readonly spkiSha256?: readonly string[];
  };
  readonly server: {
    readonly host: string;
    readonly port: number;
    /** CommonJS module exporting `handle(req, res, ctx)`; loaded from verified bytes. Empty: hello page. */
    readonly handler?: string;
    /** Folder served under /static/ from verified bytes. */
    readonly staticDir?: string;
    readonly hsts: boolean;
    /** Time a client has to send the whole request header block (slowloris guard). */
    readonly headersTimeoutMs: number;
    /** Longest pause between bytes of a client's request body (nginx's client_body_timeout): 408. */
    readonly bodyTimeoutMs: number;
    /** A backend process keygate starts after verification and fronts with TLS (docs/backend.md). */
    readonly backend?: BackendConfig;
    /** Client-certificate authentication (docs/client-auth.md); off when absent. */
    readonly clientAuth?: ClientAuthConfig;
    /** Privilege separation: the user (and group) keygate serves as after a start as root (docs/backend.md). */
    readonly user?: string;
    readonly group?: string;
    /** HTTP/2 by ALPN on the TLS listener (h2 before http/1.1); false offers HTTP/1.1 only. */
    readonly http2: boolean;
    /** The certificate renewed from an ACME CA while serving (docs/certificates.md); off when absent. */
    readonly acme?: AcmeConfig;
  };
  /** Trust anchors (node, the entry and its package.json, the vault client): src/gate/trust-anchors.ts. */
  readonly trust: {
    /** refuse (production) or warn (the dev demo) when an anchor is writable by others than root/owners. */
    readonly anchors: 'refuse' | 'warn';
    /** uids besides root that may own anchors (e.g. the deploy user); never the service user. */
    readonly owners: readonly number[];
    /** Windows: SIDs besides Administrators, SYSTEM and TrustedInstaller that may own and write anchors (trust.owners' "S-1-…" entries). */
    readonly ownerSids: readonly string[];
  };
  /** The remo_serv-compatible admin channel (docs/admin.md); off when absent. Validated by src/admin/config.ts. */
  readonly admin?: AdminConfig;
}

/** server.backend: the service's own process, started after verification, never given the secret. */
export interface BackendConfig {
  /** argv, no shell. argv[0] is an absolute path or `${NODE}`; `${SOCKET}` becomes the unix socket's path. */
  readonly command: readonly string[];
  /** Working folder, relative to the project folder. */
  readonly cwd: string;
  /** Variables set for the backend, with their values (the only environment it gets besides passEnv). */
  readonly env: Readonly<Record<string, string>>;
  /** Names of keygate's own variables copied to the backend. */
  readonly passEnv: readonly string[];
  /** unix: a socket in a keygate-owned 0700 folder; fd: a loopback socket keygate binds, handed over as fd 3. */
  readonly listen: 'unix' | 'fd';
  /** With a path, ready means a 2xx/3xx answer there; without, any HTTP answer on /. */
  readonly readyPath?: string;
  readonly readyTimeoutMs: number;
  /** Time the backend has to send its response headers before the client gets 504. */
  readonly requestTimeoutMs: number;
  /** Longest pause with no byte moving to or from the backend (nginx's proxy_read/send_timeout): 504 or a cut. */
  readonly idleTimeoutMs: number;
  readonly restart: { readonly initialDelayMs: number; readonly maxDelayMs: number; readonly maxRestarts: number; readonly resetAfterMs: number };
  /** SIGTERM to the backend's main process, this long, then SIGKILL to its process group. */
  readonly stopTimeoutMs: number;
  /** One log line per proxied request (source=access). */
  readonly accessLog: boolean;
  /** Start the backend under setpriv --pdeathsig, so it gets SIGTERM even if keygate is SIGKILLed. */
  readonly watchdog: boolean;
  /** The backend's own user (and group): the kernel then keeps it out of keygate's memory and files. */
  readonly user?: string;
  readonly group?: string;
  /** Production consent to run the backend as keygate's own user (it can then read keygate's memory). */
  readonly sameUser: boolean;
}

export const BACKEND_DEFAULTS = {
  cwd: '.',
  passEnv: ['PATH', 'LANG', 'LC_ALL', 'TZ'],
  listen: 'unix',
  readyTimeoutMs: 15_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  restart: { initialDelayMs: 1_000, maxDelayMs: 30_000, maxRestarts: 5, resetAfterMs: 60_000 },
  stopTimeoutMs: 10_000,
  accessLog: false,
  watchdog: true,
  sameUser: false,
} as const;

export const DEFAULT_CONFIG: Config = {
  vault: { provider: 'cspm', alias: 'keygate', output: 'xml', timeoutMs: 30_000, maxOutputBytes: 64 * 1024, retries: 2, retryDelayMs: 2_000, retryMaxDelayMs: 30_000 },
  keystore: { path: 'keystore/keygate.p12', allowExpired: false, reloadMinIntervalMs: 10_000 },
  server: { host: '127.0.0.1', port: 8443, hsts: true, headersTimeoutMs: 10_000, bodyTimeoutMs: 60_000, http2: true },
  trust: { anchors: 'refuse', owners: [], ownerSids: [] },
};

export type ConfigResult = { ok: true; config: Config; warnings: string[] } | { ok: false; errors: string[]; warnings: string[] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const KNOWN: Record<string, readonly string[]> = {
  '': ['entry', 'vault', 'keystore', 'server', 'trust', 'admin', '$comment', '_comment'],
  trust: ['anchors', 'owners', '$comment'],
  vault: ['provider', 'clientPath', 'alias', 'output', 'command', 'timeoutMs', 'maxOutputBytes', 'retries', 'retryDelayMs', 'retryMaxDelayMs'],
  keystore: ['path', 'alias', 'allowExpired', 'reloadMinIntervalMs', 'spkiSha256'],
  server: ['host', 'port', 'handler', 'staticDir', 'hsts', 'headersTimeoutMs', 'bodyTimeoutMs', 'backend', 'clientAuth', 'user', 'group', 'http2', 'acme'],
  // literal, as every section here (test/docs-links.test.ts reads this table); acme-config.ts holds the same list
  'server.acme': ['directoryUrl', 'domains', 'email', 'challenge', 'httpPort', 'httpHost', 'caFile', 'renewAtFraction', 'jitterFraction', 'retryMinMs', 'retryMaxMs', 'orderTimeoutMs', '$comment'],
  'server.clientAuth': ['mode', 'caFile', 'crlFiles', 'routes', 'pinnedSha256', 'headers'],
  'server.clientAuth.headers': ['legacy', 'dnFormat'],
  'server.backend': ['command', 'cwd', 'env', 'passEnv', 'listen', 'readyPath', 'readyTimeoutMs', 'requestTimeoutMs', 'idleTimeoutMs', 'restart', 'stopTimeoutMs', 'accessLog', 'watchdog', 'user', 'group', 'sameUser', '$comment'],
  'server.backend.restart': ['initialDelayMs', 'maxDelayMs', 'maxRestarts', 'resetAfterMs'],
};

/** Looks up a dotted section ('server.backend') in the raw object. */
function section(raw: Obj, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (isObj(o) ? o[k] : undefined), raw);
}

/** Validates raw JSON (already parsed) merged over the defaults; errors are `<dot.path>: <message>`. */
/** An absolute path as either platform writes one: `/usr/bin/python3`, or `C:\\Python312\\python.exe` on Windows. */
function isAbsoluteProgram(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p);
}

export function validateConfig(raw: unknown): ConfigResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (!isObj(raw)) return { ok: false, errors: ['(root): must be a JSON object'], warnings };
  for (const [name, keys] of Object.entries(KNOWN)) {
    const obj = name === '' ? raw : section(raw, name);
    if (obj === undefined) continue;
    if (!isObj(obj)) {
      errors.push(`${name}: must be an object`);
      continue;
    }
    for (const k of Object.keys(obj)) if (!keys.includes(k)) errors.push(`${name ? `${name}.` : ''}${k}: unknown setting${didYouMean(k, keys)}`);
  }
  const v = isObj(raw['vault']) ? raw['vault'] : {};
  const k = isObj(raw['keystore']) ? raw['keystore'] : {};
  const s = isObj(raw['server']) ? raw['server'] : {};
  const d = DEFAULT_CONFIG;

  const str = (o: Obj, key: string, path: string, def?: string): string | undefined => {
    const val = o[key];
    if (val === undefined) return def;
    if (typeof val !== 'string' || val === '') {
      errors.push(`${path}: must be a non-empty string`);
      return def;
    }
    return val;
  };
  const int = (o: Obj, key: string, path: string, def: number, min: number, max: number): number => {
    const val = o[key];
    if (val === undefined) return def;
    if (typeof val !== 'number' || !Number.isInteger(val) || val < min || val > max) {
      errors.push(`${path}: must be a whole number from ${min} to ${max}`);
      return def;
    }
    return val;
  };
  const bool = (o: Obj, key: string, path: string, def: boolean): boolean => {
    const val = o[key];
    if (val === undefined) return def;
    if (typeof val !== 'boolean') {
      errors.push(`${path}: must be true or false`);
      return def;
    }
    return val;
  };
  const oneOf = <T extends string>(o: Obj, key: string, path: string, def: T, allowed: readonly T[]): T => {
    const val = o[key];
    if (val === undefined) return def;
    if (!allowed.includes(val as T)) {
      errors.push(`${path}: must be one of ${allowed.join(', ')}`);
      return def;
    }
    return val as T;
  };

  const spkiPins = (val: unknown): string[] | undefined => {
    if (val === undefined) return undefined;
    const list = typeof val === 'string' ? [val] : val;
    if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && (/^[0-9a-f]{64}$/i.test(x) || /^[A-Za-z0-9+/]{43}=$/.test(x)))) {
      errors.push('keystore.spkiSha256: must be a SHA-256 (64 hex digits or 44 base64 characters), or a list of them');
      return undefined;
    }
    return (list as string[]).map((x) => (x.length === 64 ? x.toLowerCase() : Buffer.from(x, 'base64').toString('hex')));
  };
  const strList = (o: Obj, key: string, path: string, def: readonly string[], each: (x: string) => string | undefined): readonly string[] => {
    const val = o[key];
    if (val === undefined) return def;
    if (!Array.isArray(val) || !val.every((a) => typeof a === 'string' && a !== '')) {
      errors.push(`${path}: must be an array of non-empty strings`);
      return def;
    }
    for (const x of val as string[]) {
      const why = each(x);
      if (why) errors.push(`${path}: ${JSON.stringify(x)} ${why}`);
    }
    return val as string[];
  };
  // A user or group: a name as useradd takes it, or a numeric id; never root (the point is to leave root).
  const account = (o: Obj, key: string, path: string): string | undefined => {
    const val = str(o, key, path);
    if (val === undefined) return undefined;
    if (!/^([a-z_][a-z0-9_.-]{0,31}\$?|\d{1,10})$/i.test(val)) errors.push(`${path}: must be a user or group name, or a numeric id`);
    else if (val === 'root' || /^0+$/.test(val)) errors.push(`${path}: must not be root`);
    return val;
  };
  const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
  // keygate's own settings and the vault client's home never reach the app: they say where the secret comes from.
  const reservedEnv = (name: string): string | undefined =>
    !ENV_NAME.test(name) ? 'is not a variable name' : /^(KEYGATE_|CSPM_)/i.test(name) || name === 'NODE_OPTIONS' ? 'is reserved: keygate does not pass it to a backend' : undefined;
  const backendConfig = (b: Obj): BackendConfig => {
    const bd = BACKEND_DEFAULTS;
    const r = isObj(b['restart']) ? b['restart'] : {};
    const command = strList(b, 'command', 'server.backend.command', [], () => undefined);
    if (command.length === 0) errors.push('server.backend.command: required, the backend\'s argv as an array (no shell), e.g. ["/usr/bin/python3", "app.py"]');
    else if (!isAbsoluteProgram(command[0]!) && command[0] !== '${NODE}') {
      errors.push(`server.backend.command: the program ${JSON.stringify(command[0])} must be an absolute path or \${NODE} (keygate does no PATH lookup)`);
    }
    const env: Record<string, string> = {};
    if (b['env'] !== undefined) {
      if (!isObj(b['env'])) errors.push('server.backend.env: must be an object of NAME: "value"');
      else
        for (const [name, val] of Object.entries(b['env'])) {
          const why = reservedEnv(name) ?? (typeof val === 'string' ? undefined : 'must have a string value');
          if (why) errors.push(`server.backend.env: ${JSON.stringify(name)} ${why}`);
          else env[name] = val as string;
        }
    }
    const readyPath = str(b, 'readyPath', 'server.backend.readyPath');
    if (readyPath !== undefined && !readyPath.startsWith('/')) errors.push('server.backend.readyPath: must start with /');
    const restart = {
      initialDelayMs: int(r, 'initialDelayMs', 'server.backend.restart.initialDelayMs', bd.restart.initialDelayMs, 10, 600_000),
      maxDelayMs: int(r, 'maxDelayMs', 'server.backend.restart.maxDelayMs', bd.restart.maxDelayMs, 10, 3_600_000),
      maxRestarts: int(r, 'maxRestarts', 'server.backend.restart.maxRestarts', bd.restart.maxRestarts, 0, 1000),
      resetAfterMs: int(r, 'resetAfterMs', 'server.backend.restart.resetAfterMs', bd.restart.resetAfterMs, 100, 86_400_000),
    };
    if (restart.maxDelayMs < restart.initialDelayMs) errors.push('server.backend.restart.maxDelayMs: must not be less than initialDelayMs');
    return {
      command,
      cwd: str(b, 'cwd', 'server.backend.cwd', bd.cwd)!,
      env,
      passEnv: strList(b, 'passEnv', 'server.backend.passEnv', bd.passEnv, reservedEnv),
      listen: oneOf(b, 'listen', 'server.backend.listen', bd.listen, ['unix', 'fd'] as const),
      readyPath,
      readyTimeoutMs: int(b, 'readyTimeoutMs', 'server.backend.readyTimeoutMs', bd.readyTimeoutMs, 100, 600_000),
      requestTimeoutMs: int(b, 'requestTimeoutMs', 'server.backend.requestTimeoutMs', bd.requestTimeoutMs, 100, 3_600_000),
      idleTimeoutMs: int(b, 'idleTimeoutMs', 'server.backend.idleTimeoutMs', bd.idleTimeoutMs, 100, 3_600_000),
      restart,
      stopTimeoutMs: int(b, 'stopTimeoutMs', 'server.backend.stopTimeoutMs', bd.stopTimeoutMs, 0, 600_000),
      accessLog: bool(b, 'accessLog', 'server.backend.accessLog', bd.accessLog),
      watchdog: bool(b, 'watchdog', 'server.backend.watchdog', bd.watchdog),
      user: account(b, 'user', 'server.backend.user'),
      group: account(b, 'group', 'server.backend.group'),
      sameUser: bool(b, 'sameUser', 'server.backend.sameUser', bd.sameUser),
    };
  };

  const provider = oneOf(v, 'provider', 'vault.provider', d.vault.provider, ['cspm', 'command'] as const);
  let command: string[] | undefined;
  if (v['command'] !== undefined) {
    if (!Array.isArray(v['command']) || v['command'].length === 0 || !v['command'].every((a) => typeof a === 'string' && a !== '')) {
      errors.push('vault.command: must be a non-empty array of strings (argv, no shell)');
    } else command = v['command'] as string[];
  }
  if (provider === 'command' && !command) errors.push('vault.command: required when vault.provider is "command"');
  // The program that receives the password is a trust anchor: named by its absolute path, never found via PATH.
  if (command && !isAbsoluteProgram(command[0]!)) errors.push(`vault.command: the program ${JSON.stringify(command[0])} must be an absolute path (keygate does no PATH lookup)`);
  const t = isObj(raw['trust']) ? raw['trust'] : {};
  let owners: number[] = [];
  let ownerSids: string[] = [];
  // uids (POSIX) and SIDs (Windows: an account as Get-Acl's SDDL names it, "S-1-5-21-…-1001"; never a name, whose
  // spelling depends on the system's language)
  const SID_RE = /^S-1-\d{1,14}(-\d{1,10}){1,14}$/;
  if (t['owners'] !== undefined) {
    if (!Array.isArray(t['owners']) || !t['owners'].every((u) => (Number.isInteger(u) && (u as number) > 0) || (typeof u === 'string' && SID_RE.test(u)))) {
      errors.push('trust.owners: must be an array of uids (whole numbers above 0; root is always trusted) or, on Windows, SIDs such as "S-1-5-21-1004336348-1177238915-682003330-1001" (Get-LocalUser name | Select SID)');
    } else {
      owners = (t['owners'] as unknown[]).filter((u): u is number => typeof u === 'number');
      ownerSids = (t['owners'] as unknown[]).filter((u): u is string => typeof u === 'string');
    }
  }
  const entry = str(raw, 'entry', 'entry');
  if (entry !== undefined && (isAbsoluteProgram(entry) || entry.split(/[\\/]/).includes('..'))) errors.push('entry: must be a path inside the project (relative, no ..)');
  const config: Config = {
    ...(entry !== undefined ? { entry } : {}),
    vault: {
      provider,
      clientPath: str(v, 'clientPath', 'vault.clientPath'),
      alias: str(v, 'alias', 'vault.alias', d.vault.alias)!,
      output: oneOf(v, 'output', 'vault.output', d.vault.output, ['xml', 'text'] as const),
      command,
      timeoutMs: int(v, 'timeoutMs', 'vault.timeoutMs', d.vault.timeoutMs, 100, 600_000),
      maxOutputBytes: int(v, 'maxOutputBytes', 'vault.maxOutputBytes', d.vault.maxOutputBytes, 256, 16 * 1024 * 1024),
      retries: int(v, 'retries', 'vault.retries', d.vault.retries, 0, 10),
      retryDelayMs: int(v, 'retryDelayMs', 'vault.retryDelayMs', d.vault.retryDelayMs, 10, 600_000),
      retryMaxDelayMs: int(v, 'retryMaxDelayMs', 'vault.retryMaxDelayMs', d.vault.retryMaxDelayMs, 10, 3_600_000),
    },
    keystore: {
      path: str(k, 'path', 'keystore.path', d.keystore.path)!,
      alias: str(k, 'alias', 'keystore.alias'),
      allowExpired: bool(k, 'allowExpired', 'keystore.allowExpired', d.keystore.allowExpired),
      reloadMinIntervalMs: int(k, 'reloadMinIntervalMs', 'keystore.reloadMinIntervalMs', d.keystore.reloadMinIntervalMs, 0, 3_600_000),
      spkiSha256: spkiPins(k['spkiSha256']),
    },
    server: {
      host: str(s, 'host', 'server.host', d.server.host)!,
      port: int(s, 'port', 'server.port', d.server.port, 0, 65535),
      handler: str(s, 'handler', 'server.handler'),
      staticDir: str(s, 'staticDir', 'server.staticDir'),
      hsts: bool(s, 'hsts', 'server.hsts', d.server.hsts),
      headersTimeoutMs: int(s, 'headersTimeoutMs', 'server.headersTimeoutMs', d.server.headersTimeoutMs, 500, 120_000),
      bodyTimeoutMs: int(s, 'bodyTimeoutMs', 'server.bodyTimeoutMs', d.server.bodyTimeoutMs, 500, 3_600_000),
      backend: s['backend'] === undefined ? undefined : backendConfig(isObj(s['backend']) ? s['backend'] : {}),
      clientAuth: validateClientAuthConfig(s['clientAuth'], errors, warnings),
      user: account(s, 'user', 'server.user'),
      group: account(s, 'group', 'server.group'),
      http2: bool(s, 'http2', 'server.http2', d.server.http2),
      acme: validateAcmeConfig(s['acme'], errors),
    },
    trust: { anchors: oneOf(t, 'anchors', 'trust.anchors', d.trust.anchors, ['refuse', 'warn'] as const), owners, ownerSids },
    admin: validateAdminConfig(raw['admin'], errors, warnings),
  };
  if (config.trust.anchors === 'warn') warnings.push('trust.anchors: "warn" lets keygate start with trust anchors others can write (dev only)');
  if (config.server.backend && config.server.handler) errors.push('server.backend: cannot be used together with server.handler (choose one way to run the app)');
  if (config.server.backend && config.server.staticDir) errors.push('server.backend: cannot be used together with server.staticDir (the backend serves its own files)');
  errors.push(...separationProblems(config));
  const acme = config.server.acme;
  if (acme && acme.httpPort === config.server.port && (acme.httpHost ?? config.server.host) === config.server.host) {
    errors.push(`server.acme.httpPort: ${acme.httpPort} is server.port too; the http-01 listener needs a port of its own (80, where the CA connects)`);
  }
  if (acme && config.keystore.alias === ACME_ACCOUNT_ALIAS) errors.push(`keystore.alias: ${ACME_ACCOUNT_ALIAS} is the ACME account key's entry, never the served one`);
  if (config.keystore.allowExpired) warnings.push('keystore.allowExpired: an expired certificate will be served');
  if (config.server.host === '0.0.0.0' || config.server.host === '::') warnings.push(`server.host: ${config.server.host} listens on every interface`);
  return errors.length ? { ok: false, errors, warnings } : { ok: true, config, warnings };
}

/**
 * Privilege separation rules (docs/backend.md): a backend under its own user needs keygate's serving user too,
 * a unix socket (a loopback port is open to every local user), and in production (trust.anchors "refuse") a
 * backend under keygate's own uid is refused unless sameUser says it is meant.
 */
function separationProblems(config: Config): string[] {
  const b = config.server.backend;
  const s = config.server;
  const out: string[] = [];
  if (!b) {
    if (s.user !== undefined || s.group !== undefined) out.push('server.user: is for backend mode only (keygate drops to it after starting the backend as server.backend.user)');
    return out;
  }
  if (b.group !== undefined && b.user === undefined) out.push('server.backend.group: needs server.backend.user');
  if (b.user !== undefined) {
    if (b.sameUser) out.push('server.backend.sameUser: cannot be used together with server.backend.user');
    if (s.user === undefined) out.push('server.user: required with server.backend.user: the user keygate serves and asks the vault as, after it started the backend as server.backend.user');
    else if (s.user === b.user) out.push('server.backend.user: must differ from server.user (the same user can read keygate\'s memory)');
    if (b.listen !== 'unix') out.push('server.backend.listen: must be "unix" with server.backend.user (a loopback port is open to every local user)');
  } else if (s.user !== undefined || s.group !== undefined) {
    out.push('server.user: needs server.backend.user (privilege separation starts the backend as its own user)');
  } else if (config.trust.anchors === 'refuse' && !b.sameUser) {
    out.push('server.backend.user: required in production (trust.anchors "refuse"): a backend under keygate\'s own user can read the password and the key from keygate\'s memory; set server.backend.user and server.user (docs/backend.md#privilege-separation), or server.backend.sameUser: true to accept that');
  }
  return out;
}

/**
 * Where JSON.parse stopped, as `line L, column C: <reason>` (1-based). V8 names only the offset before Node 22
 * and adds "(line … column …)" after; both are read from the offset, so every Node says the same.
 */
export function describeJsonError(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const at = /at position (\d+)/.exec(message);
  const offset = at ? Number(at[1]) : text.length; // "Unexpected end of JSON input" names none: the end
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  let reason = message.replace(/\s*\(line \d+ column \d+\)/, '').replace(/\s*in JSON at position \d+/, '').replace(/, ".*" is not valid JSON$/s, '');
  if (/,\s*$/.test(before) && /^[}\]]/.test(text.slice(offset))) reason += ' (a trailing comma: JSON allows none)';
  return `line ${line}, column ${column}: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}`;
}
