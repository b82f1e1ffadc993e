// remo_serv 0.6.0's message framing (notes/seed-peers-findings.md §1.3), both directions, as pure functions.
// Each Fernet token's plaintext starts with magic (2 bytes: B/. then E/.), the request number (int16 BE,
// signed) and the token number (int16 BE). A request's first token also carries SHA-384 of the request path, a
// response's first token a three-digit status. What keygate adds over remo_serv: every check on every request
// (bodiless ones too), a TTL on every token, and an end token on every response.

import { createHash } from 'node:crypto';
import { Fernet, ProtocolError } from './crypto.js';

const CRLF = Buffer.from('\r\n');
export const HEAD_BYTES = 6;
export const PATH_HASH_BYTES = 48;
/** Largest request number: remo_serv packs it as a signed int16. A session that reaches it must log in again. */
export const MAX_REQUEST_NO = 32767;
/** Bytes of payload per response token (remo_serv's /get chunk). */
export const RESPONSE_CHUNK = 16384;

export function pathHash(path: string): Buffer {
  return createHash('sha384').update(path, 'utf8').digest();
}

function head(magic: string, req: number, tok: number): Buffer {
  const h = Buffer.alloc(HEAD_BYTES);
  h.write(magic, 0, 'latin1');
  h.writeInt16BE(req, 2);
  h.writeInt16BE(tok, 4);
  return h;
}

/** A request body as the Python client sends it: form A is one token (Content-Length), form B tokens + CRLF (chunked). */
export function encodeRequestBody(f: Fernet, path: string, req: number, payload: Uint8Array, form: 'A' | 'B', chunk = 8192): Buffer {
  if (form === 'A') return Buffer.from(f.encrypt(Buffer.concat([head('BE', req, 0), pathHash(path), payload])));
  const tokens: string[] = [];
  let tok = 0;
  let off = 0;
  do {
    const piece = payload.subarray(off, off + chunk);
    off += piece.length;
    tokens.push(f.encrypt(Buffer.concat([head(tok === 0 ? 'B.' : '..', req, tok), tok === 0 ? pathHash(path) : Buffer.alloc(0), piece])));
    tok++;
  } while (off < payload.length);
  tokens.push(f.encrypt(head('.E', req, tok)));
  return Buffer.from(tokens.join('\r\n')); // the Python client sends no CRLF after its last token
}

export interface RequestBody {
  readonly req: number;
  readonly payload: Buffer;
}

/**
 * Checks and opens a request body: form A (`hasLength`) is exactly one token (a trailing CRLF tolerated), form B
 * tokens separated by CRLF (blank lines tolerated) that must end with an E token. The first token must carry
 * this path's hash; numbers must run 0, 1, 2… under one request number. Every token is held to `ttlS`.
 * The request number's order is the session's business (sessions.ts). Throws ProtocolError.
 */
