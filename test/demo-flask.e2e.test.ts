// `npm run demo:flask`, run as a user would (in a temp copy, so the repo is untouched): the Flask demo answers
// over real TLS through keygate, and stops cleanly with its backend on SIGTERM.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { curl, startDemoScript, tempDir } from './helpers/project.js';
import { alive, missingPeer, waitFor } from './helpers/backend.js';

test('npm run demo:flask serves the Flask app behind keygate and stops with it', { skip: missingPeer('flask') }, async () => {
  const root = tempDir('kg-flask-demo-');
  const { child, output, exited } = startDemoScript('demo-flask.mjs', root);
  try {
    const port = Number((await waitFor(() => /https:\/\/127\.0\.0\.1:(\d+)\//.exec(output.out), 90_000, `the demo to listen\n${output.err}`))![1]);
    const crt = join(root, 'flask-demo/keystore/flask-demo.crt');
    const hello = curl(`https://localhost:${port}/hello?name=<demo>`, crt, ['-H', 'X-Forwarded-For: 6.6.6.6']);
    assert.equal(hello.code, 0, hello.stderr);
    assert.match(hello.stdout, /Hello from Flask, &lt;demo&gt;/);
    assert.match(hello.stdout, /behind keygate's TLS for 127\.0\.0\.1\./, 'the spoofed X-Forwarded-For did not reach the app');
    // One access line per request (server.backend.accessLog), written when the response closes.
    await waitFor(() => /127\.0\.0\.1 "GET \/hello\?name=<demo>" 200 [\d.]+ ms source=access/.test(output.err), 5_000, `the access line\n${output.err}`);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, output.err);
  const pid = Number(/backend ready: pid (\d+)/.exec(output.err)![1]);
  assert.equal(alive(pid), false);
  assert.match(output.err, /Shutting down: Master/);
});
