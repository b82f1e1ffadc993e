// keygate admin: the admin channel's offline tools (docs/admin.md), one file per action in commands/admin/.
// They write files only; the running service reads the registry and the server key from verified bytes, so
// every change is followed by
// `keygate generate-filelist && keygate pin` (and the new entry hash registered in the vault).
//   keygen NAME         an Ed448 key pair as remo_serv's build_key_pair makes it: NAME_key.pem (PKCS#8, encrypted
//                       with the password from --password-file or a prompt, 0600) and NAME.pem (SPKI)
//   keygen --server     the channel's own key, unencrypted (keygate starts unattended), 0600
//   add-user NAME KEY   a user's public key into the registry, with its actions and optional expiry
//   import-sqlite DB    every user of a remo_serv SQLite user database (users(user, pub))

import type { CommandModule } from 'yargs';
import { EXIT } from '../errors.js';
import type { Handler } from '../context.js';
import { ADMIN_DEFAULTS } from '../admin/config.js';
import { usage } from './admin/registry.js';
import { keygen } from './admin/keygen.js';
import { addUser } from './admin/add-user.js';
import { importSqlite } from './admin/import-sqlite.js';

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
