// What `keygate init` writes into an existing Node project, as pure functions of what it found there: the
// filelist template, keygate.config.json and a systemd unit. src/commands/init.ts gathers the facts and writes.

import { symlinkLines, type SymlinkedFolder } from './template.js';

/** What init found in the project folder. */
export interface ProjectFacts {
  /** package.json "name", made safe for file and unit names. */
  readonly name: string;
  /** The app's main module (package.json "main", else index.js), relative to the project, when it exists. */
  readonly main?: string;
  /** Folders of app code and assets that exist (src, lib, app, routes, views, public, ...). */
  readonly sourceDirs: readonly string[];
  /**
   * The project root's own code and data files (*.js, *.cjs, *.json but package.json, the lockfiles and
   * keygate.config.json): `main: server.js` that does require('./app') needs app.js listed too.
   */
  readonly rootFiles?: readonly string[];
  readonly hasNodeModules: boolean;
  /** package-lock.json, npm-shrinkwrap.json: present ones. */
  readonly lockfiles: readonly string[];
  /** A Python service (init --python, or no package.json beside app.py/wsgi.py/requirements.txt). */
  readonly python?: PythonFacts;
}

/** What the interpreter itself says (init asks it; keygate does no PATH lookup at start). */
export interface PythonFacts {
  /** The interpreter by absolute path (a venv's when the project has one): server.backend.command[0]. */
  readonly interpreter: string;
  /** gunicorn's WSGI target: `app:app` for app.py, `wsgi:app` for wsgi.py. */
  readonly wsgi: string;
  /** Existing folders of the interpreter's sys.path outside the project: the stdlib, site/dist-packages. */
  readonly importPaths: readonly string[];
  /** Symlinked folders inside them (Debian's python3-babel): each link excluded, its target listed. */
  readonly symlinkedFolders: readonly SymlinkedFolder[];
  /** How many files the import folders hold (what the manifest will list of them): said, never a surprise. */
  readonly importFiles: number;
}

/** Files that mark a folder as a Python service for init (with no package.json). */
export const PYTHON_MARKERS = ['app.py', 'wsgi.py', 'requirements.txt', 'pyproject.toml'] as const;

/**
 * Asked of the interpreter: sys.executable (the real program behind a pyenv shim or a PATH wrapper; a venv's own
 * python), then its sys.path, one folder a line (site imports what .pth files add).
 */
export const PYTHON_PATHS_SCRIPT = 'import sys; print(sys.executable); print("\\n".join(p for p in sys.path if p))';

export interface InitChoices {
  /** The project entry, relative to the project (the file PAM hashes). */
  readonly entry: string;
  readonly mode: 'in-process' | 'backend';
  readonly dev: boolean;
  readonly port: number;
  /** vault.clientPath for --dev (the emulator copied into the project), relative. */
  readonly devClient?: string;
  readonly keystore: string;
}

export interface UnitChoices {
  readonly projectDir: string;
  readonly entryAbs: string;
  readonly nodePath: string;
  /** Backend mode in production: keygate starts as root and separates (docs/backend.md#privilege-separation). */
  readonly separated?: boolean;
}

/** The two users of privilege separation, from the service's name: it serves as one, its app runs as the other. */
export function separationUsers(facts: ProjectFacts): { server: string; backend: string } {
  return { server: facts.name.slice(0, 28), backend: `${facts.name.slice(0, 28)}-app` };
}

/** Folders commonly holding an app's code or assets; the ones that exist are listed whole. */
export const SOURCE_DIRS = ['src', 'lib', 'app', 'routes', 'views', 'public', 'static', 'config', 'server', 'templates'] as const;

