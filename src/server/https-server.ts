// The HTTPS server as a handle: TLS profile, timeouts, security headers, bounded graceful close.

import https from 'node:https';
import http2 from 'node:http2';
import { constants } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { KeygateError, describeCause } from '../errors.js';
import type { ClientTls } from './client-auth.js';
import { connectionOf, isHttp2, registerSession, sessionOf } from './http2-connection.js';

/** Mozilla server-side TLS "intermediate" (v5.7): TLS 1.2 + 1.3, AEAD ECDHE suites only. DHE is left out:
 * Node has no DH parameters unless given some, and clients that need DHE are rare. */
export const INTERMEDIATE_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * Header lines a request may carry. Node cuts req.headers and req.rawHeaders at this count but llhttp frames the
 * body from every line, so a request at the cap is refused with 431 rather than handled from a cut list (a
 * Transfer-Encoding as line 101 would reach the app as a bodiless POST: review 2026-12b L4). Node gives no "cut"
 * flag: reaching the cap exactly is the signal, so the last allowed count is MAX_HEADERS_COUNT - 1.
 */
export const MAX_HEADERS_COUNT = 100;

/** A request whose header list Node may have cut (see MAX_HEADERS_COUNT). */
function headersCut(req: IncomingMessage): boolean {
  // An HTTP/2 stream over the cap never gets here: Node resets it (maxHeaderListPairs below).
  return !isHttp2(req) && req.rawHeaders.length >= 2 * MAX_HEADERS_COUNT;
}

const TOO_MANY_HEADERS = 'request header fields too large: more than 99 header lines\n';

/**
 * Longest pause in a request body the client sends: nginx's client_body_timeout default. There is no deadline on
 * the whole request (Node's requestTimeout is off, as nginx has none): an upload slower than any fixed time
 * passes while bytes keep coming. The headers have their own limit (headersTimeoutMs).
 */
export const CLIENT_BODY_TIMEOUT_MS = 60_000;

/**
 * Answers 408 (or cuts the response already started) when a request's body stops arriving for ms. A pause that
 * is the reader's (the app or the backend not taking the bytes: the request's buffer holds unread data) is not
 * the client's and does not count. Polls the socket's byte count, so the request stays in paused mode.
 */
