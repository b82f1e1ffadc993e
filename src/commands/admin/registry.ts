// What the admin sub-commands share: usage errors, the user registry read and written whole, and the action
// names and expiry a user is given.

import { join } from 'node:path';
import type { Options } from 'yargs';
import { KeygateError, type ExitStatus } from '../../errors.js';
import { renderHint } from '../../project.js';
import type { Context } from '../../context.js';
import { fileExists, readWhole, writeAtomicIn } from '../../adapters/files.js';
import { validateConfig } from '../../core/config.js';
import { ADMIN_DEFAULTS, BUILTIN_ACTIONS } from '../../admin/config.js';
import { FILE_OPERATIONS, parseUsers, serializeUsers, type Registry } from '../../admin/users.js';

export const usage = (message: string, hint = 'keygate admin --help'): KeygateError => new KeygateError('USAGE', message, { hint });

/** One `keygate admin <action>`: its own flags (all actions share one line grammar) and what it does. */
export interface AdminAction {
  readonly flags: Readonly<Record<string, Options>>;
  run(ctx: Context, words: readonly string[], args: Readonly<Record<string, unknown>>): Promise<ExitStatus>;
}

/** The flags of the actions that change the registry (add-user, import-sqlite). */
export const REGISTRY_FLAGS: Readonly<Record<string, Options>> = {
  users: { type: 'string', default: ADMIN_DEFAULTS.users, describe: 'the user registry to change' },
  actions: { type: 'string', default: 'status', describe: 'add-user/import-sqlite: what the user(s) may run, comma separated (actions, get, put, or *)' },
  expires: { type: 'string', describe: 'add-user/import-sqlite: the key stops working at this ISO date' },
};

/** The registry flags as the actions read them. */
export const registryArgs = (args: Readonly<Record<string, unknown>>) => ({
  users: String(args['users']),
  actions: String(args['actions']),
  expires: args['expires'] as string | undefined,
  force: Boolean(args['force']),
});

/** The action names this project's config offers (keygate's own, admin.actions, admin.interactive), for checking --actions. */
export function knownActions(cwd: string): string[] {
  const file = join(cwd, 'keygate.config.json');
  const own = [...BUILTIN_ACTIONS, ...FILE_OPERATIONS, '*'];
  if (!fileExists(file)) return own;
  try {
    const r = validateConfig(JSON.parse(readWhole(file).toString('utf8')));
    return r.ok ? [...own, ...Object.keys(r.config.admin?.actions ?? {}), ...Object.keys(r.config.admin?.interactive ?? {})] : own;
  } catch {
    return own;
  }
}

export function parseActions(raw: string, known: readonly string[]): string[] {
  const list = raw.split(',').map((a) => a.trim()).filter(Boolean);
  if (list.length === 0) throw usage('failed to read --actions: it is empty', 'e.g. --actions status,tail-log,get  (or "*" for everything)');
  const unknown = list.filter((a) => !known.includes(a));
  if (unknown.length) throw usage(`failed to read --actions: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} no action of this project (known: ${known.join(', ')})`);
  return list;
}

export function parseExpires(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || !Number.isFinite(Date.parse(raw))) throw usage(`failed to read --expires ${raw}: not an ISO date`, 'e.g. --expires 2027-01-31');
  return raw;
}

export function readRegistry(file: string): Registry {
  if (!fileExists(file)) return { users: {} };
  const parsed = parseUsers(readWhole(file), [...BUILTIN_ACTIONS, '*']);
  try {
    const raw = JSON.parse(readWhole(file).toString('utf8')) as Registry;
    if (typeof raw.users === 'object' && raw.users !== null) return raw;
  } catch {
    /* reported below */
  }
  throw new KeygateError('ADMIN_INVALID', `failed to read the admin users ${file}:\n${parsed.problems.join('\n')}`, { hint: 'fix or move the file, then run the command again' });
}

export function writeRegistry(ctx: Context, file: string, registry: Registry, what: string): void {
  writeAtomicIn(file, serializeUsers(registry), 0o644);
  ctx.log.info(renderHint(`${what} in ${file}; the service reads it from verified bytes: keygate generate-filelist && keygate pin, then register the new entry hash in the vault`, ctx.invocation ?? 'keygate'));
}
