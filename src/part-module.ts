// Runs one part's CommonJS source: the one place that knows the names a part is compiled against (scripts/build.mjs
// bundles each part as CommonJS with `keygate:*` specifiers left external and import.meta.url as __kgSelfUrl).
// Used by late-runtime.ts for the late modules and libraries, and by the reload worker for the keystore part.
import { builtinModules } from 'node:module';
import { compileFunction } from 'node:vm';

/**
 * Compiles `source` as the part `name` and runs it; its exports. `shared` answers the `keygate:*` specifiers (one
 * instance of each module on both sides), `nodeRequire` the built-ins; anything else is a build bug.
 */
export function runPartSource(name: string, source: string, shared: Readonly<Record<string, unknown>>, nodeRequire: (id: string) => unknown, selfUrl: string): unknown {
  const requirePart = (id: string): unknown => {
    if (id in shared) return shared[id];
    if (id.startsWith('node:') || builtinModules.includes(id)) return nodeRequire(id);
    throw new Error(`the part ${name} asked for ${id}, which is not a built-in: it must be bundled`);
  };
  const mod = { exports: {} as unknown };
  compileFunction(source, ['require', 'module', 'exports', '__kgSelfUrl'], { filename: `keygate:${name}` })(requirePart, mod, mod.exports, selfUrl);
  return mod.exports;
}
