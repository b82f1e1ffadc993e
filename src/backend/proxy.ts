// The reverse proxy from keygate's TLS listener to the backend, on node:http (no dependency: ~150 lines that the
// manifest covers, where http-proxy passes hop-by-hop headers through and is unmaintained; see
// ../shared/notes/mtls-backend-pki.md §2.1). The header policy is the security boundary, so it is one pure
// function, forwardHeaders(), tested on its own:
//   1. every header named in Connection, and every hop-by-hop header, is dropped FIRST (a client must not be able
//      to make keygate drop its own headers: CVE-2026-33805 in @fastify/reply-from was that order reversed);
//   2. a client's X-Forwarded-*, Forwarded and X-Real-IP are dropped, never appended to;
//   3. a header whose name holds '_' is dropped, as nginx does by default: WSGI servers fold '_' and '-' into one
//      variable, so X_Forwarded_For would reach a Flask app as HTTP_X_FORWARDED_FOR;
//   4. then keygate adds X-Forwarded-For/-Proto/-Host from the TLS socket.
// A request with both Transfer-Encoding and Content-Length is refused (400): the two framings disagree, the
// classic request-smuggling set-up. Node's parser refuses it before us; the check stays as a second wall.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import type { BackendTarget } from './supervisor.js';

/** RFC 9110 §7.6.1 connection-specific fields, plus the Proxy-* pair and HTTP/2's pseudo ones a client may send. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'http2-settings']);
/** Headers only keygate may set towards the backend. */
const OWNED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-server', 'forwarded', 'x-real-ip']);

/** Lower-cased tokens of every Connection header in a raw header list. */
function connectionTokens(raw: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') for (const t of raw[i + 1]!.split(',')) if (t.trim()) tokens.add(t.trim().toLowerCase());
  }
  return tokens;
}

export interface ClientFacts {
  /** The TLS peer's address, from the socket. */
  readonly remoteAddress: string;
  /** Port the client connected to (keygate's listener). */
  readonly localPort: number;
  /** Keep Connection: upgrade / Upgrade (a WebSocket handshake). */
  readonly upgrade?: boolean;
}

/** The headers sent to the backend, as a flat raw list [name, value, …], in the client's order. */
export function forwardHeaders(raw: readonly string[], client: ClientFacts): string[] {
  const named = connectionTokens(raw);
  const out: string[] = [];
  let host: string | undefined;
  let upgradeValue: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    const value = raw[i + 1]!;
    if (lower === 'upgrade') upgradeValue ??= value;
    if (HOP_BY_HOP.has(lower) || OWNED.has(lower) || lower.includes('_')) continue;
    // A token may name any header, even Host or Cookie: honoured (RFC 9110 says the proxy removes them), except
    // that nothing named there can remove what keygate adds below, since that is added after.
    if (named.has(lower)) continue;
    if (lower === 'host') host ??= value;
    out.push(name, value);
  }
  if (client.upgrade && upgradeValue !== undefined) out.push('Connection', 'Upgrade', 'Upgrade', upgradeValue);
  out.push('X-Forwarded-For', client.remoteAddress, 'X-Forwarded-Proto', 'https', 'X-Forwarded-Port', String(client.localPort));
  if (host !== undefined) out.push('X-Forwarded-Host', host);
  return out;
}

/** The backend's response headers for the client: hop-by-hop and Connection-named ones removed. */
export function responseHeaders(raw: readonly string[]): string[] {
  const named = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

export interface ProxyOptions {
  /** Where the backend listens now; undefined while it is down (→ 502 at once, no connection attempt). */
  readonly target: () => BackendTarget | undefined;
  /** Time the backend has to send response headers (→ 504). */
  readonly requestTimeoutMs: number;
  /** One call per finished request, when access logging is on. */
  readonly onAccess?: (entry: { method: string; path: string; status: number; ms: number; remote: string; bytes: number }) => void;
  readonly onError?: (message: string) => void;
}

export interface Proxy {
  handle(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes the pooled keep-alive connections to the backend. */
  close(): void;
}

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra });
  res.end(`${text}\n`);
}

