// The floor for any Node program on this machine: hash every file a manifest lists, with two threads (the
// main one and one worker), sync reads into a reused buffer, no checks, no comparison, no report. Not keygate:
// npm run bench times it beside `sha256sum -c` so the table shows how far a ratio target is reachable in Node.
// usage: node scripts/bench-floor.cjs <manifest> <base folder>
'use strict';
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');

function hashAll(paths, counter) {
  const buf = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    const first = Atomics.add(counter, 0, 32);
    if (first >= paths.length) return;
    for (let i = first; i < Math.min(first + 32, paths.length); i++) {
      const fd = fs.openSync(paths[i], 'r');
      const h = crypto.createHash('sha256');
      for (;;) {
        const got = fs.readSync(fd, buf, 0, buf.length, null);
        h.update(buf.subarray(0, got));
        if (got < buf.length) break;
      }
      h.digest();
      fs.closeSync(fd);
    }
  }
}

if (isMainThread) {
  const [manifest, base] = process.argv.slice(2);
  const paths = fs.readFileSync(manifest, 'utf8').split('\n').filter(Boolean).map((l) => `${base}/${l.slice(66)}`);
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(__filename, { workerData: { paths, counter } });
  hashAll(paths, counter);
  worker.on('message', () => process.exit(0));
} else {
  hashAll(workerData.paths, workerData.counter);
  parentPort.postMessage('done');
}
