// The proxy's header policy as a table: what a client sends, what the backend gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorityMismatch, forwardHeaders, isIdentityHeader, originForm, requestFraming, responseHeaders } from './proxy.js';

const client = { remoteAddress: '192.0.2.7', localPort: 8443 };
const pairs = (raw: string[]) => Array.from({ length: raw.length / 2 }, (_, i) => `${raw[2 * i]}: ${raw[2 * i + 1]}`);

test('forwardHeaders: hop-by-hop, Connection-named, spoofable and underscore headers out; keygate adds its own last', () => {
  const out = forwardHeaders(
    [
      'Host', 'svc.example:8443',
      'X-Forwarded-For', '6.6.6.6',
      'x-forwarded-host', 'evil',
      'Forwarded', 'for=6.6.6.6',
      'X-Real-IP', '6.6.6.6',
      'X_Forwarded_For', '7.7.7.7',
      'SSL_CLIENT_S_DN', '/CN=admin',
      'Connection', 'keep-alive, X-Forwarded-Proto, Cookie',
      'Cookie', 'named-in-connection',
      'Keep-Alive', 'timeout=5',
      'TE', 'trailers',
      'Transfer-Encoding', 'chunked',
      'Upgrade', 'websocket',
      'Proxy-Authorization', 'Basic eA==',
      'Accept', 'text/html',
      'Accept', 'application/json',
    ],
    client,
  );
  assert.deepEqual(pairs(out), [
    'Host: svc.example:8443',
    'Accept: text/html',
    'Accept: application/json',
    'X-Forwarded-For: 192.0.2.7',
    'X-Forwarded-Proto: https',
    'X-Forwarded-Port: 8443',
    'X-Forwarded-Host: svc.example:8443',
  ]);
});

