// The reverse proxy from keygate's TLS listener to the backend, on node:http (no dependency: code the manifest
// covers, where http-proxy passes hop-by-hop headers through and is unmaintained; see
// ../shared/notes/mtls-backend-pki.md §2.1). The header policy is the security boundary, so it is one pure
// function, forwardHeaders(), tested on its own:
//   1. every header named in Connection, and every hop-by-hop header, is dropped FIRST (a client must not be able
//      to make keygate drop its own headers: CVE-2026-33805 in @fastify/reply-from was that order reversed);
//   2. a client's X-Forwarded-*, Forwarded and X-Real-IP are dropped, never appended to;
//   3. a header whose name holds '_' is dropped, as nginx does by default: WSGI servers fold '_' and '-' into one
//      variable, so X_Forwarded_For would reach a Flask app as HTTP_X_FORWARDED_FOR;
//   4. every client-sent identity header (RFC 9440 Client-Cert*, SSL-Client-*, X-SSL-*, XFCC …) is dropped,
//      whatever its case or '-'/'_' spelling, with client authentication on or off (isIdentityHeader);
//   5. then keygate adds X-Forwarded-For/-Proto/-Host from the TLS socket, and the identity headers of the TLS
//      peer certificate (src/server/client-auth.ts) when client authentication is on.
// The body's framing never comes from the client's header list: it comes from what Node's parser framed
// (requestFraming), for every method, as Go's ReverseProxy keeps it in Request.ContentLength. Otherwise a
// Connection token or the hop-by-hop set could unframe a body, which the backend then reads as a second request.
// A request with both Transfer-Encoding and Content-Length is refused (400): Node's parser
// refuses it before us; the check stays as a second wall.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { BackendTarget } from './supervisor.js';
import { isHttp2 } from '../server/http2-connection.js';

/** RFC 9110 §7.6.1 connection-specific fields, plus the Proxy-* pair and HTTP/2's pseudo ones a client may send. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'http2-settings']);
/** Headers only keygate may set towards the backend. */
const OWNED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-server', 'forwarded', 'x-real-ip']);

/**
 * Names only keygate may set that carry a client's identity, one list: keygate's own (RFC 9440 Client-Cert*,
 * Apache's SSL_* variables as headers), and those of the front ends an app may have been moved from: HAProxy/
 * OpenShift X-SSL-*, Envoy's XFCC, Traefik's X-Forwarded-Tls-Client-Cert*, IIS ARR's X-ARR-ClientCert, AWS ALB's
 * X-Amzn-Mtls-Clientcert*, Cloudflare's Cf-Client-Cert-*, and the X-Client-Cert*, X-Client-Verify, X-Client-DN
 * of nginx configurations (review 2026-12b L6). Compared lower-cased with '_' folded to '-', as WSGI servers fold
 * them (so SSL_CLIENT_S_DN and ssl-client-s-dn are one name). docs/client-auth.md lists the same names.
 */
const IDENTITY_EXACT = new Set(['client-cert', 'client-cert-chain', 'x-forwarded-client-cert', 'x-client-verify', 'x-client-dn', 'x-arr-clientcert']);
const IDENTITY_PREFIXES = ['ssl-', 'x-ssl-', 'x-forwarded-tls-client-cert', 'x-client-cert', 'x-amzn-mtls-clientcert', 'cf-client-cert-'];
export function isIdentityHeader(name: string): boolean {
  const n = name.toLowerCase().replace(/_/g, '-');
  return IDENTITY_EXACT.has(n) || IDENTITY_PREFIXES.some((p) => n.startsWith(p));
}

/** Lower-cased tokens of every Connection header in a raw header list. */
function connectionTokens(raw: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') for (const t of raw[i + 1]!.split(',')) if (t.trim()) tokens.add(t.trim().toLowerCase());
  }
  return tokens;
}

/** A request body's framing as Node's parser read it, or why the request is refused. */
export type Framing =
  | { readonly kind: 'none' }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'length'; readonly length: string }
  | { readonly kind: 'refuse'; readonly status: 400 | 501; readonly message: string };

/** The framing to forward, from the parsed headers (never from the raw list, which a Connection token edits). */
export function requestFraming(headers: { readonly [name: string]: string | string[] | undefined }, raw: readonly string[]): Framing {
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') hosts++;
  // RFC 9112 §3.2: more than one Host is answered 400 (nginx and Apache do); Node keeps the first silently.
  if (hosts > 1) return { kind: 'refuse', status: 400, message: 'bad request: more than one Host header' };
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  if (te !== undefined) {
    if (cl !== undefined) return { kind: 'refuse', status: 400, message: 'bad request: both Transfer-Encoding and Content-Length' };
    // RFC 9112 §6.1: a coding the server does not understand is 501; only "chunked" alone is forwarded, since
    // Node hands us the decoded body and a second coding (gzip, chunked) would be lost on the way.
    if (typeof te !== 'string' || te.trim().toLowerCase() !== 'chunked') return { kind: 'refuse', status: 501, message: 'not implemented: a transfer coding other than chunked' };
    return { kind: 'chunked' };
  }
  if (cl !== undefined) {
    if (typeof cl !== 'string' || !/^\d{1,15}$/.test(cl)) return { kind: 'refuse', status: 400, message: 'bad request: invalid Content-Length' };
    return { kind: 'length', length: cl };
  }
  return { kind: 'none' };
}

/** RFC 9113 §8.2.2: fields that make an HTTP/2 request malformed (te is allowed with the value "trailers" only). */
const H2_CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
/** A field name as HTTP/2 allows it (RFC 9113 §8.2.1): a token in lower case. */
const H2_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** What no field value may hold on its way to HTTP/1.1: CR, LF, NUL, other controls but HTAB (RFC 9113 §8.2.1). */
const H2_BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]|^[ \t]|[ \t]$/;
/** :path as it goes into the request line: visible ASCII only (a space or CR/LF would end the line). */
const H2_PATH = /^\/[\x21-\x7e]*$/;
/** :authority as it becomes Host: host[:port], no userinfo (RFC 9113 §8.3.1), no space or control. */
const H2_AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)(?::\d{1,5})?$/;

/** An HTTP/2 request as the HTTP/1.1 request keygate sends on, or why it is refused. */
export type Downgrade =
  | { readonly kind: 'ok'; readonly method: string; readonly path: string; readonly host: string | undefined; readonly raw: string[]; readonly framing: Framing }
  | { readonly kind: 'refuse'; readonly status: 400 | 405; readonly message: string };

