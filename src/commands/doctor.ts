// doctor: would a production start pass? It answers from that start's point of view: it verifies what serve
// verifies (naming a changed file, with verify's fix: restore first), judges the trust anchors and the users as
// production does ("warn" and the dev emulator are problems there), and tries every file a start reads as the user
// that reads it (server.user, the unit's User=, or --user; as root in a child under that uid). A config with a
// problem is that one problem and the other checks wait: they never guess with defaults. It never asks the vault
// and never opens the keystore (that needs the password): the certificate is read from the .crt beside it.
// Exit 0 when every check passes, 3 when any would stop a production start (docs/errors.md).

import { X509Certificate } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, openSync, readSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import type { AcmeConfig } from '../core/acme-config.js';
import { EXIT, isKeygateError, describeCause } from '../errors.js';
import type { Context, Handler } from '../context.js';
import { validateConfig, DEFAULT_CONFIG, type Config } from '../core/config.js';
import { vaultClientPath } from '../core/vault-client.js';
import { parseManifest } from '../core/manifest.js';
import { assertVerifiedConfig, integrityError, readPin, verifyTree, type IntegrityPaths } from '../gate/integrity.js';
import { envelopePath, trustPath, type ReleaseInfo } from '../gate/release.js';
import { entryPackageJsons, findAnchorProblems } from '../gate/trust-anchors.js';
import { resolveIdentity, separationIdentities } from '../backend/identity.js';
import { probeAsUser, type AsUser, type Denied, type Probe } from '../adapters/read-as-user.js';
import { besideKeystore, readWhole } from '../adapters/files.js';
import { CONFIG_FILE, renderHint, shellWord } from '../project.js';
import { EXIT_EPILOGUE, INTEGRITY_FLAGS, envFrom, pathsFrom, withFlags, type Choose } from './common.js';

export interface DoctorCheck {
  readonly check: 'config' | 'pin' | 'users' | 'anchors' | 'vault-client' | 'access' | 'backend' | 'certificate';
  /** ok; problem: a production start would stop (or run unsafely); unknown: doctor cannot tell (says why); skipped: an earlier problem first. */
  readonly status: 'ok' | 'problem' | 'unknown' | 'skipped';
  readonly detail: string;
  readonly fix?: string;
}

/** Days a certificate may have left before doctor says so (not a problem: the start warns too). */
const EXPIRY_WARN_DAYS = 30;
/** Days left under which the start log's warning says "now" (src/gate/unlock.ts), and so does doctor. */
const EXPIRY_URGENT_DAYS = 7;

/** The line the dev A2A emulator (dev/cspm) carries at its top: how doctor knows it when it sits where PAM's client goes. */
const EMULATOR_MARK = 'keygate A2A EMULATOR';

const doctor: Handler = async (ctx, args) => {
  const paths = pathsFrom(ctx, args); // a config that is not JSON stops here, as for every command (CONFIG_INVALID)
  const base = dirname(paths.template);
  const checks: DoctorCheck[] = [];
  const fix = (hint: string | undefined) => (hint ? renderHint(hint, ctx.invocation ?? 'keygate') : undefined);

  // The config as serve reads it. No file is every default (serve's rule too); a file with a problem is that one
  // problem, and every other check waits for it: guessing with defaults would send the user after the wrong files.
  let config: Config | undefined = DEFAULT_CONFIG;
  const configFile = resolve(base, CONFIG_FILE);
  if (existsSync(configFile)) {
    const result = validateConfig(JSON.parse(readWhole(configFile).toString('utf8')));
    config = result.ok ? result.config : undefined;
    checks.push(
      result.ok
        ? { check: 'config', status: 'ok', detail: `${CONFIG_FILE} is valid` }
        : { check: 'config', status: 'problem', detail: `${CONFIG_FILE}: ${result.errors.join('; ')}`, fix: 'fix the settings (docs/configuration.md), then keygate generate-filelist && keygate pin' },
    );
  } else checks.push({ check: 'config', status: 'ok', detail: `no ${CONFIG_FILE}: every default` });

  if (config === undefined) {
    for (const check of ['pin', 'users', 'anchors', 'vault-client', 'access', 'certificate'] as const) {
      checks.push({ check, status: 'skipped', detail: `skipped until ${CONFIG_FILE} is fixed (it decides what a start reads)` });
    }
  } else await runChecks(ctx, args, config, paths, checks);
  for (const [i, c] of checks.entries()) if (c.fix) checks[i] = { ...c, fix: fix(c.fix) }; // as this user runs keygate

  const problems = checks.filter((c) => c.status === 'problem').length;
  if (args['json']) ctx.io.stdout.write(`${JSON.stringify({ ok: problems === 0, checks }, null, 2)}\n`);
  else {
    for (const c of checks) ctx.io.stdout.write(`${c.status.padEnd(7)} ${c.check.padEnd(12)} ${c.detail}\n${c.fix ? `${' '.repeat(21)}fix: ${c.fix}\n` : ''}`);
  }
  if (problems === 0) {
    ctx.log.info('doctor: a production start would pass these checks (the vault was not asked)');
    return EXIT.OK;
  }
  const skipped = checks.filter((c) => c.status === 'skipped').length;
  ctx.log.error(`doctor: ${problems} problem${problems > 1 ? 's' : ''} would stop a production start${skipped ? ` (${skipped} checks skipped until it is fixed)` : ''}`);
  return 3;
};

