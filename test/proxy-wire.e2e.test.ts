// The proxy on the wire (issue 29: "the proxy speaks HTTP the way nginx and Apache do"): keygate's own TLS listener
// (startHttpsServer, production settings) and createProxy in front of a keep-alive Node http backend that logs
// every request it parses, in arrival order, with its headers and body size. Raw bytes over real TLS from the
// client, so what is tested is what a client's bytes make keygate send.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import tls from 'node:tls';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localhostCert, startProxyFront } from './helpers/proxy-front.js';
import { rawTls } from './helpers/backend.js';

const dir = mkdtempSync(join(tmpdir(), 'kg-proxy-wire-'));
const files = localhostCert(dir);
const CA = files.cert;

interface Seen {
  readonly line: string;
  readonly headers: string[];
  bytes: number;
  done: boolean;
}
const seen: Seen[] = [];
/** What the backend did, in order: "arrived GET /1", "answered GET /1". */
const events: string[] = [];
/** Per path: how long the backend waits before answering (after reading the whole body). */
const delays: Record<string, number> = {};
const backend = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  if (req.url === '/stall-body') {
    // Head and part of the body, then nothing (the connection stays open).
    res.writeHead(200, { 'content-length': '10' });
    res.write('abc');
    return;
  }
  const s: Seen = { line: `${req.method} ${req.url} HTTP/${req.httpVersion}`, headers: req.rawHeaders, bytes: 0, done: false };
  seen.push(s);
  events.push(`arrived ${req.method} ${req.url}`);
  req.on('data', (d: Buffer) => (s.bytes += d.length));
  req.on('end', () => {
    s.done = true;
    setTimeout(() => {
      events.push(`answered ${req.method} ${req.url}`);
      res.end(`${req.method} ${req.url} ${s.bytes}\n`);
    }, delays[req.url ?? ''] ?? 0);
  });
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
const target = { host: '127.0.0.1', port: (backend.address() as net.AddressInfo).port };

