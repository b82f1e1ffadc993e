// Signed releases at the gate (docs/releases.md): when the entry pins the trust root instead of the manifest,
// the manifest is accepted on a valid release envelope (src/core/release.ts) instead of its hash. The files
// here: the trust root beside the template, the envelope beside the manifest, and the optional root-owned
// state file that keeps the highest version this host accepted.

import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { KeygateError, describeCause, type ErrorCode } from '../errors.js';
import { ReleaseRefusal, parseTrustRoot, verifyRelease, type ReleaseVerdict, type TrustRoot } from '../core/release.js';
import { readRegularFile } from '../adapters/read-regular-file.js';
import { fileExists, writeAtomic } from '../adapters/files.js';
import { sha256 } from '../adapters/file-hash.js';
import { ENVELOPE_SUFFIX, TRUST_FILE } from '../project.js';

/** A trust root or an envelope is a few KB; anything larger is not one. */
const MAX_RELEASE_FILE_BYTES = 1024 * 1024;
/**
 * How a release-pinned project changes: a new signed release, never `pin` (a manifest pin would replace the trust
 * root, so the entry's hash and PAM's registration would change). `--release-version`, not `--version`: yargs
 * answers `--version` with keygate's own version and exit 0, which a CI step would take for a signature.
 */
export const RELEASE_SIGN_FIX = 'keygate release sign --key <release key> --password-file <its passphrase file> --release-version <next>';
const SIGN_HINT = `in CI: keygate generate-filelist && ${RELEASE_SIGN_FIX}, then deploy filelist.sha256 with its .sig`;

export interface ReleaseInfo extends ReleaseVerdict {
  readonly trustSha256: string;
  readonly stateFile?: string;
  /** The version floor applied: minVersion or the state file's, whichever is higher. */
  readonly floor: number;
}

export const trustPath = (template: string): string => join(dirname(template), TRUST_FILE);
export const envelopePath = (manifest: string): string => `${manifest}${ENVELOPE_SUFFIX}`;

/** Whether the entry's pin is the sha256 of the trust root beside the template (by hash alone: nothing parsed). */
export function pinsTrustRoot(template: string, pin: string): boolean {
  const file = trustPath(template);
  try {
    return fileExists(file) && sha256(readRegularFile(file, MAX_RELEASE_FILE_BYTES, 'trust root', { code: 'RELEASE_INVALID' })) === pin;
  } catch {
    return false;
  }
}

/**
 * The refusal before a manifest pin replaces a trust root (`pin`; `init --dev --refresh` calls it too): the
 * entry's sha256 would change, so PAM would need a new registration, and every change after it another. A trust
 * root beside the template means signed releases even when the entry does not pin it as it is now (someone edited
 * it: the entry still pins the one it was). undefined when there is none; `pin --replace-trust-root` is the
 * explicit way past it, and removes the file, so that what is beside the template is what the entry pins.
 */
export function trustRootReplaceRefusal(paths: { readonly template: string; readonly entry: string }, pin: string | undefined): KeygateError | undefined {
  const file = trustPath(paths.template);
  if (!fileExists(file)) return undefined;
  const leave = `to leave signed releases on purpose: keygate pin --replace-trust-root (removes ${basename(file)}), then register the new entry hash in the vault`;
  if (pin !== undefined && pinsTrustRoot(paths.template, pin)) {
    return new KeygateError(
      'USAGE',
      `refused to pin the manifest into ${paths.entry}: it pins the release trust root ${file}, and a manifest pin would change the entry's sha256, so PAM would need a new registration (and one for every change after it)`,
      { hint: `a change is a new signed release: keygate generate-filelist && ${RELEASE_SIGN_FIX}; ${leave}` },
    );
  }
  return new KeygateError(
    'USAGE',
    `refused to pin the manifest into ${paths.entry}: ${file} says this project uses signed releases, but the entry does not pin it as it is now (changed since it was pinned?); a manifest pin would replace the trust root, so PAM would need a new registration`,
    { hint: `restore ${basename(file)} from your repository (or pin it again: keygate pin --release-keys <keys> --project <name>); ${leave}` },
  );
}