/** Every check after the config: what serve verifies and reads, as the user that reads it in production. */
async function runChecks(ctx: Context, args: Record<string, unknown>, config: Config, paths: IntegrityPaths, checks: DoctorCheck[]): Promise<void> {
  const base = dirname(paths.template);
  const { check: pin, manifest, release } = await pinCheck(ctx, args, paths);
  checks.push(pin);

  const serving = servingUser(ctx, args, config, paths);
  if (serving.check) checks.push(serving.check);

  const client = vaultClientPath(config.vault, base, ctx.io.env);
  checks.push(anchorsCheck(ctx, config, paths, client, serving.user?.uid));
  checks.push(vaultClientCheck(client, config, ctx.io.env));

  if (serving.user) {
    const keystore = resolve(base, config.keystore.path);
    const read = [paths.entry, paths.template, paths.manifest, ...(existsSync(resolve(base, CONFIG_FILE)) ? [resolve(base, CONFIG_FILE)] : []), keystore];
    const trust = trustPath(paths.template);
    if (existsSync(trust)) read.push(trust, envelopePath(paths.manifest));
    if (release?.stateFile && existsSync(release.stateFile)) read.push(release.stateFile);
    for (const p of manifest?.keys() ?? []) read.push(resolve(base, p)); // every file serve hashes
    checks.push(accessCheck(serving.user, { read: [...new Set(read)], run: [ctx.io.nodePath, client] }, ctx.io.nodePath, { keystore, adminKey: config.admin ? resolve(base, config.admin.serverKey) : undefined }));
  } else checks.push({ check: 'access', status: 'skipped', detail: `skipped: ${serving.why}` });

  if (config.server.backend) checks.push(backendCheck(config, ctx.io.nodePath, paths.manifest));
  checks.push(certificateCheck(resolve(base, config.keystore.path), new Date(), config.server.acme));
}

/**
 * What serve verifies: the manifest against the pin (or a signed release), every file against the manifest, new
 * files, the config listed. Named as verify names them, with verify's fix: restore first, re-pin only if intended.
 */
async function pinCheck(ctx: Context, args: Record<string, unknown>, paths: IntegrityPaths): Promise<{ check: DoctorCheck; manifest?: ReadonlyMap<string, string>; release?: ReleaseInfo }> {
  let manifest: ReadonlyMap<string, string> | undefined;
  try {
    const report = await verifyTree(paths, readPin(paths.entry), envFrom(ctx, args, 'doctor'));
    manifest = report.manifest;
    if (!report.ok) throw integrityError(report);
    assertVerifiedConfig(paths, report.manifest);
    const detail = report.release
      ? `current: ${paths.entry} pins the release keys; release ${report.release.payload.version} signs ${report.manifestSha256}`
      : `current: ${paths.entry} pins ${report.manifestSha256}`;
    return { check: { check: 'pin', status: 'ok', detail }, manifest, ...(report.release ? { release: report.release } : {}) };
  } catch (err) {
    if (!isKeygateError(err)) throw err;
    // the rows under the first line, one per file: "changed: app.js"
    const [first, ...rows] = err.message.split('\n');
    const detail = [`${err.code}: ${first}`, ...rows.map((r) => r.trim().replace(/^(\w+):\s+/, '$1: '))].join('; ');
    if (!manifest) manifest = manifestOnDisk(paths.manifest);
    return { check: { check: 'pin', status: 'problem', detail, ...(err.hint ? { fix: err.hint } : {}) }, manifest };
  }
}

