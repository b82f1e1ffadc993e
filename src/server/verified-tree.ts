// Reading and loading from the verified tree: "what runs is what was verified" (DESIGN.md rule 2).
// Every read re-hashes the bytes it returns against the manifest, so a file swapped after start-up
// verification is refused at use time. Modules are compiled from those same bytes (no second read from disk),
// and the only `require` handed to them loads Node built-ins or other manifest-listed files.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import Module, { builtinModules, createRequire } from 'node:module';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { compileFunction } from 'node:vm';
import { exports as resolveExports } from 'resolve.exports';
import { KeygateError, describeCause } from '../errors.js';

export class VerifiedTree {
  readonly #base: string;
  readonly #manifest: ReadonlyMap<string, string>;
  readonly #modules = new Map<string, { exports: unknown }>();

  /** base: the template's folder; manifest: path → sha256 as verified at start. */
  constructor(base: string, manifest: ReadonlyMap<string, string>) {
    this.#base = base;
    this.#manifest = manifest;
  }

  get base(): string {
    return this.#base;
  }

  /** The manifest key for a file, or undefined when the manifest does not list it. */
  keyFor(file: string): string | undefined {
    const abs = resolve(this.#base, file);
    const rel = relative(this.#base, abs).split(sep).join('/');
    if (!rel.startsWith('..') && !isAbsolute(rel) && this.#manifest.has(rel)) return rel;
    if (this.#manifest.has(abs)) return abs;
    return undefined;
  }

  has(file: string): boolean {
    return this.keyFor(file) !== undefined;
  }

  /** Reads a listed file and returns its bytes only if they still hash to the manifest's value. */
  read(file: string): Buffer {
    const key = this.keyFor(file);
    if (key === undefined) {
      // A file that is not there cannot be listed: the fix is to create it (or stop naming it), not the template.
      throw new KeygateError('UNVERIFIED_LOAD', `refused to read ${file}: it is not in the verified manifest${existsSync(file) ? '' : ' (and does not exist)'}`, {
        hint: existsSync(file) ? 'add it to filelist.template, then keygate generate-filelist && keygate pin' : `create ${file} (or remove the setting that names it), then keygate generate-filelist && keygate pin`,
      });
    }
    let bytes: Buffer;
    try {
      bytes = readFileSync(resolve(this.#base, key));
    } catch (err) {
      throw new KeygateError('UNVERIFIED_LOAD', `refused to read ${key}: ${describeCause(err)}`, { hint: 'restore the file from your release' });
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== this.#manifest.get(key)) {
      throw new KeygateError('UNVERIFIED_LOAD', `refused to read ${key}: it changed after verification (sha256 ${actual})`, {
        hint: 'something is modifying protected files: investigate, restore them and restart',
      });
    }
    return bytes;
  }

  /** Loads a CommonJS module from verified bytes; its `require` reaches only built-ins and verified files. */
  loadModule(file: string): unknown {
    return this.#load(resolve(this.#base, file));
  }

  #load(abs: string): unknown {
    const cached = this.#modules.get(abs);
    if (cached) return cached.exports;
    const bytes = this.read(abs);
    const module = { exports: {} as unknown };
    this.#modules.set(abs, module);
    if (abs.endsWith('.json')) {
      module.exports = JSON.parse(bytes.toString('utf8'));
      return module.exports;
    }
    if (abs.endsWith('.node') || abs.endsWith('.mjs')) {
      throw new KeygateError('UNVERIFIED_LOAD', `refused to load ${this.#named(abs)}: ${abs.endsWith('.node') ? 'a native addon' : 'an ES module'} cannot be loaded from verified bytes in-process`, {
        hint: 'run the app as its own process behind keygate (server.backend, docs/backend.md: its files are verified before it starts), or use a CommonJS build of that package',
      });
    }
    let fn: ReturnType<typeof compileFunction>;
    try {
      fn = compileFunction(stripShebang(bytes.toString('utf8')), ['exports', 'require', 'module', '__filename', '__dirname'], { filename: abs });
    } catch (err) {
      // `import`/`export` in a .js file of a "type": "module" package: ES module syntax, not CommonJS.
      if (err instanceof SyntaxError && /import|export|module/.test(err.message)) {
        throw new KeygateError('UNVERIFIED_LOAD', `refused to load ${this.#named(abs)}: it is an ES module (${err.message}), and keygate's verified loader runs CommonJS in-process`, {
          hint: 'run the app as its own process behind keygate (server.backend, docs/backend.md), or use a CommonJS build of that package',
        });
      }
      throw err;
    }
    fn.call(module.exports, module.exports, this.#requireFrom(abs), module, abs, dirname(abs));
    return module.exports;
  }

  #requireFrom(parent: string): (id: string) => unknown {
    const nodeRequire = createRequire(parent);
    const req = (id: string): unknown => {
      if (id.startsWith('node:') || builtinModules.includes(id)) return guardedBuiltin(id, nodeRequire);
      const target = this.#resolve(id, parent, nodeRequire);
      return this.#load(target);
    };
    return req;
  }

  #resolve(id: string, parent: string, nodeRequire: NodeJS.Require): string {
    if (id.startsWith('./') || id.startsWith('../') || isAbsolute(id)) {
      const p = resolve(dirname(parent), id);
      // Pick among the candidates the manifest lists, never by probing the disk.
      for (const c of [p, `${p}.js`, `${p}.cjs`, `${p}.json`, `${p}/index.js`]) if (this.has(c)) return c;
      throw new KeygateError('UNVERIFIED_LOAD', `refused to load ${id} from ${relative(this.#base, parent)}: no verified file by that name`, {
        hint: 'add it to filelist.template, then keygate generate-filelist && keygate pin',
      });
    }
    let found: string;
    try {
      found = nodeRequire.resolve(id);
    } catch {
      throw new KeygateError('UNVERIFIED_LOAD', `refused to load ${id}: cannot be resolved`, {});
    }
    // Node 20.19+ and 22.10+ resolve the "module-sync" condition for require() (require(esm)): packages such as
    // async-function (under Express 4 and 5) then point require() at an .mjs file. This loader compiles
    // CommonJS, so it asks the package's exports for the CommonJS target (conditions node, require, default).
    if (found.endsWith('.mjs')) found = this.#commonJsTarget(id, found) ?? found;
    if (!this.has(found)) {
      throw new KeygateError('UNVERIFIED_LOAD', `refused to load ${id} (${found}): it is not in the verified manifest`, {
        hint: 'add its package folder to filelist.template, then keygate generate-filelist && keygate pin',
      });
    }
    return found;
  }

  /** The CommonJS file a package's `exports` gives require() without "module-sync"; undefined when none. */
  #commonJsTarget(id: string, found: string): string | undefined {
    const name = id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0]!;
    const marker = `${sep}node_modules${sep}${name.split('/').join(sep)}${sep}`;
    const at = found.lastIndexOf(marker);
    if (at < 0) return undefined;
    const pkgDir = found.slice(0, at + marker.length - 1);
    const pkgJson = `${pkgDir}${sep}package.json`;
    if (!this.has(pkgJson)) return undefined;
    // this.read throws on a package.json changed since verification: that must surface, not read as "no target"
    const bytes = this.read(pkgJson);
    let targets: readonly string[] | void;
    try {
      const pkg = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
      targets = resolveExports(pkg, `.${id.slice(name.length)}`, { require: true });
    } catch {
      return undefined; // malformed JSON or exports: the .mjs is refused with its own message
    }
    return (targets ?? []).map((t) => resolve(pkgDir, t)).find((t) => !t.endsWith('.mjs') && this.has(t));
  }

  /** `package/file` for messages: the package a file belongs to, from its node_modules path. */
  #named(abs: string): string {
    const rel = relative(this.#base, abs).split(sep).join('/');
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(rel);
    return m ? `${rel} (package ${m[1]})` : rel;
  }

  /**
   * A file under `folder` named by a request path, safely: decoded, normalised and kept inside the folder
   * (a real containment check, not a string prefix: `content2/` is not inside `content/`). Undefined when the
   * name escapes, or the file is not listed.
   */
  staticFile(folder: string, name: string): Buffer | undefined {
    let decoded: string;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      return undefined;
    }
    if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
    const root = resolve(this.#base, folder);
    const target = resolve(root, decoded);
    const rel = relative(root, target);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
    if (!this.has(target)) return undefined;
    return this.read(target);
  }
}

// Built-ins that would run a file from disk, unverified, in (or beside) the process that holds the secret: a
// Worker reads its file when it starts (a file swapped after the start could steal the password), fork() starts a
// node that loads it. Verified code gets them refusing a file; eval'd Workers (code the verified module holds)
// and everything else are Node's own. A guard against the accident, not a barrier against verified code that
// means harm: an in-process handler is as privileged as keygate (docs/security.md; use backend mode).
const guarded = new Map<string, unknown>();
function guardedBuiltin(id: string, nodeRequire: NodeJS.Require): unknown {
  const name = id.replace(/^node:/, '');
  if (name !== 'worker_threads' && name !== 'child_process') return nodeRequire(id);
  const cached = guarded.get(name);
  if (cached) return cached;
  const real = nodeRequire(id) as Record<string, unknown>;
  let wrapped: unknown;
  if (name === 'worker_threads') {
    const RealWorker = real['Worker'] as new (f: string | URL, o?: { eval?: boolean }) => object;
    class VerifiedOnlyWorker extends RealWorker {
      constructor(filename: string | URL, options?: { eval?: boolean }) {
        if (!options?.eval) {
          throw new KeygateError('UNVERIFIED_LOAD', `refused new Worker(${String(filename)}): the worker would read its file from disk, unverified, inside the process that holds the secret`, {
            hint: 'run that work in a backend process (server.backend, docs/backend.md), or pass code the verified module holds with { eval: true }',
          });
        }
        super(filename, options);
      }
    }
    wrapped = { ...real, Worker: VerifiedOnlyWorker };
  } else {
    const fork = (modulePath: unknown): never => {
      throw new KeygateError('UNVERIFIED_LOAD', `refused child_process.fork(${String(modulePath)}): the child would load its file from disk, unverified`, {
        hint: 'run it as a backend process (server.backend, docs/backend.md)',
      });
    };
    wrapped = { ...real, fork };
  }
  guarded.set(name, wrapped);
  return wrapped;
}

function stripShebang(src: string): string {
  return src.startsWith('#!') ? `//${src.slice(2)}` : src;
}

/**
 * After verification every file keygate runs comes through VerifiedTree. Node's own CommonJS loader is closed
 * so that code reaching it anyway (`require('module').createRequire(...)`, `process.mainModule`) cannot load a
 * file from disk unverified. Built-ins are unaffected (they do not go through the extension handlers).
 */
export function closeNodeLoader(): void {
  const extensions = (Module as unknown as { _extensions: Record<string, (m: unknown, filename: string) => void> })._extensions;
  for (const ext of Object.keys(extensions)) {
    extensions[ext] = (_m, filename) => {
      throw new KeygateError('UNVERIFIED_LOAD', `refused to load ${filename} through Node's loader: after verification only verified bytes run`, {
        hint: "load modules with the require keygate hands the app, which checks them against the manifest",
      });
    };
  }
}