export function decodeRequestBody(f: Fernet, path: string, body: Buffer, hasLength: boolean, ttlS: number, nowS?: number): RequestBody {
  if (body.length === 0) throw new ProtocolError('the request has no body token (every request needs one: it carries the request number)');
  const lines = body.toString('latin1').split('\r\n');
  if (hasLength) {
    if (lines.length > 2 || (lines.length === 2 && lines[1] !== '')) throw new ProtocolError('a request with Content-Length carries exactly one token');
  }
  const tokens = lines.filter((l) => l !== '');
  let req = 0;
  const parts: Buffer[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const plain = f.decrypt(tokens[i]!, ttlS, nowS);
    if (plain.length < HEAD_BYTES) throw new ProtocolError('a body token is shorter than its header');
    const magic = plain.toString('latin1', 0, 2);
    const tokReq = plain.readInt16BE(2);
    const tok = plain.readInt16BE(4);
    if (tok !== i) throw new ProtocolError(`body token ${i} is numbered ${tok}`);
    let data = plain.subarray(HEAD_BYTES);
    if (i === 0) {
      if (magic[0] !== 'B') throw new ProtocolError('the first body token is not marked B');
      if (hasLength && magic !== 'BE') throw new ProtocolError('a one-token body must be marked BE');
      if (data.length < PATH_HASH_BYTES || !data.subarray(0, PATH_HASH_BYTES).equals(pathHash(path))) throw new ProtocolError('the body token was made for another path');
      data = data.subarray(PATH_HASH_BYTES);
      req = tokReq;
      if (req < 1) throw new ProtocolError(`request number ${req} is out of range`);
    } else {
      if (magic[0] !== '.') throw new ProtocolError(`body token ${i} is marked ${magic}`);
      if (tokReq !== req) throw new ProtocolError(`body token ${i} belongs to request ${tokReq}, not ${req}`);
    }
    parts.push(data);
    if (magic[1] === 'E') {
      if (i !== tokens.length - 1) throw new ProtocolError('tokens follow the end token');
      return { req, payload: Buffer.concat(parts) };
    }
    if (magic[1] !== '.') throw new ProtocolError(`body token ${i} has the unknown marker ${magic}`);
  }
  throw new ProtocolError('the body ends without an end token (truncated?)');
}

/**
 * A response body: first token B + (E if that is all, else .) + req + 0 + status (3 digits) + data, then
 * `..` tokens, then an empty `.E` token, each followed by CRLF. The status is the real one (remo_serv writes
 * "200" whatever happened); the stock client only decodes 2xx bodies, so it sees 200 there too.
 */
export function encodeResponse(f: Fernet, req: number, status: number, data: Uint8Array, chunk = RESPONSE_CHUNK): Buffer {
  const code = Buffer.from(String(status).padStart(3, '0').slice(0, 3), 'latin1');
  const out: Buffer[] = [];
  if (data.length === 0) return Buffer.concat([Buffer.from(f.encrypt(Buffer.concat([head('BE', req, 0), code]))), CRLF]);
  let tok = 0;
  for (let off = 0; off < data.length; off += chunk, tok++) {
    const piece = data.subarray(off, off + chunk);
    out.push(Buffer.from(f.encrypt(Buffer.concat([head(tok === 0 ? 'B.' : '..', req, tok), tok === 0 ? code : Buffer.alloc(0), piece]))), CRLF);
  }
  out.push(Buffer.from(f.encrypt(head('.E', req, tok))), CRLF);
  return Buffer.concat(out);
}

export interface DecodedResponse {
  readonly status: number;
  readonly data: Buffer;
}

/**
 * The client's side, strict: every line a token for this request, numbered in order, ending with E (a cut
 * response is an error, not a short answer). Blank lines between tokens (remo_serv's framing) are skipped.
 */
export function decodeResponse(f: Fernet, req: number, body: Buffer, ttlS: number, nowS?: number): DecodedResponse {
  const tokens = body.toString('latin1').split('\r\n').filter((l) => l !== '');
  let status = 0;
  const parts: Buffer[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const plain = f.decrypt(tokens[i]!, ttlS, nowS);
    const magic = plain.toString('latin1', 0, 2);
    if (plain.readInt16BE(2) !== req || plain.readInt16BE(4) !== i) throw new ProtocolError(`response token ${i} is out of order`);
    if (magic[0] !== (i === 0 ? 'B' : '.')) throw new ProtocolError(`response token ${i} is marked ${magic}`);
    let data = plain.subarray(HEAD_BYTES);
    if (i === 0) {
      status = Number(data.toString('latin1', 0, 3));
      data = data.subarray(3);
    }
    parts.push(data);
    if (magic[1] === 'E') {
      if (i !== tokens.length - 1) throw new ProtocolError('tokens follow the end token');
      return { status, data: Buffer.concat(parts) };
    }
  }
  throw new ProtocolError('the response ends without an end token (truncated)');
}