/**
 * The h2 → HTTP/1.1 downgrade (RFC 9113 §8.3.1), pure: the stream's header list (node:http2's rawHeaders, pseudo
 * fields first as received) and whether HEADERS ended the stream. Every malformed case of RFC 9113 §8.1.1/§8.2 is
 * refused, not repaired, so no h2 field can become HTTP/1.1 syntax (the h2 desync classes of James Kettle's
 * "HTTP/2: The Sequel is Always Worse", 2021: CR/LF/':' in names or values, transfer-encoding or a content-length
 * that the DATA frames disagree with, a request line built from a :path or :method holding spaces). Node's
 * nghttp2 refuses most of them before keygate sees the stream (docs/security.md "HTTP/2" says which); this is
 * the second wall, and proxy-h2.test.ts holds it on its own. What passes: Host from :authority (or the host
 * field; both and different → refused), pseudo fields never forwarded, cookie fields joined with "; "
 * (RFC 9113 §8.2.3: HTTP/1.1 allows one Cookie line), and the body's framing: a content-length as sent (the
 * proxy cuts the request if the DATA disagrees), none when HEADERS ended the stream, else chunked.
 */
export function downgradeRequest(raw: readonly string[], endAfterHeaders: boolean): Downgrade {
  const refuse = (message: string, status: 400 | 405 = 400): Downgrade => ({ kind: 'refuse', status, message: `bad request: ${message}` });
  const pseudo = new Map<string, string>();
  const out: string[] = [];
  let regular = false;
  let host: string | undefined;
  let cl: string | undefined;
  let cookie: number | undefined; // index in out of the joined cookie value
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.startsWith(':')) {
      if (regular) return refuse('a pseudo-header field after a regular field');
      if (!['method', 'scheme', 'authority', 'path'].includes(name.slice(1))) return refuse(`pseudo-header field ${JSON.stringify(name)} not allowed`);
      if (pseudo.has(name)) return refuse(`pseudo-header field ${name} repeated`);
      if (H2_BAD_VALUE.test(value)) return refuse(`invalid character in ${name}`);
      pseudo.set(name, value);
      continue;
    }
    regular = true;
    if (!H2_NAME.test(name)) return refuse('invalid header field name (HTTP/2 names are lower-case tokens)');
    if (H2_BAD_VALUE.test(value)) return refuse(`invalid character in the value of ${name}`);
    if (H2_CONNECTION_SPECIFIC.has(name)) return refuse(`connection-specific header field ${name} in an HTTP/2 request`);
    if (name === 'te') {
      if (value !== 'trailers') return refuse('te other than "trailers" in an HTTP/2 request');
      continue;
    }
    if (name === 'host') {
      if (host !== undefined) return refuse('more than one host field');
      host = value;
      continue; // placed first below
    }
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || (cl !== undefined && cl !== value)) return refuse('invalid content-length');
      cl = value;
      continue; // the framing is set from it below, once
    }
    if (name === 'cookie') {
      if (cookie === undefined) {
        cookie = out.length + 1;
        out.push('cookie', value);
      } else out[cookie] = `${out[cookie]}; ${value}`;
      continue;
    }
    out.push(name, value);
  }
  const method = pseudo.get(':method');
  if (method === undefined || !TOKEN.test(method)) return refuse('missing or invalid :method');
  if (method === 'CONNECT') return refuse('CONNECT is not forwarded', 405);
  if (pseudo.get(':scheme') !== 'https') return refuse(':scheme other than https');
  const target = pseudo.get(':path');
  if (target === undefined || !(H2_PATH.test(target) || (target === '*' && method === 'OPTIONS'))) return refuse('missing or invalid :path');
  const authority = pseudo.get(':authority');
  if (authority !== undefined && !H2_AUTHORITY.test(authority)) return refuse('invalid :authority');
  if (host !== undefined && !H2_AUTHORITY.test(host)) return refuse('invalid host');
  // RFC 9113 §8.3.1: a host field beside :authority must name the same; a proxy must not pick one of two.
  if (authority !== undefined && host !== undefined && authority.toLowerCase() !== host.toLowerCase()) return refuse(':authority and host name different hosts');
  const hostOut = authority ?? host;
  if (hostOut !== undefined) out.unshift('host', hostOut);
  let framing: Framing;
  if (cl !== undefined) {
    if (endAfterHeaders && cl !== '0') return refuse('content-length without a body');
    framing = { kind: 'length', length: cl };
  } else framing = endAfterHeaders ? { kind: 'none' } : { kind: 'chunked' };
  return { kind: 'ok', method, path: target, host: hostOut, raw: out, framing };
}

/**
 * True when an absolute-form target names another authority than Host (RFC 9112 §3.2.2: the target's wins), so
 * the backend and X-Forwarded-Host would disagree on the host; origin-form and "*" never do.
 */
export function authorityMismatch(target: string, host: string | undefined): boolean {
  if (target.startsWith('/') || target === '*') return false;
  // URL reads '\\' as '/' in http(s) targets, originForm() does not: refused, so the gate's route rules
  // (client-auth.ts routePath) and the backend never read two paths from one target.
  if (target.includes('\\')) return true;
  try {
    const url = new URL(target);
    return host === undefined || new URL(`${url.protocol}//${host}`).host !== url.host;
  } catch {
    return true;
  }
}

/**
 * The target in origin-form: an absolute-form one (RFC 9112 §3.2.2, what a client speaking to a proxy sends) loses
 * its scheme and authority, as nginx and Apache send it on; the rest is kept byte for byte (no URL normalisation).
 */