function manifestOnDisk(file: string): ReadonlyMap<string, string> | undefined {
  try {
    return parseManifest(readWhole(file));
  } catch {
    return undefined; // the pin check says why
  }
}

interface ServingUser extends AsUser {
  /** As the user wrote it, for messages and fix lines. */
  readonly name: string;
  /** Where doctor took it from. */
  readonly source: string;
}

/**
 * The user a production start reads as: with privilege separation server.user (the serving half verifies and
 * reads the keystore); else --user, the User= of the unit keygate init wrote beside the entry, or the user
 * doctor runs as. Unknown users are a problem here, with serve's own message and fix.
 */
function servingUser(ctx: Context, args: Record<string, unknown>, config: Config, paths: IntegrityPaths): { user?: ServingUser; check?: DoctorCheck; why: string } {
  const backend = config.server.backend;
  if (backend?.user !== undefined) {
    try {
      const ids = separationIdentities(config.server, backend);
      const check: DoctorCheck = { check: 'users', status: 'ok', detail: `server.user ${ids.server.name} (uid ${ids.server.uid}) serves and asks the vault; server.backend.user ${ids.backend.name} (uid ${ids.backend.uid}) runs the app` };
      return { user: { ...ids.server, source: 'server.user' }, check, why: '' };
    } catch (err) {
      if (!isKeygateError(err)) throw err;
      return { check: { check: 'users', status: 'problem', detail: `${err.code}: ${err.message}`, ...(err.hint ? { fix: err.hint } : {}) }, why: 'server.user or server.backend.user is not usable (users)' };
    }
  }
  const named = args['user'] as string | undefined;
  const unit = named === undefined ? unitUser(paths.entry) : undefined;
  const wanted = named ?? unit?.user;
  if (wanted === undefined) {
    const uid = process.getuid?.() ?? 0;
    const name = safeUserName() ?? String(uid);
    return { user: { uid, gid: process.getgid?.() ?? 0, hasPasswdEntry: true, name, source: 'the user doctor runs as; --user names another' }, why: '' };
  }
  const source = named !== undefined ? '--user' : `User= in ${unit!.file}`;
  if (wanted === 'root' || wanted === '0') return { user: { uid: 0, gid: 0, hasPasswdEntry: true, name: 'root', source }, why: '' };
  try {
    const id = resolveIdentity(wanted, undefined, 'server');
    return { user: { ...id, source }, why: '' };
  } catch (err) {
    if (!isKeygateError(err)) throw err;
    const detail = `${err.code}: failed to find the user ${wanted} (${source}): ${err.message.replace(/^.*?: /, '')}`;
    return { check: { check: 'users', status: 'problem', detail, ...(err.hint ? { fix: err.hint } : {}) }, why: `the user ${wanted} is unknown (users)` };
  }
}

/** The User= line of the unit keygate init wrote beside the entry (`<name>.service`), if there is one. */
function unitUser(entry: string): { user: string; file: string } | undefined {
  let names: string[];
  try {
    names = readdirSync(dirname(entry)).filter((n) => n.endsWith('.service')).sort();
  } catch {
    return undefined;
  }
  for (const n of names) {
    const file = join(dirname(entry), n);
    try {
      const m = /^User=(\S+)\s*$/m.exec(readWhole(file).toString('utf8'));
      if (m) return { user: m[1]!, file };
    } catch {
      // unreadable unit: doctor falls back to its own user and says so
    }
  }
  return undefined;
}

function safeUserName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/**
 * Ownership of what runs before the gate or receives the password, judged for the serving user (a file that user
 * owns is one it could change). trust.anchors "warn" is itself a problem: production must refuse.
 */
