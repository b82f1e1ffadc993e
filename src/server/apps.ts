// The in-process app (when there is no backend): the built-in hello page with /static/ files, or the handler
// module (`server.handler`) compiled from verified bytes, with its own logger. Both read only verified bytes.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { KeygateError, describeCause } from '../errors.js';
import type { Context } from '../context.js';
import type { VerifiedTree } from './verified-tree.js';
import { markHttp2Ready, type RequestHandler } from './request-handler.js';
import type { ClientIdentity } from './client-identity.js';

export function helloHandler(tree: VerifiedTree, staticDir: string | undefined): RequestHandler {
  return markHttp2Ready((req, res) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.pathname === '/' || url.pathname === '/hello') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>keygate</title><h1>Hello from keygate</h1><p>Every file verified before the keystore was unlocked.</p>\n');
      return;
    }
    if (staticDir && url.pathname.startsWith('/static/')) {
      const body = tree.staticFile(staticDir, url.pathname.slice('/static/'.length));
      if (body) {
        res.writeHead(200, { 'content-type': contentType(url.pathname), 'content-length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
  });
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  png: 'image/png',
  ico: 'image/x-icon',
  svg: 'image/svg+xml',
};

/** Content type by extension, for static files. */
export function contentType(path: string): string {
  return TYPES[path.slice(path.lastIndexOf('.') + 1).toLowerCase()] ?? 'application/octet-stream';
}

/** The app module contract: `module.exports = { handle(req, res, ctx) }` (CommonJS). */
export interface AppContext {
  /** Bytes of a file under the static folder, verified; undefined when absent or outside it. */
  staticFile(name: string): Buffer | undefined;
  readonly log: Context['log'];
  /**
   * server.clientAuth on: the TLS peer's verified certificate (never set from a header, never for an
   * unverified certificate), and SUCCESS / NONE / FAILED:<reason> (docs/client-auth.md).
   */
  readonly client?: ClientIdentity;
  readonly clientVerify?: string;
}

/** Per-request client facts for the handler's ctx (client-auth.ts contextFor). */
export type ClientContext = (req: IncomingMessage) => { readonly client?: ClientIdentity; readonly clientVerify: string };

export function appHandler(tree: VerifiedTree, file: string, staticDir: string | undefined, ctx: Context, clientContext?: ClientContext): RequestHandler {
  let mod: unknown;
  try {
    mod = tree.loadModule(file);
  } catch (err) {
    if (err instanceof KeygateError) throw err;
    throw new KeygateError('APP_LOAD_FAILED', `failed to load request handler ${file}: ${describeCause(err)}`, { hint: `run node ${file} to see the error` });
  }
  // Either the keygate contract, { handle(req, res, ctx) }, or the app itself: an Express/Koa-callback/connect
  // app is a (req, res) function (module.exports = app), so an existing app runs without a wrapper.
  // The app gets (req, res) only: Express reads a third argument as its final callback.
  const handle = typeof mod === 'function' ? (req: IncomingMessage, res: ServerResponse) => (mod as (q: IncomingMessage, s: ServerResponse) => unknown)(req, res) : (mod as { handle?: unknown }).handle;
  if (typeof handle !== 'function') {
    throw new KeygateError('APP_LOAD_FAILED', `failed to load request handler ${file}: it exports neither the app (a (req, res) function) nor handle(req, res, ctx)`, {
      hint: 'export one: module.exports = app (Express), or module.exports = { handle(req, res, ctx) { ... } }, without calling listen',
    });
  }
  const appCtx: AppContext = { staticFile: (name) => (staticDir ? tree.staticFile(staticDir, name) : undefined), log: appLogger(ctx.log) };
  // With client authentication a ctx per request (its connection's certificate); without, one shared ctx.
  const served: RequestHandler = clientContext
    ? (req: IncomingMessage, res: ServerResponse) => handle(req, res, { ...appCtx, ...clientContext(req) }) as void
    : (req: IncomingMessage, res: ServerResponse) => handle(req, res, appCtx) as void;
  // keygate's own contract is written against the request/response API node:http2 mirrors; a whole app is not
  return typeof mod === 'function' ? served : markHttp2Ready(served);
}

/**
 * The app's own logger: every line says source=app, and the app cannot set gate= (or source=), so it cannot
 * write lines that read as keygate's audit trail (a vault call, an unlock).
 */
function appLogger(log: Context['log']): Context['log'] {
  const tag = (fields?: Record<string, unknown>) => {
    const { gate: _g, source: _s, ...rest } = fields ?? {};
    return { ...rest, source: 'app' };
  };
  return {
    info: (m, f) => log.info(m, tag(f)),
    warn: (m, f) => log.warn(m, tag(f)),
    error: (m, f) => log.error(m, tag(f)),
    debug: (m, f) => log.debug(m, tag(f)),
    close: async () => {},
  };
}
