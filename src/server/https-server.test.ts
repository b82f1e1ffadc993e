// The TLS listener's connection cap (review L6): beyond maxConnections a new connection is closed at accept,
// before the handshake (no 503 is possible there), and a freed slot serves the next one. A throwaway
// certificate from the openssl CLI, trusted by the client through `ca`.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { startHttpsServer } from './https-server.js';

const dir = mkdtempSync(join(tmpdir(), 'kg-https-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
assert.equal(made.status, 0, made.stderr);
const certPem = readFileSync(join(dir, 'cert.pem'), 'utf8');

/** A TLS connection that resolves once its handshake is done, or with the error that ended it. */
function connect(port: number): Promise<tls.TLSSocket | Error> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: certPem }, () => resolve(s));
    s.on('error', (err) => resolve(err));
    s.on('close', () => resolve(new Error('closed before the handshake')));
  });
}

test('maxConnections: the connection over the cap is closed before the handshake; a freed slot is used again', async () => {
  const server = await startHttpsServer({
    host: '127.0.0.1',
    port: 0,
    tls: { keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'), certPem, chainPem: [] },
    handler: (_req, res) => void res.end('ok'),
    hsts: false,
    maxConnections: 2,
  });
  try {
    const a = await connect(server.port);
    const b = await connect(server.port);
    assert.ok(a instanceof tls.TLSSocket && b instanceof tls.TLSSocket);
    // Planted (no maxConnections set): the third handshake completed.
    const c = await connect(server.port);
    assert.ok(c instanceof Error, 'the third connection was refused');
    a.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const d = await connect(server.port);
    assert.ok(d instanceof tls.TLSSocket, `a freed slot serves again: ${d}`);
    b.destroy();
    d.destroy();
  } finally {
    await server.close();
  }
});