function anchorsCheck(ctx: Context, config: Config, paths: IntegrityPaths, client: string, servingUid: number | undefined): DoctorCheck {
  const anchors = [
    { what: 'the node executable', path: ctx.io.nodePath },
    { what: 'the main entry', path: paths.entry },
    ...entryPackageJsons(paths.entry).map((path) => ({ what: "the entry's package.json", path })),
    // a vault client that is not there is the vault-client check's finding: chown cannot fix it
    ...(existsSync(client) ? [{ what: 'the vault client', path: client }] : []),
  ];
  if (process.platform === 'win32') return { check: 'anchors', status: 'unknown', detail: 'not checked on Windows by doctor: serve checks the ACLs at start' };
  const problems = findAnchorProblems(anchors, { uid: servingUid ?? process.getuid?.() ?? 0, trustedUids: config.trust.owners });
  const warn = config.trust.anchors === 'warn';
  const fixes = [
    ...(problems.length ? ["chown root:root <file and each folder above it> && chmod go-w <same>, or name the deploy user's uid in trust.owners"] : []),
    ...(warn ? ['set trust.anchors to "refuse" in keygate.config.json (refuse is the default: or remove the setting), then keygate generate-filelist && keygate pin and register the new entry hash in the vault'] : []),
  ];
  if (fixes.length === 0) return { check: 'anchors', status: 'ok', detail: `${anchors.length} trust anchors owned by root (or trust.owners), not writable by others; trust.anchors is "refuse"` };
  const details = [...problems, ...(warn ? ['trust.anchors is "warn": a start only warns about unprotected trust anchors, where production must refuse'] : [])];
  return { check: 'anchors', status: 'problem', detail: details.join('; '), fix: fixes.join('; and ') };
}

function vaultClientCheck(client: string, config: Config, env: Readonly<Record<string, string | undefined>>): DoctorCheck {
  if (config.vault.provider === 'cspm' && !config.vault.clientPath && !env['CSPM_CLIENT_HOME'] && process.platform !== 'win32') {
    // PAM's examples default the home to a Windows folder: on this host that path only confuses
    return {
      check: 'vault-client',
      status: 'problem',
      detail: `CSPM_CLIENT_HOME is not set and vault.clientPath names no client, so keygate would run ${client} (the default of PAM's Windows examples)`,
      fix: 'export CSPM_CLIENT_HOME=<the A2A client\'s folder> where keygate runs (systemd: Environment=CSPM_CLIENT_HOME=<folder> in the unit), or set vault.clientPath',
    };
  }
  try {
    if (!statSync(client).isFile()) throw new Error('not a regular file');
    accessSync(client, constants.X_OK);
  } catch (err) {
    return {
      check: 'vault-client',
      status: 'problem',
      detail: `${client}: ${describeCause(err)}`,
      fix: config.vault.provider === 'cspm' ? 'install PAM\'s A2A client there, or export CSPM_CLIENT_HOME=<its folder> (or set vault.clientPath)' : 'fix vault.command[0]',
    };
  }
  if (isEmulator(client)) {
    return {
      check: 'vault-client',
      status: 'problem',
      detail: `${client} is keygate's dev A2A emulator, not a vault: it keeps the keystore password in a plain-text file beside it`,
      fix: 'install PAM\'s A2A client and point vault.clientPath at it (or remove vault.clientPath and set CSPM_CLIENT_HOME), then keygate generate-filelist && keygate pin and register the entry hash in PAM (docs/pam-setup.md)',
    };
  }
  return { check: 'vault-client', status: 'ok', detail: `${client} is present and executable` };
}

/** The dev emulator announces itself in its first lines (dev/cspm/cspmclient/bin64/cspmclient64). */
function isEmulator(client: string): boolean {
  try {
    return readHead(realpathSync(client), 4096).includes(EMULATOR_MARK);
  } catch {
    return false; // unreadable here: the access check says whether the serving user can run it
  }
}

function readHead(file: string, max: number): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(max);
    return buf.subarray(0, readSync(fd, buf, 0, max, 0)).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

/**
 * What the serving user must open: the entry, template, manifest, config, every listed file (serve hashes them
 * all), the keystore, a release's files and state; and run: node and the vault client. Tried as that user.
 */
