// downgradeRequest(), the h2 → HTTP/1.1 downgrade, as a table: keygate's own wall behind nghttp2's (which
// refuses most of these before keygate sees a stream: test/proxy-h2-smuggling.e2e.test.ts shows which). Each
// refusal here was seen failing with its check removed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downgradeRequest, forwardHeaders } from './proxy.js';

const P = (method = 'GET', path = '/a', authority: string | null = 'example.com'): string[] => [':method', method, ':scheme', 'https', ...(authority === null ? [] : [':authority', authority]), ':path', path];

test('a well-formed stream: Host from :authority first, pseudo fields gone, cookies joined, te: trailers dropped', () => {
  const d = downgradeRequest([...P('POST', '/x?y=1'), 'cookie', 'a=1', 'accept', '*/*', 'cookie', 'b=2', 'te', 'trailers', 'content-length', '3'], false);
  assert.deepEqual(d, { kind: 'ok', method: 'POST', path: '/x?y=1', host: 'example.com', raw: ['host', 'example.com', 'cookie', 'a=1; b=2', 'accept', '*/*'], framing: { kind: 'length', length: '3' } });
  // Through the HTTP/1.1 header policy: identity fields of the client dropped, keygate's own added.
  const ok = downgradeRequest([...P(), 'client-cert', ':spoofed:', 'x-forwarded-for', '6.6.6.6'], true);
  assert.equal(ok.kind, 'ok');
  if (ok.kind === 'ok') {
    assert.deepEqual(ok.framing, { kind: 'none' });
    assert.deepEqual(forwardHeaders(ok.raw, { remoteAddress: '10.0.0.1', localPort: 443, framing: ok.framing, identity: ['Client-Cert', ':real:'] }), [
      'host', 'example.com', 'X-Forwarded-For', '10.0.0.1', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Port', '443', 'X-Forwarded-Host', 'example.com', 'Client-Cert', ':real:',
    ]);
  }
  // No content-length and DATA to come: chunked; host alone is used when :authority is absent.
  assert.deepEqual(downgradeRequest([...P('POST', '/', null), 'host', 'h.example'], false), { kind: 'ok', method: 'POST', path: '/', host: 'h.example', raw: ['host', 'h.example'], framing: { kind: 'chunked' } });
  assert.equal(downgradeRequest([...P('OPTIONS', '*')], true).kind, 'ok');
});

const refused: [string, string[], boolean?][] = [
  ['pseudo field after a regular one', [':method', 'GET', 'x-a', '1', ':scheme', 'https', ':path', '/']],
  ['unknown pseudo field', [...P(), ':protocol', 'websocket']],
  ['repeated pseudo field', [...P(), ':path', '/b'].slice(0, 8).concat([':path', '/b'])],
  ['upper case name', [...P(), 'X-A', '1']],
  ['colon in a name', [...P(), 'x:a', '1']],
  ['CR LF in a name', [...P(), 'x\r\na', '1']],
  ['CR LF in a value', [...P(), 'x-a', '1\r\nx-b: 2']],
  ['NUL in a value', [...P(), 'x-a', '1\0']],
  ['leading space in a value', [...P(), 'x-a', ' 1']],
  ['connection', [...P(), 'connection', 'close']],
  ['keep-alive', [...P(), 'keep-alive', 'timeout=5']],
  ['proxy-connection', [...P(), 'proxy-connection', 'keep-alive']],
  ['transfer-encoding', [...P('POST'), 'transfer-encoding', 'chunked'], false],
  ['upgrade', [...P(), 'upgrade', 'websocket']],
  ['te other than trailers', [...P(), 'te', 'gzip']],
  ['two content-length values', [...P('POST'), 'content-length', '1', 'content-length', '2'], false],
  ['content-length not digits', [...P('POST'), 'content-length', '1,1'], false],
  ['content-length with HEADERS ending the stream', [...P('POST'), 'content-length', '5']],
  [':authority and host differ', [...P(), 'host', 'evil.example']],
  ['two host fields', [...P('GET', '/', null), 'host', 'a.example', 'host', 'b.example']],
  ['userinfo in :authority', P('GET', '/', 'user@example.com')],
  ['CR LF in :authority', P('GET', '/', 'a\r\nb')],
  ['space in :path', P('GET', '/a HTTP/1.1')],
  [':path not origin-form', P('GET', 'http://evil.example/')],
  ['asterisk path for GET', P('GET', '*')],
  ['space in :method', P('GET /x HTTP/1.1\r\nHost: a\r\n\r\nGET', '/')],
  ['space in :method, no CR LF', P('GET /smuggled', '/')],
  ['CONNECT', [':method', 'CONNECT', ':authority', 'example.com:443']],
  ['no :scheme', [':method', 'GET', ':authority', 'a', ':path', '/']],
  [':scheme http', [':method', 'GET', ':scheme', 'http', ':authority', 'a', ':path', '/']],
  ['no :path', [':method', 'GET', ':scheme', 'https', ':authority', 'a']],
];
for (const [name, raw, end = true] of refused) {
  test(`refused: ${name}`, () => {
    const d = downgradeRequest(raw, end);
    assert.equal(d.kind, 'refuse', JSON.stringify(d));
  });
}
