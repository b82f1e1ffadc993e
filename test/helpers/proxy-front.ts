// keygate's proxy on its own TLS listener, as serve starts them (startHttpsServer's production settings and
// createProxy), in front of a test's backend: for tests of what a client's raw bytes make keygate send.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHttpsServer, type ServerOptions } from '../../src/server/https-server.js';
import { createProxy, type ProxyOptions } from '../../src/backend/proxy.js';

/** A self-signed EC P-256 certificate for localhost in dir (key.pem, cert.pem); the cert is what clients trust. */
export function localhostCert(dir: string): { key: string; cert: string } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  return { key, cert };
}

/** The proxy behind keygate's TLS listener on a free loopback port; close() stops both. */
export async function startProxyFront(
  files: { key: string; cert: string },
  proxyOptions: ProxyOptions,
  serverOptions: Partial<ServerOptions> = {},
): Promise<{ port: number; close(): Promise<void> }> {
  const proxy = createProxy(proxyOptions);
  const server = await startHttpsServer({
    host: '127.0.0.1',
    port: 0,
    tls: { keyPem: readFileSync(files.key, 'utf8'), certPem: readFileSync(files.cert, 'utf8'), chainPem: [] },
    handler: (req, res) => proxy.handle(req, res),
    onUpgrade: (req, socket, head) => proxy.upgrade(req, socket, head),
    hsts: false,
    ...serverOptions,
  });
  return {
    port: server.port,
    close: async () => {
      proxy.close();
      await server.close();
    },
  };
}
