// release keygen: an Ed25519 release-signing key pair. The private key is encrypted at rest (PKCS#8 with
// AES-256); it belongs in CI's secret store, never in the project tree.

import { generateKeyPairSync } from 'node:crypto';
import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { EXIT, KeygateError } from '../../errors.js';
import type { Handler } from '../../context.js';
import { fileExists, writeAtomicIn } from '../../adapters/files.js';
import { keyId, rawOf } from '../../core/release.js';
import type { Choose } from '../common.js';
import { passphrase } from './keys.js';

const keygen: Handler = async (ctx, a) => {
  const out = resolve(ctx.io.cwd, String(a['out']));
  const [priv, pub] = [`${out}.key`, `${out}.pub`];
  for (const f of [priv, pub]) {
    if (fileExists(f) && !a['force']) throw new KeygateError('USAGE', `refused to overwrite ${f}`, { hint: 'choose another --out, or pass --force (an overwritten key is lost)' });
  }
  const pass = await passphrase(a['password-file'], 'passphrase for the new release key: ', true);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeAtomicIn(priv, privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: pass }), 0o600);
  writeAtomicIn(pub, publicKey.export({ format: 'pem', type: 'spki' }), 0o644);
  const id = keyId(rawOf(publicKey));
  ctx.log.info(`wrote ${priv} (encrypted, 0600: keep it in CI's secret store, not in the project) and ${pub}; pin it: keygate pin --release-keys ${pub}`);
  ctx.io.stdout.write(`${id}\n`);
  return EXIT.OK;
};

export const keygenCommand = (choose: Choose): CommandModule => ({
  command: 'keygen',
  describe: 'create an Ed25519 release-signing key pair (<out>.key encrypted, <out>.pub); prints the key id',
  builder: (y) =>
    y
      .option('out', { type: 'string', demandOption: true, describe: 'file name without extension' })
      .option('password-file', { type: 'string', describe: 'passphrase for the key (else asked on the terminal)' })
      .option('force', { type: 'boolean', describe: 'overwrite existing files' }),
  handler: choose(keygen),
});
