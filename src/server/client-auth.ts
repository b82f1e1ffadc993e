// Client-certificate authentication (server.clientAuth, docs/client-auth.md): the TLS options, the verdict per
// connection, the route rules, what the app and a backend are told, and CRL reloads that close the connections
// of certificates revoked meanwhile. The decisions are pure functions at the top (tested in
// client-auth.test.ts); the ClientAuth class at the bottom is the edge that reads files and holds sockets.
//
// Where identity comes from: only the TLS peer certificate of the connection (Node's socket.authorized and
// getPeerCertificate), never a request header. A backend gets it as headers that keygate itself adds after
// removing every client-sent copy (src/backend/proxy.ts forwardHeaders).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { resolve } from 'node:path';
import { KeygateError } from '../errors.js';
import { watchMtime } from '../adapters/files.js';
import { readRegularFile } from '../adapters/read-regular-file.js';
import type { ClientAuthConfig, ClientAuthRoute } from './client-auth-config.js';
import { certificateRevocationKey, checkCrl, distinguishedName, identityFromDer, type ClientIdentity, type Crl, type DnFormat } from './client-identity.js';
import { pem, pemBlocks } from '../core/der.js';
import type { RequestHandler } from './request-handler.js';
import { connectionOf } from './http2-connection.js';

// ---- pure: routes ----------------------------------------------------------------------------------------------

/**
 * The path a request target names, normalised the way a backend may read it: percent-decoded per segment,
 * `.`/`..` resolved (also when encoded), empty segments dropped (`//`), lower case. undefined when the target is
 * ambiguous: an encoded '/' or '\', a raw '\', a NUL, bad percent-encoding, or not a path at all. The caller
 * treats ambiguous as "needs a certificate" (fail closed).
 */
