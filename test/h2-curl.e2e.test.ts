// curl --http2 and --http1.1 against keygate (issue 32's "done"): the demo's in-process app and a gated Flask
// backend under gunicorn, both negotiated by ALPN on the one TLS port. Through the backend over h2: the HTTP/1.1
// header policy (a spoofed X-Forwarded-For replaced, Host from :authority) and a body that arrives whole.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { curl, demoProject, serve } from './helpers/project.js';
import { backendProject, missingPeer } from './helpers/backend.js';

const VERSION = ['-w', '\n%{http_version} %{http_code}'];

// The demo's app is written to keygate's own handle(req, res, ctx) contract, which serve offers HTTP/2
// (src/server/request-handler.ts HTTP2_READY); a whole Express or connect app stays on HTTP/1.1 (they break on
// node:http2's compatibility objects: test/getting-started.e2e.test.ts's Express 4 and Fastify apps get 1.1).
test('the demo (in-process, keygate\'s handle contract): curl --http2 gets HTTP/2 200 and --http1.1 HTTP/1.1 200, the same page', async () => {
  const p = demoProject();
  const s = await serve(p.dir);
  try {
    const h2 = curl(s.url, p.crt, ['--http2', ...VERSION]);
    const h1 = curl(s.url, p.crt, ['--http1.1', ...VERSION]);
    assert.equal(h2.code, 0, h2.stderr);
    assert.equal(h1.code, 0, h1.stderr);
    assert.match(h2.stdout, /\n2 200$/);
    assert.match(h1.stdout, /\n1\.1 200$/);
    assert.equal(h2.stdout.replace(/\n[^\n]*$/, ''), h1.stdout.replace(/\n[^\n]*$/, ''));
    // HSTS on both.
    assert.match(curl(s.url, p.crt, ['--http2', '-sI']).stdout, /^strict-transport-security: max-age=63072000/im);
  } finally {
    assert.equal(await s.stop(), 0);
  }
  assert.doesNotMatch(s.stderr(), /Warning/, 'no Node warning on stderr (a Connection field or reason phrase on h2)');
});

test('a gated Flask backend: curl --http2 and --http1.1 get 200; over h2 the header policy holds and an upload arrives whole', { skip: missingPeer('flask') }, async () => {
  const p = backendProject('flask');
  const s = await serve(p.dir);
  try {
    const base = `https://localhost:${s.port}`;
    for (const [flag, version] of [['--http2', '2'], ['--http1.1', '1.1']] as const) {
      const r = curl(`${base}/hello?name=h2`, p.crt, [flag, ...VERSION]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `Hello from Flask, h2\n\n${version} 200`);
    }
    const h = curl(`${base}/headers`, p.crt, ['--http2', '-H', 'X-Forwarded-For: 6.6.6.6', '-H', 'SSL-Client-S-DN: CN=admin', '-H', 'Cookie: a=1', '-H', 'Cookie: b=2']);
    assert.equal(h.code, 0, h.stderr);
    const seen = JSON.parse(h.stdout) as { headers: Record<string, string> };
    assert.equal(seen.headers['X-Forwarded-For'], '127.0.0.1');
    assert.equal(seen.headers['X-Forwarded-Proto'], 'https');
    assert.equal(seen.headers.Host, `localhost:${s.port}`);
    assert.equal(seen.headers['X-Forwarded-Host'], `localhost:${s.port}`);
    assert.equal(seen.headers['Ssl-Client-S-Dn'], undefined);
    assert.equal(seen.headers.Cookie, 'a=1; b=2');
    const body = randomBytes(300_000);
    const file = join(p.dir, 'upload.bin');
    writeFileSync(file, body);
    const up = curl(`${base}/echo`, p.crt, ['--http2', '--data-binary', `@${file}`, '-H', 'content-type: application/octet-stream']);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(JSON.parse(up.stdout), { length: body.length, sha256: createHash('sha256').update(body).digest('hex') });
  } finally {
    assert.equal(await s.stop(), 0);
  }
  assert.doesNotMatch(s.stderr(), /Warning/, 'no Node warning on stderr');
});
