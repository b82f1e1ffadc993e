// The admin channel's listener: remo_serv 0.6.0's wire protocol (notes/seed-peers-findings.md §1.3) on a plain
// HTTP socket of its own (the protocol encrypts itself), loopback or a unix socket by default, started by serve
// only after the gate passed and only when `admin` is configured (docs/admin.md). A late part of the bundle
// (scripts/build.mjs): verify and check never parse it.
//
// Each request: session by cookie → body read (bounded) → body token (TTL, path hash, request number exactly
// the next) → URL token (TTL) → permission → action → sealed response with the real status and an end token.
// Every bad input is a 4xx with a one-line plain-text body, audited and logged; nothing secret in either.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { sign, type KeyObject } from 'node:crypto';
import { KeygateError, describeCause } from '../errors.js';
import type { AdminConfig } from './config.js';
import { Fernet, ProtocolError, b64uEncode, sessionKey, x448Ephemeral, x448Shared } from './crypto.js';
import { checkLogin, decoyKey } from './login-check.js';
import { isLoopback, loopbackPeerUid } from './peer-uid.js';
import { decodeRequestBody, encodeResponse } from './framing.js';
import { RateLimiter, SessionTable, type Session } from './sessions.js';
import { mayRun, type AdminUser } from './users.js';
import { offeredActions, parseCommandLine, runAction, type AdminHost } from './actions.js';
import { JailError, readJailed, writeDrop } from './file-jail.js';
import { argDigest, openAuditLog, type AuditEntry } from './audit.js';
import { InteractiveRefusal, InteractiveTable, type InteractiveReply } from './interactive.js';

export type { AdminHost } from './actions.js';

export interface AdminLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface AdminServerOptions {
  readonly config: AdminConfig;
  /** The project folder: relative settings resolve from it. */
  readonly base: string;
  readonly serverKey: KeyObject;
  readonly users: ReadonlyMap<string, AdminUser>;
  readonly host: AdminHost;
  readonly log: AdminLog;
  readonly version: string;
  /** The clock in seconds (tests); default Date.now()/1000. */
  readonly nowS?: () => number;
}

export interface AdminServer {
  /** http://host:port/ or unix:<path> */
  readonly url: string;
  readonly port?: number;
  /** The pid of the interactive program a session runs (tests check it is gone afterwards). */
  interactivePid(cookie: string): number | undefined;
  close(): Promise<void>;
}

const AUTH_MAX_BYTES = 4096;
const CMD_MAX_BYTES = 1024 * 1024;
const COOKIE = /(?:^|;\s*)SESSION_ID=([A-Za-z0-9_-]{1,64})/;
const ROUTE = /^\/(cmd|get|put|icm|idt|edt|info|auth)(?:\/(.*))?$/s;

