// keygate admin: the admin channel's offline tools (docs/admin.md). They write files only; the running service
// reads the registry and the server key from verified bytes, so every change is followed by
// `keygate generate-filelist && keygate pin` (and the new entry hash registered in the vault).
//   keygen NAME         an Ed448 key pair as remo_serv's build_key_pair makes it: NAME_key.pem (PKCS#8, encrypted
//                       with the password from --password-file or a prompt, 0600) and NAME.pem (SPKI)
//   keygen --server     the channel's own key, unencrypted (keygate starts unattended), 0600
//   add-user NAME KEY   a user's public key into the registry, with its actions and optional expiry
//   import-sqlite DB    every user of a remo_serv SQLite user database (users(user, pub))

import { generateKeyPairSync } from 'node:crypto';
import { resolve, join } from 'node:path';
import type { CommandModule } from 'yargs';
import { EXIT, KeygateError, describeCause } from '../errors.js';
import { renderHint } from '../project.js';
import type { Context, Handler } from '../context.js';
import { fileExists, readWhole, writeAtomicIn } from '../adapters/files.js';
import { readPasswordFile } from './keystore-create.js';
import { Secret } from '../adapters/secret.js';
import { validateConfig } from '../core/config.js';
import { ADMIN_DEFAULTS, BUILTIN_ACTIONS } from '../admin/config.js';
import { keyFingerprint } from '../admin/crypto.js';
import { FILE_OPERATIONS, USER_NAME, parseUserKey, parseUsers, serializeUsers, type Registry } from '../admin/users.js';
import { SqliteFormatError, readRemoServUsers } from '../admin/sqlite-read.js';

const usage = (message: string, hint = 'keygate admin --help'): KeygateError => new KeygateError('USAGE', message, { hint });

/** The action names this project's config offers (keygate's own, admin.actions, admin.interactive), for checking --actions. */
function knownActions(cwd: string): string[] {
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

function parseActions(raw: string, known: readonly string[]): string[] {
  const list = raw.split(',').map((a) => a.trim()).filter(Boolean);
  if (list.length === 0) throw usage('failed to read --actions: it is empty', 'e.g. --actions status,tail-log,get  (or "*" for everything)');
  const unknown = list.filter((a) => !known.includes(a));
  if (unknown.length) throw usage(`failed to read --actions: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} no action of this project (known: ${known.join(', ')})`);
  return list;
}

function parseExpires(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || !Number.isFinite(Date.parse(raw))) throw usage(`failed to read --expires ${raw}: not an ISO date`, 'e.g. --expires 2027-01-31');
  return raw;
}

function readRegistry(file: string): Registry {
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

function writeRegistry(ctx: Context, file: string, registry: Registry, what: string): void {
  writeAtomicIn(file, serializeUsers(registry), 0o644);
  ctx.log.info(renderHint(`${what} in ${file}; the service reads it from verified bytes: keygate generate-filelist && keygate pin, then register the new entry hash in the vault`, ctx.invocation ?? 'keygate'));
}

/** A password typed twice on the terminal, without echo (no TTY: a usage error naming --password-file). */
async function promptPassword(ctx: Context): Promise<Secret> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw usage('failed to read the key password: no --password-file and stdin is not a terminal', 'keygate admin keygen NAME --password-file FILE');
  // Raw mode: nothing is echoed. Typed-ahead or pasted input can hold both lines in one chunk: kept in `pending`.
  let pending = '';
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let interrupted = false;
  const onData = (d: Buffer): void => {
    for (const ch of d.toString('utf8')) {
      if (ch === '\r' || ch === '\n') {
        lines.push(pending);
        pending = '';
      } else if (ch === '\u0003') interrupted = true;
      else if (ch === '\u007f' || ch === '\b') pending = pending.slice(0, -1);
      else pending += ch;
    }
    wake?.();
  };
  const ask = async (label: string): Promise<string> => {
    ctx.io.stderr.write(label);
    while (lines.length === 0 && !interrupted) await new Promise<void>((r) => (wake = r));
    ctx.io.stderr.write('\n');
    if (interrupted) throw usage('keygen interrupted: no key written');
    return lines.shift()!;
  };
  stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.resume();
  try {
    const first = await ask('password for the new key: ');
    if (first === '') throw usage('failed to read the key password: it is empty (an admin user key is always encrypted)');
    if ((await ask('again: ')) !== first) throw usage('failed to read the key password: the two entries differ');
    return new Secret(first);
  } finally {
    stdin.off('data', onData);
    stdin.setRawMode(false);
    stdin.pause();
  }
}

/** keygen: the private key (0600) and the public key beside it; never overwrites without --force. */
export async function keygen(ctx: Context, a: { name?: string; dir: string; server: boolean; passwordFile?: string; force: boolean }): Promise<{ privateFile: string; publicFile: string; fingerprint: string }> {
  const name = a.server ? (a.name ?? 'server') : a.name;
  if (!name || !/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw usage('failed to read the key name: keygen NAME (letters, digits, . _ -) makes NAME_key.pem and NAME.pem, or pass --server');
  if (a.server && a.passwordFile) throw usage('--server writes an unencrypted key (keygate starts unattended): drop --password-file');
  const dir = resolve(ctx.io.cwd, a.dir);
  const privateFile = join(dir, `${name}_key.pem`);
  const publicFile = join(dir, `${name}.pem`);
  for (const f of [privateFile, publicFile]) if (fileExists(f) && !a.force) throw usage(`failed to write ${f}: it exists`, 'pass --force to replace it (the old key is lost)');
  const password = a.server ? undefined : a.passwordFile ? readPasswordFile(resolve(ctx.io.cwd, a.passwordFile)) : await promptPassword(ctx);
  const { privateKey, publicKey } = generateKeyPairSync('ed448');
  // PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC): what Python cryptography's BestAvailableEncryption reads and writes.
  const pem = password
    ? privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password.reveal() })
    : privateKey.export({ type: 'pkcs8', format: 'pem' });
  writeAtomicIn(privateFile, pem, 0o600);
  writeAtomicIn(publicFile, publicKey.export({ type: 'spki', format: 'pem' }), 0o644);
  return { privateFile, publicFile, fingerprint: keyFingerprint(publicKey) };
}

