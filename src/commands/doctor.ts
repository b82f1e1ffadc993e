// doctor: would a production start pass? Config, pin, trust anchors, vault client, backend program, certificate
// expiry, each one line with its fix. It never asks the vault and never opens the keystore
// (that needs the password): the certificate is read from the .crt beside it, or doctor says it cannot check.
// Exit 0 when every check passes, 3 when any would stop a production start (docs/errors.md).

import { X509Certificate } from 'node:crypto';
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { EXIT, isKeygateError, describeCause } from '../errors.js';
import type { Handler } from '../context.js';
import { validateConfig, DEFAULT_CONFIG, type Config } from '../core/config.js';
import { vaultClientPath } from '../core/vault-client.js';
import { parseManifest } from '../core/manifest.js';
import { checkPin, readPin } from '../gate/integrity.js';
import { entryPackageJsons, findAnchorProblems } from '../gate/trust-anchors.js';
import { readWhole } from '../adapters/files.js';
import { CONFIG_FILE, renderHint } from '../project.js';
import { EXIT_EPILOGUE, INTEGRITY_FLAGS, envFrom, pathsFrom, withFlags, type Choose } from './common.js';

export interface DoctorCheck {
  readonly check: 'config' | 'pin' | 'anchors' | 'vault-client' | 'backend' | 'certificate';
  /** ok; problem: a production start would stop; unknown: doctor cannot tell (says why). */
  readonly status: 'ok' | 'problem' | 'unknown';
  readonly detail: string;
  readonly fix?: string;
}

/** Days a certificate may have left before doctor says so (not a problem: the start warns too). */
const EXPIRY_WARN_DAYS = 30;

const doctor: Handler = async (ctx, args) => {
  const paths = pathsFrom(ctx, args); // a config that is not JSON stops here, as for every command (CONFIG_INVALID)
  const base = dirname(paths.template);
  const checks: DoctorCheck[] = [];
  const fix = (hint: string | undefined) => (hint ? renderHint(hint, ctx.invocation ?? 'keygate') : undefined);

  let config: Config = DEFAULT_CONFIG;
  const configFile = resolve(base, CONFIG_FILE);
  if (existsSync(configFile)) {
    const result = validateConfig(JSON.parse(readWhole(configFile).toString('utf8')));
    if (result.ok) config = result.config;
    checks.push(
      result.ok
        ? { check: 'config', status: 'ok', detail: `${CONFIG_FILE} is valid` }
        : { check: 'config', status: 'problem', detail: `${CONFIG_FILE}: ${result.errors.join('; ')}`, fix: 'fix the settings (docs/configuration.md), then keygate generate-filelist && keygate pin' },
    );
  } else checks.push({ check: 'config', status: 'ok', detail: `no ${CONFIG_FILE}: every default` });

  try {
    const r = await checkPin(paths, readPin(paths.entry), envFrom(ctx, args, 'doctor'));
    checks.push({ check: 'pin', status: 'ok', detail: `current: ${paths.entry} pins ${r.regenerated}` });
  } catch (err) {
    if (!isKeygateError(err)) throw err;
    checks.push({ check: 'pin', status: 'problem', detail: `${err.code}: ${err.message.split('\n')[0]}`, ...(err.hint ? { fix: err.hint } : {}) });
  }

  const client = vaultClientPath(config.vault, base, ctx.io.env);
  const anchors = [
    { what: 'the node executable', path: ctx.io.nodePath },
    { what: 'the main entry', path: paths.entry },
    ...entryPackageJsons(paths.entry).map((path) => ({ what: "the entry's package.json", path })),
    { what: 'the vault client', path: client },
  ];
  if (process.platform === 'win32') checks.push({ check: 'anchors', status: 'unknown', detail: 'not checked on Windows by doctor: serve checks the ACLs at start' });
  else {
    const problems = findAnchorProblems(anchors, { uid: process.getuid?.() ?? 0, trustedUids: config.trust.owners });
    checks.push(
      problems.length === 0
        ? { check: 'anchors', status: 'ok', detail: `${anchors.length} trust anchors owned by root (or trust.owners), not writable by others` }
        : {
            check: 'anchors',
            status: 'problem',
            detail: `${problems.join('; ')}${config.trust.anchors === 'warn' ? ' (trust.anchors is "warn": a dev start only warns, production refuses)' : ''}`,
            fix: "chown root:root <file and each folder above it> && chmod go-w <same>, or name the deploy user's uid in trust.owners",
          },
    );
  }

  checks.push(vaultClientCheck(client, config));
  if (config.server.backend) checks.push(backendCheck(config, ctx.io.nodePath, paths.manifest));
  checks.push(certificateCheck(resolve(base, config.keystore.path)));
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
  ctx.log.error(`doctor: ${problems} problem${problems > 1 ? 's' : ''} would stop a production start`);
  return 3;
};

function vaultClientCheck(client: string, config: Config): DoctorCheck {
  try {
    if (!statSync(client).isFile()) throw new Error('not a regular file');
    accessSync(client, constants.X_OK);
    return { check: 'vault-client', status: 'ok', detail: `${client} is present and executable` };
  } catch (err) {
    return {
      check: 'vault-client',
      status: 'problem',
      detail: `${client}: ${describeCause(err)}`,
      fix: config.vault.provider === 'cspm' ? 'install PAM\'s A2A client there, or export CSPM_CLIENT_HOME=<its folder> (or set vault.clientPath)' : 'fix vault.command[0]',
    };
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
export function certificateCheck(keystore: string, now = new Date()): DoctorCheck {
  const crt = keystore.replace(/\.(p12|pfx|keystore)$/i, '') + '.crt';
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
  if (days < 0) return { check: 'certificate', status: 'problem', detail: what, fix: 'issue a new certificate into the keystore (keygate keystore create --force, then let PAM rotate its password)' };
  return { check: 'certificate', status: 'ok', detail: `${what}${days < EXPIRY_WARN_DAYS ? ': renew it soon' : ''} (if it is the keystore's; the keystore itself is not opened)` };
}

/** yargs adapter: `keygate doctor [--json]`. */
export function doctorCommand(choose: Choose): CommandModule {
  return {
    command: 'doctor',
    describe: 'would a production start pass? config, pin, trust anchors, vault client, backend program, certificate expiry (never asks the vault)',
    builder: (y) =>
      withFlags(y, INTEGRITY_FLAGS)
        .option('json', { type: 'boolean', default: false, describe: 'print the checks as JSON on stdout' })
        .example('$0 doctor', 'one line per check, with the fix')
        .example('$0 doctor --json', '{"ok": false, "checks": [...]}')
        .epilogue(`Exit codes: 0 every check passes, 2 usage or config not JSON, 3 a check would stop a production start (docs/errors.md)\n${EXIT_EPILOGUE}`),
    handler: choose(doctor),
  };
}
