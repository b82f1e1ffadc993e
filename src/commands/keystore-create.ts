// keystore create (seed 000's Create-Keystore) and dev-setup (the embedded demo behind `npm start`).
// The password never goes on argv: it comes from --password-file, or (dev-setup) is generated in memory and
// handed straight to the dev A2A emulator's store.

import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { CommandModule } from 'yargs';
import { EXIT, KeygateError, describeCause } from '../errors.js';
import type { Context, Handler } from '../context.js';
import type { CreateOptions } from '../adapters/keystore.js';
import { Secret } from '../adapters/secret.js';
import { sha256 } from '../adapters/file-hash.js';
import { generateFilelist, pinEntry, resolvePaths } from '../gate/integrity.js';
import { fileExists, readWhole, writeAtomicIn } from '../adapters/files.js';
import { readStore, writeStore } from '../adapters/emulator-store.js';

/** Reads a password file, trimming only trailing whitespace (smallstep utils/read.go). */
export function readPasswordFile(file: string): Secret {
  let text: string;
  try {
    text = readWhole(file).toString('utf8');
  } catch (err) {
    throw new KeygateError('USAGE', `failed to read password file ${file}: ${describeCause(err)}`, { hint: 'pass a readable file with --password-file' });
  }
  const value = text.replace(/\s+$/, '');
  if (value === '') throw new KeygateError('USAGE', `failed to read password file ${file}: it is empty`, {});
  if (/[^\x20-\x7e]/.test(value)) {
    throw new KeygateError('USAGE', `failed to use password file ${file}: only printable ASCII passwords are supported`, {
      hint: 'keytool cannot create PBES2 keystores with non-ASCII passwords, and Java and browser clients differ on them: use printable ASCII',
    });
  }
  return new Secret(value);
}

export interface KeystoreCreateArgs extends CreateOptions {
  readonly out: string;
  readonly crt: string;
  readonly force: boolean;
}

/** Writes the keystore and its .crt, both 0600; refuses to overwrite without force. */
export async function writeKeystore(secret: Secret, args: KeystoreCreateArgs): Promise<{ p12: string; crt: string; sha256: string }> {
  const { createKeystore } = await import('../adapters/keystore.js'); // node-forge: loaded only here
  for (const f of [args.out, args.crt]) {
    if (fileExists(f) && !args.force) {
      throw new KeygateError('KEYSTORE_EXISTS', `failed to create keystore: ${f} exists`, { hint: 'pass --force to replace it (the old key is lost)' });
    }
  }
  const created = createKeystore(secret, args);
  writeAtomicIn(args.out, created.p12, 0o600);
  writeAtomicIn(args.crt, created.certPem, 0o600);
  return { p12: args.out, crt: args.crt, sha256: sha256(created.p12) };
}

function createArgs(ctx: Context, a: Record<string, unknown>): KeystoreCreateArgs {
  const out = resolve(ctx.io.cwd, a['out'] as string);
  return {
    out,
    crt: resolve(ctx.io.cwd, (a['crt'] as string | undefined) ?? out.replace(/\.(p12|pfx|keystore)$/i, '') + '.crt'),
    force: Boolean(a['force']),
    alias: a['alias'] as string,
    commonName: a['cn'] as string,
    keySize: a['key-size'] as 2048 | 3072 | 4096,
    days: a['days'] as number,
    dnsNames: a['dns'] as string[],
    ipAddresses: a['ip'] as string[],
  };
}

const createHandler: Handler = async (ctx, a) => {
  const secret = readPasswordFile(resolve(ctx.io.cwd, a['password-file'] as string));
  const args = createArgs(ctx, a);
  const written = await writeKeystore(secret, args);
  ctx.log.info(`created ${written.p12} (RSA ${args.keySize}, ${args.days} days, alias ${args.alias}) and ${written.crt}`);
  ctx.io.stdout.write(`${written.p12}\n`);
  return EXIT.OK;
};

