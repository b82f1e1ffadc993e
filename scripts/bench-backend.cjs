'use strict';
// The backend behind every proxy in scripts/bench-proxy.mjs: a small node:http server answering every request
// with the same 200 text body. One program, started one way for all four setups: keygate's backend mode starts
// it (server.backend.listen "fd": keygate binds 127.0.0.1:<port> and hands the socket over as fd 3), and nginx,
// Apache and the direct client all connect to that same process on that same port.
//   node bench-backend.cjs            serve on the listening socket inherited as fd 3
//   node bench-backend.cjs <port>     serve on 127.0.0.1:<port> (by hand)
//   node bench-backend.cjs <path>     serve on a unix socket (by hand, or keygate's listen "unix" with ${SOCKET})
// Keep-alive: connections stay open 75 s idle and serve any number of requests, longer than any proxy's own
// upstream idle time here (nginx keepalive_timeout 60 s, Apache's pool reuses until the backend closes), so no
// proxy pays a reconnect race the others do not.
const http = require('node:http');

const BODY = Buffer.from('hello from the bench backend\n');
const server = http.createServer((req, res) => {
  // Drain any request body, then answer; no per-request allocation beyond Node's own.
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': BODY.length });
  res.end(BODY);
});
server.keepAliveTimeout = 75_000;
server.headersTimeout = 80_000;
server.maxRequestsPerSocket = 0;

const where = process.argv[2];
if (where === undefined) server.listen({ fd: 3 });
else if (/^\d+$/.test(where)) server.listen(Number(where), '127.0.0.1');
else server.listen(where);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
