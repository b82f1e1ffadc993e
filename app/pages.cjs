'use strict';
// HTML for the hello page; the name is escaped (no reflected markup).
function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
function pageFor(name) {
  const who = name ? escapeHtml(name.slice(0, 100)) : 'world';
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>keygate demo</title><link rel="stylesheet" href="/static/style.css"></head>\n<body><h1>Hello, ${who}</h1><p>Served by keygate: every file was verified before the keystore password was fetched.</p></body></html>\n`;
}
module.exports = { pageFor, escapeHtml };
