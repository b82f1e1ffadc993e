// A Node client of the admin channel (the tests' second client beside the Python one): the same wire protocol
// as remo_serv's clientlib, but strict where clientlib is lax: the server's signature is checked against a pinned
// key, every response token must authenticate, belong to this request and be in order, and a response without
// its end token is an error (no plaintext let through, no silent truncation).

import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { verify, type KeyObject } from 'node:crypto';
import { Fernet, ProtocolError, b64uDecode, b64uEncode, sessionKey, signLogin, x448Ephemeral, x448Shared } from './crypto.js';
import { decodeResponse, encodeRequestBody } from './framing.js';

export interface Endpoint {
  readonly url?: string;
  readonly socketPath?: string;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One HTTP exchange (POST, like the Python client), optionally with a cookie and without Content-Length. */
export function exchange(ep: Endpoint, path: string, body: Buffer, options: { cookie?: string; chunked?: boolean } = {}): Promise<RawResponse> {
  const target = ep.url ? new URL(ep.url) : undefined;
  return new Promise((resolveResponse, reject) => {
    const req = httpRequest(
      {
        ...(ep.socketPath ? { socketPath: ep.socketPath } : { host: target!.hostname, port: target!.port }),
        path,
        method: 'POST',
        agent: false,
        headers: {
          Host: 'x', // the stock client's Host header
          ...(options.cookie ? { Cookie: `SESSION_ID=${options.cookie}` } : {}),
          ...(options.chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': String(body.length) }),
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolveResponse({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export interface Prepared {
  readonly path: string;
  readonly body: Buffer;
  readonly chunked: boolean;
  readonly req: number;
}

export interface AdminReply {
  readonly status: number;
  /** The decrypted payload for 2xx; the plain-text line for errors. */
  readonly data: Buffer;
}

export class AdminClient {
  readonly fernet: Fernet;
  readonly cookie: string;
  readonly #ep: Endpoint;
  readonly #key: Buffer;
  #req = 0;

  private constructor(ep: Endpoint, key: Buffer, cookie: string) {
    this.#ep = ep;
    this.#key = key;
    this.fernet = new Fernet(key);
    this.cookie = cookie;
  }

  /** The session key: the tests search every log for it (it must be in none). */
  revealSessionKey(): Buffer {
    return Buffer.from(this.#key);
  }

  /** /auth: X448 ephemeral, signed by the user's key; the server's answer checked against its pinned key. */
  static async login(ep: Endpoint, user: string, userKey: KeyObject, serverPublic: KeyObject): Promise<AdminClient> {
    const eph = x448Ephemeral();
    const body = Buffer.from(JSON.stringify({ user, key: b64uEncode(eph.publicRaw), sign: b64uEncode(signLogin(userKey, user, eph.publicRaw)) }));
    const r = await exchange(ep, '/auth', body);
    if (r.status !== 200) throw Object.assign(new Error(`login refused: ${r.status} ${r.body.toString().trim()}`), { status: r.status });
    const text = r.body.toString('latin1');
    if (text.length !== 230 || text.slice(76, 78) !== '\r\n') throw new ProtocolError('the /auth reply is not 76 + CRLF + 152 bytes');
    const serverEph = b64uDecode(text.slice(0, 76), 'server key');
    if (!verify(null, serverEph, serverPublic, b64uDecode(text.slice(78), 'server signature'))) throw new ProtocolError('the server signature does not verify with the pinned key');
    const cookie = /SESSION_ID=([^;]+)/.exec(String(r.headers['set-cookie'] ?? ''))?.[1];
    if (!cookie) throw new ProtocolError('no session cookie');
    return new AdminClient(ep, sessionKey(x448Shared(eph.privateKey, serverEph)), cookie);
  }

  /** Builds (and numbers) a request without sending it: the tests replay and tamper with these. */
  prepare(kind: 'cmd' | 'get' | 'put' | 'info' | string, arg?: string, payload: Buffer = Buffer.alloc(0), form: 'A' | 'B' = 'A', number?: number): Prepared {
    const req = number ?? ++this.#req; // an explicit number (a test's skip) leaves the counter alone
    const path = arg === undefined ? `/${kind}` : `/${kind}/${this.fernet.encrypt(Buffer.from(arg, 'utf8'))}`;
    return { path, body: encodeRequestBody(this.fernet, path, req, payload, form), chunked: form === 'B', req };
  }

  async send(p: Prepared): Promise<AdminReply> {
    const r = await exchange(this.#ep, p.path, p.body, { cookie: this.cookie, chunked: p.chunked });
    if (r.status >= 300) return { status: r.status, data: r.body };
    const d = decodeResponse(this.fernet, p.req, r.body, 60);
    if (d.status !== r.status) throw new ProtocolError(`the sealed status ${d.status} differs from the HTTP status ${r.status}`);
    return { status: r.status, data: d.data };
  }

  request(kind: string, arg?: string, payload?: Buffer, form?: 'A' | 'B'): Promise<AdminReply> {
    return this.send(this.prepare(kind, arg, payload, form));
  }
}