/** A refusal: HTTP status and the one line the client reads (never a secret). */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > limit) {
        reject(new Refusal(413, `the request body is larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      parts.push(d);
    });
    req.on('end', () => resolveBody(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/**
 * The /auth rate-limit key of a connection. A loopback peer is keyed by its socket's uid, so one local
 * user cannot use up another's logins; a unix-socket peer by "unix": the socket is 0600, so only keygate's own
 * uid and root can connect (Node cannot read SO_PEERCRED, and /proc/net/unix does not name a socket's peer).
 */
export function peerKey(req: IncomingMessage): string {
  const s = req.socket;
  if (s.remoteAddress === undefined) return 'unix';
  if (!isLoopback(s.remoteAddress) || s.remotePort === undefined || s.localAddress === undefined || s.localPort === undefined) return s.remoteAddress;
  const uid = loopbackPeerUid({ peerAddress: s.remoteAddress, peerPort: s.remotePort, localAddress: s.localAddress, localPort: s.localPort });
  // Not found (not Linux, or a race): a bucket of its own, so a peer that hides cannot use up the operators' ones.
  return uid === undefined ? 'loopback:uid-unknown' : `uid:${uid}`;
}

/** Starts the listener; throws ADMIN_LISTEN_FAILED when it cannot. */
export async function startAdminServer(o: AdminServerOptions): Promise<AdminServer> {
  const { config, log } = o;
  const now = o.nowS ?? (() => Math.floor(Date.now() / 1000));
  const auditPath = resolve(o.base, config.auditLog);
  const audit = openAuditLog(auditPath, (m) => log.warn(m, { gate: 'admin' }));
  const interactive = new InteractiveTable({
    max: config.maxInteractive,
    cwd: o.base,
    sessionIdleSeconds: config.sessionIdleSeconds,
    log: (m) => log.info(m, { gate: 'admin' }),
  });
  // A session that ends (logout, idle, shutdown) ends its interactive program: remo_serv leaked them.
  const sessions = new SessionTable({
    maxSessions: config.maxSessions,
    idleSeconds: config.sessionIdleSeconds,
    onEnd: (s) => void interactive.end(s.id, `${s.user}'s session ended`),
  });
  const perUser = new RateLimiter({ burst: config.authRate.perUserBurst, perMinute: config.authRate.perMinute });
  const perAddress = new RateLimiter({ burst: config.authRate.perAddressBurst, perMinute: config.authRate.perMinute });
  const decoy = decoyKey();
  const ttl = config.tokenTtlSeconds;
  const offered = offeredActions(config, o.host);

  const finish = (entry: AuditEntry): void => {
    audit.write(entry);
    const who = entry.user ? `${entry.user} ` : '';
    const line = `admin: ${who}${entry.action} → ${entry.status} ${entry.result}`;
    if (entry.status < 400) log.info(line, { gate: 'admin', source: entry.source, ...(entry.req ? { req: entry.req } : {}) });
    else log.warn(line, { gate: 'admin', source: entry.source });
  };
  const plain = (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void => {
    const body = Buffer.from(text ? `${text}\n` : '');
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(body.length), 'Cache-Control': 'no-store', ...headers });
    res.end(body);
  };
  const sealed = (res: ServerResponse, s: Session, req: number, status: number, data: Buffer): void => {
    const body = encodeResponse(s.fernet, req, status, data);
    // Chunked, never Content-Length: the stock client decrypts only a reply without one (clientlib http_response);
    // it then lets lines that do not decrypt through as plaintext, which keygate never sends (docs/admin.md).
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-store' });
    res.end(body);
  };

  async function handleAuth(req: IncomingMessage, res: ServerResponse, source: string): Promise<AuditEntry> {
    const entry = { source, action: 'auth' };
    const peer = peerKey(req);
    const wait = perAddress.take(peer, now());
    if (wait) throw new Refusal(429, `too many logins from this address: retry in ${wait} s`, { 'Retry-After': String(wait) });
    const body = await readBody(req, AUTH_MAX_BYTES);
    if (body.length === 0) {
      // remo_serv ended the session here for anyone holding the cookie (an unauthenticated logout).
      throw new Refusal(403, `logout without authentication is refused: sessions end ${config.sessionIdleSeconds} s after their last request`);
    }
    let msg: { user?: unknown; key?: unknown; sign?: unknown };
    try {
      msg = JSON.parse(body.toString('utf8'));
    } catch {
      throw new Refusal(400, 'the /auth body is not JSON');
    }
    if (typeof msg !== 'object' || msg === null || typeof msg.user !== 'string' || typeof msg.key !== 'string' || typeof msg.sign !== 'string') {
      throw new Refusal(400, 'the /auth body needs "user", "key" and "sign" strings');
    }
    const known = o.users.get(msg.user);
    const named = { ...entry, ...(known ? { user: known.name, key: known.fingerprint } : {}) };
    try {
      // Every name has a bucket, per peer: an unknown one is limited like a known one, and one local user's
      // failures for a name do not lock that name out for the others.
      const userWait = perUser.take(`${msg.user}\0${peer}`, now());
      if (userWait) throw new Refusal(429, `too many logins for this user: retry in ${userWait} s`, { 'Retry-After': String(userWait) });
      const verdict = checkLogin(o.users, decoy, msg as { user: string; key: string; sign: string }, now());
      if (!verdict.ok) throw new Refusal(403, verdict.why);
      const { user, peerRaw } = verdict;
      const eph = x448Ephemeral();
      const fernet = new Fernet(sessionKey(x448Shared(eph.privateKey, peerRaw)));
      // A new session id for every login: a cookie holder cannot replace a running session's key.
      const session = sessions.create({ user: user.name, fingerprint: user.fingerprint, fernet, source }, now());
      if (!session) throw new Refusal(503, `${config.maxSessions} admin sessions are open (admin.maxSessions): retry when one ends`, { 'Retry-After': '60' });
      // Exactly 76 + 2 + 152 bytes: the Python client cuts this reply at fixed offsets.
      const reply = `${b64uEncode(eph.publicRaw)}\r\n${b64uEncode(sign(null, eph.publicRaw, o.serverKey))}`;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(reply.length), 'Set-Cookie': `SESSION_ID=${session.id}; Path=/; HttpOnly; SameSite=Strict`, 'Cache-Control': 'no-store' });
      res.end(reply);
      return { ...named, status: 200, result: 'ok: session opened' };
    } catch (err) {
      if (err instanceof ProtocolError) throw Object.assign(new Refusal(400, err.message), { entry: named });
      if (err instanceof Refusal) throw Object.assign(err, { entry: named });
      throw err;
    }
  }

  async function handleSession(req: IncomingMessage, res: ServerResponse, source: string, route: string, arg: string | undefined, s: Session): Promise<AuditEntry> {
    const entry: { user: string; key: string; source: string; action: string; req?: number; argSha256?: string } = { user: s.user, key: s.fingerprint, source, action: route };
    // `audit`: the refusal as the audit log and keygate's log keep it, without the decrypted argument.
    const fail = (status: number, message: string, audit = message): never => {
      throw Object.assign(new Refusal(status, message), { entry, audit });
    };
    const limit = route === 'put' ? Math.ceil(config.putMaxBytes * 1.5) + 4096 : CMD_MAX_BYTES;
    const body = await readBody(req, limit).catch((err: unknown) => fail(err instanceof Refusal ? err.status : 400, err instanceof Error ? err.message : 'unreadable body'));
    let payload: Buffer;
    try {
      const decoded = decodeRequestBody(s.fernet, req.url ?? '', body, req.headers['content-length'] !== undefined, ttl, now());
      sessions.accept(s, decoded.req, now());
      entry.req = decoded.req;
      payload = decoded.payload;
    } catch (err) {
      return fail(400, err instanceof ProtocolError ? err.message : 'the body does not decode');
    }
    const req_ = entry.req!;
    // Checked after the body: every request whose body authenticates uses its number, whatever its path.
    if (route === 'unknown') fail(403, `${(req.url ?? '').split('/')[1]?.slice(0, 16) ?? ''}: not a command of this channel (cmd, get, put, icm, idt, edt, info, auth)`);
    if (route === 'info') {
      sealed(res, s, req_, 200, Buffer.from(`keygate ${o.version} admin channel (remo_serv 0.6.0 protocol) here`));
      return { ...entry, status: 200, result: 'ok' };
    }
    const user = o.users.get(s.user)!;
    const answer = (r: InteractiveReply): AuditEntry => {
      sealed(res, s, req_, 200, r.output);
      return { ...entry, status: 200, result: r.result };
    };
    const refusedBy = (err: unknown): never => {
      if (err instanceof InteractiveRefusal) return fail(err.status, err.message);
      throw err;
    };
    if (route === 'idt' || route === 'edt') {
      // No argument: the stock client sends /idt and /edt bare; the body token still carries the number.
      if (arg !== undefined) fail(400, `/${route} takes no argument after the path`);
      entry.action = `${route}:${interactive.nameOf(s.id) ?? 'none'}`;
      if (route === 'idt') return answer(await interactive.exchange(s.id, payload).catch(refusedBy));
      if (payload.length) fail(400, '/edt reads no input');
      const ended = await interactive.end(s.id);
      if (!ended) fail(400, 'no interactive program runs in this session (start one with /icm)');
      return answer(ended!);
    }
    if (arg === undefined || arg === '') fail(400, `/${route} needs an encrypted argument after the slash`);
    let text: string;
    try {
      text = s.fernet.decrypt(arg!, ttl, now()).toString('utf8');
    } catch (err) {
      return fail(400, `the URL token: ${err instanceof ProtocolError ? err.message : 'does not decode'}`);
    }
    entry.argSha256 = argDigest(text);
    if (route === 'icm') {
      const parsed = parseCommandLine(text);
      if (typeof parsed === 'string') fail(400, parsed);
      const { name, args } = parsed as { name: string; args: string[] };
      entry.action = `icm:${name}`;
      const names = Object.keys(config.interactive);
      const action = Object.hasOwn(config.interactive, name) ? config.interactive[name] : undefined;
      if (!action) fail(403, `${name} is not an interactive action this channel offers (${names.length ? `offered: ${names.join(', ')}` : 'none is: admin.interactive'})`);
      if (!mayRun(user, name)) fail(403, `${s.user} may not run ${name}`);
      if (args.length) fail(400, `${name} takes no arguments (its argv is fixed in admin.interactive)`);
      return answer(await interactive.start(s.id, s.user, name, action!, payload).catch(refusedBy));
    }
    if (route === 'cmd') {
      const parsed = parseCommandLine(text);
      if (typeof parsed === 'string') fail(400, parsed);
      const { name, args } = parsed as { name: string; args: string[] };
      entry.action = `cmd:${name}`;
      if (name === 'logout') {
        // The authenticated logout (remo_serv's was an empty /auth anyone with the cookie could send): any user's.
        if (args.length || payload.length) fail(400, 'logout takes no arguments and reads no input');
        await interactive.end(s.id, `${s.user} logged out`); // gone before the answer says so
        sessions.end(s.id);
        sealed(res, s, req_, 200, Buffer.from('logged out\n'));
        return { ...entry, status: 200, result: 'ok: session ended' };
      }
      if (!offered.includes(name)) fail(403, `${name} is not an action this channel offers (offered: ${offered.join(', ')})`);
      if (!mayRun(user, name)) fail(403, `${s.user} may not run ${name}`);
      const r = await runAction(name, args, payload, { config, host: o.host, base: o.base, auditLogPath: auditPath });
      if (r.status >= 400) fail(r.status, r.output.toString('utf8').trim());
      sealed(res, s, req_, r.status, r.output);
      return { ...entry, status: r.status, result: r.result };
    }
    if (route === 'get') {
      if (!mayRun(user, 'get')) fail(403, `${s.user} may not get files`);
      if (payload.length) fail(400, '/get reads no input');
      let data: Buffer;
      try {
        data = readJailed(o.base, config.getFolders, text);
      } catch (err) {
        if (err instanceof JailError) return fail(err.status, `${text}: ${err.message}`, err.message);
        throw err;
      }
      sealed(res, s, req_, 200, data);
      return { ...entry, status: 200, result: `ok: ${data.length} bytes` };
    }
    // put
    if (!config.dropFolder) fail(403, '/put is off: no drop folder is configured (admin.dropFolder)');
    if (!mayRun(user, 'put')) fail(403, `${s.user} may not put files`);
    if (payload.length > config.putMaxBytes) fail(413, `the upload is larger than admin.putMaxBytes (${config.putMaxBytes})`);
    try {
      writeDrop(o.base, config.dropFolder!, text, payload);
    } catch (err) {
      if (err instanceof JailError) return fail(err.status, `${text}: ${err.message}`, err.message);
      throw err;
    }
    sealed(res, s, req_, 200, Buffer.alloc(0));
    return { ...entry, status: 200, result: `ok: ${payload.length} bytes` };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const source = req.socket.remoteAddress ?? 'unix';
    const url = req.url ?? '/';
    const m = ROUTE.exec(url);
    const route = m?.[1];
    let entry: AuditEntry | undefined;
    try {
      if (route === 'auth') {
        entry = await handleAuth(req, res, source);
        return;
      }
      const session = sessions.get(COOKIE.exec(req.headers.cookie ?? '')?.[1], now());
      if (!session) {
        if (route === 'info' && (m?.[2] === undefined || m[2] === '')) {
          plain(res, 200, `keygate ${o.version} admin channel (remo_serv 0.6.0 protocol) here`);
          entry = { source, action: 'info', status: 200, result: 'ok' };
          return;
        }
        throw new Refusal(403, 'log in first (POST /auth); sessions end after admin.sessionIdleSeconds idle');
      }
      entry = await handleSession(req, res, source, route ?? 'unknown', m?.[2], session);
    } catch (err) {
      const known = err instanceof Refusal;
      const status = known ? err.status : 400;
      // An unexpected failure is still this request's, not the server's: answered 400, logged as a bug.
      const message = known ? err.message : 'the request could not be handled';
      if (!known) log.warn(`admin: unexpected error (a bug, please report): ${describeCause(err)}`, { gate: 'admin' });
      const audited = (err as { audit?: string }).audit ?? message;
      entry = { source, action: route ?? 'unknown', ...((err as { entry?: object }).entry ?? {}), status, result: `refused: ${audited}` } as AuditEntry;
      if (!res.headersSent) plain(res, status, message, { ...(known ? err.headers : {}), ...(status === 413 ? { Connection: 'close' } : {}) });
      else res.destroy();
    } finally {
      if (entry) finish(entry);
    }
  }

  const server: Server = createServer({ requestTimeout: 60_000, headersTimeout: 10_000 }, (req, res) => void handle(req, res));
  server.keepAliveTimeout = 5_000;
  const socketPath = config.socket === undefined ? undefined : resolve(o.base, config.socket);
  try {
    if (socketPath) {
      // A socket left by a killed keygate is removed; anything else at that path is not ours to delete.
      const st = (() => {
        try {
          return lstatSync(socketPath);
        } catch {
          return undefined;
        }
      })();
      if (st && !st.isSocket()) throw new Error(`${socketPath} exists and is not a socket`);
      if (st) unlinkSync(socketPath);
    }
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      if (socketPath) {
        // bind(2) runs inside listen(): under umask 177 the socket is 0600 from its first moment, not only after
        // the chmod below (another local user could connect in between).
        const umask = process.umask(0o177);
        try {
          server.listen(socketPath, ok);
        } finally {
          process.umask(umask);
        }
      } else server.listen(config.port, config.host, ok);
    });
    if (socketPath) chmodSync(socketPath, 0o600);
  } catch (err) {
    server.close();
    throw new KeygateError('ADMIN_LISTEN_FAILED', `failed to start the admin channel on ${socketPath ?? `${config.host}:${config.port}`}: ${describeCause(err)}`, {
      hint: 'choose a free admin.port (or another admin.socket) in keygate.config.json',
    });
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : undefined;
  const hostPart = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: socketPath ? `unix:${socketPath}` : `http://${hostPart}:${port}/`,
    port,
    interactivePid: (cookie) => interactive.pidOf(cookie),
    close: async () => {
      sessions.clear();
      await interactive.closeAll('keygate is shutting down');
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
      if (socketPath) {
        try {
          unlinkSync(socketPath);
        } catch {
          /* already gone */
        }
      }
    },
  };
}
