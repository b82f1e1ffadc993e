// The proxy's fast path (bodiless requests on keygate's own keep-alive pool, the answer parsed here) against a
// raw TCP backend that sends exactly the bytes each case needs: every framing, interim answers, refused heads,
// connection reuse and its retry, backpressure, timeouts. Plain HTTP in front (the TLS side is Node's and is
// covered by test/backend.e2e.test.ts).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createProxy, parseResponseHead, type Proxy } from './proxy.js';

type Reply = (head: string, socket: net.Socket) => void;

/** A backend that answers each request head with the reply registered for its path. */
async function rawBackend(replies: Record<string, Reply>): Promise<{ port: number; connections: () => number; server: net.Server }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    let buf = '';
    let skip = 0; // a request body (Content-Length) still to pass over
    socket.on('error', () => {});
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const n = Math.min(skip, buf.length);
        buf = buf.slice(n);
        skip -= n;
        const end = buf.indexOf('\r\n\r\n');
        if (skip || end < 0) break;
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        skip = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        const path = head.split(' ')[1]!;
        (replies[path] ?? ((_h, s) => s.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n')))(head, socket);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections, server };
}

async function front(proxy: Proxy): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer((req, res) => {
    res.setHeader('Strict-Transport-Security', 'max-age=63072000'); // as keygate's server does before the handler
    proxy.handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, server };
}

/** A raw request to the front; everything it sent until it closed or ms passed. */
function raw(port: number, payload: string, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(payload));
    let got = '';
    const t = setTimeout(() => s.destroy(), ms);
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
    s.on('error', () => {});
  });
}

function get(port: number, path: string, method = 'GET', body?: string): Promise<{ status: number; headers: string[]; body: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.request({ port, host: '127.0.0.1', path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.rawHeaders, body }));
      res.on('error', (e) => resolve({ status: res.statusCode!, headers: res.rawHeaders, body, error: e.message }));
    });
    req.on('error', (e) => resolve({ status: 0, headers: [], body: '', error: e.message }));
    req.end(body);
  });
}