export function createProxy(options: ProxyOptions): Proxy {
  // Keep-alive to the backend: without it every request pays a connect (and gunicorn a fork-worker accept).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' });

  return {
    handle(req, res) {
      const t0 = options.onAccess ? process.hrtime.bigint() : 0n;
      if (options.onAccess) {
        res.once('close', () => {
          options.onAccess!({
            method: req.method ?? '',
            path: req.url ?? '',
            status: res.statusCode,
            ms: Number(process.hrtime.bigint() - t0) / 1e6,
            remote: req.socket.remoteAddress ?? '',
            bytes: (res.socket?.bytesWritten ?? 0) as number,
          });
        });
      }
      if (req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] !== undefined) {
        plain(res, 400, 'bad request: both Transfer-Encoding and Content-Length', { connection: 'close' });
        return;
      }
      const target = options.target();
      if (!target) {
        plain(res, 502, 'bad gateway: the backend is not running (restarting)', { 'retry-after': '1' });
        return;
      }
      const headers = forwardHeaders(req.rawHeaders, { remoteAddress: req.socket.remoteAddress ?? '', localPort: req.socket.localPort ?? 0 });
      const preq = http.request({ ...target, agent, method: req.method, path: req.url, headers: headers as unknown as http.OutgoingHttpHeaders, setHost: false });
      const timer = setTimeout(() => {
        plain(res, 504, 'gateway timeout: the backend did not answer in time');
        preq.destroy();
      }, options.requestTimeoutMs);
      preq.on('response', (pres) => {
        clearTimeout(timer);
        if (res.headersSent || res.destroyed) {
          pres.destroy();
          return;
        }
        res.writeHead(pres.statusCode ?? 502, pres.statusMessage, responseHeaders(pres.rawHeaders) as unknown as http.OutgoingHttpHeaders);
        pipeline(pres, res, () => {});
      });
      preq.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (!res.headersSent) {
          options.onError?.(`backend request failed: ${err.code ?? err.message}`);
          plain(res, 502, 'bad gateway: the backend did not answer');
        } else res.destroy();
      });
      // The client went away mid-response: stop the backend's work too.
      res.once('close', () => {
        clearTimeout(timer);
        if (!res.writableFinished) preq.destroy();
      });
      pipeline(req, preq, () => {});
    },

    upgrade(req, socket, head) {
      socket.on('error', () => socket.destroy());
      const target = options.target();
      if (!target || (req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] !== undefined)) {
        socket.end(`HTTP/1.1 ${target ? '400 Bad Request' : '502 Bad Gateway'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
        return;
      }
      const headers = forwardHeaders(req.rawHeaders, { remoteAddress: req.socket.remoteAddress ?? '', localPort: req.socket.localPort ?? 0, upgrade: true });
      const preq = http.request({ ...target, agent: false, method: req.method, path: req.url, headers: headers as unknown as http.OutgoingHttpHeaders, setHost: false });
      const timer = setTimeout(() => preq.destroy(new Error('timeout')), options.requestTimeoutMs);
      const head101 = (status: number, message: string, raw: readonly string[]): string => {
        let s = `HTTP/1.1 ${status} ${message}\r\n`;
        for (let i = 0; i < raw.length; i += 2) s += `${raw[i]}: ${raw[i + 1]}\r\n`;
        return `${s}\r\n`;
      };
      preq.on('upgrade', (pres, psocket, phead) => {
        clearTimeout(timer);
        const raw = pres.rawHeaders;
        // Connection/Upgrade are the handshake itself here: keep them, drop the rest of the hop-by-hop set.
        const kept: string[] = [];
        for (let i = 0; i < raw.length; i += 2) {
          const l = raw[i]!.toLowerCase();
          if (l === 'connection' || l === 'upgrade' || !HOP_BY_HOP.has(l)) kept.push(raw[i]!, raw[i + 1]!);
        }
        socket.write(head101(pres.statusCode ?? 101, pres.statusMessage ?? 'Switching Protocols', kept));
        if (phead.length) socket.write(phead);
        if (head.length) psocket.write(head);
        psocket.on('error', () => socket.destroy());
        socket.on('close', () => psocket.destroy());
        psocket.on('close', () => socket.destroy());
        psocket.pipe(socket);
        socket.pipe(psocket);
      });
      preq.on('response', (pres) => {
        // The backend declined the upgrade: relay its answer and close.
        clearTimeout(timer);
        socket.write(head101(pres.statusCode ?? 502, pres.statusMessage ?? '', [...responseHeaders(pres.rawHeaders), 'connection', 'close']));
        pres.pipe(socket);
      });
      preq.on('error', () => {
        clearTimeout(timer);
        socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      });
      preq.end();
    },

    close() {
      agent.destroy();
    },
  };
}