export function originForm(target: string): string {
  if (target.startsWith('/') || target === '*') return target;
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  if (!m) return target;
  const rest = target.slice(m[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** The name a client without Host reached: the TLS server name it asked for, else the listener's address. */
function listenerName(req: IncomingMessage): string {
  const socket = req.socket as TLSSocket;
  const local = socket.localAddress ?? 'localhost';
  const host = typeof socket.servername === 'string' && socket.servername ? socket.servername : local.includes(':') ? `[${local}]` : local;
  return socket.localPort === 443 ? host : `${host}:${socket.localPort}`;
}

/** Never removed by a Connection token: the framing (set from the parse) and the target host. */
const NOT_NAMEABLE = new Set(['host', 'content-length', 'transfer-encoding']);

export interface ClientFacts {
  /** The TLS peer's address, from the socket. */
  readonly remoteAddress: string;
  /** Port the client connected to (keygate's listener). */
  readonly localPort: number;
  /** Keep Connection: upgrade / Upgrade (a WebSocket handshake). */
  readonly upgrade?: boolean;
  /** Identity headers of the TLS peer certificate [name, value, …], added last (client-auth.ts headersFor). */
  readonly identity?: readonly string[];
  /** The body's framing from the parse (requestFraming); the client's Content-Length lines are never copied. */
  readonly framing?: Framing;
  /** Host to send when the client sent none (HTTP/1.0): the listener's name (review 2026-12b L5). */
  readonly defaultHost?: string;
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
    if (HOP_BY_HOP.has(lower) || OWNED.has(lower) || lower === 'content-length' || lower.includes('_') || isIdentityHeader(lower)) continue;
    // A token may name any header, even Cookie: honoured (RFC 9110 says the proxy removes them), except Host and
    // the framing, and what keygate adds below, since that is added after.
    if (named.has(lower) && !NOT_NAMEABLE.has(lower)) continue;
    if (lower === 'host') host ??= value;
    out.push(name, value);
  }
  // HTTP/1.0 needs no Host, HTTP/1.1 does (RFC 9112 §3.2): the request goes upstream as 1.1, so it gets one, as
  // nginx sends $proxy_host and Go's ReverseProxy outreq.Host. X-Forwarded-Host stays the client's (none).
  if (host === undefined && client.defaultHost !== undefined) out.unshift('Host', client.defaultHost);
  if (client.framing?.kind === 'chunked') out.push('Transfer-Encoding', 'chunked');
  else if (client.framing?.kind === 'length') out.push('Content-Length', client.framing.length);
  if (client.upgrade && upgradeValue !== undefined) out.push('Connection', 'Upgrade', 'Upgrade', upgradeValue);
  out.push('X-Forwarded-For', client.remoteAddress, 'X-Forwarded-Proto', 'https', 'X-Forwarded-Port', String(client.localPort));
  if (host !== undefined) out.push('X-Forwarded-Host', host);
  if (client.identity) out.push(...client.identity);
  return out;
}

/**
 * The backend's response headers for the client: hop-by-hop and Connection-named ones removed, and Alt-Svc,
 * which would send clients to an endpoint keygate does not front (Caddy strips it too). In a 101 (upgrade)
 * the handshake's own Connection and Upgrade stay; nothing else is treated differently.
 */
export function responseHeaders(raw: readonly string[], upgrade = false): string[] {
  const named = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (!(upgrade && (lower === 'connection' || lower === 'upgrade')) && (HOP_BY_HOP.has(lower) || named.has(lower) || lower === 'alt-svc')) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

export interface ProxyOptions {
  /** Where the backend listens now; undefined while it is down (→ 502 at once, no connection attempt). */
  readonly target: () => BackendTarget | undefined;
  /**
   * Time the backend has to send response headers, counted from the end of the request body as it left for the
   * backend (→ 504): nginx's proxy_read_timeout for the head. A slow upload is not cut by it.
   */
  readonly requestTimeoutMs: number;
  /**
   * Longest stretch with no byte moving on a backend exchange outside that wait: the backend not reading the
   * request body (→ 504, nginx's proxy_send_timeout) or sending nothing in the middle of its response (the response
   * is cut, proxy_read_timeout). Default IDLE_TIMEOUT_MS. A client that stops sending is the listener's
   * (https-server.ts clientBodyTimeoutMs).
   */
  readonly idleTimeoutMs?: number;
  /** One call per finished request, when access logging is on. */
  readonly onAccess?: (entry: { method: string; path: string; status: number; ms: number; remote: string; bytes: number }) => void;
  readonly onError?: (message: string) => void;
  /** Identity headers for a request, from its TLS connection (server.clientAuth); none when absent. */
  readonly clientHeaders?: (req: IncomingMessage) => readonly string[];
  /**
   * Which HTTP/1.1 client carries bodiless requests: keygate's pool (default, forwardBodiless) or node:http's,
   * as uploads always do. Not a setting: for the framing table that runs every response through both
   * (proxy-differential.test.ts) and the bench row that measures what the pool buys (scripts/bench-proxy.mjs).
   */
  readonly bodilessVia?: 'pool' | 'node:http';
  /** Caps, for tests; the defaults are the constants below (MAX_BACKEND_CONNECTIONS, QUEUE_WAIT_MS, …). */
  readonly maxConnections?: number;
  readonly queueMs?: number;
  readonly maxTunnels?: number;
  readonly tunnelIdleMs?: number;
}

export interface Proxy {
  handle(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes the pooled keep-alive connections to the backend. */
  close(): void;
}

/**
 * Streams one side into the other with backpressure (Readable.pipe: pause on a full buffer, resume on drain).
 * Not stream.pipeline: that builds an AbortController, end-of-stream watchers and a destroyer per call, a cost
 * every proxied request would pay (docs/performance.md). Errors are handled here instead:
 * a source that fails mid-body (backend reset, client gone) destroys the destination, so a cut body is never
 * ended as if complete; the destination's own close is handled by the caller (it destroys the backend request).
 */
function relay(from: IncomingMessage, to: ServerResponse | http.ClientRequest): void {
  from.once('error', () => to.destroy());
  from.pipe(to);
}

/**
 * Sends the backend's status and headers. Each field goes through appendHeader, so repeated fields (two
 * Set-Cookie lines) stay two lines: writeHead(status, rawList) after the server's own setHeader (HSTS) takes
 * Node's slow path, which calls setHeader per pair and kept only the last Set-Cookie.
 */
function sendHead(res: ServerResponse, status: number, reason: string | undefined, raw: readonly string[]): void {
  const list = responseHeaders(raw);
  // Everything checked before anything is set: a throw half-way (writeHead refuses a status below 100 or a
  // control character in the reason; appendHeader a bad field) left the backend's fields on res, and the 502
  // that followed went out with the backend's Content-Length and never completed (found by running
  // proxy-differential.test.ts's table through node:http's client too).
  if (!Number.isInteger(status) || status < 100 || status > 999 || (reason !== undefined && CTL_IN_REASON.test(reason))) throw new Error('invalid status line');
  for (let i = 0; i < list.length; i += 2) {
    http.validateHeaderName(list[i]!);
    http.validateHeaderValue(list[i]!, list[i + 1]!);
  }
  if (typeof res.appendHeader === 'function') for (let i = 0; i < list.length; i += 2) res.appendHeader(list[i]!, list[i + 1]!);
  else {
    // node:http2's compatibility response has appendHeader from Node 20.12 only: repeated fields as one array.
    const fields = new Map<string, string[]>();
    for (let i = 0; i < list.length; i += 2) {
      const name = list[i]!.toLowerCase();
      fields.set(name, [...(fields.get(name) ?? []), list[i + 1]!]);
    }
    for (const [name, values] of fields) res.setHeader(name, values.length === 1 ? values[0]! : values);
  }
  // HTTP/2 has no reason phrase (RFC 9113 §8.3.2; Node warns on stderr once when given one).
  if ('stream' in res) res.writeHead(status);
  else res.writeHead(status, reason);
}
/** What writeHead refuses in a reason phrase (Node's checkInvalidHeaderChar). */
const CTL_IN_REASON = /[^\t\x20-\x7e\x80-\xff]/;

// ---- the fast path: requests without a body, over keygate's own keep-alive pool -----------------------------
// node:http's client (ClientRequest + Agent + IncomingMessage) costs more CPU per request than the whole TLS
// server side (docs/performance.md, "Backend proxy"). A request without a body is written as one string on
// a pooled socket and the answer is parsed here, strictly, because the backend is less trusted than the gate:
// status line and fields checked character by character, one framing only (Content-Length, chunked, or to the
// close), Content-Length with Transfer-Encoding refused, head size capped, a connection reused only when the
// answer ended exactly where its framing said. Requests with a body (uploads) keep node:http's client.

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters other than HTAB: never valid in a reason phrase or field value. */
const CTL = /[\x00-\x08\x0a-\x1f\x7f]/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: (.*))?$/;
const MAX_HEAD_BYTES = 32 * 1024;
const MAX_CHUNK_LINE = 4096;
const MAX_IDLE = 64;
/** Backend connections keygate's pool holds at once, busy and idle (the upload path's Agent has its own 256). */
const MAX_BACKEND_CONNECTIONS = 256;
/** How long a request waits for a pooled connection when all are busy, before a 503. */
const QUEUE_WAIT_MS = 1_000;
/** Requests waiting at once; more get the 503 at once (a bound on queued memory and timers). */
const MAX_WAITING = 1_024;
/** Upgraded tunnels open at once, handshakes included; more get a 503 (a bound on sockets held). */
const MAX_TUNNELS = 1_024;
/** A tunnel with no byte either way for this long is closed: nginx's proxy_read_timeout default. */
const TUNNEL_IDLE_MS = 60_000;
/** nginx's proxy_read_timeout and proxy_send_timeout default (ProxyOptions.idleTimeoutMs). */
const IDLE_TIMEOUT_MS = 60_000;
/** Idle time after which a pooled connection is not reused (the backend's Keep-Alive: timeout=N, less 1 s, wins). */
const DEFAULT_IDLE_MS = 4_000;
/** Methods safe to send again when a reused connection turns out closed before any answer byte (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

interface ResponseHead {
  readonly status: number;
  readonly reason: string;
  readonly raw: string[];
  readonly body: 'none' | 'length' | 'chunked' | 'close';
  readonly length: number;
  readonly reusable: boolean;
  readonly idleMs: number;
}

/** Parses a response head (without its final CRLFCRLF); a string is the reason it is refused. */
export function parseResponseHead(text: string, method: string): ResponseHead | string {
  const lines = text.split('\r\n');
  const m = STATUS_LINE.exec(lines[0]!);
  if (!m) return 'malformed status line';
  const status = Number(m[2]);
  const reason = m[3] ?? '';
  if (CTL.test(reason)) return 'control character in the reason phrase';
  const raw: string[] = [];
  let te: string | undefined;
  let cl: string | undefined;
  let connection = '';
  let keepAlive = '';
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return line.length && (line[0] === ' ' || line[0] === '\t') ? 'obsolete line folding' : 'malformed header line';
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return 'invalid header name';
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (CTL.test(value)) return 'control character in a header value';
    const lower = name.toLowerCase();
    if (lower === 'transfer-encoding') te = te === undefined ? value : `${te}, ${value}`;
    else if (lower === 'content-length') cl = cl === undefined ? value : `${cl}, ${value}`;
    else if (lower === 'connection') connection += `,${value.toLowerCase()}`;
    else if (lower === 'keep-alive') keepAlive = value;
    raw.push(name, value);
  }
  const closeAfter = m[1] === '0' || connection.split(',').some((t) => t.trim() === 'close');
  const ka = /(?:^|[,;\s])timeout=(\d{1,6})/i.exec(keepAlive);
  const idleMs = ka ? Math.max(0, Number(ka[1]) * 1000 - 1000) : DEFAULT_IDLE_MS;
  const base = { status, reason, raw, idleMs };
  if (status < 200) return { ...base, body: 'none', length: 0, reusable: !closeAfter }; // 1xx: the caller skips it
  if (method === 'HEAD' || status === 204 || status === 304) return { ...base, body: 'none', length: 0, reusable: !closeAfter };
  if (te !== undefined) {
    if (cl !== undefined) return 'both Transfer-Encoding and Content-Length';
    const codings = te.split(',').map((t) => t.trim().toLowerCase());
    const chunked = codings.filter((c) => c === 'chunked').length;
    if (chunked > 1 || (chunked === 1 && codings[codings.length - 1] !== 'chunked')) return 'invalid Transfer-Encoding';
    return chunked ? { ...base, body: 'chunked', length: 0, reusable: !closeAfter } : { ...base, body: 'close', length: 0, reusable: false };
  }
  if (cl !== undefined) {
    const values = cl.split(',').map((v) => v.trim());
    if (!values.every((v) => /^\d{1,15}$/.test(v) && v === values[0])) return 'invalid Content-Length';
    return { ...base, body: 'length', length: Number(values[0]), reusable: !closeAfter };
  }
  return { ...base, body: 'close', length: 0, reusable: false };
}

/**
 * The pool's key for a target: its address, never the object's identity (separation.ts's target() builds a new
 * object per call, so an identity match never reused a connection: review 2026-12b L3).
 */
export function targetKey(t: BackendTarget): string {
  return 'socketPath' in t ? `unix:${t.socketPath}` : `tcp:${t.host}:${t.port}`;
}

interface Conn {
  readonly socket: net.Socket;
  readonly target: BackendTarget;
  readonly key: string;
  /** The exchange using the connection; undefined while it is idle in the pool. */
  ex: Exchange | undefined;
  /** It carried a request before: the backend may have closed it meanwhile. */
  used: boolean;
  idleSince: number;
  idleMs: number;
  error?: NodeJS.ErrnoException;
}

interface Exchange {
  onData(chunk: Buffer): void;
  onEnd(): void;
  onClose(): void;
}

interface Waiter {
  readonly target: BackendTarget;
  readonly key: string;
  readonly fresh: boolean;
  readonly use: (c: Conn) => void;
  readonly full: () => void;
  timer?: NodeJS.Timeout;
}

const noop = (): void => {};

class Pool {
  private readonly idle: Conn[] = [];
  private readonly waiting: Waiter[] = [];
  /** Connections open or opening, idle ones included; a slot is freed on 'close'. */
  private live = 0;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly max: number,
    private readonly waitMs: number,
  ) {}

  /**
   * Hands a connection to use(), now or when one frees up; full() when none does within waitMs. Returns a
   * cancel function for a request that ends while it waits.
   */
  take(target: BackendTarget, fresh: boolean, use: (c: Conn) => void, full: () => void): () => void {
    const key = targetKey(target);
    if (!fresh) {
      const now = Date.now();
      while (this.idle.length) {
        const c = this.idle.pop()!;
        if (c.key === key && now - c.idleSince < c.idleMs && !c.socket.destroyed) {
          use(c);
          return noop;
        }
        c.socket.destroy();
      }
    }
    if (this.live < this.max) {
      use(this.open(target));
      return noop;
    }
    if (this.waiting.length >= MAX_WAITING) {
      full();
      return noop;
    }
    this.idle.shift()?.socket.destroy(); // an idle one we cannot use makes room (its close serves the queue)
    const w: Waiter = { target, key, fresh, use, full };
    w.timer = setTimeout(() => {
      this.unwait(w);
      full();
    }, this.waitMs);
    this.waiting.push(w);
    return () => this.unwait(w);
  }

  private unwait(w: Waiter): void {
    clearTimeout(w.timer);
    const i = this.waiting.indexOf(w);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  private open(target: BackendTarget): Conn {
    this.live++;
    const socket = 'socketPath' in target ? net.connect({ path: target.socketPath }) : net.connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const c: Conn = { socket, target, key: targetKey(target), ex: undefined, used: false, idleSince: 0, idleMs: 0 };
    socket.on('data', (d: Buffer) => (c.ex ? c.ex.onData(d) : socket.destroy())); // bytes nobody asked for: never reuse
    socket.on('end', () => c.ex?.onEnd());
    socket.on('error', (err: NodeJS.ErrnoException) => (c.error ??= err));
    socket.on('close', () => {
      this.live--;
      const ex = c.ex;
      c.ex = undefined;
      if (ex) ex.onClose();
      else {
        const i = this.idle.indexOf(c);
        if (i >= 0) this.idle.splice(i, 1);
      }
      // The freed slot goes to the longest waiter.
      while (this.waiting.length && this.live < this.max) {
        const w = this.waiting.shift()!;
        clearTimeout(w.timer);
        w.use(this.open(w.target));
      }
    });
    return c;
  }

  release(c: Conn, idleMs: number): void {
    c.ex = undefined;
    if (c.socket.destroyed || idleMs <= 0) {
      c.socket.destroy();
      return;
    }
    if (c.socket.isPaused()) c.socket.resume();
    // Straight to a waiter that can reuse it; if the waiters need a new one, closing this one makes room.
    const i = this.waiting.findIndex((w) => !w.fresh && w.key === c.key);
    if (i >= 0) {
      const w = this.waiting.splice(i, 1)[0]!;
      clearTimeout(w.timer);
      w.use(c);
      return;
    }
    if (this.waiting.length || this.idle.length >= MAX_IDLE) {
      c.socket.destroy();
      return;
    }
    c.idleSince = Date.now();
    c.idleMs = idleMs;
    this.idle.push(c);
    this.sweeper ??= setInterval(() => this.sweep(), 1_000).unref();
  }

  /** Closes idle connections past their idle time (so keygate holds no descriptor the backend dropped). */
  private sweep(): void {
    const now = Date.now();
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const c = this.idle[i]!;
      if (now - c.idleSince >= c.idleMs) {
        this.idle.splice(i, 1);
        c.socket.destroy();
      }
    }
    if (!this.idle.length && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.full();
    }
    for (const c of this.idle.splice(0)) c.socket.destroy();
  }
}

const enum Chunk {
  Size,
  Data,
  DataEnd,
  Trailer,
}

/**
 * An inactivity timer: onIdle runs once nothing called touch() for ms while it runs. One timeout per exchange,
 * re-armed lazily from the last touch (as nginx's event timers), so a byte costs a Date.now(), not a timer.
 */
class IdleTimer {
  private last = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {}
  touch(): void {
    this.last = Date.now();
  }
  start(): void {
    this.last = Date.now();
    this.timer ??= setTimeout(this.check, this.ms);
  }
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
  private readonly check = (): void => {
    const left = this.last + this.ms - Date.now();
    if (left > 0) this.timer = setTimeout(this.check, left);
    else {
      this.timer = undefined;
      this.onIdle();
    }
  };
}

/** One bodiless request forwarded on a pooled connection, its answer streamed to res. */
function forwardBodiless(pool: Pool, options: ProxyOptions, req: IncomingMessage, res: ServerResponse, target: BackendTarget, head: string): void {
  const method = req.method ?? 'GET';
  let finished = false;
  let conn: Conn | undefined; // undefined while waiting for a pooled connection
  let cancelWait = noop;
  let retried = false;
  let reused = false; // the connection carried a request before this one
  let got = false; // any answer byte on this connection
  let pending: Buffer | undefined; // head bytes so far
  let resp: ResponseHead | undefined;
  let remaining = 0; // Content-Length left, or the current chunk's bytes left
  let cs = Chunk.Size;
  let line = '';
  let crlf = 0;
  let idle: IdleTimer | undefined; // while the response body streams

  const timer = setTimeout(() => {
    if (finished) return;
    finished = true;
    plain(res, 504, 'gateway timeout: the backend did not answer in time');
    cancelWait();
    conn?.socket.destroy();
  }, options.requestTimeoutMs);

  const fail = (why: string): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    idle?.stop();
    conn!.ex = undefined;
    conn!.socket.destroy();
    if (!res.headersSent) {
      options.onError?.(`backend request failed: ${why}`);
      plain(res, 502, 'bad gateway: the backend did not answer');
    } else res.destroy(); // a cut body must not look complete
  };

  const complete = (leftover: boolean): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    idle?.stop();
    res.end();
    if (resp!.reusable && !leftover) pool.release(conn!, resp!.idleMs);
    else {
      conn!.ex = undefined;
      conn!.socket.destroy();
    }
  };

  const write = (chunk: Buffer): void => {
    if (chunk.length === 0) return;
    if (!res.write(chunk)) {
      const socket = conn!.socket;
      socket.pause();
      res.once('drain', () => socket.resume());
    }
  };

  /** Decodes chunked framing; the decoded bytes go to the client. */
  const chunked = (buf: Buffer): void => {
    let i = 0;
    while (i < buf.length && !finished) {
      if (cs === Chunk.Data) {
        const n = Math.min(remaining, buf.length - i);
        write(buf.subarray(i, i + n));
        i += n;
        remaining -= n;
        if (remaining === 0) cs = Chunk.DataEnd;
      } else if (cs === Chunk.DataEnd) {
        if (buf[i] !== (crlf === 0 ? 13 : 10)) return fail('chunked body: no CRLF after a chunk');
        i++;
        if (++crlf === 2) {
          crlf = 0;
          cs = Chunk.Size;
        }
      } else {
        const nl = buf.indexOf(10, i);
        line += buf.toString('latin1', i, nl < 0 ? buf.length : nl);
        if (line.length > MAX_CHUNK_LINE) return fail('chunked body: line too long');
        if (nl < 0) return;
        i = nl + 1;
        if (!line.endsWith('\r')) return fail('chunked body: bare LF');
        const text = line.slice(0, -1);
        line = '';
        if (cs === Chunk.Size) {
          const semi = text.indexOf(';');
          // No whitespace after the size, as llhttp (proxy-differential.test.ts): one reading of the line.
          const size = semi < 0 ? text : text.slice(0, semi);
          if (!/^[0-9A-Fa-f]{1,12}$/.test(size) || CTL.test(text)) return fail('chunked body: invalid chunk size line');
          remaining = parseInt(size, 16);
          cs = remaining === 0 ? Chunk.Trailer : Chunk.Data;
        } else if (text === '') return complete(i < buf.length);
        else if (text.indexOf(':') <= 0 || CTL.test(text)) return fail('chunked body: invalid trailer field');
        // trailer fields are checked but not forwarded
      }
    }
  };

  const body = (buf: Buffer): void => {
    if (buf.length === 0 && resp!.body !== 'none') return;
    switch (resp!.body) {
      case 'none':
        return complete(buf.length > 0);
      case 'length': {
        const n = Math.min(remaining, buf.length);
        write(n === buf.length ? buf : buf.subarray(0, n));
        remaining -= n;
        if (remaining === 0) complete(buf.length > n);
        return;
      }
      case 'chunked':
        return chunked(buf);
      case 'close':
        return write(buf);
    }
  };

  const ex: Exchange = {
    onData(d) {
      if (finished) return;
      got = true;
      if (resp) {
        idle?.touch();
        return body(d);
      }
      let buf = pending ? Buffer.concat([pending, d]) : d;
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > MAX_HEAD_BYTES) return fail('response head too large');
          pending = buf;
          return;
        }
        const parsed = parseResponseHead(buf.toString('latin1', 0, end), method);
        if (typeof parsed === 'string') return fail(`invalid response (${parsed})`);
        buf = buf.subarray(end + 4);
        if (parsed.status < 200) {
          if (parsed.status === 101) return fail('invalid response (101 to a request that asked for no upgrade)');
          continue; // 100 Continue, 103 Early Hints: interim, not relayed
        }
        pending = undefined;
        resp = parsed;
        remaining = parsed.length;
        clearTimeout(timer);
        if (res.headersSent || res.destroyed) return fail('client gone');
        try {
          sendHead(res, parsed.status, parsed.reason || undefined, parsed.raw);
        } catch (err) {
          return fail(`invalid response header (${(err as Error).message})`);
        }
        if (parsed.body === 'length' && parsed.length === 0) return complete(buf.length > 0);
        body(buf);
        if (!finished) {
          idle = new IdleTimer(options.idleTimeoutMs ?? IDLE_TIMEOUT_MS, () => fail('no byte of the response body within the idle timeout'));
          idle.start();
        }
        return;
      }
    },
    onEnd() {
      if (!finished && resp?.body === 'close') complete(false);
    },
    onClose() {
      if (finished) return;
      // A close-delimited body ends at a FIN (onEnd); a close after an error (RST) is a cut body.
      if (resp?.body === 'close' && !conn!.error) return complete(false);
      // A reused connection the backend had closed before our request reached it: once more on a new one.
      if (!got && reused && !retried && IDEMPOTENT.has(method)) {
        retried = true;
        start(true);
        return;
      }
      fail(conn!.error?.code ?? (resp ? 'connection closed mid-body' : 'connection closed before an answer'));
    },
  };

  const use = (c: Conn): void => {
    cancelWait = noop;
    conn = c;
    c.ex = ex;
    reused = c.used;
    c.used = true;
    got = false;
    pending = undefined;
    c.socket.write(head, 'latin1');
  };
  const full = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    plain(res, 503, 'service unavailable: the backend has too many requests in progress, try again', { 'retry-after': '1' });
  };
  const start = (fresh: boolean): void => {
    conn = undefined;
    const cancel = pool.take(target, fresh, use, full);
    if (!conn) cancelWait = cancel;
  };

  // The client went away mid-response: stop the backend's work too (the connection is not reused).
  res.once('close', () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    idle?.stop();
    cancelWait();
    if (conn) {
      conn.ex = undefined;
      conn.socket.destroy();
    }
  });
  start(false);
}