function watchRequestBody(req: IncomingMessage, res: ServerResponse, ms: number): void {
  if (req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0') return;
  const socket = req.socket;
  let seen = socket.bytesRead;
  let last = Date.now();
  const step = Math.max(25, Math.floor(ms / 4));
  const check = (): void => {
    if (req.complete || socket.destroyed || res.writableEnded) return;
    const now = Date.now();
    if (socket.bytesRead !== seen || req.readableLength > 0) {
      seen = socket.bytesRead;
      last = now;
    } else if (now - last >= ms) {
      if (res.headersSent) socket.destroy();
      else {
        res.writeHead(408, { 'content-type': 'text/plain; charset=utf-8', 'content-length': BODY_TIMEOUT.length, ...closing(req) });
        res.end(BODY_TIMEOUT);
      }
      return;
    }
    setTimeout(check, step).unref();
  };
  setTimeout(check, step).unref();
}
const BODY_TIMEOUT = 'request timeout: the request body stopped arriving\n';

/**
 * `connection: close` for an HTTP/1.1 answer that ends its connection. HTTP/2 has no such field (RFC 9113
 * §8.2.2: Node drops it with a warning on stderr); a refused HTTP/2 connection is ended by a GOAWAY instead.
 */
export function closing(req: IncomingMessage): { connection?: string } {
  return isHttp2(req) ? {} : { connection: 'close' };
}

/** Two years, the preload list's minimum (hstspreload.org). */
const HSTS = 'max-age=63072000';

/**
 * Open client connections at most: each holds a TLS state and, proxied, a backend socket. Beyond it
 * Node closes a new connection at accept, before any TLS byte, so the client sees a reset, not a 503 (no HTTP
 * can be spoken before the handshake). Idle keep-alive connections end after keepAliveTimeout and free slots.
 */
export const MAX_TLS_CONNECTIONS = 2_048;

export interface TlsMaterial {
  readonly keyPem: string;
  readonly certPem: string;
  readonly chainPem: readonly string[];
}

export type { RequestHandler } from './request-handler.js';
import type { RequestHandler } from './request-handler.js';

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsMaterial;
  readonly handler: RequestHandler;
  /** HTTP Upgrade requests (WebSocket), when the app takes them (the backend proxy does). */
  readonly onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly hsts: boolean;
  readonly onError?: (err: unknown) => void;
  readonly headersTimeoutMs?: number;
  /** Longest pause in a request body before 408; default CLIENT_BODY_TIMEOUT_MS. */
  readonly clientBodyTimeoutMs?: number;
  /** How long close() waits for open requests before cutting connections. */
  readonly shutdownTimeoutMs?: number;
  /** Client certificates (server.clientAuth): CA, CRLs, request/require. Part of every secure context. */
  readonly clientTls?: ClientTls;
  /**
   * Every TLS connection once its handshake is done (client-auth tracks them for revocation). A string returned
   * refuses the connection: every request on it is answered 400 with that text and the connection is closed;
   * none reaches the handler or onUpgrade.
   */
  readonly onSecureConnection?: (socket: TLSSocket) => string | void;
  /** A failed handshake (client-auth.ts logs those about certificates). */
  readonly onTlsClientError?: (err: Error, socket: TLSSocket) => void;
  /** Cap on open connections; default MAX_TLS_CONNECTIONS. */
  readonly maxConnections?: number;
  /**
   * ALPN h2 beside http/1.1 (config server.http2); false: HTTP/1.1 only, on node:https as before. When not given:
   * on for the backend proxy (the caller that takes upgrades), which reads node:http2's compatibility objects
   * itself; off for an in-process app, since Express (4 and 5) and connect-style apps replace the request's
   * prototype with http.IncomingMessage's and break on an h2 request (Express 5.3: a TypeError in _read, emitted
   * as an 'error' nobody listened to, ended the process). An in-process caller passes true for handlers written
   * to keygate's handle(req, res, ctx) contract (the demo's), which work on both.
   */
  readonly http2?: boolean;
}

export interface ServerHandle {
  readonly url: string;
  readonly port: number;
  /** Swaps certificate and key for new connections; open connections keep theirs. */
  setTls(tls: TlsMaterial): void;
  /** Swaps the client CA/CRLs for new connections (a CRL reload); the server's own key stays. */
  setClientTls(clientTls: ClientTls): void;
  close(): Promise<void>;
}

/** Servers whose handshakes must fail without a client certificate (ClientTls.requireCertificate). */
const certificateRequired = new WeakSet<object>();
let requireHookInstalled = false;

/**
 * Makes OpenSSL itself refuse a handshake without a client certificate on the servers in certificateRequired:
 * SSL_VERIFY_FAIL_IF_NO_PEER_CERT, so the client gets the TLS alert certificate_required (116, TLS 1.3) or
 * handshake_failure (40, TLS 1.2), as from Apache, and the server a tlsClientError to log. Node sets that flag
 * only together with rejectUnauthorized, which also closes a certificate that fails to verify after the
 * handshake without any event (so keygate could neither log it nor tell the client why); Node has no option for
 * the flag alone, and no event that hands over a server's TLSSocket before its handshake runs. So the flag is
 * set per socket right after Node's own setVerifyMode (TLSSocket#_init, Node 12 to 24; a Node without it keeps
 * the earlier behaviour: the handshake completes and the request gets the 400 page, tested by
 * test/client-auth.e2e.test.ts). Only sockets of a server in the set are touched.
 */
function installRequireCertificateHook(): void {
  if (requireHookInstalled) return;
  const proto = TLSSocket.prototype as unknown as { _init?: (...args: unknown[]) => void };
  const init = proto._init;
  if (typeof init !== 'function') return;
  requireHookInstalled = true;
  proto._init = function (this: TLSSocket & { _tlsOptions?: { server?: object }; _handle?: { setVerifyMode?(request: boolean, reject: boolean): void } }, ...args: unknown[]) {
    init.apply(this, args);
    const server = this._tlsOptions?.server;
    if (server && certificateRequired.has(server)) this._handle?.setVerifyMode?.(true, true);
  };
}