/** package.json "name" → a safe short name: `@acme/shop-api` → `shop-api`. */
export function safeName(raw: unknown): string {
  const base = typeof raw === 'string' ? raw.replace(/^@[^/]+\//, '') : '';
  const safe = base.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  return safe || 'service';
}

export function templateText(facts: ProjectFacts, choices: InitChoices): string {
  if (facts.python) return pythonTemplateText(facts, facts.python, choices);
  const lines = [
    `# ${facts.name}: every file the gated start verifies (syntax: docs/template.md in the keygate package).`,
    `# ${choices.entry} is not listed: the vault hashes it, and it pins this list's sha256.`,
    '# After any change here or in a listed file: npx keygate generate-filelist && npx keygate pin,',
    '# then register the entry hash pin prints in PAM.',
    '',
    '# the app',
    'package.json',
    ...facts.lockfiles,
    ...new Set([...(facts.main && !facts.sourceDirs.some((d) => facts.main!.startsWith(`${d}/`)) ? [facts.main] : []), ...(facts.rootFiles ?? [])]),
    ...facts.sourceDirs,
    '',
    '# settings keygate reads (from verified bytes)',
    'keygate.config.json',
  ];
  if (facts.hasNodeModules) {
    lines.push(
      '',
      "# the app's dependencies; keygate's own package copy is not part of the service (npx keygate runs it)",
      'node_modules',
      '!node_modules/keygate',
      '# caches that tools rewrite (babel, eslint, webpack) are not code the app loads',
      '!node_modules/.cache',
      '!node_modules/.bin/keygate',
      '!node_modules/.bin/generate-filelist',
    );
  }
  lines.push(
    '',
    '# the node executable that runs the entry, and the vault client that receives the password (both are',
    '# trust anchors too: in production root must own them)',
    '${NODE}',
    '${VAULT_CLIENT}',
  );
  if (choices.mode === 'backend') lines.push('# the backend program (server.backend.command[0])', '${BACKEND}');
  return `${lines.join('\n')}\n`;
}

/** A Python service's template: its code, the interpreter (${BACKEND}) and every folder it imports from. */
function pythonTemplateText(facts: ProjectFacts, py: PythonFacts, choices: InitChoices): string {
  const lines = [
    `# ${facts.name}: every file the gated start verifies (syntax: docs/template.md in the keygate package).`,
    `# ${choices.entry} is not listed: the vault hashes it, and it pins this list's sha256.`,
    '# After any change here or in a listed file (an edit, pip install, apt upgrade of python3):',
    '# node ' + choices.entry + ' generate-filelist && node ' + choices.entry + ' pin, then register the entry hash in PAM (docs/patching.md).',
    '',
    '# the app',
    ...new Set([...(facts.rootFiles ?? []), ...facts.sourceDirs]),
    '',
    '# settings keygate reads (from verified bytes)',
    'keygate.config.json',
    '',
    '# the interpreter (server.backend.command[0], by its realpath) and every folder it imports from:',
    `# ${py.interpreter} -c 'import sys; print(sys.path)' lists them (the stdlib, site- and dist-packages)`,
    '${BACKEND}',
    ...py.importPaths,
    ...(py.symlinkedFolders.length
      ? ['# symlinked folders in them (keygate does not follow a link inside a listed folder): the link excluded, its', '# target listed (docs/template.md#symlinks)', ...symlinkLines(py.symlinkedFolders)]
      : []),
    '',
    '# the node executable that runs the entry, and the vault client that receives the password (both are',
    '# trust anchors too: in production root must own them)',
    '${NODE}',
    '${VAULT_CLIENT}',
  ];
  return `${lines.join('\n')}\n`;
}

/** gunicorn on keygate's unix socket, run by the interpreter (so ${BACKEND} is the program keygate verifies). */
export function pythonCommand(py: PythonFacts): string[] {
  return [py.interpreter, '-m', 'gunicorn', '--bind', 'unix:${SOCKET}', '--workers', '2', py.wsgi];
}

export function configObject(facts: ProjectFacts, choices: InitChoices): Record<string, unknown> {
  const app = facts.main ?? 'index.js';
  const server: Record<string, unknown> = { host: '127.0.0.1', port: choices.port };
  if (choices.mode === 'backend') {
    // Production separates: the app runs as a user of its own, which the kernel keeps out of keygate's memory.
    const users = choices.dev ? undefined : separationUsers(facts);
    if (users) server['user'] = users.server;
    server['backend'] = {
      $comment: `${
        facts.python
          ? `gunicorn serves ${facts.python.wsgi} on keygate's unix socket (pip install gunicorn, or apt-get install gunicorn).`
          : 'The app listens on the unix socket path it gets as its first argument: app.listen(process.argv[2]).'
      }${users ? ` It runs as ${users.backend}, keygate serves as ${users.server} (create both: useradd --system; docs/backend.md#privilege-separation).` : ' (docs/backend.md)'}`,
      command: facts.python ? pythonCommand(facts.python) : ['${NODE}', app, '${SOCKET}'],
      listen: 'unix',
      ...(users ? { user: users.backend } : {}),
    };
  } else {
    server['handler'] = app;
  }
  return {
    $comment: choices.dev
      ? 'Written by keygate init --dev: the vault is keygate\'s A2A EMULATOR (NOT a vault). For production run keygate init --force without --dev, or drop vault.clientPath, set vault.alias to your PAM target account alias and trust.anchors to "refuse".'
      : 'Written by keygate init. vault.alias: your PAM target account alias; vault.clientPath defaults to $CSPM_CLIENT_HOME/cspmclient/bin64/cspmclient64. Every setting: docs/configuration.md.',
    entry: choices.entry,
    vault: { provider: 'cspm', ...(choices.devClient ? { clientPath: choices.devClient } : {}), alias: facts.name, output: 'xml' },
    keystore: { path: choices.keystore },
    server,
    ...(choices.dev ? { trust: { $comment: 'dev only: in production root owns node, the entry and the vault client, and this is "refuse" (the default).', anchors: 'warn' } } : {}),
  };
}

/** A path as one systemd word: quoted when it holds a space or a quote; `%` doubled (systemd's specifier sign). */
export function systemdWord(path: string): string {
  const escaped = path.replaceAll('%', '%%');
  return /[\s"'\\]/.test(escaped) ? `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"` : escaped;
}

/** The separated unit's capability bounding set: the least the root half needs (test/systemd-boot.e2e.test.ts). */
export const SEPARATED_CAPABILITIES = 'CAP_SETUID CAP_SETGID CAP_CHOWN CAP_KILL';

/**
 * The sandbox both units share. Each line is run under a real systemd by test/systemd-boot.e2e.test.ts (the
 * units start, answer, reload and stop with it). No MemoryDenyWriteExecute=: V8's JIT needs W+X pages.
 */
const HARDENING = `NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
LockPersonality=yes
UMask=0077`;

/** A systemd unit for the service, hardened; the user edits User= and the vault client's environment. */
export function systemdUnit(facts: ProjectFacts, unit: UnitChoices): string {
  if (unit.separated) return separatedUnit(facts, unit);
  return `# ${facts.name}.service, written by keygate init. Install: cp it to /etc/systemd/system/, edit User= and
# CSPM_CLIENT_HOME, then: systemctl daemon-reload && systemctl enable --now ${facts.name}
# The entry, node and the vault client must be owned by root (not by User=): keygate refuses to start otherwise.
[Unit]
Description=${facts.name} behind keygate (verify every file, then ask the vault, then serve HTTPS)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=${facts.name}
# ExecStart names node and the entry by absolute path: PAM hashes the entry, keygate finds the project from it
ExecStart=${systemdWord(unit.nodePath)} ${systemdWord(unit.entryAbs)} serve
WorkingDirectory=${unit.projectDir.replaceAll('%', '%%')}
Environment=CSPM_CLIENT_HOME=/opt/CA/cspm
# the A2A client keeps its cache and logs under its home: writable there only (- : ignored when absent)
ReadWritePaths=-/opt/CA/cspm
# systemctl reload: SIGHUP = ask the vault again (cache bypassed), re-read the keystore, swap it in; no restart
ExecReload=/bin/kill -HUP $MAINPID
# exit 2 usage/config, 3 integrity, 4 vault, 5 keystore, 7 input do not heal by restarting (docs/errors.md)
Restart=on-failure
RestartPreventExitStatus=2 3 4 5 7
TimeoutStopSec=30
# the backend's socket folder (server.backend, listen unix)
RuntimeDirectory=${facts.name}
RuntimeDirectoryMode=0700
${HARDENING}

[Install]
WantedBy=multi-user.target
`;
}

/**
 * Backend mode in production: started as root with only the capabilities the split needs. The root half
 * verifies, starts the backend as server.backend.user and a fresh keygate as server.user, then keeps only the
 * right to restart and signal them; it never asks the vault (docs/backend.md#privilege-separation).
 */
function separatedUnit(facts: ProjectFacts, unit: UnitChoices): string {
  const users = separationUsers(facts);
  return `# ${facts.name}.service, written by keygate init --backend. Install: create the two users, cp this file to
# /etc/systemd/system/, edit CSPM_CLIENT_HOME, then: systemctl daemon-reload && systemctl enable --now ${facts.name}
#   useradd --system --no-create-home --shell /usr/sbin/nologin ${users.server}
#   useradd --system --no-create-home --shell /usr/sbin/nologin ${users.backend}
#   chown -R ${users.server}: <the keystore folder>; chmod 700 <the keystore folder>
# keygate starts as root: it verifies, starts the app as ${users.backend}, then serves and asks the vault as
# ${users.server} (register that user with the entry in PAM). The entry, node and the vault client are root's.
[Unit]
Description=${facts.name} behind keygate (verify every file, then ask the vault, then serve HTTPS)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
# no User=: root, limited to switching users (SETUID, SETGID), handing the app's socket folder over and back
# (CHOWN) and signalling the processes it started (KILL); no DAC override: root reads what others may read
CapabilityBoundingSet=${SEPARATED_CAPABILITIES}
ExecStart=${systemdWord(unit.nodePath)} ${systemdWord(unit.entryAbs)} serve
WorkingDirectory=${unit.projectDir.replaceAll('%', '%%')}
Environment=CSPM_CLIENT_HOME=/opt/CA/cspm
ReadWritePaths=-/opt/CA/cspm
# systemctl reload: SIGHUP to the root half, which passes it to the serving half (vault again, keystore swapped)
ExecReload=/bin/kill -HUP $MAINPID
# exit 2 usage/config, 3 integrity, 4 vault, 5 keystore, 7 input do not heal by restarting (docs/errors.md)
Restart=on-failure
RestartPreventExitStatus=2 3 4 5 7
# SIGTERM to keygate's root half only: it drains the serving half, then stops the app; then SIGKILL to all
KillMode=mixed
TimeoutStopSec=30
# the backend's socket folders are made inside it (root's 0711, in it the app's 0710 for keygate's group)
RuntimeDirectory=${facts.name}
RuntimeDirectoryMode=0711
# signed releases: the host's floor (keygate pin --state-file /var/lib/keygate/<project>.version), root's,
# writable under ProtectSystem=strict
StateDirectory=keygate
StateDirectoryMode=0755
# other users' processes are invisible in /proc (the app cannot even list keygate's)
ProtectProc=invisible
ProcSubset=pid
${HARDENING}

[Install]
WantedBy=multi-user.target
`;
}
