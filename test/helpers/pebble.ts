// pebble, Let's Encrypt's RFC 8555 test CA (Debian's `pebble` package), with pebble-challtestsrv as its DNS: every
// name resolves to 127.0.0.1 unless a test maps it elsewhere, so the CA validates http-01 against keygate's own
// challenge listener on this host. pebble's own HTTPS certificate comes from a small CA made here with openssl
// (server.acme.caFile), and the CA it issues from is random per start: root() asks its management port.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { request } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './project.js';

export const HAS_PEBBLE = spawnSync('sh', ['-c', 'command -v pebble && command -v pebble-challtestsrv'], { encoding: 'utf8' }).status === 0;
export const NO_PEBBLE = HAS_PEBBLE ? false : 'pebble is not installed (apt-get install pebble)';

/** A free TCP port on 127.0.0.1 (pebble takes no port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Pebble {
  /** The directory URL for server.acme.directoryUrl. */
  readonly directoryUrl: string;
  /** PEM of the CA pebble's own HTTPS certificate chains to (server.acme.caFile). */
  readonly tlsCaPem: string;
  /** The port pebble validates http-01 on (server.acme.httpPort). */
  readonly httpPort: number;
  /** The root pebble issues from now (changes at each start). */
  root(): Promise<string>;
  /** Answer A queries for host with ip (pebble-challtestsrv's management API). */
  mapHost(host: string, ip: string): Promise<void>;
  /** pebble's log so far. */
  log(): string;
  /** pebble and its DNS stopped (the end of a test). */
  stop(): Promise<void>;
  /** pebble alone stopped: the CA is down, its DNS stays. */
  down(): Promise<void>;
  /** pebble again on the same ports: a new root, no accounts. */
  start(): Promise<void>;
}

function sh(cwd: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

function get(url: string, ca: string, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca, timeout: 5_000 }, (res) => {
      let data = '';
      res.on('data', (d: Buffer) => (data += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function httpPost(url: string, body: string): Promise<void> {
  const r = await fetch(url, { method: 'POST', body });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
}

async function waitUp(url: string, ca: string, child: ChildProcess, out: () => string): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pebble exited: ${out()}`);
    try {
      if ((await get(url, ca)).status === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`pebble did not come up: ${out()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts challtestsrv and pebble; certificates valid `validitySeconds`. */
export async function startPebble(options: { validitySeconds: number }): Promise<Pebble> {
  const dir = tempDir('kg-pebble-');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  sh(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=pebble TLS test CA']);
  sh(dir, ['req', '-new', ...ec, '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  sh(dir, ['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls.pem', '-days', '2', '-extfile', 'ext']);
  const tlsCaPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
  const [acmePort, mgmtPort, httpPort, dnsPort, ctsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  writeFileSync(
    join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: join(dir, 'tls.pem'),
        privateKey: join(dir, 'tls.key'),
        httpPort,
        tlsPort: await freePort(),
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        certificateValidityPeriod: options.validitySeconds,
      },
    }),
  );
  let ctsOut = '';
  const cts = spawn('pebble-challtestsrv', ['-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${ctsPort}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cts.stdout!.on('data', (d: Buffer) => (ctsOut += d.toString()));
  cts.stderr!.on('data', (d: Buffer) => (ctsOut += d.toString()));
  let child: ChildProcess | undefined;
  let out = '';
  const start = async (): Promise<void> => {
    // No random VA sleeps; a nonce rejection rate of 0 would hide acme-client's badNonce retry, so pebble's default stays.
    child = spawn('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], { env: { ...process.env, PEBBLE_VA_NOSLEEP: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitUp(`https://127.0.0.1:${acmePort}/dir`, tlsCaPem, child, () => out + ctsOut);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await gone;
  };
  await start();
  process.once('exit', () => {
    child?.kill('SIGKILL');
    cts.kill('SIGKILL');
  });
  return {
    directoryUrl: `https://127.0.0.1:${acmePort}/dir`,
    tlsCaPem,
    httpPort,
    root: async () => (await get(`https://127.0.0.1:${mgmtPort}/roots/0`, tlsCaPem)).body,
    mapHost: (host, ip) => httpPost(`http://127.0.0.1:${ctsPort}/add-a`, JSON.stringify({ host, addresses: [ip] })),
    log: () => out,
    start,
    down: stop,
    stop: async () => {
      await stop();
      if (cts.exitCode === null) cts.kill('SIGTERM');
    },
  };
}
