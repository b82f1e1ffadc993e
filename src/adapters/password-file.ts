// A password handed to a command in a file (--password-file and its kin), never on argv, where every user of
// the machine can read it (ps, /proc/<pid>/cmdline).

import { KeygateError, describeCause } from '../errors.js';
import { readWhole } from './files.js';
import { Secret } from './secret.js';

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