test('forwardHeaders: an upgrade keeps Connection: Upgrade and the Upgrade value, nothing else hop-by-hop', () => {
  const out = forwardHeaders(['Host', 'h', 'Connection', 'Upgrade, X-Forwarded-For', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'], { ...client, upgrade: true });
  assert.deepEqual(pairs(out), ['Host: h', 'Sec-WebSocket-Key: k', 'Connection: Upgrade', 'Upgrade: websocket', 'X-Forwarded-For: 192.0.2.7', 'X-Forwarded-Proto: https', 'X-Forwarded-Port: 8443', 'X-Forwarded-Host: h']);
});

test('responseHeaders: the backend cannot send hop-by-hop headers to the client', () => {
  const out = responseHeaders(['Content-Type', 'text/plain', 'Connection', 'close, X-Internal', 'X-Internal', 'secret', 'Transfer-Encoding', 'chunked', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
  assert.deepEqual(pairs(out), ['Content-Type: text/plain', 'Set-Cookie: a=1', 'Set-Cookie: b=2']);
});

test('forwardHeaders: every client-sent identity header goes, any case, - or _, via Connection too; keygate adds the TLS peer\'s last', () => {
  const spoofed = [
    'Client-Cert', ':ZmFrZQ==:',
    'client-cert-chain', ':ZmFrZQ==:',
    'SSL-Client-S-DN', '/CN=admin',
    'ssl_client_s_dn', '/CN=admin',
    'SSL_CLIENT_VERIFY', 'SUCCESS',
    'Ssl-Client-I-Dn', 'CN=evil CA',
    'X-SSL-Client-CN', 'admin',
    'X-Forwarded-Client-Cert', 'Hash=x',
    'X-Forwarded-Tls-Client-Cert', 'x',
    'SSL-Server-S-DN-OU', 'x',
    'Connection', 'Client-Cert, SSL-Client-Verify',
    'Accept', '*/*',
  ];
  const identity = ['Client-Cert', ':cmVhbA==:', 'SSL-Client-S-DN', 'CN=alice', 'SSL-Client-Verify', 'SUCCESS'];
  // With a verified certificate: only keygate's values, after its X-Forwarded-* (a Connection token cannot remove them).
  assert.deepEqual(pairs(forwardHeaders(spoofed, { ...client, identity })), [
    'Accept: */*',
    'X-Forwarded-For: 192.0.2.7',
    'X-Forwarded-Proto: https',
    'X-Forwarded-Port: 8443',
    'Client-Cert: :cmVhbA==:',
    'SSL-Client-S-DN: CN=alice',
    'SSL-Client-Verify: SUCCESS',
  ]);
  // Without a certificate (or client auth off): none at all.
  assert.deepEqual(pairs(forwardHeaders(spoofed, client)), ['Accept: */*', 'X-Forwarded-For: 192.0.2.7', 'X-Forwarded-Proto: https', 'X-Forwarded-Port: 8443']);
});

test('isIdentityHeader: the table of names, folded', () => {
  const yes = ['Client-Cert', 'CLIENT_CERT', 'client_cert_chain', 'SSL_CLIENT_S_DN', 'ssl-client-verify', 'X_SSL_CLIENT_DN', 'x-forwarded-client-cert', 'X-Client-Verify'];
  const no = ['Accept', 'X-Client-Version', 'Cookie', 'Client-Hints', 'Authorization', 'X-Arr-Log-Id', 'X-Amzn-Trace-Id', 'Cf-Ray', 'Cf-Connecting-Ip'];
  assert.deepEqual(yes.filter((n) => !isIdentityHeader(n)), []);
  assert.deepEqual(no.filter((n) => isIdentityHeader(n)), []);
});

test('isIdentityHeader: other front ends\' client-certificate headers go too (review 2026-12b L6, docs/client-auth.md)', () => {
  // IIS ARR, AWS ALB (mTLS passthrough/verify), Cloudflare, nginx configurations, HAProxy; any case, '-' or '_'.
  // Planted (the list before L6): X-ARR-ClientCert, X-Amzn-Mtls-Clientcert*, Cf-Client-Cert-*, X-Client-Cert-Dn,
  // X-Client-Certificate passed.
  const others = [
    'X-ARR-ClientCert', 'x_arr_clientcert',
    'X-Amzn-Mtls-Clientcert', 'X-Amzn-Mtls-Clientcert-Leaf', 'X-Amzn-Mtls-Clientcert-Subject', 'X-Amzn-Mtls-Clientcert-Issuer', 'X-Amzn-Mtls-Clientcert-Serial-Number', 'X-Amzn-Mtls-Clientcert-Validity',
    'Cf-Client-Cert-Der-Base64', 'Cf-Client-Cert-Sha256', 'CF_CLIENT_CERT_SUBJECT_DN',
    'X-Client-Cert', 'X-Client-Cert-Dn', 'X-Client-Cert-Chain', 'X-Client-Certificate',
    'X-SSL-Client-Cert', 'X-SSL-Client-S-DN', 'X-SSL-Client-Verify',
  ];
  assert.deepEqual(others.filter((n) => !isIdentityHeader(n)), []);
  const raw = others.flatMap((n) => [n, 'CN=admin']);
  assert.deepEqual(pairs(forwardHeaders(['Host', 'h', ...raw], client)), ['Host: h', 'X-Forwarded-For: 192.0.2.7', 'X-Forwarded-Proto: https', 'X-Forwarded-Port: 8443', 'X-Forwarded-Host: h']);
});

test('forwardHeaders: Host added from the listener only when the client sent none (HTTP/1.0)', () => {
  assert.deepEqual(pairs(forwardHeaders(['Accept', '*/*'], { ...client, defaultHost: 'example:8443' })), ['Host: example:8443', 'Accept: */*', 'X-Forwarded-For: 192.0.2.7', 'X-Forwarded-Proto: https', 'X-Forwarded-Port: 8443']);
  assert.deepEqual(pairs(forwardHeaders(['host', 'h'], { ...client, defaultHost: 'example:8443' })), ['host: h', 'X-Forwarded-For: 192.0.2.7', 'X-Forwarded-Proto: https', 'X-Forwarded-Port: 8443', 'X-Forwarded-Host: h']);
});

test('originForm: absolute-form loses scheme and authority, the rest byte for byte', () => {
  assert.equal(originForm('/a/../b?c'), '/a/../b?c');
  assert.equal(originForm('*'), '*');
  assert.equal(originForm('https://h:8443/a/%2e%2e/b?q=1'), '/a/%2e%2e/b?q=1');
  assert.equal(originForm('http://user@h'), '/');
  assert.equal(originForm('HTTPS://h?q'), '/?q');
});

test('forwardHeaders: framing comes from the parse, never from the list; Connection cannot name Host, CL or TE', () => {
  const raw = ['Host', 'h', 'Connection', 'Content-Length, Transfer-Encoding, Host, X-Drop', 'Content-Length', '99', 'Transfer-Encoding', 'chunked', 'X-Drop', '1'];
  const tail = ['X-Forwarded-For: 192.0.2.7', 'X-Forwarded-Proto: https', 'X-Forwarded-Port: 8443', 'X-Forwarded-Host: h'];
  assert.deepEqual(pairs(forwardHeaders(raw, { ...client, framing: { kind: 'chunked' } })), ['Host: h', 'Transfer-Encoding: chunked', ...tail]);
  assert.deepEqual(pairs(forwardHeaders(raw, { ...client, framing: { kind: 'length', length: '12' } })), ['Host: h', 'Content-Length: 12', ...tail]);
  assert.deepEqual(pairs(forwardHeaders(raw, { ...client, framing: { kind: 'none' } })), ['Host: h', ...tail]);
});

test('requestFraming: chunked alone, a length, none; two Host, CL with TE and other codings refused', () => {
  const f = (headers: Record<string, string>, raw: string[] = ['Host', 'h']) => requestFraming(headers, raw);
  assert.deepEqual(f({ 'transfer-encoding': 'chunked' }), { kind: 'chunked' });
  assert.deepEqual(f({ 'transfer-encoding': ' Chunked ' }), { kind: 'chunked' });
  assert.deepEqual(f({ 'content-length': '5' }), { kind: 'length', length: '5' });
  assert.deepEqual(f({}), { kind: 'none' });
  assert.equal((f({}, ['Host', 'a', 'host', 'b']) as { status: number }).status, 400);
  assert.equal((f({ 'transfer-encoding': 'chunked', 'content-length': '1' }) as { status: number }).status, 400);
  assert.equal((f({ 'content-length': '1, 1' }) as { status: number }).status, 400);
  for (const te of ['gzip, chunked', 'chunked, chunked', 'identity']) assert.equal((f({ 'transfer-encoding': te }) as { status: number }).status, 501, te);
});

test('authorityMismatch: an absolute-form target must name the Host it came with', () => {
  assert.equal(authorityMismatch('/a?b', 'h'), false);
  assert.equal(authorityMismatch('*', 'h'), false);
  assert.equal(authorityMismatch('http://H:8443/a', 'h:8443'), false);
  assert.equal(authorityMismatch('http://h/a', 'h:80'), false);
  assert.equal(authorityMismatch('http://evil/a', 'h'), true);
  assert.equal(authorityMismatch('http://h:1/a', 'h'), true);
  assert.equal(authorityMismatch('http://h/a', undefined), true);
  assert.equal(authorityMismatch('not a url', 'h'), true);
  assert.equal(authorityMismatch('http://h\\admin', 'h'), true, 'URL reads the backslash as a slash, originForm would not');
});
