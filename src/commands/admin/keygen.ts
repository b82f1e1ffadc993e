// keygate admin keygen: an Ed448 key pair as remo_serv's build_key_pair makes it (docs/admin.md): NAME_key.pem
// (PKCS#8, encrypted with the password from --password-file or a prompt, 0600) and NAME.pem (SPKI); with
// --server the channel's own key, unencrypted (keygate starts unattended), 0600.

import { generateKeyPairSync } from 'node:crypto';
import { resolve, join } from 'node:path';
import type { Context } from '../../context.js';
import { fileExists, writeAtomicIn } from '../../adapters/files.js';
import { Secret } from '../../adapters/secret.js';
import { keyFingerprint } from '../../admin/crypto.js';
import { readPasswordFile } from '../keystore-create.js';
import { usage } from './registry.js';

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
