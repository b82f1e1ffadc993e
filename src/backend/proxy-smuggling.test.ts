// Request smuggling through the proxy: a corpus of raw requests, each sent to a front that records what its
// route rules saw (the client-auth gate's place) and hands it to createProxy, in front of a keep-alive Node
// backend that records every request it parses. The backend must see only requests the gate saw, in order (a
// request whose body the client cut short may never reach it), with keygate's X-Forwarded-For, no SSL-Client-*
// and one Host. Of the published gadgets Node's parser refuses most (400) before the gate; the rest are framed
// by keygate from the parse.
// The corpus is our own list, transcribed from published smuggling test suites (reference only):
//   - defparam/smuggler configs/default.py: TE gadgets (nameprefix1, tabprefix*, space1, and the
//     mid/post/pre/endspace, xprespace, endspacex, rxprespace, xnprespace, endspacerx, endspacexn families over
//     the bytes 01 04 08 09 0a 0b 0c 0d 1f 20 7f a0 ff), each sent as a CL.TE and a TE.CL probe;
//   - PortSwigger/http-request-smuggler src/burp/DesyncBox.java: the shared and HTTP/1 permutations of
//     Transfer-Encoding and Content-Length (underjoin1 … bodysplit, prefix1/suffix1/spacefix1 over 00 09 0b 0c 0d 7f);
//   - the outside review (H1) and issue 19: a body on GET/HEAD/DELETE/OPTIONS, chunked or with Content-Length
//     named in Connection, two Host headers.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createProxy, originForm } from './proxy.js';

/** The request a smuggler hides in a body: a path the route rules protect, forged identity. */
const SMUGGLED = 'GET /admin HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\nSSL-Client-S-DN: CN=admin\r\nContent-Length: 0\r\n\r\n';
/** Its prefix form: the next request on the backend connection completes it. */
const PREFIX = 'GET /admin HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6\r\nSSL-Client-S-DN: CN=admin\r\nX-Ignore: ';

interface Seen {
  readonly line: string;
  readonly hosts: number;
  readonly xff: string | undefined;
  readonly identity: string[];
  readonly bodyBytes: number;
}

// ---- the backend: Node http, keep-alive, records each request with its body ------------------------------------
const backendSaw: Seen[] = [];
const backend = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  let n = 0;
  req.on('data', (d: Buffer) => (n += d.length));
  req.on('end', () => {
    const names = req.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase());
    backendSaw.push({
      line: `${req.method} ${req.url}`,
      hosts: names.filter((h) => h === 'host').length,
      xff: req.headers['x-forwarded-for'] as string | undefined,
      identity: names.filter((h) => h.startsWith('ssl-') || h.startsWith('client-cert')),
      bodyBytes: n,
    });
    res.end('ok');
  });
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
const target = { host: '127.0.0.1', port: (backend.address() as net.AddressInfo).port };

// ---- the front: keygate's server settings, the gate's record, then the proxy -------------------------------------
const gateSaw: string[] = [];
let answered = 0; // responses the front finished (or gave up on)
let proxy = createProxy({ target: () => target, requestTimeoutMs: 2000 });
const front = http.createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
  gateSaw.push(`${req.method} ${originForm(req.url ?? '')}`); // absolute-form goes upstream in origin-form
  res.once('close', () => answered++);
  proxy.handle(req, res);
});
front.on('clientError', (_err, socket) => {
  if (socket.writable && (socket as net.Socket).bytesWritten === 0) socket.write('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  socket.destroy();
});
await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
const frontPort = (front.address() as net.AddressInfo).port;
after(() => {
  proxy.close();
  front.close();
  backend.closeAllConnections();
  backend.close();
});

/**
 * Sends bytes and returns what the front answered: until it closed, or until every request that passed the
 * gate was answered and nothing moved for 30 ms, or 300 ms with no request passing (a body still awaited).
 */
function sendRaw(payload: string): Promise<string> {
  return new Promise((resolve) => {
    const gate0 = gateSaw.length;
    const answered0 = answered;
    const s = net.connect(frontPort, '127.0.0.1', () => s.write(Buffer.from(payload, 'latin1')));
    let got = '';
    let quiet = 0;
    let waited = 0;
    let last = '';
    const poll = setInterval(() => {
      waited += 10;
      const passed = gateSaw.length - gate0;
      const state = `${passed}/${answered - answered0}/${got.length}`;
      quiet = state === last ? quiet + 10 : 0;
      last = state;
      if ((passed > 0 && answered - answered0 === passed && quiet >= 30) || (passed === 0 && waited >= 300) || waited >= 3000) s.destroy();
    }, 10);
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => {
      clearInterval(poll);
      resolve(got);
    });
  });
}