const ok = (body: string, extra = ''): Reply => (_h, s) => s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`);

const replies: Record<string, Reply> = {
  '/len': ok('hello'),
  '/chunked': (_h, s) => {
    s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-a: 1\r\n\r\n5;ext=1\r\nhel');
    setTimeout(() => s.write('lo\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n'), 20);
  },
  '/close': (_h, s) => {
    s.write('HTTP/1.1 200 OK\r\n\r\nuntil ');
    setTimeout(() => s.end('the close'), 20);
  },
  '/interim': (_h, s) => s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'),
  '/cookies': ok('c', 'Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nConnection: x-hop\r\nx-hop: drop\r\nKeep-Alive: timeout=9\r\n'),
  '/nocontent': (_h, s) => s.write('HTTP/1.1 204 No Content\r\n\r\n'),
  '/head': ok('not sent to a HEAD'),
  '/clte': (_h, s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'),
  '/badcl': (_h, s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd'),
  '/fold': (_h, s) => s.write('HTTP/1.1 200 OK\r\nx-a: 1\r\n folded\r\ncontent-length: 0\r\n\r\n'),
  '/badstatus': (_h, s) => s.write('HTTP/1.1 2000 OK\r\ncontent-length: 0\r\n\r\n'),
  '/badname': (_h, s) => s.write('HTTP/1.1 200 OK\r\nx a: 1\r\ncontent-length: 0\r\n\r\n'),
  '/ctl': (_h, s) => s.write('HTTP/1.1 200 OK\r\nx-a: 1\x01\r\ncontent-length: 0\r\n\r\n'),
  '/badchunk': (_h, s) => s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'),
  '/cut': (_h, s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'),
  '/slow': () => {},
  '/big': (_h, s) => {
    const chunk = Buffer.alloc(64 * 1024, 'b');
    s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${chunk.length * 160}\r\n\r\n`);
    let n = 0;
    const more = (): void => {
      while (n < 160) {
        n++;
        if (!s.write(chunk)) return void s.once('drain', more);
      }
    };
    more();
  },
  '/headers': (h, s) => {
    const body = JSON.stringify(h.split('\r\n').slice(1));
    s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  },
  '/bye': (_h, s) => s.end('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 3\r\n\r\nbye'),
};
// L1: the backend resets its connection in the middle of each framing (RST, not FIN).
const resetAfter = (head: string): Reply => (_h, s) => s.write(head, () => setTimeout(() => s.resetAndDestroy(), 20));
replies['/reset-close'] = resetAfter('HTTP/1.1 200 OK\r\n\r\npartial-');
replies['/reset-length'] = resetAfter('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial-');
replies['/reset-chunked'] = resetAfter('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n8\r\npartial-\r\n');
replies['/extra'] = (_h, s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');

const backend = await rawBackend(replies);
const errors: string[] = [];
const target = { host: '127.0.0.1', port: backend.port };
const proxy = createProxy({ target: () => target, requestTimeoutMs: 500, onError: (m) => errors.push(m) });
const fe = await front(proxy);
after(() => {
  proxy.close();
  fe.server.close();
  backend.server.close();
});

test('parseResponseHead: one framing, strict fields', () => {
  const h = parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5', 'GET');
  assert.ok(typeof h !== 'string' && h.body === 'length' && h.length === 5);
  assert.equal(parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6', 'GET'), 'invalid Content-Length');
  assert.equal(parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: +5', 'GET'), 'invalid Content-Length');
  assert.equal(parseResponseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip', 'GET'), 'invalid Transfer-Encoding');
  assert.equal(parseResponseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked', 'GET'), 'invalid Transfer-Encoding');
  assert.equal(parseResponseHead('HTTP/1.1 200 OK\r\nX: a\nY: b', 'GET'), 'control character in a header value');
  assert.equal(parseResponseHead('HTTP/1.1 200 OK\r\n: empty', 'GET'), 'malformed header line');
  assert.equal(parseResponseHead('HTTP/2 200 OK', 'GET'), 'malformed status line');
  const c = parseResponseHead('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0', 'GET');
  assert.ok(typeof c !== 'string' && !c.reusable);
  const ka = parseResponseHead('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0', 'GET');
  assert.ok(typeof ka !== 'string' && ka.idleMs === 4000 && ka.reusable);
  const h10 = parseResponseHead('HTTP/1.0 200 OK\r\nContent-Length: 0', 'GET');
  assert.ok(typeof h10 !== 'string' && !h10.reusable);
  const head = parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 9', 'HEAD');
  assert.ok(typeof head !== 'string' && head.body === 'none');
});

test('framings: Content-Length, chunked (split across reads, trailers dropped), to the close, interim answers skipped', async () => {
  assert.equal((await get(fe.port, '/len')).body, 'hello');
  const ch = await get(fe.port, '/chunked');
  assert.equal(ch.body, 'hello world');
  assert.equal(ch.headers.some((x) => /transfer-encoding|x-trailer/i.test(x) && x.toLowerCase() !== 'transfer-encoding'), false);
  assert.equal((await get(fe.port, '/close')).body, 'until the close');
  const interim = await get(fe.port, '/interim');
  assert.equal(interim.status, 200);
  assert.equal(interim.body, 'ok');
  assert.equal((await get(fe.port, '/nocontent')).status, 204);
  const head = await get(fe.port, '/head', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal((await get(fe.port, '/len')).body, 'hello', 'the connection is still good after a HEAD');
});

test('response headers: repeated Set-Cookie kept, hop-by-hop and Connection-named ones dropped', async () => {
  const r = await get(fe.port, '/cookies');
  const cookies = r.headers.filter((_, i) => i % 2 === 1 && /^[ab]=/.test(r.headers[i]!) && r.headers[i - 1]!.toLowerCase() === 'set-cookie');
  assert.deepEqual(cookies, ['a=1', 'b=2']);
  const names = r.headers.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  assert.equal(names.includes('x-hop'), false);
  assert.equal(names.filter((n) => n === 'strict-transport-security').length, 1);
});

test('refused answers: 502 before headers, a cut body is not ended as complete', async () => {
  for (const path of ['/clte', '/badcl', '/fold', '/badstatus', '/badname', '/ctl']) {
    assert.equal((await get(fe.port, path)).status, 502, path);
  }
  // The head may or may not have left before the body turned out bad: either way the client sees an error.
  const bad = await get(fe.port, '/badchunk');
  assert.ok(bad.error, 'the client sees an aborted response');
  const cut = await get(fe.port, '/cut');
  assert.ok(cut.error, 'the client sees an aborted body');
  assert.ok(errors.some((e) => e.includes('both Transfer-Encoding and Content-Length')));
});

test('reuse: one connection for sequential requests; extra bytes or Connection: close end it', async () => {
  const before = backend.connections();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 5; i++) {
    const body = await new Promise<string>((resolve) => http.get({ port: fe.port, host: '127.0.0.1', path: '/len', agent }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(b));
    }));
    assert.equal(body, 'hello');
  }
  agent.destroy();
  assert.ok(backend.connections() - before <= 1, `opened ${backend.connections() - before}`);
  assert.equal((await get(fe.port, '/extra')).body, 'abc');
  assert.equal((await get(fe.port, '/bye')).body, 'bye');
  const n = backend.connections();
  assert.equal((await get(fe.port, '/len')).body, 'hello');
  assert.equal(backend.connections(), n + 1, 'after /extra and /bye the pooled connection was not reused');
});

test('a pooled connection the backend dropped without an answer: the GET is sent again on a new one', async () => {
  assert.equal((await get(fe.port, '/len')).body, 'hello'); // leaves a pooled connection
  // The backend closes the reused connection on reading the request (as one whose keep-alive timeout just
  // passed would); the retry on a fresh connection gets the answer.
  replies['/drop-once'] = (_h, s) => {
    replies['/drop-once'] = ok('second try');
    s.destroy();
  };
  const r = await get(fe.port, '/drop-once');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'second try');
});

test('backpressure: a 10 MiB answer streams to a client that reads slowly', async () => {
  const got = await new Promise<number>((resolve) => {
    http.get({ port: fe.port, host: '127.0.0.1', path: '/big', agent: false }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => {
        n += d.length;
        res.pause();
        setTimeout(() => res.resume(), 1);
      });
      res.on('end', () => resolve(n));
    });
  });
  assert.equal(got, 64 * 1024 * 160);
});