export function routePath(target: string): string | undefined {
  let path = target;
  const q = path.search(/[?#]/);
  if (q >= 0) path = path.slice(0, q);
  if (!path.startsWith('/')) {
    // absolute-form (GET https://host/admin HTTP/1.1): a backend routes on its path
    try {
      path = new URL(path).pathname;
    } catch {
      return undefined;
    }
  }
  if (path.includes('\\')) return undefined;
  const out: string[] = [];
  for (const raw of path.split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (seg.includes('/') || seg.includes('\\') || seg.includes('\0')) return undefined;
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg.toLowerCase());
  }
  return `/${out.join('/')}`;
}

function segmentMatches(pattern: string, seg: string): boolean {
  if (!pattern.includes('*')) return pattern === seg;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
  return re.test(seg);
}

function segmentsMatch(p: readonly string[], s: readonly string[]): boolean {
  if (p.length === 0) return s.length === 0;
  if (p[0] === '**') {
    for (let i = 0; i <= s.length; i++) if (segmentsMatch(p.slice(1), s.slice(i))) return true;
    return false;
  }
  return s.length > 0 && segmentMatches(p[0]!, s[0]!) && segmentsMatch(p.slice(1), s.slice(1));
}

/** True when the normalised path matches the pattern (`*` one segment, `**` any number, none included). */
export function pathMatches(pattern: string, path: string): boolean {
  const split = (x: string) => x.toLowerCase().split('/').filter((seg) => seg !== '');
  return segmentsMatch(split(pattern), split(path));
}

/** Does this request target need a verified certificate under these rules? First match wins; none = no. */
export function needsCertificate(target: string, routes: readonly ClientAuthRoute[]): boolean {
  const path = routePath(target);
  if (path === undefined) return routes.some((r) => r.require);
  return routes.find((r) => pathMatches(r.path, path))?.require ?? false;
}

// ---- pure: what a backend is told --------------------------------------------------------------------------------

/** The verdict on one connection's client certificate. */
export interface PeerAuth {
  /** SUCCESS, NONE, or FAILED:<reason> (Apache's SSL_CLIENT_VERIFY values; the reason is OpenSSL's code). */
  readonly verify: string;
  /** Set only when verified. */
  readonly identity?: ClientIdentity;
  /** The certificate's DER, verified only. */
  readonly der?: Buffer;
  /** The chain above it as validated (issuer first), verified only. */
  readonly chain: readonly Buffer[];
}

/** Headers a backend gets: RFC 9440 Client-Cert/Client-Cert-Chain when verified, the legacy set on request. */
export function identityHeaders(auth: PeerAuth, headers: { readonly legacy: boolean; readonly dnFormat: DnFormat }): string[] {
  const out: string[] = [];
  if (auth.identity && auth.der) {
    out.push('Client-Cert', `:${auth.der.toString('base64')}:`);
    if (auth.chain.length) out.push('Client-Cert-Chain', auth.chain.map((c) => `:${c.toString('base64')}:`).join(', '));
  }
  if (headers.legacy) {
    if (auth.identity && auth.der) {
      out.push('SSL-Client-S-DN', distinguishedName(auth.der, 'subject', headers.dnFormat), 'SSL-Client-I-DN', distinguishedName(auth.der, 'issuer', headers.dnFormat));
    }
    out.push('SSL-Client-Verify', auth.verify);
  }
  return out;
}

/** The verdict from what TLS reports: a certificate (DER and chain), whether its chain verified and why not, the pins. */
export function verdict(
  peer: { der?: Buffer; chain: readonly Buffer[]; authorized: boolean; error?: string },
  pinnedSha256: readonly string[] | undefined,
): PeerAuth {
  if (!peer.der) return { verify: 'NONE', chain: [] };
  if (!peer.authorized) return { verify: `FAILED:${(peer.error ?? 'UNKNOWN').replace(/[^A-Za-z0-9_]/g, '_')}`, chain: [] };
  let identity: ClientIdentity;
  try {
    identity = identityFromDer(peer.der, true);
  } catch {
    return { verify: 'FAILED:UNPARSEABLE_CERTIFICATE', chain: [] };
  }
  if (pinnedSha256 && !pinnedSha256.includes(identity.sha256)) return { verify: 'FAILED:NOT_PINNED', chain: [] };
  return { verify: 'SUCCESS', identity, der: peer.der, chain: peer.chain };
}

/** What a refusal says of the OpenSSL codes a client certificate most often fails with (the rest by code). */
const REFUSAL_REASONS: Readonly<Record<string, string>> = {
  NONE: 'no certificate was sent',
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not yet valid',
  CERT_REVOKED: 'the certificate is revoked',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate is not issued by a CA this server trusts',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the certificate is not issued by a CA this server trusts',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed, not issued by a CA this server trusts',
  SELF_SIGNED_CERT_IN_CHAIN: 'the certificate is not issued by a CA this server trusts',
  UNABLE_TO_GET_CRL: 'the server has no CRL for the certificate\'s issuer',
  CRL_HAS_EXPIRED: 'the server\'s CRL for the certificate\'s issuer has expired',
  NOT_PINNED: 'the certificate is not one of those this server admits (pinnedSha256)',
};

/**
 * The body of the 400 a refused client gets (required mode, a certificate that does not verify), in nginx's
 * words ("400 Bad Request / The SSL certificate error") plus which check failed and OpenSSL's code.
 */
export function refusalPage(verify: string): string {
  const code = verify.startsWith('FAILED:') ? verify.slice('FAILED:'.length) : verify;
  return `400 Bad Request: client certificate refused: ${REFUSAL_REASONS[code] ?? 'the certificate did not verify'} (${code})\n`;
}

// ---- the edge: files, sockets, reloads ---------------------------------------------------------------------------

/** What node:tls needs for client certificates; https-server.ts merges it into every secure context. */
export interface ClientTls {
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
  /**
   * required mode: OpenSSL ends a handshake without a client certificate itself, with the TLS alert
   * certificate_required (TLS 1.3) or handshake_failure (TLS 1.2), as Apache does (https-server.ts).
   */
  readonly requireCertificate?: boolean;
  readonly ca: string;
  readonly crl?: readonly string[];
}

export interface ClientAuthLog {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

/** Reads files for the start (verified bytes: VerifiedTree.read) and for reloads (disk, size-capped). */
export interface ClientAuthFiles {
  verified(file: string): Buffer;
  current(file: string): Buffer;
}

const MAX_CRL_BYTES = 64 * 1024 * 1024;

/** The files of a project: verified bytes from the tree (refuses unlisted files), reloads from disk. */
export function projectFiles(tree: { read(file: string): Buffer }, base: string): ClientAuthFiles {
  return {
    verified: (f) => tree.read(resolve(base, f)),
    current: (f) => readRegularFile(resolve(base, f), MAX_CRL_BYTES, 'CRL', { code: 'CONFIG_INVALID' }),
  };
}

/** server.clientAuth set up for a start, or undefined when it is off. Throws before the vault is asked. */
export function createClientAuth(config: ClientAuthConfig | undefined, tree: { read(file: string): Buffer }, base: string, log: ClientAuthLog): ClientAuth | undefined {
  if (!config || config.mode === 'off') return undefined;
  return new ClientAuth(config, projectFiles(tree, base), log, new Date(), base);
}

const FAIL = (message: string, hint: string) => new KeygateError('CONFIG_INVALID', `failed to set up server.clientAuth: ${message}`, { hint });

/** Refused client certificates logged per minute (then one line counting the rest). */
const REFUSAL_LOG_BURST = 10;

/** CRLs of one or more files: DER blocks checked against the CAs; a string says why not. */
function loadCrls(files: readonly string[], read: (f: string) => Buffer, cas: readonly Buffer[]): Map<string, Crl[]> | string {
  const out = new Map<string, Crl[]>();
  for (const file of files) {
    let text: string;
    try {
      text = read(file).toString('latin1');
    } catch (err) {
      return `${file}: ${err instanceof Error ? err.message : String(err)}`;
    }
    const blocks = pemBlocks(text, 'X509 CRL');
    if (blocks.length === 0) return `${file}: holds no PEM block "X509 CRL"`;
    const crls: Crl[] = [];
    for (const der of blocks) {
      const crl = checkCrl(der, cas);
      if (typeof crl === 'string') return `${file}: ${crl}`;
      crls.push(crl);
    }
    out.set(file, crls);
  }
  return out;
}

export class ClientAuth {
  readonly config: ClientAuthConfig;
  readonly #files: ClientAuthFiles;
  readonly #log: ClientAuthLog;
  readonly #caPem: string;
  readonly #cas: readonly Buffer[];
  #crls: Map<string, Crl[]>;
  #revoked = new Set<string>();
  /** Open TLS connections with the revocation key of their verified certificate. */
  readonly #open = new Map<TLSSocket, string>();
  readonly #auth = new WeakMap<TLSSocket, PeerAuth>();
  #apply: ((tls: ClientTls) => void) | undefined;
  readonly #base: string;

  /** Reads the CA bundle and CRLs from verified bytes; throws (before the vault is asked) when they are unusable. */
  constructor(config: ClientAuthConfig, files: ClientAuthFiles, log: ClientAuthLog, now = new Date(), base = '.') {
    this.config = config;
    this.#base = base;
    this.#files = files;
    this.#log = log;
    const caFile = config.caFile!;
    const caText = files.verified(caFile).toString('latin1'); // UNVERIFIED_LOAD (exit 3) when not in the manifest
    this.#cas = pemBlocks(caText, 'CERTIFICATE');
    if (this.#cas.length === 0) throw FAIL(`server.clientAuth.caFile ${caFile} holds no PEM certificate`, 'point caFile at the CA bundle (PEM, -----BEGIN CERTIFICATE-----)');
    for (const ca of this.#cas) {
      try {
        identityFromDer(ca, false);
      } catch (err) {
        throw FAIL(`server.clientAuth.caFile ${caFile} holds a certificate keygate cannot read (${(err as Error).message})`, 'export the CA certificates as PEM: openssl x509 -in ca.der -inform der -out ca.crt');
      }
    }
    this.#caPem = this.#cas.map((c) => pem('CERTIFICATE', c)).join('');
    const crls = loadCrls(config.crlFiles, (f) => files.verified(f), this.#cas);
    if (typeof crls === 'string') throw FAIL(`server.clientAuth.crlFiles: ${crls}`, 'use the CRL your CA issued (PEM "X509 CRL", e.g. openssl ca -gencrl), then keygate generate-filelist && keygate pin');
    this.#crls = crls;
    this.#revoked = this.#revokedOf(crls);
    this.#warnings(now);
  }

  #warnings(now: Date): void {
    const all = [...this.#crls.values()].flat();
    for (const crl of all) {
      if (crl.nextUpdate && crl.nextUpdate < now) this.#log.warn(`the CRL of ${crl.issuer} expired at ${crl.nextUpdate.toISOString()}: every certificate it covers is refused until a fresh CRL is loaded (SIGHUP)`, { gate: 'client-auth' });
    }
    if (all.length) {
      for (const ca of this.#cas) {
        const subject = distinguishedName(ca, 'subject', 'rfc4514');
        if (!all.some((c) => c.issuer === subject)) this.#log.warn(`no CRL in server.clientAuth.crlFiles for CA ${subject}: OpenSSL refuses the certificates it issued ("unable to get certificate CRL")`, { gate: 'client-auth' });
      }
    }
  }

  #revokedOf(crls: Map<string, Crl[]>): Set<string> {
    const s = new Set<string>();
    for (const list of crls.values()) for (const crl of list) for (const k of crl.revoked) s.add(k);
    return s;
  }

  /** The options for node:tls (every secure context keygate makes, including the keystore's reloads). */
  tls(): ClientTls | undefined {
    if (this.config.mode === 'off') return undefined;
    const crl = [...this.#crls.values()].flat().map((c) => pem('X509 CRL', c.der));
    // rejectUnauthorized stays false in required mode too: Node would close a failed chain after the handshake
    // without any event or alert (_tls_wrap onServerSocketSecure), so nothing could log why and the client
    // could not tell. A missing certificate is refused by OpenSSL in the handshake (requireCertificate: the
    // alert, and tlsClientError logs it); a certificate that does not verify gets the 400 page of onConnection.
    return { requestCert: true, rejectUnauthorized: false, requireCertificate: this.config.mode === 'required', ca: this.#caPem, ...(crl.length ? { crl } : {}) };
  }

  /** Gives the server's setter for the client TLS options (used on CRL reload). */
  attach(apply: (tls: ClientTls) => void): void {
    this.#apply = apply;
  }

  /**
   * Serving: CRL reloads on SIGHUP (onReload, the same signal that reloads the keystore) and when a CRL file
   * changes (polled every second, like the keystore). Returns stop().
   */
  listen(server: { setClientTls(tls: ClientTls): void }, onReload: ((listener: () => void) => void) | undefined, pollMs = 1000): () => void {
    this.attach((tls) => server.setClientTls(tls));
    onReload?.(() => this.reloadCrls('SIGHUP'));
    const stops = this.config.crlFiles.map((f) => watchMtime(resolve(this.#base, f), pollMs, () => this.reloadCrls(`${f} changed`)));
    return () => stops.forEach((stop) => stop());
  }

  /**
   * A handshake TLS refused (required mode: no certificate, an unknown CA, a revoked one). Without this line
   * an operator could not tell "client revoked" from "client never connected". Plain HTTP on the port,
   * scanners and resets are no certificate refusal and stay quiet.
   */
  onTlsClientError = (err: Error & { code?: string; reason?: string }, socket: TLSSocket): void => {
    if (this.config.mode === 'off' || !/CERTIFICATE|PEER_DID_NOT_RETURN/.test(String(err.code))) return;
    // OpenSSL's own refusal of a handshake without a certificate (requireCertificate): the same words as the
    // line a connection without one got when keygate refused it after the handshake
    this.#refused(socket, /PEER_DID_NOT_RETURN/.test(String(err.code)) ? 'no certificate sent' : `${err.reason ?? err.message} (${String(err.code)})`);
  };

  // At most REFUSAL_LOG_BURST lines a minute: a client retrying in a loop must not flood the journal.
  #refusalWindow = { start: 0, logged: 0, dropped: 0 };

  #refused(socket: TLSSocket, reason: string): void {
    const now = Date.now();
    const w = this.#refusalWindow;
    if (now - w.start >= 60_000) {
      if (w.dropped > 0) this.#log.warn(`${w.dropped} more client certificate refusals in the last minute were not logged`, { gate: 'client-auth' });
      this.#refusalWindow = { start: now, logged: 0, dropped: 0 };
    }
    if (this.#refusalWindow.logged >= REFUSAL_LOG_BURST) {
      this.#refusalWindow.dropped++;
      return;
    }
    this.#refusalWindow.logged++;
    const from = socket.remoteAddress ?? 'an unknown address';
    // optional mode lets the connection on without an identity (routes decide); required mode closes it
    const line = this.config.mode === 'required' ? `refused a client certificate from ${from}: ${reason}` : `did not accept a client certificate from ${from}: ${reason} (no identity; routes that require one answer 403)`;
    this.#log.warn(line, { gate: 'client-auth', mode: this.config.mode });
  }

  /** The verdict for a connection, computed once. */
  peer(socket: TLSSocket): PeerAuth {
    const known = this.#auth.get(socket);
    if (known) return known;
    let auth: PeerAuth;
    if (this.config.mode === 'off' || typeof socket.getPeerCertificate !== 'function') auth = { verify: 'NONE', chain: [] };
    else {
      const cert = socket.getPeerCertificate(true) as { raw?: Buffer; issuerCertificate?: { raw?: Buffer; issuerCertificate?: unknown } };
      const chain: Buffer[] = [];
      for (let c = cert.issuerCertificate as typeof cert | undefined, n = 0; c?.raw && n < 10; n++) {
        if (chain.some((x) => x.equals(c!.raw!)) || c.raw.equals(cert.raw!)) break; // a self-signed root points at itself
        chain.push(c.raw);
        c = c.issuerCertificate as typeof cert | undefined;
      }
      const error = socket.authorizationError as unknown;
      auth = verdict({ der: cert.raw, chain, authorized: socket.authorized, error: error === null || error === undefined ? undefined : String((error as { code?: string }).code ?? error) }, this.config.pinnedSha256);
    }
    this.#auth.set(socket, auth);
    return auth;
  }

  /**
   * Called for every new TLS connection, synchronously in the secureConnection emit (before any request is
   * read). In required mode a connection without a verified, pinned certificate is refused with one log line
   * saying why, and the returned page is every answer it gets (https-server.ts: 400, then the connection is
   * closed; no request reaches the app), as nginx answers "400 The SSL certificate error": Node completes the
   * handshake for any certificate and can send no TLS alert after it. In optional mode logs a certificate
   * that did not verify; records verified ones (to close them if their certificate is revoked later).
   */
  onConnection = (socket: TLSSocket): string | undefined => {
    if (this.config.mode === 'off') return undefined;
    const auth = this.peer(socket);
    const required = this.config.mode === 'required';
    if (auth.verify.startsWith('FAILED:') || (required && !auth.identity)) {
      this.#refused(socket, auth.verify === 'NONE' ? 'no certificate sent' : auth.verify.slice('FAILED:'.length));
    }
    if (required && !auth.identity) return refusalPage(auth.verify);
    if (!auth.der) return undefined;
    this.#open.set(socket, certificateRevocationKey(auth.der));
    socket.once('close', () => this.#open.delete(socket));
    return undefined;
  };

  /**
   * The verdict for a request's connection: the TLSSocket itself, also for an HTTP/2 stream (whose req.socket is a
   * per-stream Proxy: http2-connection.ts). A stream whose connection is not known gets no identity, never one
   * read through the Proxy without the connection's own verdict.
   */
  #peerOf(req: IncomingMessage): PeerAuth {
    const socket = connectionOf(req);
    return socket ? this.peer(socket) : { verify: 'NONE', chain: [] };
  }

  /** Wraps the app: a request on a route that needs a certificate, without a verified one, gets 403. */
  gate(handler: RequestHandler): RequestHandler {
    if (this.config.mode !== 'optional' || !this.config.routes.some((r) => r.require)) return handler;
    return (req: IncomingMessage, res: ServerResponse) => {
      const auth = this.#peerOf(req);
      if (!auth.identity && needsCertificate(req.url ?? '/', this.config.routes)) {
        res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        res.end(`forbidden: this path needs a verified client certificate (${auth.verify})\n`);
        return;
      }
      return handler(req, res);
    };
  }

  /** The same rule for HTTP upgrades (WebSocket). */
  gateUpgrade(onUpgrade: ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined) {
    if (!onUpgrade || this.config.mode !== 'optional' || !this.config.routes.some((r) => r.require)) return onUpgrade;
    return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (needsCertificate(req.url ?? '/', this.config.routes) && !this.#peerOf(req).identity) {
        socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      onUpgrade(req, socket, head);
    };
  }

  /** The identity headers for a backend request (RFC 9440, and the legacy set when configured). */
  headersFor = (req: IncomingMessage): string[] => (this.config.mode === 'off' ? [] : identityHeaders(this.#peerOf(req), this.config.headers));

  /** What an in-process handler gets: ctx.client (verified only) and ctx.clientVerify. */
  contextFor = (req: IncomingMessage): { client?: ClientIdentity; clientVerify: string } => {
    const auth = this.#peerOf(req);
    return auth.identity ? { client: auth.identity, clientVerify: auth.verify } : { clientVerify: auth.verify };
  };

  /** The CRL files to watch for changes. */
  get crlFiles(): readonly string[] {
    return this.config.crlFiles;
  }

  /**
   * Re-reads the CRL files. A new CRL is applied only if it is signed by a CA of the verified caFile and is not
   * older than the one it replaces (no roll-back to a CRL from before a revocation); otherwise the previous CRLs
   * stay and the reason is logged. Then open connections whose certificate is now revoked are closed.
   */
  reloadCrls(why: string): void {
    if (this.config.mode === 'off' || this.config.crlFiles.length === 0) return;
    const fresh = loadCrls(this.config.crlFiles, (f) => this.#files.current(f), this.#cas);
    if (typeof fresh === 'string') {
      this.#log.error(`CRL reload (${why}) failed, still using the previous CRLs: ${fresh}`, { gate: 'client-auth' });
      return;
    }
    for (const [file, list] of fresh) {
      for (const crl of list) {
        const before = this.#crls.get(file)?.find((c) => c.issuer === crl.issuer);
        if (!before) continue;
        const older = crl.thisUpdate < before.thisUpdate || (crl.number !== undefined && before.number !== undefined && crl.number < before.number);
        if (older) {
          this.#log.error(`CRL reload (${why}) failed, still using the previous CRLs: ${file}: this CRL of ${crl.issuer} is older than the loaded one (thisUpdate ${crl.thisUpdate.toISOString()}, loaded ${before.thisUpdate.toISOString()})`, { gate: 'client-auth' });
          return;
        }
      }
    }
    const changed = [...fresh].some(([file, list]) => {
      const old = this.#crls.get(file) ?? [];
      return old.length !== list.length || list.some((c, i) => !c.der.equals(old[i]!.der));
    });
    if (!changed) {
      this.#log.info(`CRLs unchanged (${why})`, { gate: 'client-auth' });
      return;
    }
    this.#crls = fresh;
    this.#revoked = this.#revokedOf(fresh);
    this.#apply?.(this.tls()!);
    let closed = 0;
    for (const [socket, key] of this.#open) {
      if (this.#revoked.has(key)) {
        socket.destroy();
        this.#open.delete(socket);
        closed++;
      }
    }
    this.#log.info(`reloaded CRLs (${why}): ${this.#revoked.size} revoked certificates, ${closed} open connections with a revoked certificate closed`, { gate: 'client-auth' });
    this.#log.warn('the CRL files now differ from the manifest: the next start refuses them until keygate generate-filelist && keygate pin (docs/client-auth.md#revocation)', { gate: 'client-auth' });
    this.#warnings(new Date());
  }
}