function accessCheck(user: ServingUser, job: Probe, nodePath: string, secrets: { keystore: string; adminKey?: string }): DoctorCheck {
  const as = `${user.name} (uid ${user.uid}, ${user.source})`;
  const r = probeAsUser(user, job, nodePath);
  if (!r.ok) return { check: 'access', status: 'unknown', detail: `not checked as ${as}: ${r.why}`, fix: process.getuid?.() !== 0 ? 'run keygate doctor as root (it then tries each file as that user)' : undefined };
  if (r.denied.length === 0) return { check: 'access', status: 'ok', detail: `${as} can read the ${job.read.length} files a start reads and run node and the vault client` };
  const list = r.denied.map((d) => `${d.want === 'run' ? 'cannot run' : 'cannot read'} ${d.path}${d.blocker !== d.path ? ` (cannot enter ${d.blocker})` : ''} (${d.code})`);
  const shown = list.length > 10 ? [...list.slice(0, 10), `and ${list.length - 10} more`] : list;
  return { check: 'access', status: 'problem', detail: `as ${as}: ${shown.join('; ')}`, fix: accessFix(user, r.denied, secrets) };
}

/**
 * Commands that give the serving user what a start needs, and no more: enter a folder (a+x, no listing), read a
 * file that is no secret (a+r), own a secret (the keystore, the admin key: 0600 stays), run node or the client.
 */
function accessFix(user: ServingUser, denied: readonly Denied[], secrets: { keystore: string; adminKey?: string }): string {
  const enter = new Set<string>();
  const readable = new Set<string>();
  const own = new Set<string>();
  const runnable = new Set<string>();
  for (const d of denied) {
    if (d.blocker !== d.path) enter.add(d.blocker);
    // the file itself too when its bits would deny it as well (not the user's, and not readable by others)
    if (d.blocker === d.path || !fileOpenToOthers(d.path, user.uid, d.want)) {
      if (d.want === 'run') runnable.add(d.path);
      else if (d.path === secrets.keystore || d.path === secrets.adminKey) own.add(d.path);
      else readable.add(d.path);
    }
  }
  const words = (set: Set<string>) => [...set].map(shellWord).join(' ');
  const cmds = [
    ...(enter.size ? [`chmod a+x ${words(enter)}`] : []),
    ...(readable.size ? [`chmod a+r ${words(readable)}`] : []),
    ...(own.size ? [`chown ${shellWord(user.name)} ${words(own)}`] : []),
    ...(runnable.size ? [`chmod a+rx ${words(runnable)}`] : []),
  ];
  return `${process.getuid?.() === 0 ? '' : 'as root: '}${cmds.join(' && ')}`;
}

function fileOpenToOthers(path: string, uid: number, want: 'read' | 'run'): boolean {
  try {
    const st = statSync(path);
    const bit = want === 'run' ? 0o1 : 0o4;
    return st.uid === uid ? (st.mode & (bit << 6)) !== 0 : (st.mode & bit) !== 0;
  } catch {
    return true;
  }
}

function backendCheck(config: Config, nodePath: string, manifestFile: string): DoctorCheck {
  const first = config.server.backend!.command[0]!;
  const program = first === '${NODE}' ? nodePath : first;
  let real = program;
  try {
    real = realpathSync(program);
  } catch (err) {
    return { check: 'backend', status: 'problem', detail: `${program}: ${describeCause(err)}`, fix: 'set server.backend.command[0] to an installed program' };
  }
  let listed = false;
  try {
    const manifest = parseManifest(readWhole(manifestFile));
    listed = manifest.has(program) || manifest.has(real);
  } catch {
    // no manifest: the pin check says so
  }
  return listed
    ? { check: 'backend', status: 'ok', detail: `${real} is listed in the manifest` }
    : { check: 'backend', status: 'problem', detail: `${real} is not in the manifest: serve refuses an unverified backend program`, fix: 'add the line ${BACKEND} to filelist.template, then keygate generate-filelist && keygate pin' };
}