/** yargs adapter: `keygate keystore create`. */
export function keystoreCreateCommand(choose: (h: Handler) => (args: Record<string, unknown>) => void): CommandModule {
  return {
    command: 'keystore <action>',
    describe: 'keystore tools: create a PKCS#12 keystore with a self-signed certificate',
    builder: (y) =>
      y
        .positional('action', { choices: ['create'] as const, describe: 'what to do' })
        .option('password-file', { type: 'string', demandOption: true, describe: 'file holding the initial password (never pass it on argv)' })
        .option('out', { type: 'string', default: 'keystore/keygate.p12', describe: 'keystore file to write (0600)' })
        .option('crt', { type: 'string', describe: 'certificate file to export (default: beside --out, .crt)' })
        .option('alias', { type: 'string', default: 'keygate', describe: 'entry alias (friendlyName)' })
        .option('cn', { type: 'string', default: 'localhost', describe: 'subject common name' })
        .option('key-size', { choices: [2048, 3072, 4096] as const, default: 4096, describe: 'RSA key size' })
        .option('days', { type: 'number', default: 3650, describe: 'validity in days' })
        .option('dns', { type: 'string', array: true, default: ['localhost'], describe: 'SAN DNS names' })
        .option('ip', { type: 'string', array: true, default: ['127.0.0.1', '::1'], describe: 'SAN IP addresses' })
        .option('force', { type: 'boolean', default: false, describe: 'overwrite existing files' })
        .check((argv) => {
          if (!Number.isInteger(argv.days) || argv.days < 1 || argv.days > 36500) throw new Error('--days must be a whole number from 1 to 36500');
          return true;
        })
        .example('keygate keystore create --password-file /run/secrets/initial', 'RSA 4096, 10 years, SAN localhost/127.0.0.1/::1'),
    handler: choose(createHandler),
  };
}

// ---- dev-setup: the embedded demo (NOT for production) -------------------------------------------------

export const DEMO = {
  emulatorHome: 'dev/cspm',
  clientPath: 'dev/cspm/cspmclient/bin64/cspmclient64',
  store: 'dev/cspm/a2a-store.json',
  keystore: 'keystore/keygate-demo.p12',
  alias: 'keygate-demo',
} as const;

const devSetupHandler: Handler = async (ctx) => {
  const { cwd } = ctx.io;
  const storeFile = resolve(cwd, DEMO.store);
  const keystore = resolve(cwd, DEMO.keystore);
  ctx.log.warn('dev-setup: using the A2A EMULATOR in dev/cspm, not a real vault: for the demo and tests only');
  const store = readStore(storeFile);
  if (!fileExists(keystore) || !store.accounts[DEMO.alias]) {
    const password = randomBytes(32).toString('base64url');
    const secret = new Secret(password);
    const written = await writeKeystore(secret, {
      out: keystore,
      crt: keystore.replace(/\.p12$/, '.crt'),
      force: true,
      alias: 'keygate',
      commonName: 'localhost',
      keySize: 4096,
      days: 3650,
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1', '::1'],
    });
    store.accounts[DEMO.alias] = { userName: 'keystore', password };
    ctx.log.info(`created demo keystore ${written.p12}; its password is registered only in the emulator store`);
  }
  const paths = resolvePaths(cwd, {});
  const built = await generateFilelist(paths, { env: ctx.io.env, nodePath: ctx.io.nodePath });
  const pinned = pinEntry(paths);
  store.scripts = store.scripts.filter((s) => s.path !== paths.entry);
  store.scripts.push({ path: paths.entry, sha256: pinned.entrySha256 });
  writeStore(storeFile, store);
  ctx.log.info(`manifest ${built.sha256} (${built.files} files) pinned; entry ${pinned.entrySha256} registered with the emulator`);
  return EXIT.OK;
};

/** Hidden command behind `npm start`: demo keystore + emulator registration + generate + pin. */
export function devSetupCommand(choose: (h: Handler) => (args: Record<string, unknown>) => void): CommandModule {
  return { command: 'dev-setup', describe: false, builder: (y) => y, handler: choose(devSetupHandler) };
}
