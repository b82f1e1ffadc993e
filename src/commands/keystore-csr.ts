// keygate keystore csr: the server's key pair is made inside the keystore (encrypted under the keystore password,
// never written in the clear) and a PKCS#10 request goes out to any CA (docs/certificates.md). Until the issued
// chain comes back (keystore import), the keystore holds the key with a placeholder self-signed certificate, as
// keytool's own -genkeypair / -certreq / -importcert cycle does. Tried first: a key-only PKCS#12 (openssl pkcs12
// -export -nocerts) opens in openssl 3 and keytool 17 lists it ("PrivateKeyEntry, Certificate chain length: 0"),
// but keygate's loader refuses a key without a certificate (KEYSTORE_NO_KEY), so a keystore waiting for its
// certificate could not even be opened to import it. The placeholder carries the requested names, so import can
// check that the CA issued what was asked, and an OU that says what it is.

import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { EXIT, KeygateError } from '../errors.js';
import type { Handler } from '../context.js';
import { readPasswordFile } from '../adapters/password-file.js';
import { besideKeystore, fileExists, writeAtomicIn } from '../adapters/files.js';
import { keystorePasswordFromVault, onePasswordSource } from './keystore-vault.js';
import { defaultOut, parseSubjectFlag } from './keystore-create.js';
import type { Rdn, San } from '../pki/policy.js';

/** The OU of the placeholder certificate `keystore csr` puts beside the new key (logUnlocked warns on it). */
export const PLACEHOLDER_OU = 'keygate placeholder until keystore import';

export type CsrKey = { type: 'ec'; curve: 'P-256' | 'P-384' } | { type: 'rsa'; bits: 2048 | 3072 | 4096 };

/** A new key pair: EC P-256 (the default, as keygate pki), P-384, or RSA 2048–4096. */
export function newKey(k: CsrKey): KeyObject {
  return k.type === 'ec' ? generateKeyPairSync('ec', { namedCurve: k.curve }).privateKey : generateKeyPairSync('rsa', { modulusLength: k.bits }).privateKey;
}

export const describeCsrKey = (k: CsrKey): string => (k.type === 'ec' ? `EC ${k.curve}` : `RSA ${k.bits}`);

export interface CsrArgs {
  readonly out: string;
  readonly csr: string;
  readonly alias: string;
  readonly commonName: string | undefined;
  readonly subject: { OU?: string; O?: string; C?: string };
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly key: CsrKey;
  readonly force: boolean;
}

/**
 * Writes the keystore (0600: the new key, shrouded under the password, and the placeholder certificate) and the
 * CSR (0644). The private key exists in the clear only in this process's memory.
 */
export async function writeCsrKeystore(secret: import('../adapters/secret.js').Secret, args: CsrArgs): Promise<{ sans: San[]; subject: Rdn[] }> {
  const [{ BACKDATE_MS, checkRdn, checkSan, leafPlan }, e] = await Promise.all([import('../pki/policy.js'), import('../pki/engine.js')]);
  for (const f of [args.out, args.csr]) {
    if (fileExists(f) && !args.force) {
      throw new KeygateError('KEYSTORE_EXISTS', `failed to make the request: ${f} exists`, { hint: 'pass --force to replace it (a keystore replaced loses its key), or choose --out/--csr' });
    }
  }
  try {
    const sans = [...args.dnsNames.map((value) => checkSan({ type: 'dns', value })), ...args.ipAddresses.map((value) => checkSan({ type: 'ip', value }))];
    if (sans.length === 0) throw new KeygateError('USAGE', 'failed to make the request: the certificate needs at least one name', { hint: 'pass --dns app.example.com (and/or --ip 192.0.2.10)' });
    const cn = args.commonName ?? sans[0]!.value;
    const subject = [checkRdn('CN', cn), ...(['OU', 'O', 'C'] as const).filter((k) => args.subject[k] !== undefined).map((k) => checkRdn(k, args.subject[k]!))];
    const key = newKey(args.key);
    const plan = leafPlan('server', args.key.type, sans);
    const now = new Date();
    // The placeholder: self-signed, the requested names, 90 days (a keystore left waiting does not serve for years).
    const placeholder = await e.createSelfSignedCertificate([{ type: 'CN', value: cn }, { type: 'OU', value: PLACEHOLDER_OU }], key, plan, {
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + 90 * 86_400_000),
    });
    const csr = await e.createServerCsr(subject, key, sans);
    const p12 = e.makePkcs12(e.keyPem(key, undefined), placeholder, [], args.alias, secret, 'modern');
    writeAtomicIn(args.out, p12, 0o600);
    writeAtomicIn(args.csr, csr, 0o644); // a request is public: it goes to the CA
    return { sans, subject };
  } catch (err) {
    if (err instanceof Error && err.name === 'PolicyError') throw new KeygateError('PKI_POLICY', `refused to make the request: ${err.message}`, { hint: 'see docs/certificates.md' });
    throw err;
  }
}