/** The trust root, when one sits beside the template and is exactly what the entry pins; else undefined. */
export function pinnedTrustRoot(template: string, pin: string): { root: TrustRoot; sha256: string } | undefined {
  const file = trustPath(template);
  if (!fileExists(file)) return undefined;
  const bytes = readRegularFile(file, MAX_RELEASE_FILE_BYTES, 'trust root', { code: 'RELEASE_INVALID', hint: 'restore keygate.trust.json from your repository' });
  const digest = sha256(bytes);
  if (digest !== pin) return undefined;
  try {
    return { root: parseTrustRoot(bytes), sha256: digest };
  } catch (err) {
    throw refusal(err, file);
  }
}

function refusal(err: unknown, where: string): KeygateError {
  if (!(err instanceof ReleaseRefusal)) return new KeygateError('RELEASE_INVALID', `failed to verify the release ${where}: ${describeCause(err)}`, { hint: SIGN_HINT });
  const code: ErrorCode = err.rule === 'expired' ? 'RELEASE_EXPIRED' : err.rule === 'rollback' ? 'RELEASE_ROLLBACK' : 'RELEASE_INVALID';
  const hint =
    err.rule === 'expired'
      ? `in CI: ${RELEASE_SIGN_FIX} --expires 90d, and deploy the new .sig`
      : err.rule === 'rollback'
        ? `deploy the current release, or in CI sign a newer one: ${RELEASE_SIGN_FIX}`
        : SIGN_HINT;
  return new KeygateError(code, `failed to verify the release ${where}: ${err.message}`, { hint });
}

/**
 * Why `path` (the state file, or the folder it is to go in) could be changed by someone other than root: it and
 * every folder above it must be root's and writable by no one else. A root-owned sticky folder (/tmp) may be
 * passed through: nobody else can rename or remove root's entry in it. undefined when sound. A path that does
 * not exist yet is judged by its nearest existing folder.
 */
export interface StateChainProblem {
  /** The file, folder or link at fault. */
  readonly path: string;
  /** "<path> is …": the whole reason, for the one-line error. */
  readonly message: string;
  /** The command that makes `path` root's alone. */
  readonly fix: string;
}

export function stateChainProblem(
  path: string,
  stat: (p: string) => Stats = lstatSync,
  /** Only the folders above it, as for a file not made yet (reset-floor judges them before it removes the file). */
  options: { folderOnly?: boolean } = {},
): StateChainProblem | undefined {
  const start = options.folderOnly ? dirname(path) : path;
  // The path as written first: a symlink on it that another user owns can be re-pointed after any check of
  // where it leads (one planted in /tmp before the state folder exists, for instance).
  for (let p = start; ; p = dirname(p)) {
    let st: Stats | undefined;
    try {
      st = stat(p);
    } catch {
      st = undefined; // not there (yet): judged below by the nearest folder that exists
    }
    if (st?.isSymbolicLink() && st.uid !== 0) {
      return { path: p, message: `${p} is a symlink owned by uid ${st.uid}; only root may write it`, fix: `rm ${p} && install -d -m 0755 -o root ${p}` };
    }
    if (dirname(p) === p) break;
  }
  let real = start;
  for (;;) {
    try {
      real = realpathSync(real);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(real) === real) {
        return { path: real, message: `${real}: ${describeCause(err)}`, fix: `chown root:root ${real} && chmod go-w ${real}` };
      }
      real = dirname(real);
    }
  }
  for (let p = real, first = real === path; ; first = false) {
    const st = stat(p);
    const w = st.mode & 0o022;
    const sticky = !first && st.isDirectory() && (st.mode & 0o1000) !== 0;
    if (st.uid !== 0 || (w !== 0 && !sticky)) {
      return { path: p, message: `${p} is owned by uid ${st.uid} with mode ${(st.mode & 0o7777).toString(8)}; only root may write it`, fix: `chown root:root ${p} && chmod go-w ${p}` };
    }
    const up = dirname(p);
    if (up === p) return undefined;
    p = up;
  }
}

