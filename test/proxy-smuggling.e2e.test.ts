// Request smuggling end to end: keygate's TLS front and proxy in front of Flask under gunicorn with gthread
// workers, which keep backend connections alive (the sync worker closes after each answer, which is why the
// older real-peer tests missed H1). gunicorn's access log names every request it parsed, with the
// X-Forwarded-For and SSL-Client-S-DN it got; a body read as a second request would show up there.
// Seen red against the proxy before "framing from the parse" (17ad516's parent): GET /admin xff=6.6.6.6.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from './helpers/project.js';
import { PYTHON, backendProject, missingPeer, rawTls } from './helpers/backend.js';

const SMUGGLED = 'GET /admin HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\nSSL-Client-S-DN: CN=admin\r\nContent-Length: 0\r\n\r\n';
const PREFIX = 'GET /admin HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6\r\nSSL-Client-S-DN: CN=admin\r\nX-Ignore: ';
const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n0\r\n\r\n`;

test('gunicorn gthread behind keygate: a body on GET/DELETE/OPTIONS never becomes a second request; two Host get 400', { skip: missingPeer('flask') }, async () => {
  const p = backendProject('flask', {
    command: [PYTHON, '-m', 'gunicorn', '--worker-class', 'gthread', '--threads', '4', '--workers', '1', '--keep-alive', '30', '--bind', 'unix:${SOCKET}',
      '--access-logfile', '-', '--access-logformat', 'KGSEEN %(m)s %(U)s xff=%({x-forwarded-for}i)s dn=%({ssl-client-s-dn}i)s hosts=%({host}i)s', 'app:app'],
    listen: 'unix',
  });
  const s = await serve(p.dir);
  try {
    const payloads = [
      `GET /public HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk(SMUGGLED)}`,
      `GET /public HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${SMUGGLED.length}\r\nConnection: close, Content-Length\r\n\r\n${SMUGGLED}`,
      `OPTIONS /public HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close, Transfer-Encoding\r\n\r\n${chunk(SMUGGLED)}`,
      `DELETE /public HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk(PREFIX)}`,
    ];
    for (const payload of payloads) {
      assert.match(await rawTls(s.port, p.crt, payload), /^HTTP\/1\.1 404 /, payload.split('\r\n')[0]);
      // Probes on both backend paths (keygate's pool, node:http's agent): a prefix left behind would swallow one.
      assert.match(await rawTls(s.port, p.crt, 'GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'), /Hello from Flask/);
      assert.match(await rawTls(s.port, p.crt, 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx'), /"length":1/);
    }
    const twoHosts = await rawTls(s.port, p.crt, 'GET /public HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    assert.match(twoHosts, /^HTTP\/1\.1 400 /);
    await new Promise((r) => setTimeout(r, 300)); // the access log's last lines
    const seen = [...s.stderr().matchAll(/KGSEEN (\S+) (\S+) xff=(\S+) dn=(\S+) hosts=(\S+)/g)].map((m) => ({ line: `${m[1]} ${m[2]}`, rest: `xff=${m[3]} dn=${m[4]} hosts=${m[5]}` }));
    const requests = seen.filter((r) => !(r.line === 'GET /hello' && r.rest.startsWith('xff=- '))); // readiness probes (readyPath)
    const report = requests.map((r) => `${r.line} ${r.rest}`).join('\n');
    assert.deepEqual(requests.map((r) => r.line), payloads.flatMap((x) => [`${x.split(' ')[0]} /public`, 'GET /hello', 'POST /echo']), report);
    for (const r of requests) assert.equal(r.rest, 'xff=127.0.0.1 dn=- hosts=localhost', report);
  } finally {
    assert.equal(await s.stop(), 0);
  }
});
