// HTTP/2 frames by hand (RFC 9113 §4, §6) over a TLS socket with ALPN h2, for the tests node:http2's client
// cannot write: it refuses upper-case names, CR/LF in values, connection-specific fields, pseudo-header fields
// out of place, a content-length that disagrees with the DATA, and floods. Header blocks are HPACK (RFC 7541)
// literals without indexing and without Huffman coding, so every byte on the wire is the test's.

import tls from 'node:tls';

export const FRAME = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** An HPACK integer with an n-bit prefix, the first byte's high bits from first (RFC 7541 §5.1). */
export function hpackInt(value: number, n: number, first = 0): Buffer {
  const max = (1 << n) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Buffer.from(out);
}

const str = (s: string): Buffer => Buffer.concat([hpackInt(Buffer.byteLength(s, 'latin1'), 7), Buffer.from(s, 'latin1')]);

/** A header block of literal fields without indexing, new names (RFC 7541 §6.2.2), in the order given. */
export function block(fields: readonly (readonly [string, string])[]): Buffer {
  return Buffer.concat(fields.map(([n, v]) => Buffer.concat([Buffer.from([0x00]), str(n), str(v)])));
}

/** A literal field with incremental indexing (RFC 7541 §6.2.1): it enters the dynamic table at index 62. */
export function indexedLiteral(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40]), str(name), str(value)]);
}

export function headers(stream: number, fields: readonly (readonly [string, string])[] | Buffer, o: { endStream?: boolean; endHeaders?: boolean } = {}): Buffer {
  const flags = (o.endStream ? FLAG.END_STREAM : 0) | (o.endHeaders === false ? 0 : FLAG.END_HEADERS);
  return frame(FRAME.HEADERS, flags, stream, Buffer.isBuffer(fields) ? fields : block(fields));
}
export const data = (stream: number, bytes: string | Buffer, endStream = false): Buffer => frame(FRAME.DATA, endStream ? FLAG.END_STREAM : 0, stream, Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1'));
export const continuation = (stream: number, payload: Buffer, end = false): Buffer => frame(FRAME.CONTINUATION, end ? FLAG.END_HEADERS : 0, stream, payload);
export const rst = (stream: number, code = 8): Buffer => frame(FRAME.RST_STREAM, 0, stream, Buffer.from([0, 0, 0, code]));
export const settings = (pairs: readonly (readonly [number, number])[] = []): Buffer =>
  frame(FRAME.SETTINGS, 0, 0, Buffer.concat(pairs.map(([id, v]) => { const b = Buffer.alloc(6); b.writeUInt16BE(id, 0); b.writeUInt32BE(v, 2); return b; })));
export const ping = (): Buffer => frame(FRAME.PING, 0, 0, Buffer.alloc(8));

/** A request's usual pseudo-header fields for port. */
export function requestFields(port: number, method = 'GET', path = '/', extra: readonly (readonly [string, string])[] = []): [string, string][] {
  return [[':method', method], [':scheme', 'https'], [':authority', `localhost:${port}`], [':path', path], ...extra.map(([n, v]) => [n, v] as [string, string])];
}

export interface Received {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

export interface Exchange {
  readonly frames: Received[];
  /** The connection ended (by the server, or by the test's wait running out: closedByServer tells). */
  readonly closedByServer: boolean;
  /** The first response on stream: "status 200", "reset 11", or "none". */
  outcome(stream: number): string;
  /** The GOAWAY's error code, if the server sent one. */
  readonly goaway: number | undefined;
}

/** Digits' HPACK Huffman codes (RFC 7541 Appendix B), enough to read a :status. */
const HUFFMAN_DIGITS: Record<string, string> = { '00000': '0', '00001': '1', '00010': '2', '011001': '3', '011010': '4', '011011': '5', '011100': '6', '011101': '7', '011110': '8', '011111': '9' };
const STATIC_STATUS: Record<number, string> = { 8: '200', 9: '204', 10: '206', 11: '304', 12: '400', 13: '404', 14: '500' };

/** The :status at the start of a response header block nghttp2 wrote (indexed, or literal with name index 8). */
export function statusOf(payload: Buffer): string {
  const b0 = payload[0]!;
  if (b0 & 0x80) return STATIC_STATUS[b0 & 0x7f] ?? `index ${b0 & 0x7f}`;
  if ((b0 & 0xc0) === 0x40 && (b0 & 0x3f) === 8 || (b0 & 0xf0) === 0 && (b0 & 0x0f) === 8) {
    const len = payload[1]! & 0x7f;
    const raw = payload.subarray(2, 2 + len);
    if (!(payload[1]! & 0x80)) return raw.toString('latin1');
    let bits = '';
    for (const byte of raw) bits += byte.toString(2).padStart(8, '0');
    let out = '';
    let code = '';
    for (const bit of bits) {
      code += bit;
      if (HUFFMAN_DIGITS[code]) {
        out += HUFFMAN_DIGITS[code];
        code = '';
        if (out.length === 3) break;
      }
    }
    return out;
  }
  return `unknown 0x${b0.toString(16)}`;
}

/**
 * Connects with ALPN h2, sends the preface, an empty SETTINGS, then each of writes (a Buffer, or a function of
 * the frames so far, in order, each after the previous was flushed), acknowledges the server's SETTINGS, and
 * collects what comes back until the server closes or waitMs pass.
 */
export function h2Exchange(port: number, writes: readonly Buffer[], waitMs = 1_500): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const frames: Received[] = [];
    let pending = Buffer.alloc(0);
    let closedByServer = false;
    let settled = false;
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ALPNProtocols: ['h2'], rejectUnauthorized: false }, () => {
      if (socket.alpnProtocol !== 'h2') {
        socket.destroy();
        reject(new Error(`ALPN gave ${String(socket.alpnProtocol)}, not h2`));
        return;
      }
      socket.write(Buffer.concat([PREFACE, settings()]));
      for (const w of writes) if (!socket.destroyed) socket.write(w, () => {});
    });
    socket.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 9) {
        const len = pending.readUIntBE(0, 3);
        if (pending.length < 9 + len) break;
        const f = { type: pending[3]!, flags: pending[4]!, stream: pending.readUInt32BE(5) & 0x7fffffff, payload: pending.subarray(9, 9 + len) };
        pending = pending.subarray(9 + len);
        frames.push(f);
        if (f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK) && !socket.destroyed) socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      }
    });
    socket.on('error', () => {});
    const done = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const goawayFrame = frames.find((f) => f.type === FRAME.GOAWAY);
      resolve({
        frames,
        closedByServer,
        goaway: goawayFrame ? goawayFrame.payload.readUInt32BE(4) : undefined,
        outcome(stream) {
          const f = frames.find((x) => x.stream === stream && (x.type === FRAME.HEADERS || x.type === FRAME.RST_STREAM));
          if (!f) return 'none';
          return f.type === FRAME.RST_STREAM ? `reset ${f.payload.readUInt32BE(0)}` : `status ${statusOf(f.payload)}`;
        },
      });
    };
    socket.on('close', () => {
      closedByServer = !settled;
      done();
    });
    const timer = setTimeout(done, waitMs);
  });
}