test('504 when the backend does not answer in time; 502 when it is down', async () => {
  const t0 = Date.now();
  assert.equal((await get(fe.port, '/slow')).status, 504);
  assert.ok(Date.now() - t0 < 2000);
  const downProxy = createProxy({ target: () => ({ host: '127.0.0.1', port: 1 }), requestTimeoutMs: 500 });
  const down = await front(downProxy);
  assert.equal((await get(down.port, '/len')).status, 502);
  downProxy.close();
  down.server.close();
});

test('forwarded request: one line per header, X-Forwarded-* from the socket, nothing the client named in Connection', async () => {
  const r = await raw(fe.port, 'GET /headers HTTP/1.1\r\nHost: example\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: x-drop\r\nx-drop: 1\r\nx-keep: 2\r\n\r\n');
  const body = r.slice(r.indexOf('\r\n\r\n') + 4);
  const lines = JSON.parse(body) as string[];
  assert.ok(lines.includes('X-Forwarded-For: 127.0.0.1'));
  assert.ok(lines.includes('x-keep: 2'));
  assert.equal(lines.some((l) => /6\.6\.6\.6|x-drop/i.test(l)), false);
});

test('a backend reset mid-body (to the close, Content-Length, chunked) is never a complete response, both paths', async () => {
  for (const path of ['/reset-close', '/reset-length', '/reset-chunked']) {
    for (const [method, body] of [['GET', undefined], ['POST', 'upload']] as const) {
      const r = await get(fe.port, path, method, body);
      // Planted (onClose completing a close-delimited body whatever conn.error said): GET /reset-close ended as 200 "partial-".
      assert.ok(r.error, `${method} ${path}: the client saw a complete ${r.status} ${JSON.stringify(r.body)}`);
    }
  }
});

test('reuse when target() builds a new object per call (as separation.ts does): the pool keys by address', async () => {
  // Review 2026-12b L3: the pool matched idle connections by object identity, so under separation every
  // request opened a backend connection. Planted (c.key === key back to c.target === target): 10 opened, not 1.
  const fresh = createProxy({ target: () => ({ host: '127.0.0.1', port: backend.port }), requestTimeoutMs: 500 });
  const fe2 = await front(fresh);
  try {
    const before = backend.connections();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 10; i++) {
      const body = await new Promise<string>((resolve) => http.get({ port: fe2.port, host: '127.0.0.1', path: '/len', agent }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      }));
      assert.equal(body, 'hello');
    }
    agent.destroy();
    assert.equal(backend.connections() - before, 1, 'backend connections opened for 10 sequential requests');
  } finally {
    fresh.close();
    fe2.server.close();
  }
});

