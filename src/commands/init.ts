// init: set keygate up in an existing Node project (run in its folder, usually as `npx keygate init`). Writes the
// service's own main entry (a copy of this bundle with its own pin slot: the file PAM hashes), a
// filelist.template that fits the project, keygate.config.json and a systemd unit; never overwrites without
// --force. --dev also copies the dev A2A emulator in, creates a dev CA and a keystore it issued whose passwords only
// the emulator knows (dev-setup.ts), generates, pins and registers the entry, so `node <entry> serve` works at once.

import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { findSymlinkedFolders } from '../adapters/symlinked-folders.js';
import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { CommandModule } from 'yargs';
import { EXIT, KeygateError, describeCause, type ExitStatus } from '../errors.js';
import type { Context, Handler } from '../context.js';
import { fileExists, readWhole, writeAtomicIn } from '../adapters/files.js';
import { readStore, writeStore } from '../adapters/emulator-store.js';
import { generateFilelist, pinEntry, readPin, resolvePaths } from '../gate/integrity.js';
import { RELEASE_SIGN_FIX, pinsTrustRoot, trustRootReplaceRefusal } from '../gate/release.js';
import { PIN_MARKER, UNPINNED } from '../pin-slot.js';
import { sha256 } from '../adapters/file-hash.js';
import { CONFIG_FILE, DEFAULT_PROJECT_ENTRY, TEMPLATE_FILE, configuredEntry, invocationOf, projectOfEntry, renderHint } from '../project.js';
import { PYTHON_MARKERS, PYTHON_PATHS_SCRIPT, SOURCE_DIRS, configObject, safeName, systemdUnit, templateText, type InitChoices, type ProjectFacts } from '../core/init-plan.js';
import { createDevKeystore, devKeystoreFiles, devKeystoreStale, type DevKeystoreFiles } from './dev-setup.js';
import { EXIT_EPILOGUE, type Choose } from './common.js';

/** Where --dev puts the emulator, relative to the project; its store is a2a-store.json in that folder. */
const DEV_EMULATOR = 'keygate/dev-cspm';
const DEV_CLIENT = `${DEV_EMULATOR}/cspmclient/bin64/cspmclient64`;

/** Root files that are not the app's code: listed on their own lines, or not at all. */
const NOT_APP_FILES = new Set(['package.json', 'package-lock.json', 'npm-shrinkwrap.json', CONFIG_FILE]);