const server = await startProxyFront(files, { target: () => ({ ...target }), requestTimeoutMs: 400, idleTimeoutMs: 400 }, { clientBodyTimeoutMs: 400 });
after(async () => {
  await server.close();
  backend.closeAllConnections();
  backend.close();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (since: number): string[] => seen.slice(since).map((s) => s.line);
const header = (s: Seen, name: string): string[] => s.headers.filter((_, i) => i % 2 === 1 && s.headers[i - 1]!.toLowerCase() === name);

test('more header lines than the cap: 431, nothing reaches the backend; one fewer passes (review L4)', async () => {
  const junk = Array.from({ length: 99 }, (_, i) => `X-J${i}: j\r\n`).join('');
  const n = seen.length;
  // Host + 99 junk = 100 lines, then the framing as line 101: Node's req.headers would hold no Transfer-Encoding.
  // Planted (no headersCut check): 200, and the backend ran POST /cut with 0 body bytes.
  const cut = await rawTls(server.port, CA, `POST /cut HTTP/1.1\r\nHost: localhost\r\n${junk}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
  assert.match(cut, /^HTTP\/1\.1 431 /, cut.split('\r\n')[0]);
  assert.deepEqual(lines(n), []);
  // The same on an upgrade (WebSocket) request. Planted (upgrade handed on without the check): the backend answered 200.
  const up = await rawTls(server.port, CA, `GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${junk.slice(0, -'X-J98: j\r\n'.length)}\r\n`);
  assert.match(up, /^HTTP\/1\.1 431 /, up.split('\r\n')[0]);
  assert.deepEqual(lines(n), []);
  const fewer = Array.from({ length: 96 }, (_, i) => `X-J${i}: j\r\n`).join('');
  const ok = await rawTls(server.port, CA, `POST /fewer HTTP/1.1\r\nHost: localhost\r\n${fewer}Content-Length: 5\r\nConnection: close\r\n\r\nhello`);
  assert.match(ok, /^HTTP\/1\.1 200 [^]*POST \/fewer 5\n$/);
});

test('HTTP/1.0 without Host goes upstream with the name the client reached (review L5); absolute-form in origin-form', async () => {
  const n = seen.length;
  // Planted (no defaultHost): the Node backend answered 400 to an HTTP/1.1 request without Host.
  const h10 = await rawTls(server.port, CA, 'POST /h10 HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello');
  assert.match(h10, /^HTTP\/1\.1 200 [^]*POST \/h10 5\n$/, h10);
  const get10 = await rawTls(server.port, CA, 'GET /g10 HTTP/1.0\r\n\r\n');
  assert.match(get10, /^HTTP\/1\.1 200 [^]*GET \/g10 0\n$/, get10);
  assert.deepEqual(header(seen[n]!, 'host'), [`localhost:${server.port}`]);
  assert.deepEqual(header(seen[n]!, 'x-forwarded-host'), []);
  const m = seen.length;
  // Planted (req.url sent as is): the backend saw "GET https://localhost:…/abs?q=1".
  for (const [method, body] of [['GET', ''], ['POST', 'hello']] as const) {
    const abs = await rawTls(server.port, CA, `${method} https://localhost:${server.port}/abs/%2e%2e/x?q=1 HTTP/1.1\r\nHost: localhost:${server.port}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    assert.match(abs, /^HTTP\/1\.1 200 /, abs);
  }
  const noPath = await rawTls(server.port, CA, `GET https://localhost:${server.port}?q=2 HTTP/1.1\r\nHost: localhost:${server.port}\r\nConnection: close\r\n\r\n`);
  assert.match(noPath, /^HTTP\/1\.1 200 /, noPath);
  assert.deepEqual(lines(m), ['GET /abs/%2e%2e/x?q=1 HTTP/1.1', 'POST /abs/%2e%2e/x?q=1 HTTP/1.1', 'GET /?q=2 HTTP/1.1']);
});

/**
 * Sends a request head, then its body in pieces at a steady pace (or up to a pause), over TLS; resolves with
 * everything the server sent until it closed, and when that was.
 */
function slowUpload(path: string, pieces: number, size: number, everyMs: number, stopAfter = pieces): Promise<{ got: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let got = '';
    const s = tls.connect({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: readFileSync(CA) }, () => {
      s.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${pieces * size}\r\nConnection: close\r\n\r\n`);
      let sent = 0;
      const tick = setInterval(() => {
        if (sent === stopAfter || s.destroyed) return clearInterval(tick);
        s.write(Buffer.alloc(size, 'u'));
        sent++;
      }, everyMs);
    });
    const cap = setTimeout(() => s.destroy(), 10_000);
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(cap);
      resolve({ got, ms: Date.now() - t0 });
    });
  });
}

test("a slow steady upload outlasting the response timeout passes: the head's time runs from the body's end (issue 29)", async () => {
  // 24 pieces of 8 KiB, one per 80 ms: about 1.9 s, against requestTimeoutMs 400, idleTimeoutMs 400 and the
  // listener's clientBodyTimeoutMs 400. Planted (the 504 timer started with the request, as before): 504 at 400 ms.
  const n = seen.length;
  const r = await slowUpload('/slow-upload', 24, 8192, 80);
  assert.match(r.got, /^HTTP\/1\.1 200 [^]*POST \/slow-upload 196608\n$/, r.got.split('\r\n')[0]);
  assert.ok(r.ms > 1500, `took ${r.ms} ms`);
  assert.deepEqual(lines(n), ['POST /slow-upload HTTP/1.1']);
  // The backend still has requestTimeoutMs for its head after the body's end.
  delays['/slow-answer'] = 1000;
  const late = await slowUpload('/slow-answer', 2, 100, 50);
  assert.match(late.got, /^HTTP\/1\.1 504 /, late.got.split('\r\n')[0]);
});

test('a client that stops sending its body gets 408 after clientBodyTimeoutMs; a backend silent mid-body is cut after idleTimeoutMs', async () => {
  // Planted (no watchRequestBody): no answer until the client gave up (10 s).
  const stalled = await slowUpload('/stalled', 10, 100, 50, 3);
  assert.match(stalled.got, /^HTTP\/1\.1 408 /, stalled.got.split('\r\n')[0]);
  assert.ok(stalled.ms < 2000, `took ${stalled.ms} ms`);
  // Both backend paths. Planted (no idle timer on the response): the client waited until its own 5 s limit.
  for (const payload of ['GET /stall-body HTTP/1.1\r\nHost: localhost\r\n\r\n', 'POST /stall-body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n\r\nx']) {
    const t0 = Date.now();
    const got = await rawTls(server.port, CA, payload);
    assert.match(got, /^HTTP\/1\.1 200 [^]*\r\n\r\nabc$/, payload.split('\r\n')[0]);
    assert.ok(Date.now() - t0 < 2000, `${payload.split(' ')[0]}: cut after ${Date.now() - t0} ms`);
  }
});

test('pipelining: requests of one connection reach the backend one after the other; POST only after the earlier ones were answered', async () => {
  // GET /p1, GET /p2 (the backend takes 300 ms), POST /p3, in one TLS write. nginx and Apache take a
  // connection's requests one at a time. Planted (each request forwarded as Node's server emits it): the backend
  // got POST /p3 before it had answered GET /p2.
  delays['/p2'] = 300;
  const e = events.length;
  const got = await rawTls(server.port, CA, 'GET /p1 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /p2 HTTP/1.1\r\nHost: localhost\r\n\r\nPOST /p3 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody');
  assert.deepEqual(events.slice(e), ['arrived GET /p1', 'answered GET /p1', 'arrived GET /p2', 'answered GET /p2', 'arrived POST /p3', 'answered POST /p3']);
  const bodies = [...got.matchAll(/\r\n\r\n(\w+ \/p\d \d+)\n/g)].map((m) => m[1]);
  assert.deepEqual(bodies, ['GET /p1 0', 'GET /p2 0', 'POST /p3 4'], got);
});

test('pipelining: an upgrade behind an open request waits for its answer', async () => {
  // Node emits 'upgrade' as soon as it parses one, with the GET before it still unanswered. The backend (no
  // upgrade listener) answers the handshake as a plain request. Planted (tunnel started at once): arrived GET
  // /ws-up before answered GET /p4.
  delays['/p4'] = 300;
  const e = events.length;
  const got = await rawTls(server.port, CA, 'GET /p4 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /ws-up HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', 3000);
  assert.deepEqual(events.slice(e), ['arrived GET /p4', 'answered GET /p4', 'arrived GET /ws-up', 'answered GET /ws-up']);
  const bodies = [...got.matchAll(/\r\n\r\n(GET \/[\w-]+ \d+)\n/g)].map((m) => m[1]);
  assert.deepEqual(bodies, ['GET /p4 0', 'GET /ws-up 0'], got);
});
