// The gate's integrity core, used by generate-filelist, pin, verify, check and serve (src/commands/, one file
// each): they share the same three steps (read template → expand → hash) and differ only in what they compare
// against. Verification itself (verifyTree) is what stands between a start and the vault.

import { statSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { KeygateError, describeCause } from '../errors.js';
import { parseTemplate, symlinkLines, type TemplateLine } from '../core/template.js';
import {
  compareManifest,
  type HashLookup,
  diffSummary,
  formatDiff,
  isCleanDiff,
  parseManifest,
  serializeTable,
  comparePaths,
  ManifestIndex,
  type HashResult,
  type ManifestDiff,
} from '../core/manifest.js';
import { expandTemplate, type ExpandProblem } from '../adapters/expand.js';
import { hashFilesRaw, sha256, type HashStrategy } from '../adapters/file-hash.js';
import { readRegularFile } from '../adapters/read-regular-file.js';
import { fileExists, fileMode, readWhole, writeAtomic } from '../adapters/files.js';
import { readConfiguredPrograms } from '../adapters/configured-programs.js';
import { PIN_MARKER, UNPINNED } from '../pin-slot.js';
import { CONFIG_FILE, MANIFEST_FILE, TEMPLATE_FILE, defaultEntryOf, shellWord } from '../project.js';
import { folderTarget } from '../adapters/symlinked-folders.js';
import { describeJsonError, validateConfig, type Config } from '../core/config.js';
import { RELEASE_SIGN_FIX, envelopePath, pinnedTrustRoot, pinsTrustRoot, trustPath, verifyReleaseFiles, type ReleaseInfo } from './release.js';

/** Where the integrity files are; every path absolute. */
export interface IntegrityPaths {
  readonly template: string;
  readonly manifest: string;
  /** The main entry: never listed in the manifest (the vault hashes it). */
  readonly entry: string;
}

export interface IntegrityEnv {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly nodePath: string;
  readonly strategy?: HashStrategy;
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * A re-check while running (before a backend restart): the manifest hash this process accepted at its start.
   * The manifest must still be exactly that one, and its pin or release is not judged again: a release that
   * expires while the service runs must not stop it at the next backend restart (expiry guards the start).
   */
  readonly acceptedManifest?: string;
  /** release accept: a host's floor that does not exist yet is not applied (minVersion is); accept creates it after. */
  readonly releaseStateWhereItExists?: boolean;
}

/**
 * Resolves the default locations: template in cwd, manifest beside it, entry as the project's config names it
 * (`entry`), else dist/main.js beside the template (src/project.ts).
 */
export function resolvePaths(
  cwd: string,
  opts: { template?: string; manifest?: string; entry?: string },
  env: Readonly<Record<string, string | undefined>> = {},
): IntegrityPaths {
  const template = resolve(cwd, opts.template ?? TEMPLATE_FILE);
  const base = dirname(template);
  assertConfigReadable(base, env);
  return {
    template,
    manifest: resolve(cwd, opts.manifest ?? resolve(base, MANIFEST_FILE)),
    entry: resolve(cwd, opts.entry ?? defaultEntryOf(base)),
  };
}

/**
 * Refuses a folder that is no keygate project (neither template nor manifest), with that said plainly instead of
 * "restore the manifest" or "create filelist.template", which misleads someone who started in the wrong folder.
 */
export function assertProject(paths: IntegrityPaths): void {
  if (fileExists(paths.template) || fileExists(paths.manifest)) return;
  throw new KeygateError('NOT_A_PROJECT', `${dirname(paths.template)} is not a keygate project: it has no ${basename(paths.template)} and no ${basename(paths.manifest)}`, {
    hint: 'run it in your project folder, or set one up there: keygate init',
  });
}

/** Largest template accepted; a template is a few hundred lines. */
export const MAX_TEMPLATE_BYTES = 16 * 1024 * 1024;

// Template and manifest are read through readRegularFile: a FIFO or /dev/zero in their place is refused at once
// (stat().size is 0 for both, so a cap taken from stat() could hang or fill memory).
const TEMPLATE_HINT = 'create filelist.template (syntax: docs/template.md) or pass --template <file>';

function readTemplate(paths: IntegrityPaths): Buffer {
  return readRegularFile(paths.template, MAX_TEMPLATE_BYTES, 'template', {
    code: 'TEMPLATE_UNREADABLE',
    hint: TEMPLATE_HINT,
    tooBigCode: 'TEMPLATE_INVALID',
    tooBigHint: 'list folders instead of single files: a folder line covers everything under it',
  });
}

function parseTemplateBytes(bytes: Buffer, paths: IntegrityPaths, env: IntegrityEnv): TemplateLine[] {
  const { backend, vaultClient } = readConfiguredPrograms(dirname(paths.template), env.nodePath, env.env);
  return parseTemplate(bytes.toString('utf8'), { node: env.nodePath, backend, vaultClient, env: env.env }, basename(paths.template));
}

/**
 * Never listed: the manifest and the entry (the entry pins the manifest), and a release's trust root (the entry
 * pins it) and signature envelope (written after the manifest, verified by its signatures).
 */
function skipped(paths: IntegrityPaths): Set<string> {
  return new Set([paths.manifest, paths.entry, trustPath(paths.template), envelopePath(paths.manifest)]);
}

function problemText(p: ExpandProblem): string {
  switch (p.kind) {
    case 'no-match':
      return `line ${p.line} (${p.path !== undefined && p.path !== p.source ? `${p.source} = ${p.path}` : p.source}) matches no file`;
    case 'symlink-folder':
      return `line ${p.line} (${p.source}): ${p.path} is a symlinked folder, which keygate does not follow`;
    case 'dangling-symlink':
      return `line ${p.line} (${p.source}): ${p.path ?? p.source} is a symlink to nothing`;
    case 'unreadable':
      return `line ${p.line} (${p.source}): ${p.path ?? p.source} cannot be read`;
  }
}

function throwProblems(problems: ExpandProblem[], paths: IntegrityPaths): never {
  const first = problems[0]!;
  const name = basename(paths.template);
  const text = problems.map(problemText).join('; ');
  if (first.kind === 'no-match' && problems.every((p) => p.kind === 'no-match')) {
    throw new KeygateError('TEMPLATE_NO_MATCH', `failed to expand ${name}: ${text}`, {
      hint: noMatchFix(problems),
      details: { problems },
    });
  }
  throw new KeygateError('SYMLINK_REFUSED', `failed to expand ${name}: ${text}`, {
    hint: symlinkFix(problems, paths),
    details: { problems },
  });
}

/**
 * What a line that matches nothing needs. A program keygate runs (${VAULT_CLIENT}, ${NODE}, ${BACKEND}) is never to
 * be made optional: it must be there, where the config says. Another line: the path fixed, or marked optional.
 */
function noMatchFix(problems: readonly ExpandProblem[]): string {
  const program = problems.find((p) => /\$\{(VAULT_CLIENT|NODE|BACKEND)\}/.test(p.source));
  if (program?.source.includes('${VAULT_CLIENT}')) {
    return `install the vault's A2A client at ${program.path ?? program.source}, or point CSPM_CLIENT_HOME (vault.clientPath) at where it is installed; for a rehearsal without PAM, the dev emulator stands there (docs/getting-started.md)`;
  }
  if (program) return `install ${program.path ?? program.source}, or fix the setting that names it (docs/template.md)`;
  const first = problems[0]!;
  return `fix the path ${first.path ?? first.source} on line ${first.line}, or mark the line optional with a leading '? ' (docs/template.md)`;
}

/**
 * The fix as the user types it: the lines that make the template expand, appended to it. A symlinked folder
 * needs two (the link excluded, its target listed: listing the target alone leaves the link refused); a
 * dangling link needs its exclusion. Relative paths stay relative, as the line that found them.
 */
function symlinkFix(problems: readonly ExpandProblem[], paths: IntegrityPaths): string {
  const base = dirname(paths.template);
  const lines: string[] = [];
  for (const p of problems) {
    if (p.path === undefined || (p.kind !== 'symlink-folder' && p.kind !== 'dangling-symlink')) continue;
    const abs = resolve(base, p.path);
    const target = p.kind === 'symlink-folder' ? folderTarget(abs) : undefined;
    const shown = (t: string): string => (isAbsolute(p.path!) ? t : relative(base, t).startsWith('..') ? t : relative(base, t));
    for (const l of target === undefined ? [`!${p.path}`] : symlinkLines([{ link: p.path, target: shown(target) }])) if (!lines.includes(l)) lines.push(l);
  }
  if (lines.length === 0) return `list the symlink's target folder and exclude the link with a '!' line (docs/template.md#symlinks)`;
  return `printf '%s\\n' ${lines.map(shellWord).join(' ')} >> ${shellWord(paths.template)}   # the link excluded, its target listed (docs/template.md#symlinks)`;
}

export interface BuiltManifest {
  /** The manifest file's bytes. */
  readonly bytes: Buffer;
  readonly sha256: string;
  readonly files: number;
}

/** Reads the template, expands it and hashes every file into manifest bytes. Throws on any problem. */
export async function buildManifest(paths: IntegrityPaths, env: IntegrityEnv): Promise<BuiltManifest> {
  const base = dirname(paths.template);
  const templateBytes = readTemplate(paths);
  const lines = parseTemplateBytes(templateBytes, paths, env);
  const expansion = await expandTemplate(lines, { base, skip: skipped(paths) });
  if (expansion.problems.length) throwProblems(expansion.problems, paths);
  const list = expansion.files;
  list.add(basename(paths.template)); // the template decides what "new" means: it is protected too
  const table = await hashFilesRaw(list, { base, strategy: env.strategy, onProgress: env.onProgress });
  const unreadable: string[] = [];
  for (let i = 0; i < list.length; i++) {
    if (table.ok(i)) continue;
    const res = table.result(i);
    unreadable.push(`${list.at(i)!} (${res.ok ? '' : res.reason})`);
  }
  if (unreadable.length) {
    unreadable.sort(comparePaths);
    throw new KeygateError('FILE_UNREADABLE', `failed to hash ${unreadable.length} file(s): ${unreadable.slice(0, 10).join(', ')}${unreadable.length > 10 ? ', ...' : ''}`, {
      hint: 'give the user that runs keygate read access, or exclude the files with a ! line',
    });
  }
  const bytes = serializeTable(list, new Uint8Array(table.digests));
  return { bytes, sha256: sha256(bytes), files: list.length };
}

/** generate-filelist: writes the manifest, returns its sha256. */
export async function generateFilelist(paths: IntegrityPaths, env: IntegrityEnv): Promise<BuiltManifest> {
  const built = await buildManifest(paths, env);
  try {
    // 0644 whatever the umask: hashes, no secret, and read by the service user (a root shell's umask 077 must
    // not make the next start fail with MANIFEST_UNREADABLE).
    writeAtomic(paths.manifest, built.bytes, 0o644);
  } catch (err) {
    throw new KeygateError('MANIFEST_UNREADABLE', `failed to write manifest ${paths.manifest}: ${describeCause(err)}`, { cause: err });
  }
  return built;
}

/** Largest manifest accepted: ~400k files. A bigger file is damage or an attack, not a manifest. */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/**
 * Reads the manifest's bytes: a regular file of at most MAX_MANIFEST_BYTES, never more is read. A manifest this
 * user may not read (generate-filelist run under umask 077 before it wrote 0644) gets the chmod, not a re-pin.
 */
function readManifestBytes(paths: IntegrityPaths, hint: string): Buffer {
  try {
    return readRegularFile(paths.manifest, MAX_MANIFEST_BYTES, 'manifest', { code: 'MANIFEST_UNREADABLE', tooBigCode: 'MANIFEST_MALFORMED', hint: hint || undefined });
  } catch (err) {
    if (err instanceof KeygateError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'EACCES') {
      throw new KeygateError(err.code, err.message, { hint: `chmod 644 ${shellWord(paths.manifest)}   # it holds hashes, no secret; every user that runs keygate reads it`, cause: err.cause });
    }
    throw err;
  }
}

function readEntry(entry: string): Buffer {
  try {
    return readWhole(entry);
  } catch (err) {
    throw new KeygateError('ENTRY_UNREADABLE', `failed to read main entry ${entry}: ${describeCause(err)}`, {
      hint: 'write it with keygate init (in keygate\'s own checkout: npm run build), or pass --entry <file>',
      cause: err,
    });
  }
}

function findPinOffset(bytes: Buffer, entry: string): number {
  const marker = Buffer.from(PIN_MARKER);
  const first = bytes.indexOf(marker);
  if (first < 0 || bytes.indexOf(marker, first + 1) >= 0) {
    throw new KeygateError('PIN_INVALID', `failed to find the pin slot in ${entry}: ${first < 0 ? 'no' : 'more than one'} ${PIN_MARKER} marker`, {
      hint: 'pin your service\'s keygate entry (the file keygate init wrote; set entry in keygate.config.json), or pass --entry <file>',
    });
  }
  return first + marker.length;
}

/** Reads the hash pinned in an entry file; PIN_INVALID when malformed. Unpinned gives UNPINNED. */
export function readPin(entry: string): string {
  const bytes = readEntry(entry);
  const at = findPinOffset(bytes, entry);
  const pin = bytes.subarray(at, at + 64).toString('latin1');
  assertPinFormat(pin, entry);
  return pin;
}

export function assertPinFormat(pin: string, where: string): void {
  if (!/^[0-9a-f]{64}$/.test(pin)) {
    throw new KeygateError('PIN_INVALID', `failed to read the pin in ${where}: expected 64 lowercase hex digits, got ${JSON.stringify(pin.slice(0, 80))}`, {
      hint: 'restore the entry (keygate init --force writes a fresh one), then keygate pin',
    });
  }
}

export interface PinResult {
  readonly manifestSha256: string;
  readonly entrySha256: string;
  readonly changed: boolean;
}

/** pin: writes the manifest's sha256 into the entry; returns the entry's new sha256 (to register in PAM). */
export function pinEntry(paths: IntegrityPaths): PinResult {
  const manifestBytes = readManifestBytes(paths, 'generate it first: keygate generate-filelist');
  parseManifest(manifestBytes, basename(paths.manifest)); // never pin garbage
  return writePin(paths, sha256(manifestBytes));
}

/** Writes a sha256 into the entry's pin slot (the manifest's, or a release trust root's); idempotent. */
export function writePin(paths: IntegrityPaths, manifestSha256: string): PinResult {
  const bytes = readEntry(paths.entry);
  const at = findPinOffset(bytes, paths.entry);
  const current = bytes.subarray(at, at + 64).toString('latin1');
  let changed = false;
  if (current !== manifestSha256) {
    bytes.write(manifestSha256, at, 'latin1');
    try {
      writeAtomic(paths.entry, bytes, fileMode(paths.entry));
    } catch (err) {
      throw new KeygateError('ENTRY_UNREADABLE', `failed to write main entry ${paths.entry}: ${describeCause(err)}`, { cause: err });
    }
    changed = true;
  }
  return { manifestSha256, entrySha256: sha256(bytes), changed };
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly pin: string;
  readonly manifestSha256: string;
  readonly files: number;
  readonly diff: ManifestDiff;
  readonly templateProblems: string[];
  /** The fixes that came with template problems (e.g. "export APP_HOME=..."), in the same order. */
  readonly templateHints?: string[];
  readonly ms: number;
  /** Verified hashes by manifest path, for loading files later from verified bytes. */
  readonly manifest: ReadonlyMap<string, string>;
  /** Signed releases: the release that vouched for the manifest (the entry pins the trust root). */
  readonly release?: ReleaseInfo;
  /** The entry pins a release trust root (also on a re-check while running, which judges no release). */
  readonly signedReleases?: boolean;
}

/**
 * verify: the manifest's bytes against the pin, every listed file against the manifest, and the template
 * (read from bytes verified against the manifest) against the manifest, to find new files.
 * Throws for a bad pin or manifest (nothing below them can be trusted); returns a report for file problems.
 */
export async function verifyTree(paths: IntegrityPaths, pin: string, env: IntegrityEnv): Promise<VerifyReport> {
  const started = process.hrtime.bigint();
  assertPinFormat(pin, 'the main entry');
  if (pin === UNPINNED) {
    throw new KeygateError('PIN_INVALID', `failed to verify: the main entry ${paths.entry} was never pinned`, {
      hint: 'keygate generate-filelist && keygate pin, then register the new entry hash in the vault',
    });
  }
  const manifestBytes = readManifestBytes(
    paths,
    pinsTrustRoot(paths.template, pin) ? `restore it with its .sig from your release; in CI: keygate generate-filelist && ${RELEASE_SIGN_FIX}` : 'restore it from your release, or regenerate and re-pin: keygate generate-filelist && keygate pin',
  );
  const manifestSha256 = sha256(manifestBytes);
  // The pin is the manifest's hash, or (signed releases) the trust root's, whose keys must then sign the manifest.
  let release: ReleaseInfo | undefined;
  if (env.acceptedManifest !== undefined) {
    if (manifestSha256 !== env.acceptedManifest) {
      throw new KeygateError('PIN_MISMATCH', `failed to verify ${paths.manifest} again: its sha256 is ${manifestSha256}, keygate started on ${env.acceptedManifest}`, {
        hint: 'a new release is applied by a restart of keygate itself: systemctl restart keygate',
        details: { expected: env.acceptedManifest, actual: manifestSha256 },
      });
    }
  } else if (manifestSha256 !== pin) {
    const trust = pinnedTrustRoot(paths.template, pin);
    if (!trust) {
      throw new KeygateError('PIN_MISMATCH', `failed to verify ${paths.manifest}: its sha256 is ${manifestSha256}, the main entry pins ${pin}`, {
        hint: fileExists(trustPath(paths.template))
          ? `restore ${basename(trustPath(paths.template))} and the manifest from your release (the entry pins one of them; a pin would replace signed releases)`
          : 'if the change is yours: keygate generate-filelist && keygate pin, then register the new entry hash in the vault',
        details: { expected: pin, actual: manifestSha256 },
      });
    }
    release = verifyReleaseFiles(trust, paths.manifest, manifestSha256, { stateWhereItExists: env.releaseStateWhereItExists === true });
  }
  const manifest = parseManifest(manifestBytes, basename(paths.manifest));
  const base = dirname(paths.template);
  const templateName = basename(paths.template);

  // The template first: it is read from the same bytes that are hashed, so what we expand is what was verified.
  const templateProblems: string[] = [];
  const templateHints: string[] = [];
  let templateBytes: Buffer | undefined;
  const templateResult: HashResult = (() => {
    try {
      templateBytes = readTemplate(paths);
      return { ok: true, sha256: sha256(templateBytes) } as const;
    } catch (err) {
      const code = ((err as { cause?: NodeJS.ErrnoException }).cause ?? (err as NodeJS.ErrnoException)).code;
      // The reason without "failed to read template <path>: ": the report row already names the template.
      const reason = err instanceof KeygateError ? err.message.replace(`failed to read template ${paths.template}: `, '') : describeCause(err);
      return { ok: false, missing: code === 'ENOENT', reason } as const;
    }
  })();
  const templateLine = manifest.paths.indexOf(templateName);
  const templateTrusted = templateResult.ok && templateLine >= 0 && manifest.hexAt(templateLine) === templateResult.sha256;
  if (templateLine < 0) templateProblems.push(`the manifest does not list ${templateName}`);
  let current: Iterable<string> | undefined;
  // Expanding the template (new-file detection) runs on the main thread while the hash worker starts up. Only
  // files the manifest lacks are collected: those are the new ones.
  const expand = async (): Promise<void> => {
    if (!templateTrusted || !templateBytes) return;
    try {
      const lines = parseTemplateBytes(templateBytes, paths, env);
      const expansion = await expandTemplate(lines, { base, skip: skipped(paths), known: process.platform === 'win32' ? (p) => manifest.hasExact(p) : (p) => manifest.has(p) });
      templateProblems.push(...expansion.problems.filter((p) => p.kind !== 'no-match').map(problemText));
      current = expansion.files;
    } catch (err) {
      templateProblems.push(describeCause(err));
      if (err instanceof KeygateError && err.hint) templateHints.push(err.hint);
    }
  };
  // Every listed file is hashed in the manifest's order (the template too, but its trusted result is the one
  // above), so result i belongs to manifest line i and no path → result map is built.
  const table = await hashFilesRaw(manifest.paths, { base, strategy: env.strategy, onProgress: env.onProgress, meanwhile: expand });
  const hashes: HashLookup = (i) => (i === templateLine ? templateResult : table.sameDigest(i, manifest.digests, i * 32) ? 'same' : table.result(i));

  const diff = compareManifest(manifest, hashes, current);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return {
    ok: isCleanDiff(diff) && templateProblems.length === 0,
    pin,
    manifestSha256,
    files: manifest.size,
    diff,
    templateProblems,
    templateHints,
    ms,
    manifest,
    ...(release ? { release } : {}),
    ...(release || (env.acceptedManifest !== undefined && pinsTrustRoot(paths.template, pin)) ? { signedReleases: true } : {}),
  };
}

const RESTORE_HINT =
  'restore the files from your release; if the change is intended: keygate generate-filelist && keygate pin, then register the new entry hash in the vault';

/** Signed releases: an intended change is a new release, never a pin (which would replace the trust root). */
const RELEASE_RESTORE_HINT = `restore the files from your release; if the change is intended, it is a new release: in CI keygate generate-filelist && ${RELEASE_SIGN_FIX}, and deploy the files with filelist.sha256 and its .sig`;

/** The fix for a failed report: restoring files, unless the only problem is a template that cannot be read now. */
function integrityHint(report: VerifyReport): string {
  const restore = report.signedReleases ? RELEASE_RESTORE_HINT : RESTORE_HINT;
  if (!isCleanDiff(report.diff) || report.templateProblems.length === 0) return restore;
  // A ${VAR} set when the manifest was generated but not where keygate runs now (a systemd unit has no login
  // shell's environment): the files are fine, the environment is not.
  const unset = [...new Set(report.templateProblems.flatMap((t) => [...t.matchAll(/uses \$\{(\w+)\}, which is not set/g)].map((m) => m[1]!)))];
  if (unset.length) {
    const exports = unset.map((v) => `${v}=<value>`);
    return `export ${exports.join(' ')} in the environment keygate runs in, with the value it had at generate-filelist (systemd: ${exports.map((e) => `Environment=${e}`).join(' ')} in the unit)`;
  }
  return report.templateHints?.length ? [...new Set(report.templateHints)].join('; ') : restore;
}

/** Turns a failed report into the error that stops a start, listing every problem. */
export function integrityError(report: VerifyReport): KeygateError {
  const rows = [...formatDiff(report.diff), ...report.templateProblems.map((t) => `template:   ${t}`)];
  const summary = [diffSummary(report.diff), report.templateProblems.length ? `${report.templateProblems.length} template problem(s)` : '']
    .filter(Boolean)
    .join(', ');
  return new KeygateError('INTEGRITY_MISMATCH', `failed to verify ${report.files} files: ${summary}\n  ${rows.join('\n  ')}`, {
    hint: integrityHint(report),
    details: reportJson(report),
  });
}

const CONFIG_HINT = 'fix the settings (docs/configuration.md), then keygate generate-filelist && keygate pin';

/**
 * keygate.config.json's bytes parsed and validated, as serve, verify and check all read them: every problem at
 * once, CONFIG_INVALID (exit 2).
 */
export function parseConfigBytes(bytes: Buffer, file: string = CONFIG_FILE): Config {
  const raw = parseConfigJson(bytes, file);
  const result = validateConfig(raw);
  if (result.ok) return result.config;
  const { errors } = result;
  throw new KeygateError(
    'CONFIG_INVALID',
    errors.length === 1 ? `failed to read ${CONFIG_FILE}: ${errors[0]}` : `failed to read ${CONFIG_FILE}: ${errors.length} problems\n  ${errors.join('\n  ')}`,
    { hint: CONFIG_HINT, details: { problems: errors } },
  );
}

/**
 * verify and check: keygate.config.json, read from the bytes the manifest lists (sha256 checked), validated.
 * No config at all is fine (serve uses the defaults); a config the manifest lacks is refused, as serve refuses it.
 */
export function assertVerifiedConfig(paths: IntegrityPaths, manifest: { get(path: string): string | undefined }): void {
  const file = resolve(dirname(paths.template), CONFIG_FILE);
  const listed = manifest.get(CONFIG_FILE) ?? manifest.get(file);
  if (listed === undefined) {
    if (!fileExists(file)) return;
    throw new KeygateError('UNVERIFIED_LOAD', `failed to verify ${CONFIG_FILE}: it is not in the manifest, so serve would refuse to read it`, {
      hint: `add the line ${CONFIG_FILE} to ${basename(paths.template)}, then keygate generate-filelist && keygate pin`,
    });
  }
  const bytes = readRegularFile(file, MAX_CONFIG_BYTES, 'config', { code: 'CONFIG_INVALID', hint: CONFIG_HINT });
  if (sha256(bytes) !== listed) {
    throw new KeygateError('INTEGRITY_MISMATCH', `failed to verify ${CONFIG_FILE}: it changed while keygate read it (sha256 ${sha256(bytes)})`, {
      hint: 'something is writing protected files: run it again, and investigate if it repeats',
    });
  }
  parseConfigBytes(bytes);
}

/** The config's JSON, or CONFIG_INVALID naming the file, line and column (what a trailing comma gets). */
function parseConfigJson(bytes: Buffer, file: string): unknown {
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    const where = describeJsonError(text, err);
    throw new KeygateError('CONFIG_INVALID', `failed to read ${file}: invalid JSON at ${where}`, {
      hint: `edit ${file} at ${where.split(':')[0]}, then keygate generate-filelist && keygate pin`,
    });
  }
}

