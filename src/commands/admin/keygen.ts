// keygate admin keygen: an Ed448 key pair as remo_serv's build_key_pair makes it (docs/admin.md): NAME_key.pem
// (PKCS#8, encrypted with the password from --password-file or a prompt, 0600) and NAME.pem (SPKI); with
// --server the channel's own key, unencrypted (keygate starts unattended), 0600.

import { generateKeyPairSync } from 'node:crypto';
import { resolve, join } from 'node:path';
import type { Context } from '../../context.js';
import { fileExists, writeAtomicIn } from '../../adapters/files.js';
import { Secret } from '../../adapters/secret.js';
import { keyFingerprint } from '../../admin/crypto.js';
import { readPasswordFile } from '../../adapters/password-file.js';
import { promptPassword } from '../../adapters/terminal-password.js';
import { EXIT } from '../../errors.js';
import { usage, type AdminAction } from './registry.js';

/** A password typed twice on the terminal, without echo (no TTY: a usage error naming --password-file). */
async function askPassword(ctx: Context): Promise<Secret> {
  const typed = await promptPassword('password for the new key: ', true, ctx.io.stderr);
  if (typed === undefined) throw usage('failed to read the key password: no --password-file and stdin is not a terminal', 'keygate admin keygen NAME --password-file FILE');
  if (typed === '') throw usage('failed to read the key password: it is empty (an admin user key is always encrypted)');
  return new Secret(typed);
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
  const password = a.server ? undefined : a.passwordFile ? readPasswordFile(resolve(ctx.io.cwd, a.passwordFile)) : await askPassword(ctx);
  const { privateKey, publicKey } = generateKeyPairSync('ed448');
  // PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC): what Python cryptography's BestAvailableEncryption reads and writes.
  const pem = password
    ? privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password.reveal() })
    : privateKey.export({ type: 'pkcs8', format: 'pem' });
  writeAtomicIn(privateFile, pem, 0o600);
  writeAtomicIn(publicFile, publicKey.export({ type: 'spki', format: 'pem' }), 0o644);
  return { privateFile, publicFile, fingerprint: keyFingerprint(publicKey) };
}

/** `keygate admin keygen [NAME]`. */
export const keygenAction: AdminAction = {
  flags: {
    server: { type: 'boolean', default: false, describe: "keygen: the channel's own key (unencrypted, 0600) in admin/" },
    dir: { type: 'string', describe: 'keygen: folder to write the keys to (default: . , admin with --server)' },
    'password-file': { type: 'string', describe: "keygen: file holding the new key's password (else a prompt; never on argv)" },
  },
  async run(ctx, words, args) {
    if (words.length > 1) throw usage('keygen takes one NAME');
    const r = await keygen(ctx, { name: words[0], dir: String(args['dir'] ?? (args['server'] ? 'admin' : '.')), server: Boolean(args['server']), passwordFile: args['password-file'] as string | undefined, force: Boolean(args['force']) });
    ctx.log.info(`wrote ${r.privateFile} (0600) and ${r.publicFile}`, { sha256: r.fingerprint });
    ctx.io.stdout.write(`${r.publicFile}\n`);
    return EXIT.OK;
  },
};