/** add-user: one public key into the registry. */
export function addUser(ctx: Context, a: { name: string; keyFile: string; users: string; actions: string; expires?: string; force: boolean }): { file: string; fingerprint: string } {
  if (!USER_NAME.test(a.name)) throw usage(`failed to add user ${JSON.stringify(a.name)}: a user name is 1 to 64 of A-Z a-z 0-9 . _ @ -`);
  const actions = parseActions(a.actions, knownActions(ctx.io.cwd));
  const expires = parseExpires(a.expires);
  let pem: string;
  try {
    pem = readWhole(resolve(ctx.io.cwd, a.keyFile)).toString('utf8');
  } catch (err) {
    throw usage(`failed to read ${a.keyFile}: ${describeCause(err)}`);
  }
  const key = parseUserKey(pem);
  if (typeof key === 'string') throw usage(`failed to add user ${a.name}: ${a.keyFile} ${key}`, 'pass the public key (NAME.pem from keygate admin keygen or remo_serv build_key_pair), not the private one');
  const file = resolve(ctx.io.cwd, a.users);
  const registry = readRegistry(file);
  if (registry.users[a.name] && !a.force) throw usage(`failed to add user ${a.name}: ${file} has that user already`, 'pass --force to replace the key and actions');
  registry.users[a.name] = { key: key.export({ type: 'spki', format: 'pem' }).toString(), ...(expires ? { expires } : {}), actions };
  writeRegistry(ctx, file, registry, `added ${a.name}`);
  return { file, fingerprint: keyFingerprint(key) };
}

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

const handler: Handler = async (ctx, args) => {
  const words = ((args['args'] as unknown[] | undefined) ?? []).map(String);
  const common = { users: String(args['users']), actions: String(args['actions']), expires: args['expires'] as string | undefined, force: Boolean(args['force']) };
  switch (args['action']) {
    case 'keygen': {
      if (words.length > 1) throw usage('keygen takes one NAME');
      const r = await keygen(ctx, { name: words[0], dir: String(args['dir'] ?? (args['server'] ? 'admin' : '.')), server: Boolean(args['server']), passwordFile: args['password-file'] as string | undefined, force: common.force });
      ctx.log.info(`wrote ${r.privateFile} (0600) and ${r.publicFile}`, { sha256: r.fingerprint });
      ctx.io.stdout.write(`${r.publicFile}\n`);
      return EXIT.OK;
    }
    case 'add-user': {
      if (words.length !== 2) throw usage('add-user takes NAME KEY.pem');
      const r = addUser(ctx, { ...common, name: words[0]!, keyFile: words[1]! });
      ctx.io.stdout.write(`${r.fingerprint}\n`);
      return EXIT.OK;
    }
    case 'import-sqlite': {
      if (words.length !== 1) throw usage('import-sqlite takes the database file');
      const r = importSqlite(ctx, { ...common, db: words[0]! });
      ctx.io.stdout.write(`${r.imported.join('\n')}\n`);
      return EXIT.OK;
    }
  }
  throw usage(`unknown admin action ${String(args['action'])}`);
};

/** yargs adapter: `keygate admin <action> [args..]`. */
export function adminCommand(choose: (h: Handler) => (args: Record<string, unknown>) => void): CommandModule {
  return {
    command: 'admin <action> [args..]',
    describe: 'admin channel tools: make keys, add users, import a remo_serv user database (docs/admin.md)',
    builder: (y) =>
      y
        .positional('action', { choices: ['keygen', 'add-user', 'import-sqlite'] as const, describe: 'what to do' })
        .positional('args', { type: 'string', array: true, describe: 'keygen [NAME] | add-user NAME KEY.pem | import-sqlite users_db.sqlite' })
        .option('server', { type: 'boolean', default: false, describe: "keygen: the channel's own key (unencrypted, 0600) in admin/" })
        .option('dir', { type: 'string', describe: 'keygen: folder to write the keys to (default: . , admin with --server)' })
        .option('password-file', { type: 'string', describe: 'keygen: file holding the new key\'s password (else a prompt; never on argv)' })
        .option('users', { type: 'string', default: ADMIN_DEFAULTS.users, describe: 'the user registry to change' })
        .option('actions', { type: 'string', default: 'status', describe: 'add-user/import-sqlite: what the user(s) may run, comma separated (actions, get, put, or *)' })
        .option('expires', { type: 'string', describe: 'add-user/import-sqlite: the key stops working at this ISO date' })
        .option('force', { type: 'boolean', default: false, describe: 'overwrite keys, replace users' })
        .example('$0 admin keygen --server', 'admin/server_key.pem (0600) and admin/server.pem (give it to clients to pin)')
        .example('$0 admin keygen alice --password-file pw', 'alice_key.pem (encrypted) and alice.pem')
        .example('$0 admin add-user alice alice.pem --actions status,tail-log,get --expires 2027-01-31', 'then: keygate generate-filelist && keygate pin')
        .example('$0 admin import-sqlite users_db.sqlite --actions status', "remo_serv's users, all at once")
        .epilogue('Exit codes: 0 ok, 2 usage or ADMIN_INVALID, 7 ADMIN_IMPORT_FAILED (docs/errors.md)'),
    handler: choose(handler),
  };
}