/**
 * The upload path's backend connections (node:http's Agent): busy from the request's 'socket' to its response's
 * 'end'. A byte arriving while one is not busy is past the last response's framing (a late tail, a body after
 * HEAD): the connection is closed, never handed to the next request (review 2026-12b L2). node:http alone drops
 * such bytes on a free socket and reuses it; bytes in the same read as the response are its parser's "double
 * response", which it closes itself.
 */
const agentSockets = new WeakMap<net.Socket, { busy: boolean }>();
function watchAgentSocket(socket: net.Socket): { busy: boolean } {
  let state = agentSockets.get(socket);
  if (!state) {
    const s = { busy: true };
    state = s;
    agentSockets.set(socket, s);
    socket.on('data', () => {
      if (!s.busy) socket.destroy();
    });
  }
  state.busy = true;
  return state;
}

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // HTTP/2 has no Connection field (Node drops it with a warning): a stream's answer ends only the stream.
  if ('stream' in res && 'connection' in extra) {
    const { connection: _, ...rest } = extra;
    extra = rest;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra });
  res.end(`${text}\n`);
}

/** A client connection's requests: the one being forwarded (busy) and those parsed behind it (pipelined). */
interface Lane {
  busy: boolean;
  /** Requests parsed behind it; an upgrade's start() turns the connection into its tunnel. */
  readonly queue: ({ readonly req: IncomingMessage; readonly res: ServerResponse } | { readonly req: IncomingMessage; readonly start: () => void })[];
}
const LANE = Symbol('keygate.proxy.lane');
type LaneSocket = net.Socket & { [LANE]?: Lane };

