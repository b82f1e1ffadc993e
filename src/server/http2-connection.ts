// Which TLS connection a request arrived on, for HTTP/1.1 and HTTP/2 alike (a leaf: https-server.ts records,
// client-auth.ts and the proxy read). An HTTP/1.1 request's req.socket is the TLSSocket itself. An HTTP/2
// stream's req.socket is a Proxy Node makes per stream (node:http2 compat): reads reach the session's TLSSocket
// (getPeerCertificate works through it) but it is not that object, so anything keyed by the connection (the
// refused connections, client-auth's cache of the peer's verdict) must be looked up with the socket itself.
// Node hands no public way from a session to its socket (session.socket is another Proxy): https-server.ts pairs
// them when the connection starts ('session' is emitted inside the secureConnection listener Node runs first).

import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/**
 * Kept on the session under a registry symbol, not in a module's WeakMap: the bundle gives each part its own copy
 * of this module (scripts/build.mjs), and https-server.ts and client-auth.ts may sit in different parts.
 */
const SOCKET = Symbol.for('keygate.http2.tlsSocket');

/** https-server.ts: the session Node started on socket. */
export function registerSession(session: object, socket: TLSSocket): void {
  Object.defineProperty(session, SOCKET, { value: socket, enumerable: false, configurable: false, writable: false });
}

/** True for a request that came as an HTTP/2 stream (node:http2's compatibility API). */
export function isHttp2(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 2;
}

/** The session of an HTTP/2 request (undefined for HTTP/1.1, or once the stream is gone). */
export function sessionOf(req: IncomingMessage): { close(): void; destroy(): void } | undefined {
  return (req as unknown as { stream?: { session?: { close(): void; destroy(): void } } }).stream?.session;
}

/**
 * The TLS connection a request came on. An HTTP/2 stream whose session was never registered (or is gone) has
 * none: undefined, and callers treat that as no verified connection.
 */
export function connectionOf(req: IncomingMessage): TLSSocket | undefined {
  if (!isHttp2(req)) return req.socket as TLSSocket;
  const session = sessionOf(req);
  return session ? (session as { [SOCKET]?: TLSSocket })[SOCKET] : undefined;
}
