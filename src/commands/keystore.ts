// keygate keystore <action>: create (self-signed or dev-CA keystore, keystore-create.ts), csr (a key born in the
// keystore and a request for any CA, keystore-csr.ts), import (the CA's answer into that keystore,
// keystore-import.ts). One yargs command `keystore <action>` (the help and fix lines name `keystore create`), whose
// flags are the named action's own: yargs builds subcommands lazily, so a nested `keystore create` would hide its
// flags from the KEYGATE_* variables (src/cli-yargs.ts flagsFromEnv), which read each command's builder.

import type { Argv, CommandModule } from 'yargs';
import type { Choose } from './common.js';
import { createFlags, createHandler } from './keystore-create.js';
import { csrFlags, csrHandler } from './keystore-csr.js';
import { importFlags, importHandler } from './keystore-import.js';

const ACTIONS = ['create', 'csr', 'import'] as const;
type Action = (typeof ACTIONS)[number];

/** The action argv names after `keystore`; undefined when argv is not a keystore line (then every action's flags). */
function actionOf(argv: readonly string[]): Action | 'none' | undefined {
  const at = argv.indexOf('keystore');
  if (at < 0 || !argv.includes('keystore')) return undefined;
  const word = argv.slice(at + 1).find((a) => !a.startsWith('-'));
  return (ACTIONS as readonly string[]).includes(word ?? '') ? (word as Action) : 'none';
}

/** yargs adapter: `keygate keystore create|csr|import`; argv picks which action's flags are declared. */
export function keystoreCommand(choose: Choose, argv: readonly string[]): CommandModule {
  const action = actionOf(argv);
  const flags = <T>(y: Argv<T>): Argv<T> => {
    if (action === 'csr') return csrFlags(y) as unknown as Argv<T>;
    if (action === 'import') return importFlags(y) as unknown as Argv<T>;
    if (action === undefined) return importFlags(csrFlags(createFlags(y) as unknown as Argv<T>) as unknown as Argv<T>) as unknown as Argv<T>; // the KEYGATE_* check sees every flag
    return createFlags(y) as unknown as Argv<T>;
  };
  const handlers = { create: createHandler, csr: csrHandler, import: importHandler };
  return {
    command: 'keystore <action>',
    describe: 'keystore tools: create a keystore (self-signed or dev CA); csr: a new key inside the keystore and a request for any CA; import: the issued chain into it',
    builder: (y) => flags(y.positional('action', { choices: ACTIONS, describe: 'create, csr or import' })),
    handler: (args) => choose(handlers[(args['action'] as Action) ?? 'create'])(args),
  };
}