/** The .crt beside the keystore (keystore create and init --dev write one): its expiry, without the password. */
export function certificateCheck(keystore: string, now = new Date(), acme?: Pick<AcmeConfig, 'domains' | 'directoryUrl'>): DoctorCheck {
  const crt = besideKeystore(keystore, '.crt');
  if (!existsSync(keystore)) return { check: 'certificate', status: 'problem', detail: `no keystore at ${keystore}`, fix: `keygate keystore create --out ${keystore} --password-file <file holding the password the vault has>` };
  if (!existsSync(crt)) return { check: 'certificate', status: 'unknown', detail: `expiry not checked: no ${crt} beside the keystore, and doctor never asks for the keystore's password` };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readWhole(crt));
  } catch (err) {
    return { check: 'certificate', status: 'unknown', detail: `expiry not checked: ${crt} is no certificate (${describeCause(err)})` };
  }
  const days = Math.floor((new Date(cert.validTo).getTime() - now.getTime()) / 86_400_000);
  const what = `${crt} (${cert.subject.replace(/\n/g, ', ')}) ${days < 0 ? `expired ${-days} days ago` : `expires in ${days} days`}, ${cert.validTo}`;
  const renew = `renew it: keygate keystore csr --from-vault --out <new keystore> --dns <name>, your CA signs the CSR, keygate keystore import --from-vault --keystore <new keystore> --cert <issued>, then move it into place (docs/certificates.md)`;
  // With server.acme the running server orders and renews: a placeholder or an expiring certificate is its job,
  // and what to look at when it is late is the log's ACME lines.
  if (acme) {
    const by = `server.acme (${acme.directoryUrl}, ${acme.domains.join(' ')})`;
    if (/keygate placeholder until keystore import/.test(cert.subject)) {
      return { check: 'certificate', status: 'ok', detail: `${what}: ${by} orders a certificate at the first start (the keystore's folder must be writable by the serving user, not checked here: docs/certificates.md#acme)` };
    }
    // ACME renews at 2/3 of the lifetime: a certificate this close to its end means the renewals have been failing
    if (days < EXPIRY_URGENT_DAYS) {
      return { check: 'certificate', status: 'problem', detail: `${what}: ${by} has not renewed it`, fix: 'read the service log\'s "ACME: renewal failed" lines (journalctl -u <service> | grep ACME) and fix what they name: docs/certificates.md#acme' };
    }
    return { check: 'certificate', status: 'ok', detail: `${what}: renewed by ${by} while serving${days < EXPIRY_WARN_DAYS ? '; it is due: look for "ACME: renewal failed" in the service log' : ''}` };
  }
  // keystore csr's placeholder (OU=keygate placeholder until keystore import): a start would serve it, with a warning
  if (/keygate placeholder until keystore import/.test(cert.subject)) return { check: 'certificate', status: 'problem', detail: `${what}: the placeholder keystore csr made, not an issued certificate`, fix: `keygate keystore import --keystore ${keystore} --cert <the certificate your CA issued> (docs/certificates.md)` };
  if (days < 0) return { check: 'certificate', status: 'problem', detail: what, fix: renew };
  const soon = days < EXPIRY_URGENT_DAYS ? `: renew it now (${renew})` : days < EXPIRY_WARN_DAYS ? ': renew it soon (docs/certificates.md)' : '';
  return { check: 'certificate', status: 'ok', detail: `${what}${soon} (if it is the keystore's; the keystore itself is not opened)` };
}

/** yargs adapter: `keygate doctor [--json]`. */
export function doctorCommand(choose: Choose): CommandModule {
  return {
    command: 'doctor',
    describe: 'would a production start pass? config, pin and files, users, trust anchors, vault client, what the serving user can read, backend program, certificate expiry (never asks the vault)',
    builder: (y) =>
      withFlags(y, INTEGRITY_FLAGS)
        .option('json', { type: 'boolean', default: false, describe: 'print the checks as JSON on stdout' })
        .option('user', { type: 'string', describe: "the user the service reads as, when not server.user (default: User= of the unit beside the entry, else the user running doctor); as root, doctor tries each file as that user" })
        .example('$0 doctor', 'one line per check, with the fix')
        .example('$0 doctor --user shop-api', 'as root: can shop-api (the unit\'s User=) read what a start reads?')
        .example('$0 doctor --json', '{"ok": false, "checks": [...]}')
        .epilogue(`Exit codes: 0 every check passes, 2 usage or config not JSON, 3 a check would stop a production start (docs/errors.md)\n${EXIT_EPILOGUE}`),
    handler: choose(doctor),
  };
}
