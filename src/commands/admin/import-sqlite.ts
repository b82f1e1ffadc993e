// keygate admin import-sqlite DB: every user of a remo_serv SQLite user database (users(user, pub)), all or none.

import { resolve } from 'node:path';
import { EXIT, KeygateError, describeCause } from '../../errors.js';
import type { Context } from '../../context.js';
import { readWhole } from '../../adapters/files.js';
import { USER_NAME, parseUserKey } from '../../admin/users.js';
import { SqliteFormatError, readRemoServUsers } from '../../admin/sqlite-read.js';
import { REGISTRY_FLAGS, knownActions, parseActions, parseExpires, readRegistry, registryArgs, usage, writeRegistry, type AdminAction } from './registry.js';

/** import-sqlite: every row of remo_serv's users table; one bad row and nothing is written. */
export function importSqlite(ctx: Context, a: { db: string; users: string; actions: string; expires?: string; force: boolean }): { file: string; imported: string[] } {
  const actions = parseActions(a.actions, knownActions(ctx.io.cwd));
  const expires = parseExpires(a.expires);
  const dbFile = resolve(ctx.io.cwd, a.db);
  let rows: { user: string; pub: string }[];
  try {
    rows = readRemoServUsers(readWhole(dbFile));
  } catch (err) {
    throw new KeygateError('ADMIN_IMPORT_FAILED', `failed to read ${dbFile}: ${err instanceof SqliteFormatError ? err.message : describeCause(err)}`, {
      hint: 'pass remo_serv\'s user database (add_user writes users_db.sqlite); check it with sqlite3 FILE .schema',
    });
  }
  const file = resolve(ctx.io.cwd, a.users);
  const registry = readRegistry(file);
  const problems: string[] = [];
  const imported: string[] = [];
  for (const row of rows) {
    if (!USER_NAME.test(row.user)) {
      problems.push(`${JSON.stringify(row.user)}: a user name is 1 to 64 of A-Z a-z 0-9 . _ @ -`);
      continue;
    }
    const key = parseUserKey(row.pub);
    if (typeof key === 'string') problems.push(`${row.user}: pub ${key}`);
    else if (registry.users[row.user] && !a.force) problems.push(`${row.user}: already in ${file} (pass --force to replace)`);
    else {
      registry.users[row.user] = { key: key.export({ type: 'spki', format: 'pem' }).toString(), ...(expires ? { expires } : {}), actions };
      imported.push(row.user);
    }
  }
  if (problems.length) throw new KeygateError('ADMIN_IMPORT_FAILED', `failed to import ${dbFile}: nothing written, ${problems.length} problem(s):\n${problems.join('\n')}`, { hint: 'fix those rows, or add the good users one by one: keygate admin add-user NAME KEY.pem' });
  if (imported.length === 0) throw new KeygateError('ADMIN_IMPORT_FAILED', `failed to import ${dbFile}: its users table is empty`, { hint: 'add users with keygate admin add-user NAME KEY.pem' });
  // remo_serv's add() could store a user's private key in clear in the `key` column: keygate never reads it.
  writeRegistry(ctx, file, registry, `imported ${imported.length} user(s)`);
  return { file, imported };
}

/** `keygate admin import-sqlite users_db.sqlite`. */
export const importSqliteAction: AdminAction = {
  flags: REGISTRY_FLAGS,
  async run(ctx, words, args) {
    if (words.length !== 1) throw usage('import-sqlite takes the database file');
    const r = importSqlite(ctx, { ...registryArgs(args), db: words[0]! });
    ctx.io.stdout.write(`${r.imported.join('\n')}\n`);
    return EXIT.OK;
  },
};
