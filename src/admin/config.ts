// The `admin` section of keygate.config.json (docs/admin.md, docs/configuration.md): validated by one pure
// function that adds every problem to the caller's list as `admin.<key>: <message>` (src/core/config.ts).
// The channel is off unless the section exists.

export interface AdminAction {
  /** Fixed argv, no shell: argv[0] an absolute path. The user's words are appended, each matched by args[i]. */
  readonly argv: readonly string[];
  /** One pattern per accepted word (anchored: the whole word must match). */
  readonly args: readonly string[];
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  /** Whether the request's payload goes to the program's stdin (else a payload is refused). */
  readonly stdin: boolean;
}

/** An interactive action (/icm, /idt, /edt): a fixed argv, no words from the user, one per session. */
export interface AdminInteractive {
  /** Fixed argv, no shell: argv[0] an absolute path checked like an action's program. */
  readonly argv: readonly string[];
  /** The program is ended when this long passes without /icm or /idt (at most admin.sessionIdleSeconds). */
  readonly idleSeconds: number;
  /** Output held between two requests; the program is paused (its pipe fills) rather than output dropped. */
  readonly maxOutputBytes: number;
  /** How long /icm and /idt wait for output before answering (they answer earlier once it goes quiet). */
  readonly replyWaitMs: number;
}

export interface AdminConfig {
  readonly host: string;
  readonly port: number;
  /** A unix socket path instead of host:port (relative to the project folder). */
  readonly socket?: string;
  /** Consent to listen on a non-loopback address (plain HTTP, the session cookie in clear). */
  readonly allowRemote: boolean;
  /** The server's Ed448 private key (unencrypted PKCS#8 PEM, 0600, listed in the manifest). */
  readonly serverKey: string;
  /** The user registry (listed in the manifest: adding a user is a manifest change). */
  readonly users: string;
  /** One JSON line per admin request. Not in the manifest (it grows). */
  readonly auditLog: string;
  /** Folders /get may read from; default: the audit log's folder. */
  readonly getFolders: readonly string[];
  /** The one folder /put writes to; no folder, no /put. */
  readonly dropFolder?: string;
  readonly putMaxBytes: number;
  readonly sessionIdleSeconds: number;
  readonly maxSessions: number;
  /** Age limit of every token a client sends (URL and body); the Python client mints fresh ones per request. */
  readonly tokenTtlSeconds: number;
  readonly authRate: { readonly perUserBurst: number; readonly perAddressBurst: number; readonly perMinute: number };
  readonly actions: Readonly<Record<string, AdminAction>>;
  /** Interactive actions for /icm, /idt, /edt; none: those commands are refused (403). */
  readonly interactive: Readonly<Record<string, AdminInteractive>>;
  /** Interactive programs running at once, over all sessions. */
  readonly maxInteractive: number;
}

/** keygate's own actions (src/admin/actions.ts); an operator action cannot take one of these names. */
export const BUILTIN_ACTIONS = ['status', 'verify', 'reload-tls', 'reload-crl', 'restart-backend', 'tail-log'] as const;
/** Names no operator action can take: keygate's own, `logout` (any user's, ends the session), the file operations. */
const RESERVED_NAMES: readonly string[] = [...BUILTIN_ACTIONS, 'logout', 'get', 'put'];

