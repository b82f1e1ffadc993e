// The fast path's hand-written response parser against llhttp (Node's own client), as the outside review asked
// if the parser stays (B.4): each raw response is fetched once by node:http directly and once through the proxy.
// Where llhttp refuses, the proxy must not deliver a complete response; where llhttp accepts, the proxy
// delivers the same status and body, or refuses (502) where it is stricter. The stricter cases are listed so a
// change in either parser shows up here.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createProxy } from './proxy.js';

const cases: [string, string][] = [];
const add = (name: string, response: string) => cases.push([name, response]);
for (const v of ['5', ' 5', '5 ', '+5', '05', '5, 5', '5,5', '5, 6', '0x5', '-5', '', '5\r\nContent-Length: 5', '5\r\nContent-Length: 6', '99999999999999999999']) {
  add(`CL ${JSON.stringify(v)}`, `HTTP/1.1 200 OK\r\nContent-Length: ${v}\r\n\r\nhello`);
}
for (const v of ['chunked', 'Chunked', ' chunked', 'chunked ', 'gzip, chunked', 'chunked, gzip', 'identity', 'chunked\r\nTransfer-Encoding: chunked', 'chunked, chunked', 'chunked\r\nContent-Length: 5', '"chunked"']) {
  add(`TE ${JSON.stringify(v)}`, `HTTP/1.1 200 OK\r\nTransfer-Encoding: ${v}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
}
for (const size of ['5 ', '5;ext=1', '5\t;x', '5 ;x', '0x5', '+5', '-5', '05', 'fffffffffffffffff', '5\n', '5;a="\r\n"']) {
  add(`chunk size ${JSON.stringify(size)}`, `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\nhello\r\n0\r\n\r\n`);
}
add('chunk without CRLF after data', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n');
add('last chunk bare LF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\n\n');
add('trailer field', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n');
add('trailer without colon', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nbad\r\n\r\n');
for (const line of ['HTTP/1.1 200', 'HTTP/1.1 200 ', 'HTTP/1.1 20 OK', 'HTTP/1.1 0200 OK', 'HTTP/1.2 200 OK', 'HTTP/2.0 200 OK', 'http/1.1 200 OK', 'HTTP/1.1  200 OK', 'HTTP/1.1 200 O\x01K', 'HTTP/1.1 099 X']) {
  add(`status ${JSON.stringify(line)}`, `${line}\r\nContent-Length: 5\r\n\r\nhello`);
}
for (const [name, h] of [
  ['obs-fold', 'X-A: 1\r\n folded'],
  ['space before colon', 'X-A : 1'],
  ['space in name', 'X A: 1'],
  ['NUL in value', 'X-A: a\x00b'],
  ['bare CR in value', 'X-A: a\rb'],
  ['bare LF line end', 'X-A: 1\nX-B: 2'],
  ['empty name', ': 1'],
  ['no colon', 'X-A 1'],
  ['obs-text in value', 'X-A: caf\xe9'],
  ['tab in value', 'X-A: a\tb'],
]) {
  add(`header ${name}`, `HTTP/1.1 200 OK\r\n${h}\r\nContent-Length: 5\r\n\r\nhello`);
}
add('bytes after a complete response', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
add('1xx then 200', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
add('204 with a body', 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello');
add('304 with a length', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n');
add('close-delimited', 'HTTP/1.1 200 OK\r\n\r\nhello');
add('HTTP/1.0 close-delimited', 'HTTP/1.0 200 OK\r\n\r\nhello');

// Each case answered once per connection, then the backend closes (a close-delimited body ends there).
const backend = net.createServer((s) => {
  s.on('error', () => {});
  s.once('data', (d) => {
    const i = Number(/^GET \/(\d+) /.exec(d.toString('latin1'))?.[1]);
    s.end(Buffer.from(cases[i]![1], 'latin1'));
  });
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
const target = { host: '127.0.0.1', port: (backend.address() as net.AddressInfo).port };
// Two proxies, one table (review 2026-12b worst 2: the framing rules live in two clients): bodiless requests on
// keygate's pool (forwardBodiless, the default) and on node:http's client (the one uploads always use).
const VIAS = ['pool', 'node:http'] as const;
type Via = (typeof VIAS)[number];
const fronts = new Map<Via, { port: number; close(): void }>();
for (const via of VIAS) {
  const proxy = createProxy({ target: () => target, requestTimeoutMs: 2000, bodilessVia: via });
  const front = http.createServer((req, res) => proxy.handle(req, res));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
  fronts.set(via, {
    port: (front.address() as net.AddressInfo).port,
    close: () => {
      proxy.close();
      front.close();
    },
  });
}
after(() => {
  for (const f of fronts.values()) f.close();
  backend.close();
});

const HUNG = 'no answer in 5 s';
type Outcome = { ok: true; status: number; body: string } | { ok: false; why: string };
function fetchOnce(port: number, path: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.get({ port, host: '127.0.0.1', path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ ok: true, status: res.statusCode!, body }));
      res.on('error', (e) => resolve({ ok: false, why: e.message }));
    });
    req.on('error', (e) => resolve({ ok: false, why: (e as NodeJS.ErrnoException).code ?? e.message }));
    // a path that neither answers nor fails is a finding, not a hang of the suite
    req.setTimeout(5000, () => req.destroy(new Error(HUNG)));
  });
}

// llhttp accepts these; a path refuses them (502). Each is a deliberate strictness, not a disagreement.
const STRICTER: Record<Via, Set<string>> = {
  pool: new Set([
    'TE "chunked, gzip"', // chunked not last: llhttp reads to the close, passing gzip on undeclared
    'TE "chunked\\r\\nTransfer-Encoding: chunked"', // chunked twice (RFC 9112 §6.1: MUST NOT)
    'TE "chunked, chunked"',
    'status "HTTP/2.0 200 OK"', // not an HTTP/1.x status line
    'status "HTTP/1.1 200 O\\u0001K"', // a control character in the reason phrase
    'status "HTTP/1.1 099 X"', // a status code below 100
  ]),
  // llhttp takes these two status lines; Node's writeHead refuses them, so the answer cannot be passed on
  'node:http': new Set(['status "HTTP/1.1 200 O\\u0001K"', 'status "HTTP/1.1 099 X"']),
};
// llhttp's client fails on what FOLLOWS a complete response (the next bytes are not a response); the fast path
// delivers the complete response and never reuses that connection (proxy-fast-path.test.ts, "/extra").
const AFTER_COMPLETE = new Set(['bytes after a complete response', '204 with a body']);

for (const via of VIAS) {
  test(`differential, bodiless requests via ${via}: ${cases.length} raw responses, the proxy never delivers what llhttp refuses, nor a different body`, async () => {
    const problems: string[] = [];
    const stricter: string[] = [];
    for (let i = 0; i < cases.length; i++) {
      const name = cases[i]![0];
      const direct = await fetchOnce(target.port, `/${i}`);
      const proxied = await fetchOnce(fronts.get(via)!.port, `/${i}`);
      const refused = !proxied.ok || proxied.status === 502;
      if (!proxied.ok && proxied.why === HUNG) problems.push(`${name}: the proxy neither answered nor closed`);
      if (!direct.ok) {
        if (!refused && !AFTER_COMPLETE.has(name)) problems.push(`${name}: llhttp refused (${direct.why}), the proxy delivered ${proxied.ok ? `${proxied.status} ${JSON.stringify(proxied.body)}` : ''}`);
      } else if (refused) stricter.push(name);
      else if (proxied.ok && (proxied.status !== direct.status || proxied.body !== direct.body)) {
        problems.push(`${name}: llhttp read ${direct.status} ${JSON.stringify(direct.body)}, the proxy ${proxied.status} ${JSON.stringify(proxied.body)}`);
      }
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(stricter.filter((n) => !STRICTER[via].has(n)), [], 'stricter than llhttp, not listed');
    assert.deepEqual([...STRICTER[via]].filter((n) => !stricter.includes(n)), [], 'listed as stricter, but no longer');
  });
}
