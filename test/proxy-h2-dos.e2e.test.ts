// HTTP/2 denial of service classes against keygate's listener and proxy (issue 32), with hand-built frames
// (helpers/h2-frames.ts) over real TLS, in front of a Node http backend that counts what reaches it. Node's own
// protections do the work (nghttp2 1.61 in Node 20.20, 1.70 in Node 24; docs/security.md "HTTP/2" names each);
// these tests hold that keygate's settings keep them on and that the backend behind sees a bounded load.
// Each asserts the server still answers a new connection afterwards.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localhostCert, startProxyFront } from './helpers/proxy-front.js';
import { FRAME, block, continuation, frame, h2Exchange, headers, hpackInt, indexedLiteral, ping, requestFields, rst, settings } from './helpers/h2-frames.js';

const dir = mkdtempSync(join(tmpdir(), 'kg-h2-dos-'));
const files = localhostCert(dir);
after(() => rmSync(dir, { recursive: true, force: true }));

let requests = 0;
let inFlight = 0;
let maxInFlight = 0;
const backend = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  requests++;
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  const delay = req.url?.startsWith('/slow') ? 400 : 0;
  req.resume();
  setTimeout(() => {
    inFlight--;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 });
    res.end('ok\n');
  }, delay);
});
backend.on('clientError', (_e, s) => s.destroy());
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
after(() => backend.close());
const front = await startProxyFront(files, { target: () => ({ host: '127.0.0.1', port: (backend.address() as net.AddressInfo).port }), requestTimeoutMs: 5_000 });
after(() => front.close());
const port = front.port;
const reset = (): void => {
  requests = 0;
  maxInFlight = 0;
};

/** A new connection gets its answer: the server survived. */
async function alive(): Promise<void> {
  const ex = await h2Exchange(port, [headers(1, requestFields(port, 'GET', '/probe'), { endStream: true })], 2_000);
  assert.equal(ex.outcome(1), 'status 200', 'a new connection after the attack');
}

test('streams of one connection run side by side (not queued as HTTP/1.1 pipelining is), bounded by maxConcurrentStreams', async () => {
  // Ten requests to a backend that takes 400 ms each: concurrent, so all answered in about one delay.
  reset();
  const client = http2.connect(`https://localhost:${port}`, { rejectUnauthorized: false });
  const t0 = Date.now();
  const statuses = await Promise.all(
    Array.from({ length: 10 }, (_, i) => new Promise<number>((resolve, reject) => {
      const r = client.request({ ':path': `/slow/${i}` });
      r.on('response', (h) => resolve(Number(h[':status'])));
      r.on('error', reject);
      r.resume();
      r.end();
    })),
  );
  const ms = Date.now() - t0;
  client.close();
  assert.deepEqual(statuses, Array(10).fill(200));
  assert.equal(maxInFlight, 10, 'all ten at the backend at once');
  assert.ok(ms < 2_000, `answered in ${ms} ms`);
  // 150 streams opened at once, ignoring the server's SETTINGS: those over the limit are refused by nghttp2
  // (RST_STREAM REFUSED_STREAM, 7, or the connection ends); the backend never holds more than the limit.
  reset();
  const frames = Array.from({ length: 150 }, (_, i) => headers(2 * i + 1, requestFields(port, 'GET', `/slow/${i}`), { endStream: true }));
  const ex = await h2Exchange(port, [Buffer.concat(frames)], 2_000);
  const outcomes = Array.from({ length: 150 }, (_, i) => ex.outcome(2 * i + 1));
  const ok = outcomes.filter((o) => o === 'status 200').length;
  process.stdout.write(`# 150 streams at once: ${ok} answered, ${outcomes.filter((o) => o.startsWith('reset')).length} reset, backend at most ${maxInFlight} at once, goaway ${ex.goaway}\n`);
  assert.ok(maxInFlight <= 100, `backend held ${maxInFlight}`); // HTTP2_MAX_CONCURRENT_STREAMS
  assert.ok(ok <= 100);
  await alive();
});

test('rapid reset (CVE-2023-44487): streams opened and cancelled at once: the connection is closed, the backend sees a bounded number', async () => {
  reset();
  const n = 5_000;
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++) frames.push(headers(2 * i + 1, requestFields(port, 'GET', `/r/${i}`), { endStream: true }), rst(2 * i + 1));
  const t0 = Date.now();
  const ex = await h2Exchange(port, [Buffer.concat(frames)], 3_000);
  await new Promise((r) => setTimeout(r, 300));
  process.stdout.write(`# rapid reset, ${n} streams: goaway ${ex.goaway}, closed by server ${ex.closedByServer}, backend saw ${requests} requests, ${Date.now() - t0} ms\n`);
  assert.ok(ex.closedByServer || ex.goaway !== undefined, 'the connection was ended by the server');
  assert.ok(requests < n / 2, `backend saw ${requests} of ${n}`);
  await alive();
});

