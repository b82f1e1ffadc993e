// What the pki sub-commands share: the crypto part (loaded on first use), policy refusals as PKI_POLICY, inputs
// read with a clear error, outputs never overwritten without --force, passwords from files or the terminal only.

import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { EXIT, KeygateError, describeCause } from '../../errors.js';
import type { Context, Handler } from '../../context.js';
import { Secret } from '../../adapters/secret.js';
import { fileExists, readWhole } from '../../adapters/files.js';
import { readPasswordFile } from '../../adapters/password-file.js';
import { LIFETIME, sanText, type Rdn, type San } from '../../pki/policy.js';
import { promptPassword } from '../../adapters/terminal-password.js';

export type Engine = typeof import('../../pki/engine.js');
export type CrlEntry = import('../../pki/engine.js').CrlEntry;
/** The crypto part, compiled on first use (scripts/build.mjs LATE). */
export const engine = (): Promise<Engine> => import('../../pki/engine.js');

/**
 * Runs a pki action; a policy refusal from the pure core (PolicyError, matched by name: the late part has its
 * own copy of the class) becomes PKI_POLICY with the message as it is.
 */
export function pkiAction(action: (ctx: Context, a: Record<string, unknown>) => Promise<void>): Handler {
  return async (ctx, a) => {
    try {
      await action(ctx, a);
    } catch (err) {
      if (err instanceof Error && err.name === 'PolicyError') throw new KeygateError('PKI_POLICY', `refused: ${err.message}`, { hint: 'see docs/pki.md for what each profile allows' });
      throw err;
    }
    return EXIT.OK;
  };
}

export const path = (ctx: Context, p: unknown): string => resolve(ctx.io.cwd, String(p));

export function readInput(file: string, what: string, hint = `pass an existing ${what} file`): string {
  try {
    return readWhole(file).toString('latin1');
  } catch (err) {
    throw new KeygateError('PKI_INPUT_INVALID', `failed to read ${what} ${file}: ${describeCause(err)}`, { hint });
  }
}

/** Refuses before anything is generated when an output exists and --force is not given. */
export function assertWritable(files: readonly string[], force: boolean): void {
  if (force) return;
  const existing = files.filter((f) => fileExists(f));
  if (existing.length) {
    throw new KeygateError('PKI_EXISTS', `refused to overwrite ${existing.join(', ')}`, { hint: 'choose other output files, or pass --force (an overwritten key is lost)' });
  }
}

/**
 * A password from --<flag> FILE, else asked on the terminal (twice when `confirm`), else a usage error: an
 * unattended run must never wait for input.
 */
export async function passwordFrom(ctx: Context, file: unknown, flag: string, question: string, confirm: boolean): Promise<Secret> {
  if (typeof file === 'string') return readPasswordFile(path(ctx, file));
  const asked = await promptPassword(question, confirm);
  if (asked === undefined) throw new KeygateError('USAGE', `failed to get a password: no --${flag} and no terminal to ask on`, { hint: `pass --${flag} FILE (the password on its first line, file mode 0600)` });
  if (asked.length < 8 || /[^\x20-\x7e]/.test(asked)) throw new KeygateError('USAGE', 'refused the password: use at least 8 printable ASCII characters', {});
  return new Secret(asked);
}

/** --ca-cert / --ca-key / --ca-password-file / --insecure → the loaded CA. */
export async function loadCaFrom(ctx: Context, a: Record<string, unknown>, e: Engine) {
  const certFile = path(ctx, a['ca-cert']);
  const keyFile = path(ctx, a['ca-key']);
  const certPem = readInput(certFile, 'CA certificate');
  const keyPemText = readInput(keyFile, 'CA key');
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(keyPemText);
  const password = encrypted ? await passwordFrom(ctx, a['ca-password-file'], 'ca-password-file', `password for the CA key ${keyFile}: `, false) : undefined;
  return e.loadCa(certPem, keyPemText, password, Boolean(a['insecure']), { cert: certFile, key: keyFile });
}

export const sanList = (sans: readonly San[]): string => (sans.length ? ` [${sans.map(sanText).join(' ')}]` : '');

export const subjectText = (rdns: readonly Rdn[]): string => rdns.map((r) => `${r.type}=${r.value.replace(/([,\\])/g, '\\$1')}`).join(', ');

export const describeKey = (a: Record<string, unknown>): string => (a['key-type'] === 'rsa' ? `RSA ${a['rsa-bits']}` : a['key-type'] === 'ed25519' ? 'Ed25519' : 'EC P-256');

// ---- yargs: the flags several sub-commands take ---------------------------------------------------------

export function caInput<T>(y: Argv<T>) {
  return y
    .option('ca-cert', { type: 'string', default: 'pki/ca.crt', describe: 'the CA certificate' })
    .option('ca-key', { type: 'string', default: 'pki/ca.key', describe: 'the CA key (encrypted PKCS#8)' })
    .option('ca-password-file', { type: 'string', describe: 'file holding the CA key password (else asked on the terminal)' })
    .option('insecure', { type: 'boolean', default: false, describe: 'accept an unencrypted CA key' });
}

export const days = (kind: keyof typeof LIFETIME) => ({ type: 'number', describe: `validity in days (default ${LIFETIME[kind].default}, at most ${LIFETIME[kind].max})` }) as const;
export const force = { type: 'boolean', default: false, describe: 'overwrite existing files' } as const;