test('a backend that writes past its framing: that connection is closed, the next request gets a clean answer (review L2)', async () => {
  // Same write (a body after HEAD/204/304, bytes past Content-Length, also on the upload path) and a late tail
  // that arrives while the connection is idle. nginx ("upstream sent more data than specified") and Go
  // ("Unsolicited response received on idle HTTP channel") close it too.
  const poison = 'HTTP/1.1 200 OK\r\ncontent-length: 8\r\nx-poisoned: yes\r\n\r\npoisoned';
  const stray = new WeakSet<net.Socket>(); // backend connections that sent bytes past their framing
  const reusedStray: string[] = [];
  const len = replies['/len']!;
  replies['/len'] = (h, s) => {
    if (stray.has(s)) reusedStray.push(h.split('\r\n')[0]!);
    len(h, s);
  };
  const mark = (reply: Reply): Reply => (h, s) => {
    stray.add(s);
    reply(h, s);
  };
  replies['/l2-head'] = mark((_h, s) => s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${poison.length}\r\n\r\n${poison}`));
  replies['/l2-204'] = mark((_h, s) => s.write(`HTTP/1.1 204 No Content\r\n\r\n${poison}`));
  replies['/l2-304'] = mark((_h, s) => s.write(`HTTP/1.1 304 Not Modified\r\n\r\n${poison}`));
  replies['/l2-len'] = mark((_h, s) => s.write(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok${poison}`));
  replies['/l2-late'] = mark((_h, s) => {
    s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    setTimeout(() => s.write(poison), 30);
  });
  replies['/l2-chunked'] = mark((_h, s) => s.write(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n${poison}`));
  const cases: [string, string, string?][] = [['HEAD', '/l2-head'], ['GET', '/l2-204'], ['GET', '/l2-304'], ['GET', '/l2-len'], ['GET', '/l2-late'], ['GET', '/l2-chunked'], ['POST', '/l2-len', 'up'], ['POST', '/l2-late', 'up'], ['POST', '/l2-chunked', 'up']];
  for (const [method, path, body] of cases) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ask = (m: string, p: string, b?: string) => new Promise<{ status: number; body: string; poisoned: boolean }>((resolve) => {
      const req = http.request({ port: fe.port, host: '127.0.0.1', path: p, method: m, agent }, (res) => {
        let t = '';
        res.setEncoding('latin1');
        res.on('data', (d) => (t += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: t, poisoned: 'x-poisoned' in res.headers }));
      });
      req.on('error', (e) => resolve({ status: 0, body: e.message, poisoned: false }));
      req.end(b);
    });
    const first = await ask(method, path, body);
    assert.ok(first.status >= 200 && !first.poisoned, `${method} ${path}: ${first.status}`);
    await new Promise((r) => setTimeout(r, 60)); // the late tail has arrived
    // The next request on the same client connection, bodiless and with a body: never the stray bytes.
    const next = await ask('GET', '/len');
    const nextUp = await ask('POST', '/len', 'x');
    agent.destroy();
    assert.deepEqual([next.status, next.body, next.poisoned, nextUp.status, nextUp.body, nextUp.poisoned], [200, 'hello', false, 200, 'hello', false], `${method} ${path}`);
    assert.deepEqual(reusedStray, [], `${method} ${path}: a connection that carried stray bytes was used again`);
  }
  replies['/len'] = len;
});

test('a backend that stops reading the request body: 504 after idleTimeoutMs, not a hang (proxy_send_timeout)', async () => {
  // A backend that accepts and never reads: the body fills the socket buffers, then keygate's write waits.
  // Planted (the idle check treating every pause as the client's): no answer before the client gave up (8 s).
  const deaf = net.createServer({ pauseOnConnect: true }, (s) => s.on('error', () => {}));
  await new Promise<void>((r) => deaf.listen(0, '127.0.0.1', () => r()));
  const p = createProxy({ target: () => ({ host: '127.0.0.1', port: (deaf.address() as net.AddressInfo).port }), requestTimeoutMs: 60_000, idleTimeoutMs: 300 });
  const f = await front(p);
  try {
    const t0 = Date.now();
    const total = 64 * 1024 * 1024;
    const got = await new Promise<string>((resolve) => {
      let text = '';
      const s = net.connect(f.port, '127.0.0.1', () => {
        s.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
        const chunk = Buffer.alloc(64 * 1024, 'u');
        let sent = 0;
        const more = (): void => {
          while (sent < total && !s.destroyed) {
            sent += chunk.length;
            if (!s.write(chunk)) return void s.once('drain', more);
          }
        };
        more();
      });
      const cap = setTimeout(() => s.destroy(), 8000);
      s.on('data', (d) => (text += d.toString('latin1')));
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(cap);
        resolve(text);
      });
    });
    assert.match(got, /^HTTP\/1\.1 504 [^]*stopped reading the request body/, got.slice(0, 80));
    assert.ok(Date.now() - t0 < 6000, `after ${Date.now() - t0} ms`);
  } finally {
    p.close();
    f.server.close();
    deaf.close();
  }
});