test('CONTINUATION flood (CVE-2024-27983, CVE-2024-28182): a header block that never ends is cut, the connection closed', async () => {
  reset();
  const field = block([['x-flood', 'a'.repeat(100)]]);
  const frames = [headers(1, block(requestFields(port, 'GET', '/c')), { endStream: true, endHeaders: false })];
  for (let i = 0; i < 10_000; i++) frames.push(continuation(1, field));
  const ex = await h2Exchange(port, [Buffer.concat(frames)], 3_000);
  process.stdout.write(`# CONTINUATION flood: goaway ${ex.goaway}, closed by server ${ex.closedByServer}, outcome ${ex.outcome(1)}\n`);
  assert.ok(ex.closedByServer || ex.goaway !== undefined, 'the connection was ended by the server');
  assert.equal(requests, 0);
  // Empty CONTINUATION frames, which add nothing to the header list.
  const empty = [headers(1, block(requestFields(port, 'GET', '/c')), { endStream: true, endHeaders: false })];
  for (let i = 0; i < 10_000; i++) empty.push(continuation(1, Buffer.alloc(0)));
  const ex2 = await h2Exchange(port, [Buffer.concat(empty)], 3_000);
  process.stdout.write(`# empty CONTINUATION flood: goaway ${ex2.goaway}, closed by server ${ex2.closedByServer}\n`);
  assert.ok(ex2.closedByServer || ex2.goaway !== undefined);
  assert.equal(requests, 0);
  await alive();
});

test('PING and SETTINGS floods: the connection is closed, the server stays up', async () => {
  for (const [name, f] of [['PING', ping()], ['SETTINGS', settings([[4, 65535]])]] as const) {
    const ex = await h2Exchange(port, [Buffer.concat(Array(100_000).fill(f))], 3_000);
    process.stdout.write(`# ${name} flood, 100000 frames: goaway ${ex.goaway}, closed by server ${ex.closedByServer}, ${ex.frames.filter((x) => x.type === (name === 'PING' ? FRAME.PING : FRAME.SETTINGS)).length} acknowledgements read\n`);
    assert.ok(ex.closedByServer || ex.goaway !== undefined, `${name}: the connection was ended by the server`);
  }
  await alive();
});

test('HPACK bomb: a header list over 16 KiB decoded (one 4 KiB field referenced 1,000 times) is refused; so are 104 fields', async () => {
  reset();
  const bomb = Buffer.concat([block(requestFields(port, 'GET', '/bomb')), indexedLiteral('x-bomb', 'a'.repeat(4_000)), Buffer.concat(Array(1_000).fill(hpackInt(62, 7, 0x80)))]);
  const ex = await h2Exchange(port, [headers(1, bomb, { endStream: true })], 2_000);
  process.stdout.write(`# HPACK bomb: ${ex.outcome(1)}, goaway ${ex.goaway}, closed by server ${ex.closedByServer}\n`);
  assert.notEqual(ex.outcome(1), 'status 200');
  assert.equal(requests, 0);
  // The field count: 99 regular fields pass (the HTTP/1.1 path's cap), 100 do not.
  const fields = (n: number) => requestFields(port, 'GET', '/many', Array.from({ length: n }, (_, i) => [`x-f${i}`, '1'] as [string, string]));
  const at = await h2Exchange(port, [headers(1, fields(99), { endStream: true })], 2_000);
  const over = await h2Exchange(port, [headers(1, fields(100), { endStream: true })], 2_000);
  process.stdout.write(`# 99 fields: ${at.outcome(1)}; 100 fields: ${over.outcome(1)}\n`);
  assert.equal(at.outcome(1), 'status 200');
  assert.notEqual(over.outcome(1), 'status 200');
  assert.equal(requests, 1);
  await alive();
});

test('slowloris on h2: a header block never finished is closed at headersTimeoutMs, as on HTTP/1.1', async () => {
  const slow = await startProxyFront(files, { target: () => ({ host: '127.0.0.1', port: (backend.address() as net.AddressInfo).port }), requestTimeoutMs: 5_000 }, { headersTimeoutMs: 600 });
  try {
    const t0 = Date.now();
    const ex = await h2Exchange(slow.port, [headers(1, block(requestFields(slow.port, 'GET', '/s')), { endStream: true, endHeaders: false })], 3_000);
    const ms = Date.now() - t0;
    process.stdout.write(`# unfinished HEADERS: closed by server ${ex.closedByServer} after ${ms} ms\n`);
    assert.ok(ex.closedByServer, 'closed by the server');
    assert.ok(ms < 2_000, `closed after ${ms} ms`);
  } finally {
    await slow.close();
  }
});
