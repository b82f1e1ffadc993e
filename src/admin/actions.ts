// What /cmd can run: named actions, never a shell (OpenSSH's forced command, not remo_serv's shlex+subprocess).
// keygate's own actions are functions with typed arguments, reached through AdminHost (which serve passes in);
// operator actions are fixed argv from keygate.config.json (verified bytes) run by execa without a shell, the
// user's words appended only when each matches its pattern. Nothing the user sends reaches a shell or a path.

import type * as Execa from 'execa';
import { importLibrary } from '../late-runtime.js';
import type { AdminAction, AdminConfig } from './config.js';
import { readTail } from './file-jail.js';

/** What the serving process offers the admin channel; optional members exist only when that feature is on. */
export interface AdminHost {
  /** A snapshot for `status` (no secrets: manifest hash, listen URL, pid, uptime, backend state). */
  status(): Record<string, unknown>;
  /** Verifies the tree again, as `keygate verify` does. */
  verify(): Promise<{ ok: boolean; lines: string[] }>;
  /** Asks for a TLS reload (vault + keystore), coalesced and rate-limited like SIGHUP. */
  reloadTls(): void;
  /** Restarts the backend through its supervisor (backend mode only). */
  restartBackend?(): void;
  /** Reloads the client-certificate CRL (client-certificate auth only). */
  reloadCrl?(): Promise<void>;
}

export interface ActionResult {
  /** HTTP status: 200 ran (even with a non-zero exit, which the output says), 400 bad arguments, 403 refused. */
  readonly status: number;
  readonly output: Buffer;
  /** For the audit line: ok, exit=N, timeout, refused: why… */
  readonly result: string;
}

/** The command line split into an action name and its words (no quoting: words are separated by spaces). */
export function parseCommandLine(line: string): { name: string; args: string[] } | string {
  if (/[\0-\x08\x0a-\x1f\x7f]/.test(line)) return 'the command line holds control characters';
  const words = line.trim().split(/[ \t]+/).filter(Boolean);
  if (words.length === 0) return 'the command line is empty';
  return { name: words[0]!, args: words.slice(1) };
}

const ok = (text: string): ActionResult => ({ status: 200, output: Buffer.from(text.endsWith('\n') ? text : `${text}\n`), result: 'ok' });
const refuse = (status: number, why: string): ActionResult => ({ status, output: Buffer.from(`${why}\n`), result: `refused: ${why}` });

/** The action names this channel offers: keygate's own that the host supports, then the config's. */
export function offeredActions(config: AdminConfig, host: AdminHost): string[] {
  const own = ['status', 'verify', 'reload-tls', 'tail-log'];
  if (host.restartBackend) own.push('restart-backend');
  if (host.reloadCrl) own.push('reload-crl');
  return [...own, ...Object.keys(config.actions)];
}

export interface RunContext {
  readonly config: AdminConfig;
  readonly host: AdminHost;
  /** The project folder: operator actions run there; the audit log is resolved from it. */
  readonly base: string;
  readonly auditLogPath: string;
}

/** Runs one action with its words and the request payload (stdin for operator actions that take it). */
export async function runAction(name: string, args: readonly string[], payload: Buffer, rc: RunContext): Promise<ActionResult> {
  const { host, config } = rc;
  const noArgs = (): ActionResult | undefined => (args.length ? refuse(400, `${name} takes no arguments`) : payload.length ? refuse(400, `${name} reads no input`) : undefined);
  switch (name) {
    case 'status':
      return noArgs() ?? ok(JSON.stringify(host.status(), null, 2));
    case 'verify': {
      const bad = noArgs();
      if (bad) return bad;
      const report = await host.verify();
      return { ...ok(report.lines.join('\n')), result: report.ok ? 'ok' : 'ok: tree differs' };
    }
    case 'reload-tls':
      if (noArgs()) return noArgs()!;
      host.reloadTls();
      return ok('TLS reload requested (the vault is asked again; the log says when the new context is in use)');
    case 'restart-backend':
      if (!host.restartBackend) return refuse(403, 'restart-backend: this service runs no backend (server.backend is not set)');
      if (noArgs()) return noArgs()!;
      host.restartBackend();
      return ok('backend restart requested (it is verified again, then started by its supervisor)');
    case 'reload-crl':
      if (!host.reloadCrl) return refuse(403, 'reload-crl: client-certificate auth is not configured');
      if (noArgs()) return noArgs()!;
      await host.reloadCrl();
      return ok('CRL files read again (the log says whether newer CRLs were applied, or why not)');
    case 'tail-log': {
      if (args.length > 1 || (args[0] !== undefined && !/^[1-9][0-9]{0,3}$/.test(args[0]))) return refuse(400, 'tail-log takes one optional number of lines, 1 to 1000');
      if (payload.length) return refuse(400, 'tail-log reads no input');
      const lines = Math.min(1000, Number(args[0] ?? 20));
      return ok(readTail(rc.auditLogPath, lines));
    }
  }
  const action = config.actions[name];
  if (!action) return refuse(403, `${name} is not an action this channel offers`);
  return runOperatorAction(name, action, args, payload, rc.base);
}

/** The environment operator actions get: a fixed PATH and locale, nothing of keygate's own (no secret). */
const ACTION_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

async function runOperatorAction(name: string, action: AdminAction, args: readonly string[], payload: Buffer, cwd: string): Promise<ActionResult> {
  if (args.length !== action.args.length) return refuse(400, `${name} takes ${action.args.length} argument(s), got ${args.length}`);
  for (let i = 0; i < args.length; i++) {
    if (!new RegExp(`^(?:${action.args[i]})$`).test(args[i]!)) return refuse(400, `${name}: argument ${i + 1} does not match ${action.args[i]}`);
  }
  if (payload.length && !action.stdin) return refuse(400, `${name} reads no input`);
  const { execa } = await importLibrary<typeof Execa>('execa');
  const r = await execa(action.argv[0]!, [...action.argv.slice(1), ...args], {
    cwd,
    env: ACTION_ENV,
    extendEnv: false,
    shell: false,
    input: payload,
    all: true,
    reject: false,
    timeout: action.timeoutMs,
    maxBuffer: action.maxOutputBytes,
    stripFinalNewline: false,
    encoding: 'buffer',
  });
  const output = Buffer.from((r.all as Uint8Array | undefined) ?? new Uint8Array());
  if (r.timedOut) return { status: 200, output: Buffer.concat([output, Buffer.from(`[keygate: ${name} timed out after ${action.timeoutMs} ms and was killed]\n`)]), result: 'timeout' };
  if (r.isMaxBuffer) return { status: 200, output: Buffer.concat([output, Buffer.from(`[keygate: output cut at ${action.maxOutputBytes} bytes]\n`)]), result: 'output cut' };
  if (r.failed && r.exitCode === undefined) return refuse(502, `${name}: could not start ${action.argv[0]}`);
  if (r.exitCode !== 0) return { status: 200, output: Buffer.concat([output, Buffer.from(`[keygate: exit status ${r.exitCode}]\n`)]), result: `exit=${r.exitCode}` };
  return { status: 200, output, result: 'ok' };
}