export function createProxy(options: ProxyOptions): Proxy {
  // Keep-alive to the backend: without it every request pays a connect (and gunicorn a fork-worker accept).
  // Uploads go through node:http's client; bodiless requests through keygate's own pool (forwardBodiless).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' });
  const pool = new Pool(options.maxConnections ?? MAX_BACKEND_CONNECTIONS, options.queueMs ?? QUEUE_WAIT_MS);
  const maxTunnels = options.maxTunnels ?? MAX_TUNNELS;
  const tunnelIdleMs = options.tunnelIdleMs ?? TUNNEL_IDLE_MS;
  const viaNodeHttp = options.bodilessVia === 'node:http';
  let tunnels = 0;

  /** Forwards one request of a connection; when its answer is done (or abandoned), the next queued one. */
  const take = (lane: Lane, req: IncomingMessage, res: ServerResponse): void => {
    lane.busy = true;
    res.once('close', () => {
      lane.busy = false;
      for (let next = lane.queue.shift(); next; next = lane.queue.shift()) {
        if (next.req.socket.destroyed) {
          lane.queue.length = 0;
          return;
        }
        if ('start' in next) {
          lane.busy = true; // for good: the connection is a tunnel now
          return next.start();
        }
        if (!next.res.destroyed) return take(lane, next.req, next.res);
      }
    });
    forward(req, res);
  };

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    let framing: Framing;
    let raw: readonly string[];
    let path: string;
    let defaultHost: string | undefined;
    if (isHttp2(req)) {
      // An HTTP/2 stream, downgraded: its own checks, then the same header policy as HTTP/1.1 (forwardHeaders).
      const d = downgradeRequest(req.rawHeaders, (req as unknown as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === true);
      if (d.kind === 'refuse') {
        plain(res, d.status, d.message);
        return;
      }
      ({ framing, raw, path } = d);
      defaultHost = d.host === undefined ? listenerName(req) : undefined;
    } else {
      framing = requestFraming(req.headers, req.rawHeaders);
      if (framing.kind === 'refuse') {
        plain(res, framing.status, framing.message, { connection: 'close' });
        return;
      }
      if (authorityMismatch(req.url ?? '/', req.headers.host)) {
        plain(res, 400, 'bad request: the request target names another host than Host', { connection: 'close' });
        return;
      }
      raw = req.rawHeaders;
      path = originForm(req.url ?? '/');
      defaultHost = req.headers.host === undefined ? listenerName(req) : undefined;
    }
    const target = options.target();
    if (!target) {
      plain(res, 502, 'bad gateway: the backend is not running (restarting)', { 'retry-after': '1' });
      return;
    }
    const headers = forwardHeaders(raw, {
      remoteAddress: req.socket.remoteAddress ?? '',
      localPort: req.socket.localPort ?? 0,
      identity: options.clientHeaders?.(req),
      framing,
      defaultHost,
    });
    // No body by its framing (RFC 9112 §6.3: neither Content-Length nor Transfer-Encoding, or a length of 0).
    if ((framing.kind === 'none' || (framing.kind === 'length' && framing.length === '0')) && !viaNodeHttp) {
      let head = `${req.method} ${path} HTTP/1.1\r\n`;
      for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
      forwardBodiless(pool, options, req, res, target, `${head}\r\n`);
      return;
    }
    const preq = http.request({ ...target, agent, method: req.method, path, headers: headers as unknown as http.OutgoingHttpHeaders, setHost: false });
    let answered = false;
    let timer: NodeJS.Timeout | undefined;
    // The head's time runs from the body's end as it left for the backend (nginx counts proxy_read_timeout
    // from its last write): an upload slower than requestTimeoutMs is not cut while the backend reads it.
    preq.once('finish', () => {
      if (answered || res.writableEnded || res.destroyed) return;
      timer = setTimeout(() => {
        idle.stop();
        plain(res, 504, 'gateway timeout: the backend did not answer in time');
        preq.destroy();
      }, options.requestTimeoutMs);
    });
    const idle = new IdleTimer(options.idleTimeoutMs ?? IDLE_TIMEOUT_MS, () => {
      if (!answered) {
        if (preq.writableFinished) return; // the wait for the head: requestTimeoutMs's
        // Not one byte moved: if keygate's write waits, the backend stopped reading (nginx's
        // proxy_send_timeout); else the client stopped sending, which is the listener's (clientBodyTimeoutMs).
        if (!preq.writableNeedDrain) return idle.start();
        options.onError?.('backend request failed: the backend stopped reading the request body');
        plain(res, 504, 'gateway timeout: the backend stopped reading the request body', { connection: 'close' });
        preq.destroy();
        return;
      }
      res.destroy(); // nothing from the backend mid-response (proxy_read_timeout): a cut body never looks complete
      preq.destroy();
    });
    let upstream: { busy: boolean } | undefined;
    preq.once('socket', (socket: net.Socket) => (upstream = watchAgentSocket(socket)));
    preq.on('response', (pres) => {
      answered = true;
      clearTimeout(timer);
      pres.once('end', () => {
        idle.stop();
        if (upstream) upstream.busy = false;
      });
      if (res.headersSent || res.destroyed) {
        idle.stop();
        pres.destroy();
        return;
      }
      try {
        sendHead(res, pres.statusCode ?? 502, pres.statusMessage, pres.rawHeaders);
      } catch {
        idle.stop();
        pres.destroy();
        plain(res, 502, 'bad gateway: the backend sent an invalid header');
        return;
      }
      idle.start();
      pres.on('data', () => idle.touch());
      relay(pres, res);
    });
    preq.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      idle.stop();
      if (res.destroyed) return;
      if (!res.headersSent) {
        options.onError?.(`backend request failed: ${err.code ?? err.message}`);
        plain(res, 502, 'bad gateway: the backend did not answer');
      } else res.destroy();
    });
    // The client went away mid-response: stop the backend's work too.
    res.once('close', () => {
      clearTimeout(timer);
      idle.stop();
      if (!res.writableFinished) preq.destroy();
    });
    idle.start();
    req.on('data', () => idle.touch());
    preq.on('drain', () => idle.touch());
    // HTTP/2: the DATA frames must add up to the content-length forwarded (nghttp2 resets a stream whose DATA
    // disagrees with it: RFC 9113 §8.1.1). The second wall: more bytes than announced, or an end before them,
    // cuts the stream and the backend connection, whose request then never completes, and which is never
    // reused. Registered before relay()'s pipe, so a byte past the length is never written.
    if (isHttp2(req) && framing.kind === 'length') {
      let left = Number(framing.length);
      req.on('data', (chunk: Buffer) => {
        left -= chunk.length;
        if (left < 0) cut();
      });
      req.once('end', () => {
        if (left !== 0) cut();
      });
      const cut = (): void => {
        options.onError?.('HTTP/2 request body disagrees with its content-length');
        req.unpipe(preq);
        res.destroy();
        preq.destroy();
      };
    }
    relay(req, preq);
  };

  return {
    handle(req, res) {
      const t0 = options.onAccess ? process.hrtime.bigint() : 0n;
      if (options.onAccess) {
        // Read now: on h2, req.socket is node:http2's per-stream proxy, which throws (ERR_HTTP2_SOCKET_UNBOUND)
        // once the stream has closed, so at 'close' the line was never written (test/demo-flask.e2e.test.ts).
        const remote = req.socket.remoteAddress ?? '';
        const socket = res.socket;
        res.once('close', () => {
          let bytes = 0;
          try {
            bytes = (socket?.bytesWritten ?? 0) as number;
          } catch {
            // the h2 stream's proxy socket, unbound after the close: no count
          }
          options.onAccess!({ method: req.method ?? '', path: req.url ?? '', status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6, remote, bytes });
        });
      }
      // Pipelining (RFC 9112 §9.3.2): Node's server hands over every request it has parsed, while the ones
      // before it are still open. keygate forwards a connection's requests one at a time, as nginx and Apache
      // do: each reaches the backend after the one before it was answered, so a non-safe request never runs
      // before, or beside, the requests the client sent ahead of it, and the answers leave in order.
      // HTTP/2 streams are concurrent by design: each is forwarded at once (bounded by the listener's
      // maxConcurrentStreams per connection and the backend pool's cap and queue). Its req.socket is a per-stream
      // Proxy whose writes land on the connection, so a lane there would queue every stream behind the first.
      if (isHttp2(req)) return forward(req, res);
      const lane = ((req.socket as LaneSocket)[LANE] ??= { busy: false, queue: [] });
      if (lane.busy) lane.queue.push({ req, res });
      else take(lane, req, res);
    },

    upgrade(req, socket, head) {
      socket.on('error', () => socket.destroy());
      // Pipelined behind a request still open (Node emits 'upgrade' at once): it waits its turn, so it reaches
      // the backend after the earlier request was answered and its 101 follows that answer on the wire.
      const lane = (req.socket as LaneSocket)[LANE];
      if (lane?.busy) lane.queue.push({ req, start: () => tunnel(req, socket, head) });
      else tunnel(req, socket, head);
    },

    close() {
      agent.destroy();
      pool.close();
    },
  };

  /** An upgrade (WebSocket) handshake forwarded, then bytes both ways. */
  function tunnel(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (tunnels >= maxTunnels) {
      const text = 'service unavailable: too many open upgraded connections, try again\n';
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 1\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${text.length}\r\n\r\n${text}`);
      return;
    }
    tunnels++;
    socket.once('close', () => tunnels--);
    const target = options.target();
    // An upgrade carries no body: bytes after its head belong to the tunnel, so any framing is refused.
    const framing = requestFraming(req.headers, req.rawHeaders);
    const bodiless = framing.kind === 'none' || (framing.kind === 'length' && framing.length === '0');
    if (!target || !bodiless || authorityMismatch(req.url ?? '/', req.headers.host)) {
      socket.end(`HTTP/1.1 ${target ? '400 Bad Request' : '502 Bad Gateway'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    const headers = forwardHeaders(req.rawHeaders, {
      remoteAddress: req.socket.remoteAddress ?? '',
      localPort: req.socket.localPort ?? 0,
      upgrade: true,
      identity: options.clientHeaders?.(req),
      defaultHost: req.headers.host === undefined ? listenerName(req) : undefined,
    });
    const preq = http.request({ ...target, agent: false, method: req.method, path: originForm(req.url ?? '/'), headers: headers as unknown as http.OutgoingHttpHeaders, setHost: false });
    const timer = setTimeout(() => preq.destroy(new Error('timeout')), options.requestTimeoutMs);
    const head101 = (status: number, message: string, raw: readonly string[]): string => {
      let s = `HTTP/1.1 ${status} ${message}\r\n`;
      for (let i = 0; i < raw.length; i += 2) s += `${raw[i]}: ${raw[i + 1]}\r\n`;
      return `${s}\r\n`;
    };
    preq.on('upgrade', (pres, psocket, phead) => {
      clearTimeout(timer);
      socket.write(head101(pres.statusCode ?? 101, pres.statusMessage ?? 'Switching Protocols', responseHeaders(pres.rawHeaders, true)));
      if (phead.length) socket.write(phead);
      if (head.length) psocket.write(head);
      // Idle on either socket (no byte read or written) ends the tunnel; each close ends the other side.
      (socket as net.Socket).setTimeout(tunnelIdleMs, () => socket.destroy());
      psocket.setTimeout(tunnelIdleMs, () => psocket.destroy());
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
  }
}
