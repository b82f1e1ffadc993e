// What serves a request: the app, the hello page or the proxy (a leaf, so client-auth.ts and https-server.ts do
// not import each other).
import type { IncomingMessage, ServerResponse } from 'node:http';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * Handlers written for keygate (the hello page, an app's handle(req, res, ctx)) run on node:http2's compatibility
 * objects; an app exported whole (Express, connect) may not: Express 5 swaps the request's prototype for
 * http.IncomingMessage's and throws on an h2 request. serve offers h2 to an in-process app only when its
 * handler carries this mark.
 */
export const HTTP2_READY = Symbol('keygate.http2Ready');

export function markHttp2Ready<T extends RequestHandler>(handler: T): T {
  return Object.assign(handler, { [HTTP2_READY]: true });
}

export function isHttp2Ready(handler: RequestHandler | undefined): boolean {
  return handler !== undefined && (handler as { [HTTP2_READY]?: boolean })[HTTP2_READY] === true;
}
