// Where a keygate project is and how its user runs keygate, from the running entry's own location (never from
// the current folder alone): a start from /, from a systemd unit or from the project folder verifies the same tree.
//
// Two kinds of running entry:
// - a project entry: the file registered in PAM (`init` writes it, e.g. <project>/keygate/main.cjs; keygate's own
//   checkout uses <project>/dist/main.js). Its project is its own folder or the one above, whichever holds
//   filelist.template: a fixed, short rule, so no file planted higher up can move the project.
// - the npm package's copy (node_modules/keygate/dist/main.js, what `npx keygate` and the bin shims run). PAM
//   never hashes it: it serves the user's tools (init, generate-filelist, pin, verify, check) in the current folder
//   and refuses `serve` with the project entry's command.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';

export const TEMPLATE_FILE = 'filelist.template';
export const MANIFEST_FILE = 'filelist.sha256';
export const CONFIG_FILE = 'keygate.config.json';
/** Signed releases (docs/releases.md): the trust root the entry pins, beside the template. */
export const TRUST_FILE = 'keygate.trust.json';
/** The release's signature envelope: the manifest's path with this suffix. */
export const ENVELOPE_SUFFIX = '.sig';
/** Where `init` puts the project entry unless told otherwise (relative to the project). */
export const DEFAULT_PROJECT_ENTRY = 'keygate/main.cjs';

/**
 * True when the running bundle is the npm package's own copy, not a project entry: its path is inside
 * node_modules/keygate, or it was started through node_modules (an npm bin shim, node_modules/.bin/keygate).
 * `invokedAs` is process.argv[1] as given: the entry's own path is a realpath, and a keygate installed from a
 * folder or with `npm link` is a symlink in node_modules pointing at a checkout.
 */
export function isPackageCopy(entry: string, invokedAs?: string): boolean {
  const inKeygatePackage = (p: string) => {
    const parts = p.split(sep);
    const i = parts.lastIndexOf('node_modules');
    return i >= 0 && (parts[i + 1] === 'keygate' || parts[i + 1] === '.bin');
  };
  return inKeygatePackage(entry) || (invokedAs !== undefined && inKeygatePackage(invokedAs));
}

/**
 * The project of a project entry: the entry's folder or its parent, whichever holds filelist.template or the
 * manifest (the nearer wins; a deleted template is then an integrity failure, not "no project"); undefined when
 * neither does, or when the entry is the package's copy. Two fixed places, never a walk upwards; in production
 * the trust anchors make both root's (docs/security.md).
 */
export function projectOfEntry(entry: string, invokedAs?: string, exists: (p: string) => boolean = existsSync): string | undefined {
  if (isPackageCopy(entry, invokedAs)) return undefined;
  const dir = dirname(entry);
  for (const candidate of [dir, dirname(dir)]) if (exists(join(candidate, TEMPLATE_FILE)) || exists(join(candidate, MANIFEST_FILE))) return candidate;
  return undefined;
}

/**
 * The command as this user types it: `npx keygate` for the package's copy, `node <entry>` for a project entry
 * (relative to the current folder when inside it, as `node dist/main.js`, else absolute).
 */
export function invocationOf(entry: string, cwd: string, invokedAs?: string): string {
  if (isPackageCopy(entry, invokedAs)) return 'npx keygate';
  const rel = relative(cwd, entry);
  const inside = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) && dirname(cwd) !== cwd; // from / the full path reads better
  return `node ${shellWord(inside ? rel.split(sep).join('/') : entry)}`;
}

/** A path as one shell word: as is when it holds only safe characters, else in single quotes. */
export function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}

/** The words after `keygate ` that make it a command in a hint ("the require keygate hands the app" is prose). */
const COMMAND_AFTER = /^(?:generate-filelist|pin|verify|check|serve|keystore|init|pki|admin|dev-setup|doctor|release)\b|^--|^</;

/** A hint written as `keygate <command> …` rendered as the user runs keygate (see invocationOf). */
export function renderHint(hint: string, invocation: string): string {
  return hint.replace(/(^|[\s(`'"])keygate (?=\S)/g, (match, lead: string, at: number) =>
    COMMAND_AFTER.test(hint.slice(at + match.length)) ? `${lead}${invocation} ` : match,
  );
}

/**
 * The project entry a project names in keygate.config.json (`entry`, relative to it), for the package's copy
 * to pin and check; undefined when the file or the field is absent. A tolerant read: the config is validated in
 * full by the commands that use it, and this only picks which file to hash.
 */
export function configuredEntry(project: string): string | undefined {
  let raw: string;
  try {
    raw = readFileSync(join(project, CONFIG_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const entry = (JSON.parse(raw) as { entry?: unknown }).entry;
    return typeof entry === 'string' && entry !== '' ? join(project, entry) : undefined;
  } catch {
    return undefined;
  }
}

/** The default entry of a project: `entry` in its config, else keygate's own layout (dist/main.js). */
export function defaultEntryOf(project: string): string {
  return configuredEntry(project) ?? join(project, 'dist', 'main.js');
}
