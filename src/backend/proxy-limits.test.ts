// The proxy's bounds (review L6, L3): a cap on keygate's own backend connections (a short queue, then 503),
// upgraded tunnels with an idle timeout and a cap, and a backend's 101 stripped like any other response.
// Plain HTTP in front, a raw TCP backend that holds answers until told and counts its open connections.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createProxy, type Proxy } from './proxy.js';

let open = 0;
let maxOpen = 0;
const held: net.Socket[] = [];
const tunnels: net.Socket[] = [];
const backend = net.createServer((socket) => {
  open++;
  maxOpen = Math.max(maxOpen, open);
  socket.on('close', () => open--);
  socket.on('error', () => {});
  let buf = '';
  const onData = (d: Buffer): void => {
    buf += d.toString('latin1');
    for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
      const head = buf.slice(0, end);
      buf = buf.slice(end + 4);
      const path = head.split(' ')[1]!;
      if (path === '/hold') held.push(socket);
      else if (path === '/ws') {
        // A 101 with headers its Connection names, a hop-by-hop one and Alt-Svc; then an echo.
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Backend-Secret\r\nX-Backend-Secret: s3cret\r\nKeep-Alive: timeout=5\r\nAlt-Svc: h3=":9443"\r\nSec-WebSocket-Accept: x\r\n\r\n');
        socket.off('data', onData);
        tunnels.push(socket);
        socket.on('data', (x: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), x])));
        return;
      } else socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nAlt-Svc: h3=":9443"\r\n\r\nok');
    }
  };
  socket.on('data', onData);
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
const target = { host: '127.0.0.1', port: (backend.address() as net.AddressInfo).port };
const answerHeld = (): void => void held.shift()!.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nheld');

async function front(proxy: Proxy): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer((req, res) => proxy.handle(req, res));
  server.on('upgrade', (req, socket, head) => proxy.upgrade(req, socket, head));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, server };
}
const fronts: { server: http.Server; proxy: Proxy }[] = [];
after(() => {
  for (const f of fronts) {
    f.proxy.close();
    f.server.closeAllConnections();
    f.server.close();
  }
  for (const s of [...held, ...tunnels]) s.destroy();
  backend.close();
});

function get(port: number, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ port, host: '127.0.0.1', path, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

const waitUntil = async (ok: () => boolean, ms = 2000): Promise<void> => {
  for (const end = Date.now() + ms; !ok(); ) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('backend connections: at most maxConnections; a request waits for one, then gets 503 with a short body', async () => {
  const proxy = createProxy({ target: () => target, requestTimeoutMs: 5000, maxConnections: 2, queueMs: 300 });
  const fe = await front(proxy);
  fronts.push({ ...fe, proxy });
  maxOpen = open;
  const a = get(fe.port, '/hold');
  const b = get(fe.port, '/hold');
  await waitUntil(() => held.length === 2);
  // A third waits; the first answer frees a connection and it is reused for the third.
  const c = get(fe.port, '/len');
  await new Promise((r) => setTimeout(r, 100));
  answerHeld();
  assert.equal((await a).body, 'held');
  assert.equal((await c).body, 'ok');
  // Both busy again: the next waits queueMs, then 503 (planted: no cap, and it was answered 200 on a third connection).
  const d = get(fe.port, '/hold');
  await waitUntil(() => held.length === 2);
  const t0 = Date.now();
  const full = await get(fe.port, '/len');
  assert.equal(full.status, 503);
  assert.match(full.body, /^service unavailable: the backend has too many requests in progress/);
  assert.equal(full.headers['retry-after'], '1');
  assert.ok(Date.now() - t0 >= 250, 'it waited before the 503');
  answerHeld();
  answerHeld();
  assert.equal((await b).body, 'held');
  assert.equal((await d).body, 'held');
  assert.ok(maxOpen <= 2, `the backend saw ${maxOpen} connections at once`);
});

/** A raw upgrade handshake to the front: what came back, a way to send, and when it closed. */
function upgrade(port: number): { got: () => string; send: (s: string) => void; closed: Promise<void> } {
  let got = '';
  const s = net.connect(port, '127.0.0.1', () => s.write('GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'));
  s.on('data', (d) => (got += d.toString('latin1')));
  s.on('error', () => {});
  const closed = new Promise<void>((r) => s.on('close', () => r()));
  return { got: () => got, send: (x) => s.write(x), closed };
}

test('a 101 is stripped like any response (Connection-named, hop-by-hop, Alt-Svc); Alt-Svc never reaches a client', async () => {
  const proxy = createProxy({ target: () => target, requestTimeoutMs: 2000 });
  const fe = await front(proxy);
  fronts.push({ ...fe, proxy });
  const ws = upgrade(fe.port);
  await waitUntil(() => ws.got().includes('\r\n\r\n'));
  const head = ws.got().split('\r\n\r\n')[0]!.toLowerCase();
  assert.match(head, /^http\/1\.1 101 /);
  assert.match(head, /\r\nupgrade: websocket/);
  assert.match(head, /\r\nconnection: upgrade/);
  assert.match(head, /\r\nsec-websocket-accept: x/);
  // Planted (the old filter, hop-by-hop set only): x-backend-secret and alt-svc were passed on.
  for (const name of ['x-backend-secret', 'keep-alive', 'alt-svc']) assert.doesNotMatch(head, new RegExp(`\r\n${name}:`), name);
  ws.send('ping');
  await waitUntil(() => ws.got().includes('echo:ping'));
  assert.equal((await get(fe.port, '/len')).headers['alt-svc'], undefined);
});

test('tunnels: closed after tunnelIdleMs without a byte either way; beyond maxTunnels a 503', async () => {
  const proxy = createProxy({ target: () => target, requestTimeoutMs: 2000, maxTunnels: 2, tunnelIdleMs: 300 });
  const fe = await front(proxy);
  fronts.push({ ...fe, proxy });
  const mine = tunnels.length; // backend sides of this test's tunnels start here
  const a = upgrade(fe.port);
  const b = upgrade(fe.port);
  await waitUntil(() => a.got().includes('\r\n\r\n') && b.got().includes('\r\n\r\n'));
  // Planted (no cap): the third was switched too.
  const c = upgrade(fe.port);
  await waitUntil(() => c.got().includes('\r\n\r\n'));
  assert.match(c.got(), /^HTTP\/1\.1 503 /);
  await c.closed;
  // Traffic keeps a tunnel open past the idle time; silence closes it, and its backend side.
  const t0 = Date.now();
  for (let i = 0; i < 5; i++) {
    a.send(`p${i}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(a.got(), /echo:p4/);
  // Planted (no idle timeout): this waited for ever.
  await Promise.race([b.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the idle tunnel stayed open')), 3000))]);
  await a.closed;
  assert.ok(Date.now() - t0 >= 500, 'the busy tunnel outlived the idle time');
  await waitUntil(() => tunnels.slice(mine).every((s) => s.destroyed));
  // Slots freed: a new tunnel is switched.
  const d = upgrade(fe.port);
  await waitUntil(() => d.got().includes('\r\n\r\n'));
  assert.match(d.got(), /^HTTP\/1\.1 101 /);
});