function secureOptions(tls: TlsMaterial, client: ClientTls | undefined) {
  return {
    // Every context carries the client-certificate settings: setSecureContext() without `ca`/`crl` would drop
    // them, and a keystore reload would then refuse every client (or, in optional mode, verify none).
    ...(client ? { requestCert: client.requestCert, rejectUnauthorized: client.rejectUnauthorized, ca: client.ca, ...(client.crl ? { crl: [...client.crl] } : {}) } : {}),
    key: tls.keyPem,
    cert: [tls.certPem, ...tls.chainPem].join('\n'),
    minVersion: 'TLSv1.2' as const,
    ciphers: INTERMEDIATE_CIPHERS,
    ecdhCurve: 'X25519:prime256v1:secp384r1',
    // Mozilla leaves the choice to the client because every listed suite is strong; we set the server's order
    // anyway (same suites, best first) because TLS scanners (testssl.sh 3.0) rate "no server order" HIGH.
    honorCipherOrder: true,
    // No TLS compression (CRIME) and no renegotiation (client-initiated renegotiation DoS).
    secureOptions: constants.SSL_OP_NO_COMPRESSION | constants.SSL_OP_NO_RENEGOTIATION,
  };
}

/**
 * HTTP/2's limits (server.http2), each the HTTP/1.1 path's where there is one; docs/security.md "HTTP/2" names
 * what Node's nghttp2 does on its own. Streams open at once per connection: RFC 9113 §6.5.2 recommends no fewer
 * than 100, nginx's http2_max_concurrent_streams is 128; beyond it nghttp2 refuses a new stream (RST_STREAM
 * REFUSED_STREAM), and past maxSessionRejectedStreams such refusals the connection is closed.
 */
export const HTTP2_MAX_CONCURRENT_STREAMS = 100;
/** The header list's decoded size (name + value + 32 per field, RFC 9113 §6.5.2): the HTTP/1.1 maxHeaderSize. */
export const HTTP2_MAX_HEADER_LIST_SIZE = 16 * 1024;
/**
 * Fields per request, pseudo-header fields (:method, :scheme, :authority, :path) counted: the HTTP/1.1 cap of
 * MAX_HEADERS_COUNT - 1 lines plus those four. Over it Node resets the stream (ENHANCE_YOUR_CALM): no handler runs.
 */
export const HTTP2_MAX_HEADER_PAIRS = MAX_HEADERS_COUNT - 1 + 4;

function http2Options() {
  return {
    allowHTTP1: true, // ALPN h2, then http/1.1 (and a client without ALPN gets HTTP/1.1)
    // No Nagle, as node:https sets for its sockets (node:http2's server leaves it on).
    noDelay: true,
    settings: { maxConcurrentStreams: HTTP2_MAX_CONCURRENT_STREAMS, maxHeaderListSize: HTTP2_MAX_HEADER_LIST_SIZE, enablePush: false, enableConnectProtocol: false },
    maxHeaderListPairs: HTTP2_MAX_HEADER_PAIRS,
    // Node's defaults, written out so a reader sees them: buffered memory per session before new streams are
    // refused (MB), frames nghttp2 found invalid and streams it refused before the session is closed, SETTINGS
    // entries per frame.
    maxSessionMemory: 10,
    maxSessionInvalidFrames: 1_000,
    maxSessionRejectedStreams: 100,
    maxSettings: 32,
  };
}