export const ADMIN_DEFAULTS = {
  host: '127.0.0.1',
  port: 8480,
  serverKey: 'admin/server_key.pem',
  users: 'admin/users.json',
  auditLog: 'log/admin-audit.jsonl',
  putMaxBytes: 16 * 1024 * 1024,
  sessionIdleSeconds: 600,
  maxSessions: 8,
  tokenTtlSeconds: 60,
  authRate: { perUserBurst: 5, perAddressBurst: 20, perMinute: 10 },
  action: { timeoutMs: 30_000, maxOutputBytes: 1024 * 1024 },
  interactive: { idleSeconds: 300, maxOutputBytes: 64 * 1024, replyWaitMs: 1000 },
  maxInteractive: 4,
} as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const KEYS = ['host', 'port', 'socket', 'allowRemote', 'serverKey', 'users', 'auditLog', 'getFolders', 'dropFolder', 'putMaxBytes', 'sessionIdleSeconds', 'maxSessions', 'tokenTtlSeconds', 'authRate', 'actions', 'interactive', 'maxInteractive', '$comment'];
const INTERACTIVE_KEYS = ['argv', 'idleSeconds', 'maxOutputBytes', 'replyWaitMs', '$comment'];
const ACTION_KEYS = ['argv', 'args', 'timeoutMs', 'maxOutputBytes', 'stdin', '$comment'];
const ACTION_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** 127.0.0.0/8, ::1 and localhost: what the stock client's plain HTTP may be exposed to without consent. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Validates raw `admin` (undefined: the channel is off); pushes `admin.…: …` problems. */
export function validateAdminConfig(raw: unknown, errors: string[], warnings: string[]): AdminConfig | undefined {
  if (raw === undefined) return undefined;
  if (!isObj(raw)) {
    errors.push('admin: must be an object');
    return undefined;
  }
  const d = ADMIN_DEFAULTS;
  for (const k of Object.keys(raw)) if (!KEYS.includes(k)) errors.push(`admin.${k}: unknown setting`);
  const str = (o: Obj, key: string, path: string, def?: string): string | undefined => {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'string' || v === '' || v.includes('\0')) {
      errors.push(`${path}: must be a non-empty string`);
      return def;
    }
    return v;
  };
  const int = (o: Obj, key: string, path: string, def: number, min: number, max: number): number => {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      errors.push(`${path}: must be a whole number from ${min} to ${max}`);
      return def;
    }
    return v;
  };
  const bool = (o: Obj, key: string, path: string, def: boolean): boolean => {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'boolean') {
      errors.push(`${path}: must be true or false`);
      return def;
    }
    return v;
  };
  const strList = (o: Obj, key: string, path: string): string[] | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x !== '')) {
      errors.push(`${path}: must be an array of non-empty strings`);
      return undefined;
    }
    return v as string[];
  };

  const host = str(raw, 'host', 'admin.host', d.host)!;
  const socket = str(raw, 'socket', 'admin.socket');
  if (socket !== undefined && (raw['host'] !== undefined || raw['port'] !== undefined)) errors.push('admin.socket: cannot be used together with admin.host/admin.port (choose one)');
  const allowRemote = bool(raw, 'allowRemote', 'admin.allowRemote', false);
  if (socket === undefined && !isLoopback(host)) {
    if (!allowRemote) errors.push(`admin.host: ${host} is not a loopback address: the channel is plain HTTP (its cookie travels in clear); set admin.allowRemote: true to consent, or tunnel over SSH`);
    else warnings.push(`admin.host: the admin channel listens on ${host} over plain HTTP`);
  }
  const auditLog = str(raw, 'auditLog', 'admin.auditLog', d.auditLog)!;
  const getFolders = strList(raw, 'getFolders', 'admin.getFolders') ?? [parentOf(auditLog)];
  const r = raw['authRate'] === undefined ? {} : isObj(raw['authRate']) ? raw['authRate'] : (errors.push('admin.authRate: must be an object'), {});
  for (const k of Object.keys(r)) if (!['perUserBurst', 'perAddressBurst', 'perMinute'].includes(k)) errors.push(`admin.authRate.${k}: unknown setting`);

  const programArgv = (a: Obj, p: string): string[] => {
    const argv = strList(a, 'argv', `${p}.argv`) ?? [];
    if (argv.length === 0) errors.push(`${p}.argv: required, the program's argv as an array (no shell), e.g. ["/usr/bin/systemctl", "status", "svc"]`);
    else if (!argv[0]!.startsWith('/')) errors.push(`${p}.argv: the program ${JSON.stringify(argv[0])} must be an absolute path (keygate does no PATH lookup)`);
    return argv;
  };
  const actions: Record<string, AdminAction> = {};
  const rawActions = raw['actions'];
  if (rawActions !== undefined && !isObj(rawActions)) errors.push('admin.actions: must be an object of name: { argv: [...] }');
  else if (rawActions !== undefined) {
    for (const [name, a] of Object.entries(rawActions)) {
      const p = `admin.actions.${name}`;
      if (!ACTION_NAME.test(name)) errors.push(`${p}: a name is 1 to 32 of a-z, 0-9 and -, starting with a letter`);
      if (RESERVED_NAMES.includes(name)) errors.push(`${p}: ${name} is one of keygate's own actions`);
      if (!isObj(a)) {
        errors.push(`${p}: must be an object with argv`);
        continue;
      }
      for (const k of Object.keys(a)) if (!ACTION_KEYS.includes(k)) errors.push(`${p}.${k}: unknown setting`);
      const argv = programArgv(a, p);
      const args = strList(a, 'args', `${p}.args`) ?? [];
      for (const pattern of args) {
        try {
          new RegExp(`^(?:${pattern})$`);
        } catch {
          errors.push(`${p}.args: ${JSON.stringify(pattern)} is not a regular expression`);
        }
      }
      actions[name] = {
        argv,
        args,
        timeoutMs: int(a, 'timeoutMs', `${p}.timeoutMs`, d.action.timeoutMs, 100, 600_000),
        maxOutputBytes: int(a, 'maxOutputBytes', `${p}.maxOutputBytes`, d.action.maxOutputBytes, 256, 64 * 1024 * 1024),
        stdin: bool(a, 'stdin', `${p}.stdin`, false),
      };
    }
  }
  // Interactive actions share the actions' names (a user's `actions` list allows both), so a name is one or the other.
  const interactive: Record<string, AdminInteractive> = {};
  const rawInteractive = raw['interactive'];
  if (rawInteractive !== undefined && !isObj(rawInteractive)) errors.push('admin.interactive: must be an object of name: { argv: [...] }');
  else if (rawInteractive !== undefined) {
    for (const [name, a] of Object.entries(rawInteractive)) {
      const p = `admin.interactive.${name}`;
      if (!ACTION_NAME.test(name)) errors.push(`${p}: a name is 1 to 32 of a-z, 0-9 and -, starting with a letter`);
      if (RESERVED_NAMES.includes(name)) errors.push(`${p}: ${name} is one of keygate's own actions`);
      if (actions[name]) errors.push(`${p}: ${name} is also in admin.actions (a name is one or the other)`);
      if (!isObj(a)) {
        errors.push(`${p}: must be an object with argv`);
        continue;
      }
      for (const k of Object.keys(a)) if (!INTERACTIVE_KEYS.includes(k)) errors.push(`${p}.${k}: unknown setting`);
      interactive[name] = {
        argv: programArgv(a, p),
        idleSeconds: int(a, 'idleSeconds', `${p}.idleSeconds`, d.interactive.idleSeconds, 1, 86_400),
        maxOutputBytes: int(a, 'maxOutputBytes', `${p}.maxOutputBytes`, d.interactive.maxOutputBytes, 256, 16 * 1024 * 1024),
        replyWaitMs: int(a, 'replyWaitMs', `${p}.replyWaitMs`, d.interactive.replyWaitMs, 10, 30_000),
      };
    }
  }
  return {
    host,
    port: int(raw, 'port', 'admin.port', d.port, 0, 65535),
    socket,
    allowRemote,
    serverKey: str(raw, 'serverKey', 'admin.serverKey', d.serverKey)!,
    users: str(raw, 'users', 'admin.users', d.users)!,
    auditLog,
    getFolders,
    dropFolder: str(raw, 'dropFolder', 'admin.dropFolder'),
    putMaxBytes: int(raw, 'putMaxBytes', 'admin.putMaxBytes', d.putMaxBytes, 1, 1024 * 1024 * 1024),
    sessionIdleSeconds: int(raw, 'sessionIdleSeconds', 'admin.sessionIdleSeconds', d.sessionIdleSeconds, 10, 86_400),
    maxSessions: int(raw, 'maxSessions', 'admin.maxSessions', d.maxSessions, 1, 1000),
    tokenTtlSeconds: int(raw, 'tokenTtlSeconds', 'admin.tokenTtlSeconds', d.tokenTtlSeconds, 1, 3600),
    authRate: {
      perUserBurst: int(r, 'perUserBurst', 'admin.authRate.perUserBurst', d.authRate.perUserBurst, 1, 1000),
      perAddressBurst: int(r, 'perAddressBurst', 'admin.authRate.perAddressBurst', d.authRate.perAddressBurst, 1, 10_000),
      perMinute: int(r, 'perMinute', 'admin.authRate.perMinute', d.authRate.perMinute, 1, 10_000),
    },
    actions,
    interactive,
    maxInteractive: int(raw, 'maxInteractive', 'admin.maxInteractive', d.maxInteractive, 1, 100),
  };
}

/** The folder part of a slash path ('log/a.jsonl' → 'log', 'a.jsonl' → '.'); pure, no node:path. */
function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i);
}
