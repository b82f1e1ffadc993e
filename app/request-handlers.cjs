// The demo app (seed 000's request_handlers): /hello, /favicon.ico, /static/<file> from content/.
// keygate loads this file from verified bytes; `ctx.staticFile` returns verified bytes of a file inside
// content/ (a real containment check, so `content2/` or `../` never pass).
'use strict';
const { pageFor } = require('./pages.cjs');

const TYPES = { html: 'text/html; charset=utf-8', css: 'text/css; charset=utf-8', txt: 'text/plain; charset=utf-8', ico: 'image/x-icon', png: 'image/png' };

// Content security headers for every answer of this app (keygate itself adds HSTS).
const SECURITY_HEADERS = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'no-referrer'],
];

function handle(req, res, ctx) {
  for (const [k, v] of SECURITY_HEADERS) res.setHeader(k, v);
  const url = new URL(req.url || '/', 'https://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' });
    return res.end();
  }
  if (url.pathname === '/' || url.pathname === '/hello') {
    res.writeHead(200, { 'content-type': TYPES.html });
    return res.end(pageFor(url.searchParams.get('name')));
  }
  const file = url.pathname === '/favicon.ico' ? 'favicon.ico' : url.pathname.startsWith('/static/') ? url.pathname.slice(8) : undefined;
  const body = file && ctx.staticFile(file);
  if (body) {
    const ext = file.slice(file.lastIndexOf('.') + 1);
    res.writeHead(200, { 'content-type': TYPES[ext] || 'application/octet-stream', 'content-length': body.length });
    return res.end(req.method === 'HEAD' ? undefined : body);
  }
  res.writeHead(404, { 'content-type': TYPES.txt });
  res.end('not found\n');
}

module.exports = { handle };