/** Starts the HTTPS server; resolves once it listens. */
export async function startHttpsServer(options: ServerOptions): Promise<ServerHandle> {
  const h2 = options.http2 ?? options.onUpgrade !== undefined;
  const headersTimeout = options.headersTimeoutMs ?? 10_000; // slowloris: whole header block within 10 s
  const keepAliveTimeout = 5_000;
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // HSTS belongs to the TLS endpoint; content headers (nosniff, frame options) are the app's (demo app).
    if (options.hsts) res.setHeader('Strict-Transport-Security', HSTS);
    const socket = connectionOf(req);
    // An HTTP/2 stream whose connection is not known (never registered) is answered as a refused one when
    // connections can be refused: no request runs unchecked.
    const refusal = socket ? refused.get(socket) : onSecure ? 'bad request: unknown connection\n' : undefined;
    if (refusal !== undefined) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(refusal), 'cache-control': 'no-store', ...closing(req) });
      res.end(refusal);
      sessionOf(req)?.close(); // HTTP/2: GOAWAY, no new stream on this connection
      return;
    }
    if (headersCut(req)) {
      res.writeHead(431, { 'content-type': 'text/plain; charset=utf-8', 'content-length': TOO_MANY_HEADERS.length, connection: 'close' });
      res.end(TOO_MANY_HEADERS);
      return;
    }
    watchRequestBody(req, res, options.clientBodyTimeoutMs ?? CLIENT_BODY_TIMEOUT_MS);
    const fail = (err: unknown): void => {
      options.onError?.(err);
      if (res.destroyed) return;
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal server error\n');
      } else res.destroy();
    };
    // An h2 request's stream error (an app that broke the compatibility object, a reset mid-body) is this
    // request's 500 or cut, never an unhandled 'error' that ends the process.
    if (isHttp2(req)) req.once('error', fail);
    // Called directly, not through a promise: no microtask per request for the common synchronous handler.
    try {
      const r = options.handler(req, res);
      if (r && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).then(undefined, fail);
    } catch (err) {
      fail(err);
    }
  };
  const http1 = {
    headersTimeout,
    // No deadline on the whole request (Node's default would cut an upload slower than 5 min; keygate's
    // earlier 30 s cut one slower than 30 s): bodies are held to CLIENT_BODY_TIMEOUT_MS between bytes instead.
    requestTimeout: 0,
    // How often Node checks headersTimeout; its default (30 s) would let a slowloris hold a socket
    // three times longer than headersTimeout says.
    connectionsCheckingInterval: 1_000,
    keepAliveTimeout,
    maxHeaderSize: 16 * 1024,
  };
  // server.http2 (default): one listener for both, node:http2's with allowHTTP1, whose HTTP/1.1 connections run
  // node:http's own parser and server code (the same 400/431/clientError/upgrade paths); its Server does not take
  // the HTTP/1.1 options in the constructor (Node 20 leaves them undefined: no Host check, no keep-alive timeout),
  // so they are set on it below. server.http2 false: node:https alone, as before HTTP/2.
  const server = h2
    ? (http2.createSecureServer({ ...secureOptions(options.tls, options.clientTls), ...http2Options() }, onRequest as never) as unknown as https.Server)
    : https.createServer({ ...secureOptions(options.tls, options.clientTls), ...http1 }, onRequest);
  if (h2) {
    Object.assign(server, http1, { requireHostHeader: true });
    // node:http2 re-emits a failed handshake as 'clientError' (onErrorSecureServerSession), which would run the
    // HTTP/1.1 answer below on a socket that never finished TLS: the TLS failure is handled here only.
    server.removeAllListeners('tlsClientError');
  }
  // Connections onSecureConnection refused, with the page their requests get.
  const refused = new WeakMap<object, string>();
  server.maxHeadersCount = MAX_HEADERS_COUNT;
  server.maxConnections = options.maxConnections ?? MAX_TLS_CONNECTIONS;
  // plain HTTP on the TLS port, scanners: dropped quietly; a refused client certificate is logged by the caller
  // Not destroyed here (node:http2's own listener did that at once): OpenSSL's alert (certificate_required) is
  // still being written, and the client should read why (seen: curl exit 55 instead of 56 on Node 24).
  server.on('tlsClientError', (err: Error, socket: TLSSocket) => options.onTlsClientError?.(err, socket));
  // A request the parser refuses (bad framing such as Transfer-Encoding with Content-Length) gets a plain 400,
  // oversize headers 431 (HPE_HEADER_OVERFLOW: past maxHeaderSize, and on Node 24 past maxHeadersCount too, where
  // Node 20 cut the list and left it to the request handler's check), and the connection is closed: it never
  // reaches the app.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // As Node does when no listener is set: answer only when nothing was written on this connection yet.
    if (socket.writable && (socket as Socket).bytesWritten === 0 && err.code !== 'ECONNRESET') {
      socket.write(
        err.code === 'HPE_HEADER_OVERFLOW'
          ? 'HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'
          : 'HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n',
      );
    }
    socket.destroy();
  });
  const onUpgrade = options.onUpgrade;
  if (onUpgrade) {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const refusal = refused.get(req.socket);
      if (refusal !== undefined) {
        socket.on('error', () => socket.destroy());
        socket.end(`HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncache-control: no-store\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(refusal)}\r\n\r\n${refusal}`);
        return;
      }
      if (!headersCut(req)) return onUpgrade(req, socket, head);
      socket.on('error', () => socket.destroy());
      socket.end(`HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${TOO_MANY_HEADERS.length}\r\n\r\n${TOO_MANY_HEADERS}`);
    });
  }
  // Every open connection and HTTP/2 session, for close(): node:http2's server has no closeAllConnections, and
  // Node 20's close() leaves sessions open.
  const open = new Set<TLSSocket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  let pendingSession: http2.ServerHttp2Session | undefined;
  if (h2) {
    // Emitted inside node:http2's own secureConnection listener, which runs before the one below: the pair is
    // made there (http2-connection.ts).
    server.on('session', (session: http2.ServerHttp2Session) => {
      pendingSession = session;
    });
    // A session's errors (a peer's protocol error, ENHANCE_YOUR_CALM) end that session; nothing to log per peer.
    server.on('sessionError', () => {});
  }
  const onSecure = options.onSecureConnection;
  // Registered after the server's own listener (the request parser, or the HTTP/2 session), which reads nothing
  // before the next tick: the mark is there before the first request is parsed.
  server.on('secureConnection', (socket: TLSSocket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    const session = pendingSession;
    pendingSession = undefined;
    if (session) {
      registerSession(session, socket);
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
      watchSession(session, headersTimeout, keepAliveTimeout);
    }
    if (onSecure) {
      const refusal = onSecure(socket);
      if (typeof refusal === 'string') refused.set(socket, refusal);
    }
  });
  if (options.clientTls?.requireCertificate) {
    installRequireCertificateHook();
    certificateRequired.add(server);
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new KeygateError('SERVER_LISTEN_FAILED', `failed to listen on ${options.host}:${options.port}: ${describeCause(err)}`, {
          hint: err.code === 'EADDRINUSE' ? 'another process uses the port: stop it or pass --port' : 'check --host and --port (ports below 1024 need privileges)',
        }),
      );
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let current = options.tls;
  let client = options.clientTls;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `https://${hostForUrl}:${port}/`,
    port,
    setTls(tls) {
      current = tls;
      server.setSecureContext(secureOptions(current, client));
    },
    setClientTls(c) {
      client = c;
      server.setSecureContext(secureOptions(current, client));
    },
    close() {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const s of sessions) s.destroy();
          for (const s of open) s.destroy();
        }, options.shutdownTimeoutMs ?? 10_000);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        for (const s of sessions) s.close(); // GOAWAY: open streams finish, no new ones
        server.closeIdleConnections();
      });
    },
  };
}

/**
 * An HTTP/2 session's time limits, the HTTP/1.1 ones': no complete request within headersTimeoutMs of the
 * connection → closed (the slowloris of a HEADERS block never finished, or a connection that only sends PING or
 * SETTINGS); idle (no frame either way) with no stream open for keepAliveTimeout → GOAWAY. A session with a
 * stream waiting on a slow app or backend is not idle: that wait is the proxy's requestTimeoutMs.
 */
function watchSession(session: http2.ServerHttp2Session, headersTimeoutMs: number, keepAliveMs: number): void {
  let active = 0;
  let started = false;
  const first = setTimeout(() => {
    if (!started) session.destroy();
  }, headersTimeoutMs);
  first.unref();
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    started = true;
    clearTimeout(first);
    active++;
    stream.once('close', () => active--);
  });
  session.once('close', () => clearTimeout(first));
  session.setTimeout(keepAliveMs, () => {
    if (active === 0) session.close();
  });
}
