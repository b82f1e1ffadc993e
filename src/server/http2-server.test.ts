// The listener's ALPN (issue 32): h2 and http/1.1 with server.http2 on, http/1.1 alone with it off; a reload
// (setTls, what SIGHUP runs) swaps the certificate and keeps h2; an HTTP/1.1 request without Host is still 400
// on the node:http2 listener (node:http's requireHostHeader, which that listener leaves unset on Node 20).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { startHttpsServer, type TlsMaterial } from './https-server.js';

const dir = mkdtempSync(join(tmpdir(), 'kg-h2-server-'));
after(() => rmSync(dir, { recursive: true, force: true }));
function cert(name: string): TlsMaterial {
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  return { keyPem: readFileSync(join(dir, `${name}.key`), 'utf8'), certPem: readFileSync(join(dir, `${name}.crt`), 'utf8'), chainPem: [] };
}
const first = cert('first');
const second = cert('second');

/** The protocol ALPN picked when the client offers protocols, and the certificate's CN. */
function negotiate(port: number, protocols: string[]): Promise<{ alpn: string | false; cn: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ALPNProtocols: protocols, rejectUnauthorized: false }, () => {
      resolve({ alpn: s.alpnProtocol ?? false, cn: String(s.getPeerCertificate().subject?.CN) });
      s.destroy();
    });
    s.on('error', reject);
  });
}

function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ALPNProtocols: ['http/1.1'], rejectUnauthorized: false }, () => s.write(request));
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

test('http2 on: ALPN h2 first, http/1.1 for clients that offer only it; a reload swaps the certificate and keeps h2', async () => {
  const server = await startHttpsServer({ host: '127.0.0.1', port: 0, tls: first, handler: (_q, r) => void r.end('ok'), hsts: false, http2: true });
  try {
    assert.deepEqual(await negotiate(server.port, ['h2', 'http/1.1']), { alpn: 'h2', cn: 'first' });
    assert.deepEqual(await negotiate(server.port, ['http/1.1']), { alpn: 'http/1.1', cn: 'first' });
    server.setTls(second);
    assert.deepEqual(await negotiate(server.port, ['h2', 'http/1.1']), { alpn: 'h2', cn: 'second' });
    assert.match(await raw(server.port, 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 400 /, 'HTTP/1.1 without Host');
    assert.match(await raw(server.port, 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200 /);
  } finally {
    await server.close();
  }
});

test('http2 off: ALPN offers http/1.1 only (an h2-only client gets no protocol and no h2)', async () => {
  const server = await startHttpsServer({ host: '127.0.0.1', port: 0, tls: first, handler: (_q, r) => void r.end('ok'), hsts: false, http2: false });
  try {
    assert.equal((await negotiate(server.port, ['h2', 'http/1.1'])).alpn, 'http/1.1');
    const h2only = await negotiate(server.port, ['h2']).catch((err: Error) => ({ alpn: `refused: ${err.message}`, cn: '' }));
    assert.notEqual(h2only.alpn, 'h2');
  } finally {
    await server.close();
  }
});

test('http2 not given: on for the proxy (a caller that takes upgrades), off for an in-process app', async () => {
  const app = await startHttpsServer({ host: '127.0.0.1', port: 0, tls: first, handler: (_q, r) => void r.end('ok'), hsts: false });
  const proxied = await startHttpsServer({ host: '127.0.0.1', port: 0, tls: first, handler: (_q, r) => void r.end('ok'), onUpgrade: (_q, socket) => socket.destroy(), hsts: false });
  try {
    assert.equal((await negotiate(app.port, ['h2', 'http/1.1'])).alpn, 'http/1.1');
    assert.equal((await negotiate(proxied.port, ['h2', 'http/1.1'])).alpn, 'h2');
  } finally {
    await app.close();
    await proxied.close();
  }
});

test('an app that breaks on an h2 request (Express replaces the request prototype) gets a 500 per request, the process goes on', async () => {
  // What Express does to every request: its own prototype, inheriting http.IncomingMessage's, whose _read
  // reads a socket's parser an h2 request does not have.
  const { IncomingMessage } = await import('node:http');
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
    Object.setPrototypeOf(req, Object.create(IncomingMessage.prototype));
    req.resume();
    setTimeout(() => {
      if (!res.headersSent) res.end('late');
    }, 200);
  };
  const errors: unknown[] = [];
  const server = await startHttpsServer({ host: '127.0.0.1', port: 0, tls: first, handler, hsts: false, http2: true, onError: (e) => errors.push(e) });
  try {
    const http2 = await import('node:http2');
    const status = await new Promise<number>((resolve, reject) => {
      const c = http2.connect(`https://localhost:${server.port}`, { rejectUnauthorized: false });
      const r = c.request({ ':path': '/' });
      r.on('response', (h) => resolve(Number(h[':status'])));
      r.on('error', reject);
      r.on('close', () => c.close());
      r.resume();
      r.end();
    });
    assert.equal(status, 500);
    assert.equal(errors.length, 1);
  } finally {
    await server.close();
  }
});