/**
 * What fixes a floor that cannot be trusted: root writes a new one from what the operator knows this host ran.
 * Never chown: a file the service user could write holds the attacker's value, and chown would keep it.
 */
export const RESET_FLOOR_FIX = 'keygate release reset-floor --at-least <version> (the highest N in this host\'s "release N of … signed by" log lines; never the release on disk)';

/** The fix for a state file at fault: root makes the folders root's alone when one of them is, then resets. */
function unsafeStateFix(file: string, problem: StateChainProblem): string {
  return problem.path === file ? `as root: ${RESET_FLOOR_FIX}` : `as root: ${problem.fix}, then ${RESET_FLOOR_FIX}`;
}

/**
 * The highest version this host accepted, from the state file. It and the folders above it must be root's and
 * writable by root only: a floor the service user could lower protects nothing (TUF's lesson: rollback
 * protection is only as good as where the last version is kept).
 */
export function readStateFile(file: string): number {
  const fix = { hint: 'as root: keygate release accept (creates it from the release that verifies now)' };
  if (!fileExists(file)) throw new KeygateError('RELEASE_STATE_UNSAFE', `failed to read the release state ${file}: it does not exist`, fix);
  const problem = stateChainProblem(file);
  if (problem) throw new KeygateError('RELEASE_STATE_UNSAFE', `failed to trust the release state ${file}: ${problem.message}`, { hint: unsafeStateFix(file, problem) });
  const text = readRegularFile(file, 64, 'release state', { code: 'RELEASE_STATE_UNSAFE', hint: `as root: ${RESET_FLOOR_FIX}` }).toString('utf8').trim();
  if (!/^[1-9]\d{0,15}$/.test(text)) throw new KeygateError('RELEASE_STATE_UNSAFE', `failed to read the release state ${file}: it holds ${JSON.stringify(text.slice(0, 40))}, not a version`, { hint: `as root: ${RESET_FLOOR_FIX}` });
  return Number(text);
}

/** Verifies the release envelope of a manifest against the pinned trust root; throws RELEASE_*. */
export function verifyReleaseFiles(
  trust: { root: TrustRoot; sha256: string },
  manifestPath: string,
  manifestSha256: string,
  options: { now?: Date; /** CI: no host, so a state file that does not exist here is not applied. */ stateWhereItExists?: boolean } = {},
): ReleaseInfo {
  const envFile = envelopePath(manifestPath);
  const bytes = readRegularFile(envFile, MAX_RELEASE_FILE_BYTES, 'release signature', { code: 'RELEASE_INVALID', hint: SIGN_HINT });
  const stateFile = trust.root.stateFile;
  const useState = stateFile !== undefined && !(options.stateWhereItExists && !fileExists(stateFile));
  const floor = Math.max(trust.root.minVersion, useState ? readStateFile(stateFile) : 0);
  const now = options.now ?? new Date();
  try {
    const verdict = verifyRelease(trust.root, bytes, manifestSha256, now, floor);
    return { ...verdict, trustSha256: trust.sha256, floor, ...(trust.root.stateFile ? { stateFile: trust.root.stateFile } : {}) };
  } catch (err) {
    throw refusal(err, basename(envFile));
  }
}

/**
 * Raises the host's floor to an accepted release's version. Only root can (the file is root's); a start as
 * another user leaves the floor where it is and says so.
 */
export function advanceState(info: ReleaseInfo): 'raised' | 'current' | 'not root' | 'no state file' | { failed: string } {
  if (!info.stateFile) return 'no state file';
  if (info.payload.version <= info.floor) return 'current';
  if (process.geteuid?.() !== 0) return 'not root';
  try {
    writeAtomic(info.stateFile, `${info.payload.version}\n`, 0o644);
  } catch (err) {
    // e.g. EROFS under a unit's ProtectSystem=strict without the state folder writable: the release verified,
    // only the floor stays where it was; the caller says so.
    return { failed: describeCause(err) };
  }
  return 'raised';
}
