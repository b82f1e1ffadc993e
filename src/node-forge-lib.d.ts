// node-forge's own modules (src/adapters/keystore.ts loads them one by one); @types/node-forge types only the
// index. lib/forge.js exports the shared forge object each module registers itself on: typed as the index.
declare module 'node-forge/lib/forge.js' {
  import forge from 'node-forge';
  export default forge;
}
declare module 'node-forge/lib/*.js';