function keyFrom(a: Record<string, unknown>): CsrKey {
  if (a['key-type'] === 'rsa') {
    if (a['curve'] !== undefined) throw new KeygateError('USAGE', 'failed to parse flags: --curve is for --key-type ec', { hint: 'drop --curve, or pass --key-type ec' });
    return { type: 'rsa', bits: (a['key-size'] as 2048 | 3072 | 4096 | undefined) ?? 3072 };
  }
  if (a['key-size'] !== undefined) throw new KeygateError('USAGE', 'failed to parse flags: --key-size is for --key-type rsa', { hint: 'pass --key-type rsa --key-size 3072, or --curve P-384 for a larger EC key' });
  return { type: 'ec', curve: (a['curve'] as 'P-256' | 'P-384' | undefined) ?? 'P-256' };
}

export const csrHandler: Handler = async (ctx, a) => {
  const secret = a['from-vault'] ? (await keystorePasswordFromVault(ctx)).secret : readPasswordFile(resolve(ctx.io.cwd, a['password-file'] as string));
  const out = resolve(ctx.io.cwd, (a['out'] as string | undefined) ?? defaultOut(ctx.io.cwd));
  const args: CsrArgs = {
    out,
    csr: resolve(ctx.io.cwd, (a['csr'] as string | undefined) ?? besideKeystore(out, '.csr')),
    alias: a['alias'] as string,
    commonName: a['cn'] as string | undefined,
    subject: parseSubjectFlag(a['subject'] as string | undefined),
    dnsNames: (a['dns'] as string[] | undefined) ?? [],
    ipAddresses: (a['ip'] as string[] | undefined) ?? [],
    key: keyFrom(a),
    force: Boolean(a['force']),
  };
  const { sans, subject } = await writeCsrKeystore(secret, args);
  const names = sans.map((s) => `${s.type === 'dns' ? 'DNS' : 'IP'}:${s.value}`).join(' ');
  ctx.log.info(`made a new ${describeCsrKey(args.key)} key inside ${args.out} (alias ${args.alias}, with a placeholder certificate) and the request ${args.csr} for CN=${subject[0]!.value} [${names}]`);
  ctx.log.info(`next: send ${args.csr} to your CA, then: keygate keystore import --keystore ${args.out} --cert <issued certificate and chain> ${a['from-vault'] ? '--from-vault' : '--password-file <file>'}`);
  ctx.io.stdout.write(`${args.csr}\n`);
  return EXIT.OK;
};

/** `keystore csr`'s flags. */
export function csrFlags<T>(y: Argv<T>) {
  return y
    .option('password-file', { type: 'string', describe: 'file holding the keystore password, for a first setup (never pass it on argv)' })
    .option('out', { type: 'string', describe: 'keystore to write, 0600 (default: keystore.path in ./keygate.config.json, else keystore/keygate.p12)' })
    .option('csr', { type: 'string', describe: 'request to write, 0644 (default: beside --out, .csr)' })
    .option('cn', { type: 'string', describe: 'subject common name (default: the first name)' })
    .option('subject', { type: 'string', describe: 'subject attributes beside CN, e.g. "O=Example Ltd, C=GB" (default: CN only)' })
    .option('dns', { type: 'string', array: true, describe: 'SAN DNS names (at least one --dns or --ip)' })
    .option('ip', { type: 'string', array: true, describe: 'SAN IP addresses' })
    .option('key-type', { choices: ['ec', 'rsa'] as const, default: 'ec', describe: 'key type' })
    .option('curve', { choices: ['P-256', 'P-384'] as const, describe: 'EC curve (default P-256)' })
    .option('key-size', { choices: [2048, 3072, 4096] as const, describe: 'RSA key size (default 3072)' })
    .option('alias', { type: 'string', default: 'keygate', describe: 'entry alias (friendlyName)' })
    .option('force', { type: 'boolean', default: false, describe: 'overwrite the keystore and the request (the old key is lost)' })
    .option('from-vault', { type: 'boolean', default: false, describe: 'ask the vault for the keystore password, as serve does, after the same verification (run as the registered entry)' })
    .check(onePasswordSource)
    .example('$0 keystore csr --password-file initial.pw --dns app.example.com', 'EC P-256 key inside the keystore; app.csr goes to the CA')
    .example('$0 keystore csr --password-file initial.pw --dns app.example.com --ip 192.0.2.10 --key-type rsa --key-size 4096', 'RSA 4096')
    .epilogue('Exit codes: 0 written, 2 usage (a flag, the password file, a name), 5 keystore (it exists: --force) (docs/certificates.md, docs/errors.md)');
}
