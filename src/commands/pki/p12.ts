// keygate pki p12: a key and its certificates as PKCS#12 (docs/pki.md).

import type { CommandModule } from 'yargs';
import { KeygateError, describeCause } from '../../errors.js';
import { writeAtomicIn } from '../../adapters/files.js';
import { assertWritable, engine, force, passwordFrom, path, pkiAction, readInput } from './common.js';
import { type P12ProfileName } from '../../pki/policy.js';
import { EXIT_EPILOGUE, type Choose } from '../common.js';

const p12 = pkiAction(async (ctx, a) => {
  const certFile = path(ctx, a['cert']);
  const keyFile = path(ctx, a['key'] ?? certFile.replace(/\.(crt|pem|cer)$/i, '') + '.key');
  const out = path(ctx, a['out'] ?? certFile.replace(/\.(crt|pem|cer)$/i, '') + '.p12');
  const chain = ((a['chain'] as string[] | undefined) ?? []).map((c) => path(ctx, c));
  const profile = a['profile'] as P12ProfileName;
  assertWritable([out], Boolean(a['force']));
  const password = await passwordFrom(ctx, a['password-file'], 'password-file', `password for ${out}: `, true);
  const e = await engine();
  const certPem = readInput(certFile, 'certificate');
  const keyPemText = readInput(keyFile, 'key');
  e.readPrivateKey(keyPemText, keyFile);
  let bytes: Buffer;
  try {
    bytes = e.makePkcs12(keyPemText, certPem, chain.map((c) => readInput(c, 'chain certificate')), String(a['alias']), password, profile);
  } catch (err) {
    if (err instanceof KeygateError) throw err;
    throw new KeygateError('PKI_INPUT_INVALID', `failed to bundle ${certFile}: ${describeCause(err)}`, { hint: 'pass PEM certificates written by keygate pki' });
  }
  writeAtomicIn(out, bytes, 0o600);
  ctx.log.info(`wrote ${out} (${profile === 'modern' ? 'AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC' : 'compat: 3DES, SHA-1 MAC'}; alias ${a['alias']}; ${1 + chain.length} certificate${chain.length ? 's' : ''})`);
  ctx.io.stdout.write(`${out}\n`);
});

export const p12Command = (choose: Choose): CommandModule => ({
  command: 'p12',
  describe: 'bundle a key and certificate (and the CA) into a PKCS#12 file for browsers, curl, Java or keygate',
  builder: (c) =>
    c
      .option('cert', { type: 'string', demandOption: true, describe: 'the certificate (PEM)' })
      .option('key', { type: 'string', describe: 'its key (default: beside --cert, .key)' })
      .option('chain', { type: 'string', array: true, describe: 'issuer certificates to include, e.g. pki/ca.crt (repeat)' })
      .option('out', { type: 'string', describe: 'p12 to write, 0600 (default: beside --cert, .p12)' })
      .option('password-file', { type: 'string', describe: 'file holding the p12 password (else asked on the terminal)' })
      .option('profile', { choices: ['modern', 'compat'] as const, default: 'modern', describe: 'modern: AES-256 + SHA-256 MAC; compat: 3DES + SHA-1 MAC (older macOS keychains)' })
      .option('alias', { type: 'string', default: 'keygate', describe: 'entry alias (friendlyName)' })
      .option('force', force)
      .example('$0 pki p12 --cert pki/alice.crt --chain pki/ca.crt --password-file alice.pw', 'pki/alice.p12')
      .epilogue(EXIT_EPILOGUE),
  handler: choose(p12),
});