function readFacts(project: string, python: string | undefined, env: Readonly<Record<string, string | undefined>>, log: Context['log']): ProjectFacts {
  const pkgFile = join(project, 'package.json');
  // A Python service needs no package.json: asked for, or recognised by its files when there is none.
  if (python !== undefined || (!fileExists(pkgFile) && PYTHON_MARKERS.some((f) => fileExists(join(project, f))))) return pythonFacts(project, env, python || undefined, log);
  if (!fileExists(pkgFile)) {
    throw new KeygateError('NOT_A_PROJECT', `failed to init: ${project} has no package.json, nor app.py, wsgi.py or requirements.txt`, {
      hint: 'run it in your service\'s folder: a Node project (npm init -y makes a package.json), or a Python one with keygate init --python',
    });
  }
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(readWhole(pkgFile).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new KeygateError('USAGE', `failed to init: ${pkgFile} is not valid JSON: ${describeCause(err)}`, { hint: 'fix package.json' });
  }
  const main = typeof pkg['main'] === 'string' ? pkg['main'].replace(/^\.\//, '') : 'index.js';
  return {
    name: safeName(pkg['name']),
    main: fileExists(join(project, main)) ? main : undefined,
    sourceDirs: SOURCE_DIRS.filter((d) => fileExists(join(project, d))),
    rootFiles: readdirSync(project, { withFileTypes: true })
      .filter((d) => d.isFile() && /\.(c?js|json)$/.test(d.name) && !NOT_APP_FILES.has(d.name))
      .map((d) => d.name)
      .sort(),
    hasNodeModules: fileExists(join(project, 'node_modules')),
    lockfiles: ['package-lock.json', 'npm-shrinkwrap.json'].filter((f) => fileExists(join(project, f))),
  };
}

/**
 * A Python service: its files, and what its interpreter says. The interpreter is the one that runs the app:
 * `--python <path>` when given, else the first of the project's venv, python3 on PATH and Debian's
 * /usr/bin/python3 that imports gunicorn and the app's module (a pyenv python3 first on PATH, without
 * gunicorn, is passed over and said so). Looked up here once: the config then names it by absolute path.
 */
function pythonFacts(project: string, env: Readonly<Record<string, string | undefined>>, explicit: string | undefined, log: Context['log']): ProjectFacts {
  const wsgi = fileExists(join(project, 'app.py')) ? 'app:app' : fileExists(join(project, 'wsgi.py')) ? 'wsgi:app' : 'app:app';
  const tried: string[] = [];
  let chosen: { interpreter: string; out: string } | undefined;
  for (const interpreter of pythonCandidates(project, env, explicit)) {
    const r = askPython(interpreter, project, wsgi, env);
    if ('out' in r) {
      chosen = { interpreter, out: r.out };
      break;
    }
    tried.push(`${interpreter}: ${r.why}`);
  }
  if (!chosen) {
    throw new KeygateError('USAGE', `failed to init --python: no interpreter here runs the app under gunicorn (${tried.join('; ') || 'no python3 on PATH, no .venv'})`, {
      hint: explicit
        ? `install gunicorn for it (${explicit} -m pip install gunicorn), or name another: keygate init --python /usr/bin/python3`
        : 'apt-get install python3-flask gunicorn, or in a venv: python3 -m venv .venv && .venv/bin/pip install flask gunicorn; or name one: keygate init --python <path>',
    });
  }
  if (tried.length) log.warn(`python: passed over ${tried.join('; ')}`, { gate: 'init' });
  const [executable, ...paths] = chosen.out.split('\n');
  if (!executable?.startsWith('/')) throw new KeygateError('USAGE', `failed to init --python: ${chosen.interpreter} names no sys.executable`, { hint: 'pass a real interpreter: keygate init --python /usr/bin/python3' });
  const inProject = (p: string) => p === project || p.startsWith(`${project}/`);
  const dirs = [...new Set(paths.filter((p) => p.startsWith('/') && fileExists(p) && !inProject(p) && statSync(p).isDirectory()))];
  // lib-dynload sits inside the stdlib folder: a folder line covers everything under it
  const importPaths = dirs.filter((d) => !dirs.some((o) => o !== d && d.startsWith(`${o}/`)));
  // Symlinked folders in them (Debian's python3-babel): the template excludes each link and lists its target.
  const scan = findSymlinkedFolders(importPaths);
  // a venv inside the project: its site-packages are the app's dependencies, listed like node_modules
  // (its lib64 is a symlinked folder keygate does not follow: lib and pyvenv.cfg, which python reads, instead)
  const venvDirs = ['.venv', 'venv'].filter((d) => fileExists(join(project, d, 'pyvenv.cfg'))).flatMap((d) => [`${d}/pyvenv.cfg`, `${d}/lib`]);
  return {
    name: safeName(basename(project)),
    sourceDirs: [...SOURCE_DIRS.filter((d) => fileExists(join(project, d))), ...venvDirs],
    rootFiles: readdirSync(project, { withFileTypes: true })
      .filter((d) => d.isFile() && /\.(py|txt|toml|cfg|ini)$/.test(d.name))
      .map((d) => d.name)
      .sort(),
    hasNodeModules: false,
    lockfiles: [],
    python: { interpreter: executable, wsgi, importPaths, symlinkedFolders: scan.folders, importFiles: scan.files },
  };
}

/** Which interpreters init tries, in order, without duplicates. */
function pythonCandidates(project: string, env: Readonly<Record<string, string | undefined>>, explicit: string | undefined): string[] {
  if (explicit !== undefined) return [resolve(project, explicit)];
  const venv = ['.venv', 'venv'].map((d) => join(project, d, 'bin', 'python3')).filter((f) => fileExists(f));
  const onPathPython = onPath('python3', env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin');
  return [...new Set([...venv, ...(onPathPython ? [onPathPython] : []), ...(fileExists(DEBIAN_PYTHON) ? [DEBIAN_PYTHON] : [])])];
}

/** Debian's python3: the one `apt-get install python3-flask gunicorn` installs for. */
const DEBIAN_PYTHON = '/usr/bin/python3';

/**
 * Asks the interpreter, in the project folder, to import gunicorn and the app's module (what the backend's first
 * start will do), then for sys.executable and sys.path; or why it cannot.
 */
function askPython(interpreter: string, project: string, wsgi: string, env: Readonly<Record<string, string | undefined>>): { out: string } | { why: string } {
  const module = wsgi.split(':')[0]!;
  const script = `import sys; sys.path.insert(0, ''); import gunicorn, importlib; importlib.import_module(${JSON.stringify(module)}); del sys.path[0]; ${PYTHON_PATHS_SCRIPT}`;
  try {
    return { out: execFileSync(interpreter, ['-c', script], { cwd: project, encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: env['PATH'] ?? '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1' } }) };
  } catch (err) {
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT') return { why: 'not found' };
    const last = (e.stderr ?? '').trim().split('\n').pop() ?? '';
    return { why: /No module named '?gunicorn/.test(last) ? 'cannot import gunicorn' : last ? `cannot import the app (${module}): ${last}` : describeCause(err) };
  }
}

/** The first executable named `name` in PATH's absolute folders (init's one lookup; keygate itself never does). */
function onPath(name: string, path: string): string | undefined {
  for (const dir of path.split(':')) {
    if (!dir.startsWith('/')) continue;
    try {
      const f = join(dir, name);
      if (statSync(f).isFile()) return f;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * What init --dev left that production must not keep: the emulator folder, the dev CA's key and server
 * certificate, and the keystore and CA certificate when they are still the dev ones (the emulator's store holds
 * that keystore's sha256); a production keystore already created at that path is kept.
 */
function devLeftovers(project: string, keystore: string, alias: string): string[] {
  const emulator = join(project, DEV_EMULATOR);
  const files = devKeystoreFiles(keystore);
  const store = readStore(join(emulator, 'a2a-store.json'));
  const devSha = store.accounts[alias]?.keystoreSha256;
  const isDevKeystore = devSha !== undefined && fileExists(keystore) && sha256(readWhole(keystore)) === devSha;
  return [emulator, files.caKey, files.serverCert, ...(isDevKeystore ? [files.keystore, files.trust] : [])].filter((f) => fileExists(f));
}

/** The running bundle with its pin slot emptied: a fresh entry that pins its own project. */
function freshEntry(source: string): Buffer {
  const bytes = Buffer.from(readWhole(source));
  const marker = Buffer.from(PIN_MARKER);
  const at = bytes.indexOf(marker);
  if (at < 0 || bytes.indexOf(marker, at + 1) >= 0) {
    throw new KeygateError('PIN_INVALID', `failed to init: ${source} has no single pin slot`, { hint: 'reinstall keygate: npm install --save-dev keygate' });
  }
  bytes.write(UNPINNED, at + marker.length, 'latin1');
  return bytes;
}

/** The dev A2A emulator shipped beside the running bundle (<package>/dev/cspm); checked before init writes anything. */
function emulatorSource(entry: string): string {
  const source = join(dirname(dirname(entry)), 'dev', 'cspm');
  if (!fileExists(join(source, 'cspmclient', 'bin64', 'cspmclient64'))) {
    throw new KeygateError('USAGE', `failed to init --dev: the A2A emulator is not beside this keygate (${source}); run init from the keygate package`, {
      hint: 'keygate init --dev, run as npx keygate in the project (npm install --save-dev keygate first)',
    });
  }
  return source;
}

const init: Handler = async (ctx, args) => {
  const project = ctx.io.cwd;
  // the project entry (node keygate/main.cjs init --dev --refresh, as the 409 fix names it) refreshes its own project
  if (args['refresh'] && args['force']) throw new KeygateError('USAGE', 'failed to parse flags: --refresh writes none of the files --force would replace', { hint: 'keygate init --dev --refresh' });
  if (args['refresh']) return refreshDev(ctx, projectOfEntry(ctx.io.entry, ctx.io.invokedAs) ?? project);
  const entryRel = String(args['entry'] ?? DEFAULT_PROJECT_ENTRY).split(sep).join('/');
  const entryAbs = resolve(project, entryRel);
  const rel = relative(project, entryAbs);
  // The entry finds its project as its own folder or the one above (src/project.ts): keep it there.
  // .cjs: the bundle is CommonJS, and a .js file in a "type": "module" project would load as an ES module.
  if (rel.startsWith('..') || rel.split(sep).length > 2 || !rel.endsWith('.cjs')) {
    throw new KeygateError('USAGE', `failed to init: --entry ${entryRel} must be a .cjs file in the project folder or one folder below it`, {
      hint: `keygate init --entry ${DEFAULT_PROJECT_ENTRY}`,
    });
  }
  // --python alone: find the interpreter; --python <path>: that one (a string option: '' for the bare flag).
  const python = args['python'] as string | undefined;
  const port = Number(args['port']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new KeygateError('USAGE', '--port must be a whole number from 0 to 65535', { hint: 'keygate init --port 8443' });
  const dev = Boolean(args['dev']);
  const force = Boolean(args['force']);
  const facts = readFacts(project, python, ctx.io.env, ctx.log);
  // Python runs only as a backend (gunicorn on keygate's socket)
  const mode = args['backend'] || facts.python ? 'backend' : 'in-process';
  const emulator = dev ? emulatorSource(ctx.io.entry) : undefined; // fail before writing anything
  const choices: InitChoices = { entry: rel.split(sep).join('/'), mode, dev, port, keystore: `keystore/${facts.name}.p12`, ...(dev ? { devClient: DEV_CLIENT } : {}) };
  const unitFile = join(dirname(entryAbs), `${facts.name}.service`);
  const files: [string, string | Buffer, number][] = [
    [entryAbs, freshEntry(ctx.io.entry), 0o644],
    [join(project, TEMPLATE_FILE), templateText(facts, choices), 0o644],
    [join(project, CONFIG_FILE), `${JSON.stringify(configObject(facts, choices), null, 2)}\n`, 0o644],
    [unitFile, systemdUnit(facts, { projectDir: project, entryAbs, nodePath: ctx.io.nodePath, separated: choices.mode === 'backend' && !choices.dev }), 0o644],
  ];
  // --dev keeps a dev keystore the emulator still opens (clients keep trusting its CA); any other keystore at
  // that path is a file in the way like the others (it may be one PAM rotates).
  const devKeystore = dev ? devKeystoreFiles(resolve(project, choices.keystore)) : undefined;
  const reuseKeystore = devKeystore !== undefined && !devKeystoreStale(devKeystore, readStore(join(project, DEV_EMULATOR, 'a2a-store.json')), facts.name, new Date());
  // Production init over a dev setup: the emulator (a plain-text password store) and the dev CA go.
  const leftovers = dev ? [] : devLeftovers(project, resolve(project, choices.keystore), facts.name);
  // Nothing is written unless everything can be: one refusal lists every file in the way.
  const inTheWay = [...files.map(([f]) => f), ...(devKeystore && !reuseKeystore ? [devKeystore.keystore] : [])].filter((f) => fileExists(f));
  if ((inTheWay.length || leftovers.length) && !force) {
    const what = [
      ...(inTheWay.length ? [`would overwrite ${inTheWay.map((f) => relative(project, f)).join(', ')}`] : []),
      ...(leftovers.length ? [`would remove the dev setup ${leftovers.map((f) => relative(project, f)).join(', ')}`] : []),
    ];
    throw new KeygateError('USAGE', `failed to init: ${what.join('; ')}`, {
      hint: 'keygate init --force (replaces them; keep your own edits elsewhere first)',
    });
  }
  for (const f of leftovers) rmSync(f, { recursive: true, force: true });
  if (leftovers.length) ctx.log.warn(`removed the dev setup: ${leftovers.map((f) => relative(project, f)).join(', ')} (the emulator's store held the dev passwords in plain text)`);
  for (const [file, data, fileMode] of files) writeAtomicIn(file, data, fileMode);
  ctx.log.info(`wrote ${files.map(([f]) => relative(project, f)).join(', ')}`);
  if (facts.python) {
    const py = facts.python;
    const links = py.symlinkedFolders.length ? `, and ${py.symlinkedFolders.length} symlinked folder${py.symlinkedFolders.length > 1 ? 's' : ''} in them by target (${py.symlinkedFolders.map((f) => f.link).join(', ')})` : '';
    ctx.log.info(`python backend: ${py.interpreter} -m gunicorn ${py.wsgi} on keygate's unix socket; the template lists it and the ${py.importPaths.length} folders it imports from (${py.importPaths.join(', ')}: ${py.importFiles} files)${links}`);
  }
  else if (!facts.main) ctx.log.warn(`package.json names no main module that exists: set server.${mode === 'backend' ? 'backend.command' : 'handler'} in ${CONFIG_FILE}`);
  if (mode === 'in-process') {
    ctx.log.info(`in-process app: ${facts.main ?? 'index.js'} must export the app (module.exports = app, or { handle(req, res, ctx) }) without calling listen; --backend runs it as its own process instead (recommended: docs/backend.md)`);
  }

  const invocation = invocationOf(entryAbs, project);
  if (emulator) {
    await devSetup(ctx, emulator, project, entryAbs, facts, reuseKeystore ? undefined : devKeystore);
    ctx.io.stdout.write(`${entryAbs}\n`);
    ctx.log.info(`next: ${invocation} serve   (dev emulator, NOT a vault; production: docs/getting-started.md)`);
    return EXIT.OK;
  }
  ctx.log.info(renderHint(`the entry PAM hashes: ${entryAbs} sha256 ${sha256(readWhole(entryAbs))} (unpinned: keygate pin prints the hash to register)`, ctx.invocation ?? 'keygate'));
  ctx.io.stdout.write(`${entryAbs}\n`);
  const next = `next: create the keystore (keygate keystore create --password-file <file> --out ${choices.keystore}), set vault.alias, then keygate generate-filelist && keygate pin, register the entry path and the hash pin prints in PAM's A2A Script, then start: ${invocation} serve`;
  ctx.log.info(renderHint(next, ctx.invocation ?? 'keygate'));
  return EXIT.OK;
};

/** --dev: emulator, demo keystore (password known only to the emulator), generate, pin, register. */
async function devSetup(ctx: Context, source: string, project: string, entryAbs: string, facts: ProjectFacts, keystore: DevKeystoreFiles | undefined): Promise<void> {
  const emulator = join(project, DEV_EMULATOR);
  cpSync(source, emulator, { recursive: true, filter: (f) => !/a2a-(store\.json|calls\.log)$/.test(f) });
  ctx.log.warn(`init --dev: copied the A2A EMULATOR to ${DEV_EMULATOR}: NOT a vault, for development only`);
  const storeFile = join(emulator, 'a2a-store.json');
  const store = readStore(storeFile);
  if (keystore) {
    await createDevKeystore(keystore, store, facts.name);
    ctx.log.info(`created dev keystore ${relative(project, keystore.keystore)} with a server certificate issued by a dev CA (trust ${relative(project, keystore.trust)}); both passwords are only in the emulator's store`);
  } else ctx.log.info('kept the dev keystore: the emulator opens it and its certificate is valid');
  writeStore(storeFile, store);
  await registerWithEmulator(ctx, project, entryAbs, storeFile);
}

/** Generate, pin, and register the entry's new sha256 in the emulator's store (what PAM's A2A Script is). */
async function registerWithEmulator(ctx: Context, project: string, entryAbs: string, storeFile: string): Promise<void> {
  const paths = resolvePaths(project, { entry: entryAbs }, ctx.io.env);
  // Signed releases: a manifest pin would replace the trust root (and PAM's registration). Refused, as by pin,
  // unless the entry pins the trust root as it is: then the pin stays, the manifest is regenerated, and the
  // emulator learns the entry as it is; the new manifest starts once it is signed.
  let pin: string | undefined;
  try {
    pin = readPin(entryAbs);
  } catch {
    pin = undefined;
  }
  const refusal = trustRootReplaceRefusal(paths, pin);
  if (refusal && !(pin !== undefined && pinsTrustRoot(paths.template, pin))) throw refusal;
  const built = await generateFilelist(paths, { env: ctx.io.env, nodePath: ctx.io.nodePath });
  const entrySha256 = refusal ? sha256(readWhole(entryAbs)) : pinEntry(paths).entrySha256;
  const store = readStore(storeFile);
  store.scripts = store.scripts.filter((s) => s.path !== entryAbs);
  store.scripts.push({ path: entryAbs, sha256: entrySha256 });
  writeStore(storeFile, store);
  if (refusal) {
    ctx.log.info(`manifest ${built.sha256} (${built.files} files) written; the entry keeps its release trust root (sha256 ${entrySha256}, registered with the emulator); it starts once signed: ${RELEASE_SIGN_FIX}`);
  } else ctx.log.info(`manifest ${built.sha256} (${built.files} files) pinned; entry ${entryAbs} sha256 ${entrySha256} registered with the emulator`);
}

/**
 * init --dev --refresh: the dev loop after editing keygate.config.json or filelist.template. Re-generates,
 * re-pins and re-registers with the project's emulator; writes none of the files init made, nor the keystore.
 */
async function refreshDev(ctx: Context, project: string): Promise<ExitStatus> {
  const storeFile = join(project, DEV_EMULATOR, 'a2a-store.json');
  if (!fileExists(join(project, DEV_CLIENT))) {
    throw new KeygateError('USAGE', `failed to refresh: ${project} has no dev emulator (${DEV_EMULATOR})`, {
      hint: 'set the project up for development first: keygate init --dev',
    });
  }
  const entryAbs = configuredEntry(project) ?? resolve(project, DEFAULT_PROJECT_ENTRY);
  if (!fileExists(entryAbs)) {
    throw new KeygateError('USAGE', `failed to refresh: the entry ${entryAbs} does not exist`, { hint: 'keygate init --dev --force (writes the entry again)' });
  }
  await registerWithEmulator(ctx, project, entryAbs, storeFile);
  ctx.log.info(`next: ${invocationOf(entryAbs, project)} serve   (your keygate.config.json and filelist.template were not touched)`);
  return EXIT.OK;
}

export function initCommand(choose: Choose): CommandModule {
  return {
    command: 'init',
    describe: 'set keygate up in this Node project: its own entry (the file PAM hashes), filelist.template, keygate.config.json, a systemd unit',
    builder: (y) =>
      y
        .option('entry', { type: 'string', default: DEFAULT_PROJECT_ENTRY, describe: 'where to write the entry (a .cjs file in the project or one folder below)' })
        .option('backend', { type: 'boolean', default: false, describe: 'run the app as its own process behind keygate (server.backend), not in-process' })
        .option('python', { type: 'string', describe: 'a Python service (gunicorn on keygate\'s socket; no package.json needed; found by itself beside app.py, wsgi.py or requirements.txt); --python <path> names the interpreter, else the first of .venv, python3 on PATH and /usr/bin/python3 that imports gunicorn and the app' })
        .option('port', { type: 'number', default: 8443, describe: 'HTTPS port' })
        .option('dev', { type: 'boolean', default: false, describe: 'also set up the dev A2A emulator (NOT a vault) and a dev keystore, generate and pin: serve works at once' })
        .option('force', { type: 'boolean', default: false, describe: 'replace files init wrote before' })
        .option('refresh', { type: 'boolean', default: false, describe: 'with --dev: re-generate, re-pin and re-register with the dev emulator after you edited the config or template; writes nothing else' })
        .example('$0 init --dev', 'then: node keygate/main.cjs serve')
        .example('$0 init --dev --python', 'a Flask app (app.py): gunicorn behind keygate, the stdlib and site-packages listed')
        .example('$0 init --dev --refresh', 'after editing keygate.config.json or filelist.template (dev)')
        .epilogue(EXIT_EPILOGUE),
    handler: choose(init),
  };
}
