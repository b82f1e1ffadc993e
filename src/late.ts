// The late part of the bundle: modules only a start (vault, keystore, HTTPS server) or `keystore create`
// needs, with the big dependencies they bring (node-forge, execa, fast-xml-parser: over half of the bundle's
// bytes; node:https and node:tls).
// scripts/build.mjs bundles this file on its own and embeds it in dist/main.js as a string, compiled on first
// use by src/late-runtime.ts: commands that never reach it (verify, check, generate-filelist, pin) do not pay
// V8's parse of those bytes at every start (~15 ms, docs/performance.md). Under tsx (tests) nothing changes:
// the dynamic imports load these modules directly.
export * as vault from './adapters/vault.js';
export * as keystore from './adapters/keystore.js';
export * as server from './server/https-server.js';
