import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBackend, lineSplitter } from './supervisor.js';
import { validateConfig } from '../core/config.js';
import { KeygateError } from '../errors.js';
import { parseControlLine } from './separation.js';
import { parseGetent } from './identity.js';

test('backend output: lines split while read; a line without end is cut at the limit and never held beyond it', () => {
  const lines: string[] = [];
  const split = lineSplitter(8, (l) => lines.push(l));
  split.push(Buffer.from('one\ntw'));
  split.push(Buffer.from('o\r\n'));
  // 1 MiB with no newline: the splitter must pass on 8 bytes and drop the rest as it arrives.
  for (let i = 0; i < 16; i++) {
    split.push(Buffer.alloc(64 * 1024, 0x41));
    assert.ok(split.held() <= 8, `held ${split.held()} bytes`);
  }
  split.push(Buffer.from('AAAA\nafter\nexactly8\nlast'));
  split.end();
  assert.deepEqual(lines, ['one', 'two', 'AAAAAAAA…', 'after', 'exactly8', 'last']);
});

test('the control channel takes only its three messages; getent lines give numeric ids', () => {
  assert.deepEqual(parseControlLine('{"backend":"up","pid":42}'), { backend: 'up', pid: 42 });
  assert.deepEqual(parseControlLine('{"backend":"down"}'), { backend: 'down' });
  assert.deepEqual(parseControlLine('{"restart":true}'), { restart: true });
  for (const bad of ['{"backend":"up","pid":"42"}', '{"restart":1}', 'not json', '[]']) assert.equal(parseControlLine(bad), undefined, bad);
  assert.deepEqual(parseGetent('svc:x:998:997:svc:/nonexistent:/usr/sbin/nologin', 'passwd'), { id: 998, gid: 997 });
  assert.deepEqual(parseGetent('svc:x:997:', 'group'), { id: 997 });
  assert.equal(parseGetent('svc:x:abc:1::/:/bin/sh', 'passwd'), undefined);
});

test('readiness: a backend that trickles its answer a byte at a time is given up at readyTimeoutMs, not held for hours', { timeout: 30_000 }, async () => {
  // A header byte every 200 ms never lets the socket go idle: only an absolute deadline per probe ends it.
  // Each probe the deadline cuts is a closed connection: the backend must stop writing to it, not crash on EPIPE.
  const trickle = "require('net').createServer(c=>{c.on('error',()=>{});c.write('HTTP/1.1 200 OK\\r\\nX-A: ');const t=setInterval(()=>c.write('a'),200);c.on('close',()=>clearInterval(t))}).listen(process.argv[1]);process.on('SIGTERM',()=>process.exit(0))";
  const checked = validateConfig({ server: { backend: { command: ['${NODE}', '-e', trickle, '${SOCKET}'], listen: 'unix', readyTimeoutMs: 1500, watchdog: false, sameUser: true } } });
  assert.ok(checked.ok, JSON.stringify(checked));
  const lines: string[] = [];
  const log = { info: () => undefined, warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m), debug: () => undefined, close: async () => undefined };
  const backend = createBackend({ config: checked.config.server.backend!, base: process.cwd(), nodePath: process.execPath, env: {}, log, onGiveUp: () => undefined });
  const started = Date.now();
  await assert.rejects(backend.start(), (err: unknown) => err instanceof KeygateError && err.code === 'BACKEND_NOT_READY');
  assert.ok(Date.now() - started < 10_000, `start took ${Date.now() - started} ms`);
  await backend.stop();
});
