// keygate.config.json: validated in one pure function that returns every problem at once.
// Precedence (applied by the caller): flags, then KEYGATE_* env (yargs), then this file, then defaults.

export interface Config {
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
  };
  readonly keystore: {
    readonly path: string;
    readonly alias?: string;
    readonly allowExpired: boolean;
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
  };
}

export const DEFAULT_CONFIG: Config = {
  vault: { provider: 'cspm', alias: 'keygate', output: 'xml', timeoutMs: 30_000, maxOutputBytes: 64 * 1024 },
  keystore: { path: 'keystore/keygate.p12', allowExpired: false },
  server: { host: '127.0.0.1', port: 8443, hsts: true, headersTimeoutMs: 10_000 },
};

export type ConfigResult = { ok: true; config: Config; warnings: string[] } | { ok: false; errors: string[]; warnings: string[] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const KNOWN: Record<string, readonly string[]> = {
  '': ['vault', 'keystore', 'server', '$comment', '_comment'],
  vault: ['provider', 'clientPath', 'alias', 'output', 'command', 'timeoutMs', 'maxOutputBytes'],
  keystore: ['path', 'alias', 'allowExpired'],
  server: ['host', 'port', 'handler', 'staticDir', 'hsts', 'headersTimeoutMs'],
};

/** Validates raw JSON (already parsed) merged over the defaults; errors are `<dot.path>: <message>`. */
export function validateConfig(raw: unknown): ConfigResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (!isObj(raw)) return { ok: false, errors: ['(root): must be a JSON object'], warnings };
  for (const [section, keys] of Object.entries(KNOWN)) {
    const obj = section === '' ? raw : raw[section];
    if (obj === undefined) continue;
    if (!isObj(obj)) {
      errors.push(`${section}: must be an object`);
      continue;
    }
    for (const k of Object.keys(obj)) if (!keys.includes(k)) errors.push(`${section ? `${section}.` : ''}${k}: unknown setting`);
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

  const provider = oneOf(v, 'provider', 'vault.provider', d.vault.provider, ['cspm', 'command'] as const);
  let command: string[] | undefined;
  if (v['command'] !== undefined) {
    if (!Array.isArray(v['command']) || v['command'].length === 0 || !v['command'].every((a) => typeof a === 'string' && a !== '')) {
      errors.push('vault.command: must be a non-empty array of strings (argv, no shell)');
    } else command = v['command'] as string[];
  }
  if (provider === 'command' && !command) errors.push('vault.command: required when vault.provider is "command"');
  const config: Config = {
    vault: {
      provider,
      clientPath: str(v, 'clientPath', 'vault.clientPath'),
      alias: str(v, 'alias', 'vault.alias', d.vault.alias)!,
      output: oneOf(v, 'output', 'vault.output', d.vault.output, ['xml', 'text'] as const),
      command,
      timeoutMs: int(v, 'timeoutMs', 'vault.timeoutMs', d.vault.timeoutMs, 100, 600_000),
      maxOutputBytes: int(v, 'maxOutputBytes', 'vault.maxOutputBytes', d.vault.maxOutputBytes, 256, 16 * 1024 * 1024),
    },
    keystore: {
      path: str(k, 'path', 'keystore.path', d.keystore.path)!,
      alias: str(k, 'alias', 'keystore.alias'),
      allowExpired: bool(k, 'allowExpired', 'keystore.allowExpired', d.keystore.allowExpired),
    },
    server: {
      host: str(s, 'host', 'server.host', d.server.host)!,
      port: int(s, 'port', 'server.port', d.server.port, 0, 65535),
      handler: str(s, 'handler', 'server.handler'),
      staticDir: str(s, 'staticDir', 'server.staticDir'),
      hsts: bool(s, 'hsts', 'server.hsts', d.server.hsts),
      headersTimeoutMs: int(s, 'headersTimeoutMs', 'server.headersTimeoutMs', d.server.headersTimeoutMs, 500, 120_000),
    },
  };
  if (config.keystore.allowExpired) warnings.push('keystore.allowExpired: an expired certificate will be served');
  if (config.server.host === '0.0.0.0' || config.server.host === '::') warnings.push(`server.host: ${config.server.host} listens on every interface`);
  return errors.length ? { ok: false, errors, warnings } : { ok: true, config, warnings };
}
