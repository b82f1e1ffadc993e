// What the admin channel needs from disk, read by serve right after the config and before the vault is asked
// (fail closed: a bad registry stops the start, it does not leave a channel without users): the user registry
// and the server's Ed448 key, both from verified bytes (they must be in the manifest), the key also 0600.

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { KeygateError } from '../errors.js';
import type { VerifiedTree } from '../server/verified-tree.js';
import { BUILTIN_ACTIONS, type AdminConfig } from './config.js';
import { keyFingerprint } from './crypto.js';
import { parseUsers, type AdminUser } from './users.js';

export interface AdminMaterial {
  readonly serverKey: KeyObject;
  /** sha256 of the server key's SPKI: what clients pin (printed at start). */
  readonly serverFingerprint: string;
  readonly users: ReadonlyMap<string, AdminUser>;
}

/** Reads and checks the registry and the server key (ADMIN_INVALID / UNVERIFIED_LOAD). */
export function loadAdminMaterial(config: AdminConfig, tree: VerifiedTree): AdminMaterial {
  const keyFile = resolve(tree.base, config.serverKey);
  let mode: number;
  try {
    mode = statSync(keyFile).mode & 0o777;
  } catch {
    throw new KeygateError('ADMIN_INVALID', `failed to read the admin server key ${keyFile}: it does not exist`, {
      // serve reads the key from the verified tree: without an `admin` template line it is UNVERIFIED_LOAD next
      hint: 'keygate admin keygen --server, add the line admin to filelist.template if it is not there, then keygate generate-filelist && keygate pin',
    });
  }
  if (mode & 0o077) {
    throw new KeygateError('ADMIN_INVALID', `refused the admin server key ${keyFile}: mode ${mode.toString(8)} lets others read it`, { hint: `chmod 600 ${keyFile}` });
  }
  let serverKey: KeyObject;
  try {
    serverKey = createPrivateKey(tree.read(keyFile)); // UNVERIFIED_LOAD when it is not the manifest's
  } catch (err) {
    if (err instanceof KeygateError) throw err;
    throw new KeygateError('ADMIN_INVALID', `failed to read the admin server key ${keyFile}: not an unencrypted PKCS#8 PEM private key`, {
      hint: 'keygate admin keygen --server writes one (the server key is not encrypted: keygate starts unattended)',
    });
  }
  if (serverKey.asymmetricKeyType !== 'ed448') {
    throw new KeygateError('ADMIN_INVALID', `refused the admin server key ${keyFile}: it is ${serverKey.asymmetricKeyType}, the protocol signs with Ed448`, { hint: 'keygate admin keygen --server' });
  }
  const usersFile = resolve(tree.base, config.users);
  const known = [...BUILTIN_ACTIONS, ...Object.keys(config.actions), ...Object.keys(config.interactive)];
  if (!existsSync(usersFile)) {
    // read from the verified tree, a missing registry would be UNVERIFIED_LOAD, whose fix (list it) cannot help
    throw new KeygateError('ADMIN_INVALID', `failed to read the admin users ${usersFile}: it does not exist`, {
      hint: 'keygate admin add-user <name> <their public key .pem> (keygate admin keygen <name> --password-file <file> makes a pair), then keygate generate-filelist && keygate pin',
    });
  }
  const parsed = parseUsers(tree.read(usersFile), known);
  if (parsed.problems.length) {
    throw new KeygateError('ADMIN_INVALID', `failed to read the admin users ${usersFile}:\n${parsed.problems.join('\n')}`, {
      hint: 'fix the file (keygate admin add-user NAME KEY.pem rewrites it), then keygate generate-filelist && keygate pin',
    });
  }
  const programs = [
    ...Object.entries(config.actions).map(([name, a]) => [`admin.actions.${name}`, a.argv[0]!] as const),
    ...Object.entries(config.interactive).map(([name, a]) => [`admin.interactive.${name}`, a.argv[0]!] as const),
  ];
  const actionProblems = programs.flatMap(([setting, program]) => {
    const why = programProblem(program, tree);
    return why ? [`${setting}: ${program} ${why}`] : [];
  });
  if (actionProblems.length) {
    throw new KeygateError('ADMIN_INVALID', `failed to check the admin actions' programs:\n${actionProblems.join('\n')}`, {
      hint: 'list the program in filelist.template, or use a root-owned system program (chmod go-w), then keygate generate-filelist && keygate pin',
    });
  }
  const auditFile = resolve(tree.base, config.auditLog);
  const auditProblem = writableFolderProblem(dirname(auditFile));
  if (auditProblem) {
    throw new KeygateError('ADMIN_INVALID', `failed to set up the admin audit log ${auditFile}: ${auditProblem}`, {
      hint: `create its folder for the user keygate serves as (server.user): install -d -m 0700 -o <that user> ${dirname(auditFile)}`,
    });
  }
  return { serverKey, serverFingerprint: keyFingerprint(createPublicKey(serverKey)), users: parsed.users };
}

/**
 * Why this process could not write a file in `dir` (it or the nearest folder above that exists must let it
 * create entries), or undefined. Checked before the vault is asked: under privilege separation the serving
 * user, not root, writes the audit log, and a folder it cannot create stopped the channel only after the unlock.
 */
function writableFolderProblem(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    try {
      accessSync(d, constants.W_OK | constants.X_OK);
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || dirname(d) === d) return `${d} is not writable by uid ${process.getuid?.() ?? '?'} (${code ?? 'error'})`;
    }
  }
}

/**
 * Why an action's program may not run, or undefined: it must exist and be executable, and be either in the
 * manifest (verified, like a backend's program) or root's and not writable by group or other (a system tool:
 * the trust-anchor rule), so that nobody but root can change what an admin action runs.
 */
function programProblem(program: string, tree: VerifiedTree): string | undefined {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(program);
  } catch {
    return 'does not exist';
  }
  if (!st.isFile() || (st.mode & 0o111) === 0) return 'is not an executable file';
  if (tree.has(program)) return undefined;
  if (st.uid !== 0 || (st.mode & 0o022) !== 0) return 'is neither in the manifest nor owned by root and closed to group/other writes';
  return undefined;
}

/** keygate's version for /info, put in by scripts/build.mjs like cli.ts's VERSION; "dev" under tsx. */
declare const KEYGATE_VERSION: string | undefined;
export const ADMIN_VERSION: string = typeof KEYGATE_VERSION === 'string' ? KEYGATE_VERSION : 'dev';