/**
 * Every command, before the template or the entry is read: keygate.config.json, when there is one, must be JSON,
 * and its backend program absolute. Its bytes are read here unverified, as readConfiguredPrograms and
 * configuredEntry read them, only to say what is wrong: a broken config otherwise surfaced as a template error
 * or a missing dist/main.js, a relative program as "names no server.backend.command".
 */
export function assertConfigReadable(base: string, env: Readonly<Record<string, string | undefined>> = {}): void {
  const file = resolve(base, CONFIG_FILE);
  if (!fileExists(file)) return;
  const raw = parseConfigJson(readRegularFile(file, MAX_CONFIG_BYTES, 'config', { code: 'CONFIG_INVALID', hint: CONFIG_HINT }), file) as {
    server?: { backend?: { command?: unknown } };
  };
  const command = raw?.server?.backend?.command;
  const program = Array.isArray(command) ? command[0] : undefined;
  if (typeof program !== 'string' || program === '' || program.startsWith('/') || program === '${NODE}') return;
  // The lookup is for the message only: keygate runs exactly the path the config names (and the manifest lists).
  const found = onPath(program, env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin');
  throw new KeygateError(
    'CONFIG_INVALID',
    `failed to read ${file}: server.backend.command[0] is ${JSON.stringify(program)}, but it must be an absolute path (keygate does no PATH lookup)`,
    {
      hint: found
        ? `write "${found}" (${program} on this PATH) as server.backend.command[0], then keygate generate-filelist && keygate pin`
        : `write the absolute path of ${program} as server.backend.command[0] (command -v ${program} prints it), then keygate generate-filelist && keygate pin`,
    },
  );
}

/** The first executable regular file named `name` in PATH's folders, as `command -v` finds it. */
function onPath(name: string, path: string): string | undefined {
  if (name.includes('/')) return undefined;
  for (const dir of path.split(':')) {
    if (!dir.startsWith('/')) continue;
    const candidate = resolve(dir, name);
    try {
      const st = statSync(candidate);
      if (st.isFile() && (st.mode & 0o111) !== 0) return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** A config is a few kilobytes. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** The machine-readable report (`verify --json`). */
export function reportJson(report: VerifyReport): Record<string, unknown> {
  return {
    ok: report.ok,
    pin: report.pin,
    manifestSha256: report.manifestSha256,
    files: report.files,
    changed: report.diff.changed,
    missing: report.diff.missing,
    new: report.diff.added,
    unreadable: report.diff.unreadable,
    template: report.templateProblems,
    ms: Math.round(report.ms),
  };
}

export interface CheckResult {
  readonly ok: true;
  readonly pin: string;
  readonly regenerated: string;
  /** Signed releases: the release that signs the current manifest. */
  readonly release?: ReleaseInfo;
}

/**
 * check: the CI gate. Regenerates in memory, validates keygate.config.json from the regenerated bytes, and
 * compares with the pin. Throws PIN_STALE, saying what to run: `pin` alone when only the pin is behind, the
 * differing files when the tree changed.
 */
export async function checkPin(paths: IntegrityPaths, pin: string, env: IntegrityEnv): Promise<CheckResult> {
  assertPinFormat(pin, paths.entry);
  const built = await buildManifest(paths, env);
  assertVerifiedConfig(paths, parseManifest(built.bytes));
  if (built.sha256 === pin) return { ok: true, pin, regenerated: built.sha256 };
  let onDisk: Buffer | undefined;
  try {
    onDisk = readManifestBytes(paths, '');
  } catch {
    // no usable manifest on disk
  }
  const manifestName = basename(paths.manifest);
  const diskIsCurrent = onDisk !== undefined && sha256(onDisk) === built.sha256;
  // Signed releases: the entry pins the trust root; the manifest on disk must be current and signed.
  const trust = pin === UNPINNED ? undefined : pinnedTrustRoot(paths.template, pin);
  if (trust) {
    if (!diskIsCurrent) {
      throw new KeygateError('PIN_STALE', `failed to check ${paths.manifest}: the tree now hashes to ${built.sha256}, ${onDisk ? `the manifest on disk to ${sha256(onDisk)}` : 'and there is no manifest on disk'}`, {
        hint: `keygate generate-filelist, then ${RELEASE_SIGN_FIX}`,
      });
    }
    const release = verifyReleaseFiles(trust, paths.manifest, built.sha256, { stateWhereItExists: true });
    return { ok: true, pin, regenerated: built.sha256, release };
  }
  const pinHint = 'keygate pin, then register the entry hash it prints in the vault';
  const regenHint = 'keygate generate-filelist && keygate pin, commit, and register the new entry hash in the vault';
  if (pin === UNPINNED) {
    throw new KeygateError('PIN_STALE', `failed to check ${paths.entry}: it was never pinned${diskIsCurrent ? ` (${manifestName} is current)` : ''}`, {
      hint: diskIsCurrent ? pinHint : regenHint,
    });
  }
  if (diskIsCurrent) {
    throw new KeygateError('PIN_STALE', `failed to check ${paths.entry}: ${manifestName} is current, but the entry pins an older manifest (${pin})`, { hint: pinHint });
  }
  let previous = ManifestIndex.empty();
  if (onDisk !== undefined && sha256(onDisk) === pin) previous = parseManifest(onDisk, manifestName);
  const regenerated = parseManifest(built.bytes);
  const diff = compareManifest(
    previous,
    (i) => {
      const s = regenerated.get(previous.paths.at(i)!);
      return s === undefined ? undefined : { ok: true, sha256: s };
    },
    regenerated.keys(),
  );
  const differences = previous.size ? formatDiff(diff, 1000) : [];
  if (differences.length === 0) differences.push(`the manifest the entry pins is not on disk (${manifestName} was regenerated since): files cannot be compared`);
  throw new KeygateError('PIN_STALE', `failed to check ${paths.entry}: the tree now hashes to ${built.sha256}, the entry pins ${pin}\n  ${differences.join('\n  ')}`, {
    hint: regenHint,
  });
}