interface Case {
  readonly name: string;
  readonly payload: string;
  /** The status the client must get, when the case is refused outright. */
  readonly status?: number;
}

/** Runs one case on a fresh proxy (its own backend connections), then a probe on the same proxy. */
async function run(c: Case): Promise<{ answer: string; gate: string[]; backend: Seen[] }> {
  proxy.close();
  backend.closeAllConnections();
  proxy = createProxy({ target: () => target, requestTimeoutMs: 2000 });
  gateSaw.length = 0;
  backendSaw.length = 0;
  const answer = await sendRaw(c.payload);
  // The probes, one per backend path (bodiless: keygate's pool; with a body: node:http's agent): a smuggled
  // prefix left on a pooled backend connection would swallow one.
  await sendRaw('GET /probe HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  await sendRaw('POST /probe HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx');
  await new Promise((r) => setTimeout(r, 30));
  return { answer, gate: [...gateSaw], backend: [...backendSaw] };
}

function check(c: Case, r: { answer: string; gate: string[]; backend: Seen[] }): string[] {
  const problems: string[] = [];
  // In order, each backend request is one the gate saw (one the client cut short may never reach it).
  const lines = r.backend.map((s) => s.line);
  let g = 0;
  for (const l of lines) {
    while (g < r.gate.length && r.gate[g] !== l) g++;
    if (g++ >= r.gate.length) {
      problems.push(`gate saw ${JSON.stringify(r.gate)}, backend saw ${JSON.stringify(lines)}`);
      break;
    }
  }
  for (const s of r.backend) {
    if (s.xff !== '127.0.0.1') problems.push(`${s.line}: X-Forwarded-For ${s.xff}`);
    if (s.identity.length) problems.push(`${s.line}: identity headers ${s.identity.join(',')}`);
    if (s.hosts !== 1) problems.push(`${s.line}: ${s.hosts} Host headers`);
  }
  if (c.status !== undefined && !r.answer.startsWith(`HTTP/1.1 ${c.status} `)) problems.push(`answer ${JSON.stringify(r.answer.slice(0, 40))}, expected ${c.status}`);
  for (const probe of ['GET /probe', 'POST /probe']) {
    if (!lines.includes(probe)) problems.push(`${probe} did not reach the backend`);
  }
  return problems;
}

// ---- the corpus ------------------------------------------------------------------------------------------------
const hex = (s: string) => Buffer.byteLength(s, 'latin1').toString(16);
const chunkedBody = (inner: string) => `${hex(inner)}\r\n${inner}\r\n0\r\n\r\n`;
const cases: Case[] = [];

// H1 (review, issue 19): a body where node:http's client sends no framing of its own.
for (const method of ['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'POST', 'PUT']) {
  for (const [label, inner] of [['full', SMUGGLED], ['prefix', PREFIX]] as const) {
    cases.push({ name: `h1 ${method} chunked ${label}`, payload: `${method} /public HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n${chunkedBody(inner)}`, status: 200 });
    cases.push({ name: `h1 ${method} CL named in Connection ${label}`, payload: `${method} /public HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${inner.length}\r\nConnection: content-length\r\n\r\n${inner}`, status: 200 });
    cases.push({ name: `h1 ${method} TE named in Connection ${label}`, payload: `${method} /public HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: transfer-encoding\r\n\r\n${chunkedBody(inner)}`, status: 200 });
    cases.push({ name: `h1 ${method} CL body ${label}`, payload: `${method} /public HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`, status: 200 });
  }
}
// Host (issue 19 item 3; RFC 9112 §3.2): two Host headers are refused, and a Connection token cannot remove Host.
cases.push({ name: 'two Host headers', payload: 'GET /public HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n', status: 400 });
cases.push({ name: 'two Host headers, chunked body', payload: `POST /public HTTP/1.1\r\nHost: localhost\r\nhost: evil.example\r\nTransfer-Encoding: chunked\r\n\r\n${chunkedBody('a=1')}`, status: 400 });
cases.push({ name: 'Host named in Connection', payload: 'GET /public HTTP/1.1\r\nHost: localhost\r\nConnection: host\r\n\r\n', status: 200 });
cases.push({ name: 'CL and TE named in Connection with a chunked body', payload: `GET /public HTTP/1.1\r\nHost: localhost\r\nConnection: close, Content-Length, Transfer-Encoding, Host\r\nTransfer-Encoding: chunked\r\n\r\n${chunkedBody(SMUGGLED)}` });
// Transfer codings other than chunked alone: not understood (RFC 9112 §6.1), refused.
for (const te of ['gzip, chunked', 'identity, chunked', 'chunked, chunked', 'deflate,chunked', 'x-custom, chunked']) {
  cases.push({ name: `TE ${te}`, payload: `POST /public HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: ${te}\r\n\r\n${chunkedBody(SMUGGLED)}`, status: te === 'chunked, chunked' ? undefined : 501 });
}

// defparam/smuggler configs/default.py gadgets, as CL.TE and TE.CL probes carrying a full request.
const gadgets: [string, string][] = [
  ['nameprefix1', ' Transfer-Encoding: chunked'],
  ['tabprefix1', 'Transfer-Encoding:\tchunked'],
  ['tabprefix2', 'Transfer-Encoding\t:\tchunked'],
  ['space1', 'Transfer-Encoding : chunked'],
];
for (const i of [0x1, 0x4, 0x8, 0x9, 0xa, 0xb, 0xc, 0xd, 0x1f, 0x20, 0x7f, 0xa0, 0xff]) {
  const c = String.fromCharCode(i);
  const x = i.toString(16).padStart(2, '0');
  gadgets.push(
    [`midspace-${x}`, `Transfer-Encoding:${c}chunked`],
    [`postspace-${x}`, `Transfer-Encoding${c}: chunked`],
    [`prespace-${x}`, `${c}Transfer-Encoding: chunked`],
    [`endspace-${x}`, `Transfer-Encoding: chunked${c}`],
    [`xprespace-${x}`, `X: X${c}Transfer-Encoding: chunked`],
    [`endspacex-${x}`, `Transfer-Encoding: chunked${c}X: X`],
    [`rxprespace-${x}`, `X: X\r${c}Transfer-Encoding: chunked`],
    [`xnprespace-${x}`, `X: X${c}\nTransfer-Encoding: chunked`],
    [`endspacerx-${x}`, `Transfer-Encoding: chunked\r${c}X: X`],
    [`endspacexn-${x}`, `Transfer-Encoding: chunked${c}\nX: X`],
  );
}
// PortSwigger http-request-smuggler DesyncBox.applyDesync, applied to the Transfer-Encoding line.
const TE = 'Transfer-Encoding: ';
const permuted: [string, string][] = [
  ['underjoin1', 'Transfer_Encoding: chunked'],
  ['spacejoin1', 'Transfer Encoding: chunked'],
  ['nameprefix2', `Foo: bar\r\n\t${TE}chunked`],
  ['valueprefix1', `${TE} chunked`],
  ['vertwrap', `${TE}\n\x0bchunked`],
  ['connection', `Connection: Transfer-Encoding\r\n${TE}chunked`],
  ['spjunk', 'Transfer-Encoding x: chunked'],
  ['backslash', 'Transfer\\Encoding: chunked'],
  ['spaceFF', 'Transfer-Encoding:\xffchunked'],
  ['unispace', 'Transfer-Encoding:\xa0chunked'],
  ['commaCow', `${TE}chunked, identity`],
  ['cowComma', `${TE}identity, chunked`],
  ['contentEnc', 'Content-Encoding: chunked'],
  ['quoted', `${TE}"chunked"`],
  ['aposed', `${TE}'chunked'`],
  ['dualchunk', `${TE}chunked\r\nTransfer-encoding: identity`],
  ['lazygrep', `${TE}chunk`],
  ['0dsuffix', `${TE}chunked\r`],
  ['tabsuffix', `${TE}chunked\t`],
  ['revdualchunk', `${TE}identity\r\n${TE}chunked`],
  ['nested', `${TE}identity, chunked, identity`],
  ['encode', 'Transfer-%45ncoding: chunked'],
  ['accentTE', 'Transf\x82r-Encoding: chunked'],
  ['accentCH', `${TE}ch\x96nked`],
  ['nospace1', 'Transfer-Encoding:chunked'],
  ['linewrapped1', 'Transfer-Encoding:\n chunked'],
  ['gareth1', 'Transfer-Encoding\n : chunked'],
  ['badsetupCR', `Foo: bar\r${TE}chunked`],
  ['badsetupLF', `Foo: bar\n${TE}chunked`],
  ['multiCase', 'tRANSFER-ENCODING: chunked'],
  ['tabwrap', `${TE}\r\n\tchunked`],
  ['UPPERCASE', 'TRANSFER-ENCODING: chunked'],
  ['0dwrap', `Foo: bar\r\n\r${TE}chunked`],
  ['0dspam', 'Tra\rnsfer-Encoding: chunked'],
  ['badwrap', `X-Blah-Ignore: chunked\r\n ${TE}chunked`],
  ['bodysplit', 'X: y\r\nFoo: barn\n\nTransfer-Encoding: chunked'],
];
for (const i of [0x0, 0x9, 0xb, 0xc, 0xd, 0x7f]) {
  const c = String.fromCharCode(i);
  permuted.push([`spacefix1:${i}`, `Transfer-Encoding:${c}chunked`], [`prefix1:${i}`, `${TE}${c}chunked`], [`suffix1:${i}`, `${TE}chunked${c}`]);
}
for (const [name, gadget] of [...gadgets, ...permuted]) {
  for (const method of ['GET', 'POST']) {
    // CL.TE: a front that frames by Content-Length leaves "0 CRLF CRLF" + the request to a backend that uses TE.
    const clte = `0\r\n\r\n${SMUGGLED}`;
    cases.push({ name: `CL.TE ${method} ${name}`, payload: `${method} /public HTTP/1.1\r\n${gadget}\r\nHost: localhost\r\nContent-Length: ${clte.length}\r\n\r\n${clte}` });
    // TE.CL: a front that decodes chunks forwards the request to a backend that reads only the size line.
    const tecl = chunkedBody(SMUGGLED);
    cases.push({ name: `TE.CL ${method} ${name}`, payload: `${method} /public HTTP/1.1\r\n${gadget}\r\nHost: localhost\r\nContent-Length: ${hex(SMUGGLED).length + 2}\r\n\r\n${tecl}` });
  }
}
// The same permutations on Content-Length (DesyncBox applies them to either header).
for (const [name, cl] of [
  ['underjoin1', 'Content_Length'], ['spacejoin1', 'Content Length'], ['space1', 'Content-Length '], ['UPPERCASE', 'CONTENT-LENGTH'],
  ['nameprefix1', 'Foo: bar\r\n Content-Length'], ['badsetupLF', 'Foo: bar\nContent-Length'], ['backslash', 'Content\\Length'],
  ['connection', 'Connection: Content-Length\r\nContent-Length'], ['0dspam', 'Con\rtent-Length'],
]) {
  for (const method of ['GET', 'POST']) {
    cases.push({ name: `CL ${method} ${name}`, payload: `${method} /public HTTP/1.1\r\nHost: localhost\r\n${cl}: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}` });
  }
}
// Content-Length values a lenient parser reads differently.
for (const v of [`${SMUGGLED.length}, ${SMUGGLED.length}`, `+${SMUGGLED.length}`, `0${SMUGGLED.length}`, `${SMUGGLED.length}\r\nContent-Length: 0`, `0\r\nContent-Length: ${SMUGGLED.length}`, `0x${hex(SMUGGLED)}`, `-1`, ` ${SMUGGLED.length} `]) {
  cases.push({ name: `CL value ${JSON.stringify(v)}`, payload: `GET /public HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${v}\r\n\r\n${SMUGGLED}` });
}
// Chunked bodies a lenient parser reads differently (sizes, extensions, line ends).
for (const [name, body] of [
  ['bare LF after size', `${hex(SMUGGLED)}\n${SMUGGLED}\r\n0\r\n\r\n`],
  ['bare LF last chunk', `0\n\n${SMUGGLED}`],
  ['size overflow', `10000000000000000${hex(SMUGGLED)}\r\n${SMUGGLED}\r\n0\r\n\r\n`],
  ['size with space', `${hex(SMUGGLED)} \r\n${SMUGGLED}\r\n0\r\n\r\n`],
  ['extension with CRLF in quotes', `1;a="\r\nX"\r\nZ\r\n0\r\n\r\n${SMUGGLED}`],
  ['extension bare LF', `1;ext\nZ\r\n0\r\n\r\n${SMUGGLED}`],
  ['data longer than size', `1\r\nZZZ\r\n0\r\n\r\n${SMUGGLED}`],
  ['trailer holding a request', `0\r\n${SMUGGLED}`],
  ['then a request', `0\r\n\r\n${SMUGGLED}`],
]) {
  for (const method of ['GET', 'POST']) {
    cases.push({ name: `chunked ${method} ${name}`, payload: `${method} /public HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n${body}` });
  }
}
// Versions, pipelining and request lines.
cases.push({ name: 'HTTP/1.0 keep-alive with a body', payload: `GET /public HTTP/1.0\r\nHost: localhost\r\nConnection: keep-alive\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}` });
cases.push({ name: 'pipelined: both pass the gate', payload: `GET /one HTTP/1.1\r\nHost: localhost\r\n\r\nGET /two HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n` });
cases.push({ name: 'Expect: 100-continue with a body', payload: `POST /public HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}` });
cases.push({ name: 'absolute-form target', payload: `GET http://localhost/public HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${SMUGGLED.length}\r\nConnection: content-length\r\n\r\n${SMUGGLED}` });
// An absolute-form target names the authority (RFC 9112 §3.2.2): one that differs from Host is refused, so the
// backend, X-Forwarded-Host and the route rules agree on one host (issue 19 item 3's class).
cases.push({ name: 'absolute-form target, another authority', payload: 'GET http://evil.example/public HTTP/1.1\r\nHost: localhost\r\n\r\n', status: 400 });
cases.push({ name: 'absolute-form target, the same authority', payload: 'GET http://LocalHost/public HTTP/1.1\r\nHost: localhost\r\n\r\n', status: 200 });
cases.push({ name: 'request line with a bare LF', payload: `GET /public HTTP/1.1\nHost: localhost\nContent-Length: ${SMUGGLED.length}\n\n${SMUGGLED}` });

test(`smuggling corpus: ${cases.length} requests, the backend sees only what the gate saw, in order`, async () => {
  const failures: string[] = [];
  for (const c of cases) {
    const problems = check(c, await run(c));
    if (problems.length) failures.push(`${c.name}: ${problems.join('; ')}`);
  }
  assert.deepEqual(failures, []);
});
