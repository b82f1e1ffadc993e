// Release keys on disk: the private key PKCS#8, encrypted with a passphrase (as `pki` keeps CA keys), the public
// key SPKI PEM. The passphrase comes from --password-file or a terminal prompt, never argv.

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { KeygateError, describeCause } from '../../errors.js';
import { readWhole } from '../../adapters/files.js';
import { readPasswordFile } from '../../adapters/password-file.js';
import { promptPassword } from '../../adapters/terminal-password.js';
import { ed25519KeyProblem, keyId, rawOf } from '../../core/release.js';

export async function passphrase(file: unknown, question: string, confirm: boolean): Promise<string> {
  if (typeof file === 'string') return readPasswordFile(file).reveal();
  const typed = await promptPassword(question, confirm);
  if (typed === undefined || typed === '') {
    throw new KeygateError('USAGE', 'failed to read the release key passphrase: no --password-file and no terminal to ask on', { hint: 'pass --password-file <file> (CI: a secret file)' });
  }
  return typed;
}

function read(file: string, what: string): Buffer {
  try {
    return readWhole(file);
  } catch (err) {
    throw new KeygateError('USAGE', `failed to read ${what} ${file}: ${describeCause(err)}`, { hint: `pass an existing ${what} (keygate release keygen writes both)` });
  }
}

export function readPublicKey(file: string): { raw: Buffer; id: string } {
  let key: KeyObject;
  try {
    key = createPublicKey(read(file, 'public key'));
  } catch (err) {
    throw new KeygateError('USAGE', `failed to read the public key ${file}: ${err instanceof KeygateError ? err.message : describeCause(err)}`, { hint: 'pass the .pub file keygate release keygen wrote' });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new KeygateError('USAGE', `failed to use ${file}: it is a ${key.asymmetricKeyType} key, release keys are Ed25519`, { hint: 'keygate release keygen --out <name>' });
  const raw = rawOf(key);
  const problem = ed25519KeyProblem(raw);
  if (problem) throw new KeygateError('USAGE', `refused the public key ${file}: it ${problem}`, { hint: 'pin only keys keygate release keygen wrote; ask whoever sent this one where it came from' });
  return { raw, id: keyId(raw) };
}

export function readPrivateKey(file: string, pass: string): KeyObject {
  const pem = read(file, 'release key');
  if (!pem.toString('latin1').includes('ENCRYPTED PRIVATE KEY')) {
    throw new KeygateError('USAGE', `refused the release key ${file}: it is not encrypted`, { hint: 'keep release keys encrypted at rest: keygate release keygen writes them so' });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, passphrase: pass });
  } catch {
    throw new KeygateError('USAGE', `failed to open the release key ${file}: wrong passphrase or not a PKCS#8 key`, { hint: 'pass the passphrase it was written with (--password-file)' });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new KeygateError('USAGE', `failed to use ${file}: it is a ${key.asymmetricKeyType} key, release keys are Ed25519`, {});
  return key;
}
