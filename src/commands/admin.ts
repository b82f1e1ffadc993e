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
import type { Handler } from '../context.js';
import { usage, type AdminAction } from './admin/registry.js';
import { keygenAction } from './admin/keygen.js';
import { addUserAction } from './admin/add-user.js';
import { importSqliteAction } from './admin/import-sqlite.js';

const ACTIONS: Readonly<Record<string, AdminAction>> = { keygen: keygenAction, 'add-user': addUserAction, 'import-sqlite': importSqliteAction };

const handler: Handler = async (ctx, args) => {
  const action = ACTIONS[String(args['action'])];
  if (!action) throw usage(`unknown admin action ${String(args['action'])}`);
  return action.run(ctx, ((args['args'] as unknown[] | undefined) ?? []).map(String), args);
};

/** yargs adapter: `keygate admin <action> [args..]`. */
export function adminCommand(choose: (h: Handler) => (args: Record<string, unknown>) => void): CommandModule {
  // One line grammar for all actions: each action's flags, then --force, which every action takes.
  const flags = Object.assign({}, ...Object.values(ACTIONS).map((a) => a.flags), { force: { type: 'boolean', default: false, describe: 'overwrite keys, replace users' } });
  return {
    command: 'admin <action> [args..]',
    describe: 'admin channel tools: make keys, add users, import a remo_serv user database (docs/admin.md)',
    builder: (y) =>
      y
        .positional('action', { choices: Object.keys(ACTIONS), describe: 'what to do' })
        .positional('args', { type: 'string', array: true, describe: 'keygen [NAME] | add-user NAME KEY.pem | import-sqlite users_db.sqlite' })
        .options(flags)
        .example('$0 admin keygen --server', 'admin/server_key.pem (0600) and admin/server.pem (give it to clients to pin)')
        .example('$0 admin keygen alice --password-file pw', 'alice_key.pem (encrypted) and alice.pem')
        .example('$0 admin add-user alice alice.pem --actions status,tail-log,get --expires 2027-01-31', 'then: keygate generate-filelist && keygate pin')
        .example('$0 admin import-sqlite users_db.sqlite --actions status', "remo_serv's users, all at once")
        .epilogue('Exit codes: 0 ok, 2 usage or ADMIN_INVALID, 7 ADMIN_IMPORT_FAILED (docs/errors.md)'),
    handler: choose(handler),
  };
}
