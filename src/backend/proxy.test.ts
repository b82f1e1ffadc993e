// The proxy's header policy as a table: what a client sends, what the backend gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardHeaders, responseHeaders } from './proxy.js';

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
