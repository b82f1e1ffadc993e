// An in-process handler runs inside the process that holds the secret (issue 9 points 6 and 12): it cannot start a
// Worker or fork() a child from a file (both read the file from disk, unverified, after the start: a file swapped
// then stole the password), and its log lines are its own (source=app), never keygate's audit trail.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { curl, demoProject, serve, tempDir } from './helpers/project.js';

const HANDLER = `'use strict';
const { join } = require('node:path');
module.exports = {
  handle(req, res, ctx) {
    const url = new URL(req.url, 'https://x');
    const answer = (body) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(body + '\\n'); };
    try {
      if (url.pathname === '/worker') {
        const { Worker } = require('node:worker_threads');
        new Worker(join(__dirname, 'w.js'));
        return answer('worker started');
      }
      if (url.pathname === '/fork') {
        require('child_process').fork(join(__dirname, 'w.js'));
        return answer('forked');
      }
      if (url.pathname === '/eval-worker') {
        const { Worker } = require('worker_threads');
        const w = new Worker('require("node:worker_threads").parentPort.postMessage(6 * 7)', { eval: true });
        return w.once('message', (n) => { answer('eval worker says ' + n); w.terminate(); });
      }
      if (url.pathname === '/log') {
        ctx.log.info('vault asked for PAM A2A alias keygate-demo: ok', { gate: 'vault', source: 'keygate' });
        return answer('logged');
      }
    } catch (err) {
      return answer('refused: ' + err.message);
    }
    answer('other');
  },
};
`;

test('a verified handler cannot start a Worker or fork() from a file; eval workers run; its log lines say source=app', async () => {
  const marks = tempDir('kg-guard-');
  const mark = join(marks, 'ran');
  const p = demoProject({
    files: { 'app/guard.cjs': HANDLER, 'app/w.js': `require('fs').writeFileSync(${JSON.stringify(mark)}, 'the unverified path ran');\n` },
    config: { server: { handler: 'app/guard.cjs' } },
  });
  const s = await serve(p.dir);
  try {
    const get = (path: string) => curl(`https://localhost:${s.port}${path}`, p.crt).stdout;
    // Planted once: with Node's own Worker and fork handed to the handler, both ran w.js (the mark appeared).
    assert.match(get('/worker'), /^refused: refused new Worker\(.*w\.js\): the worker would read its file from disk, unverified/);
    assert.match(get('/fork'), /^refused: refused child_process\.fork\(.*w\.js\)/);
    assert.equal(get('/eval-worker'), 'eval worker says 42\n');
    assert.equal(get('/log'), 'logged\n');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(existsSync(mark), false, 'the file never ran');
    const line = s.stderr().split('\n').find((l) => l.includes('vault asked') && l.includes('source=app'));
    assert.ok(line, s.stderr());
    assert.doesNotMatch(line!, /gate=vault/);
    assert.equal(s.stderr().split('\n').filter((l) => /vault asked .*gate=vault/.test(l)).length, 1, 'only keygate\'s own vault line carries gate=vault');
  } finally {
    assert.equal(await s.stop(), 0);
  }
});
