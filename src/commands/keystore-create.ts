// keystore create (seed 000's Create-Keystore). The demo's dev keystore (npm start, init --dev) is dev-setup.ts.
// With --ca-cert/--ca-key the server certificate is issued by a dev CA (keygate pki ca create) instead of being
// self-signed: clients then trust the CA (curl --cacert ca.crt), and the keystore holds leaf + CA.
// The password never goes on argv: it comes from --password-file.

import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { EXIT, KeygateError } from '../errors.js';
import type { Context, Handler } from '../context.js';
import type { Secret } from '../adapters/secret.js';
import { readPasswordFile } from '../adapters/password-file.js';
import { readInput } from './pki/common.js';
import { sha256 } from '../adapters/file-hash.js';
import { besideKeystore, fileExists, readWhole, writeAtomicIn } from '../adapters/files.js';

export interface KeystoreCreateArgs {
  readonly alias: string;
  readonly commonName: string;
  /** Subject attributes beside CN (none by default). */
  readonly subject?: { OU?: string; O?: string; C?: string };
  readonly keySize: 2048 | 3072 | 4096;
  /** Validity of a self-signed certificate (a CA's profile sets its own: IssuingCa.days). */
  readonly days: number;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly out: string;
  readonly crt: string;
  readonly force: boolean;
}

/** The dev CA that issues the keystore's certificate (keystore create --ca-cert). */
export interface IssuingCa {
  readonly cert: string;
  readonly key: string;
  readonly password: Secret | undefined;
  /** Accept an unencrypted CA key. */
  readonly insecure: boolean;
  readonly keyType: 'rsa' | 'ec';
  /** Validity asked for with --days (undefined: the server profile's 397). */
  readonly days: number | undefined;
}

/**
 * Writes the keystore (0600) and its .crt (0644), refusing to overwrite without force. The server certificate
 * (profile: src/pki/policy.ts leafPlan 'server') is self-signed, or issued by the dev CA when one is given; the
 * p12 is the PKI's one writer (src/pki/pkcs12.ts, profile 'modern': AES-256, SHA-256 MAC, what openssl 3 writes)
 * and holds the leaf, plus the CA when it issued it. node-forge only reads keystores.
 */
export async function writeKeystore(secret: Secret, args: KeystoreCreateArgs, ca?: IssuingCa): Promise<{ p12: string; crt: string; sha256: string; days: number }> {
  const [{ BACKDATE_MS, checkRdn, checkSan, leafPlan, validity }, e] = await Promise.all([import('../pki/policy.js'), import('../pki/engine.js')]);
  for (const f of [args.out, args.crt]) {
    if (fileExists(f) && !args.force) {
      throw new KeygateError('KEYSTORE_EXISTS', `failed to create keystore: ${f} exists`, { hint: 'pass --force to replace it (the old key is lost)' });
    }
  }
  const read = (f: string, what: string): string => readInput(f, what, 'create the CA first: keygate pki ca create');
  const loaded = ca ? e.loadCa(read(ca.cert, 'the CA certificate'), read(ca.key, 'the CA key'), ca.password, ca.insecure, { cert: ca.cert, key: ca.key }) : undefined;
  try {
    const keyType = ca?.keyType ?? 'rsa';
    const sans = [...args.dnsNames.map((value) => checkSan({ type: 'dns', value })), ...args.ipAddresses.map((value) => checkSan({ type: 'ip', value }))];
    if (sans.length === 0) throw new KeygateError('USAGE', 'failed to create the keystore: the certificate needs at least one name', { hint: 'pass --dns localhost and/or --ip 127.0.0.1' });
    if (!loaded && (!Number.isInteger(args.days) || args.days < 1 || args.days > 36_500)) throw new KeygateError('USAGE', `failed to create the keystore: --days ${args.days} is not a whole number from 1 to 36500`, {});
    const plan = leafPlan('server', keyType, sans, loaded?.nameConstraints);
    const subject = [checkRdn('CN', args.commonName), ...(['OU', 'O', 'C'] as const).filter((k) => args.subject?.[k] !== undefined).map((k) => checkRdn(k, args.subject![k]!))];
    const key = e.generateKey(keyType, args.keySize);
    const now = new Date();
    // Self-signed, the lifetime is the operator's (--days, 10 years by default): no CA profile caps it.
    const v = loaded ? validity('server', ca!.days, now) : { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + args.days * 86_400_000), days: args.days };
    const certPem = loaded ? await e.issueCertificate(loaded, subject, key, plan, v) : await e.createSelfSignedCertificate(subject, key, plan, v);
    const p12 = e.makePkcs12(e.keyPem(key, undefined), certPem, loaded ? [loaded.certPem] : [], args.alias, secret, 'modern');
    writeAtomicIn(args.out, p12, 0o600);
    writeAtomicIn(args.crt, certPem, 0o644); // a certificate is public: clients and curl --cacert read it
    return { p12: args.out, crt: args.crt, sha256: sha256(p12), days: v.days };
  } catch (err) {
    if (err instanceof Error && err.name === 'PolicyError') throw new KeygateError('PKI_POLICY', `refused to create the keystore: ${err.message}`, { hint: 'see docs/pki.md for the server profile' });
    throw err;
  }
}

/**
 * `--out` when given, else keystore.path of the keygate.config.json in this folder (so the keystore lands where
 * serve reads it), else keystore/keygate.p12.
 */
export function defaultOut(cwd: string): string {
  try {
    const path = (JSON.parse(readWhole(resolve(cwd, 'keygate.config.json')).toString('utf8')) as { keystore?: { path?: unknown } }).keystore?.path;
    if (typeof path === 'string' && path !== '') return path;
  } catch {
    // no config, or one every other command reports: the built-in default
  }
  return 'keystore/keygate.p12';
}

/** `--subject "O=Acme, OU=Web, C=DE"`: the attributes beside CN (none by default: a production certificate needs none). */
export function parseSubjectFlag(text: string | undefined): { OU?: string; O?: string; C?: string } {
  const out: { OU?: string; O?: string; C?: string } = {};
  if (text === undefined || text.trim() === '') return out;
  for (const part of text.split(',')) {
    const m = /^\s*(OU|O|C)\s*=\s*(.+?)\s*$/i.exec(part);
    if (!m) throw new KeygateError('USAGE', `failed to parse --subject: ${JSON.stringify(part.trim())} is not OU=…, O=… or C=… (CN is --cn)`, { hint: 'keygate keystore create --subject "O=Example Ltd, C=GB" …' });
    out[m[1]!.toUpperCase() as 'OU' | 'O' | 'C'] = m[2]!;
  }
  if (out.C !== undefined && !/^[A-Z]{2}$/.test(out.C)) throw new KeygateError('USAGE', `failed to parse --subject: C=${out.C} is not a two-letter country code`, { hint: 'keygate keystore create --subject "C=GB" …' });
  return out;
}

function createArgs(ctx: Context, a: Record<string, unknown>): KeystoreCreateArgs {
  const out = resolve(ctx.io.cwd, (a['out'] as string | undefined) ?? defaultOut(ctx.io.cwd));
  return {
    subject: parseSubjectFlag(a['subject'] as string | undefined),
    out,
    crt: resolve(ctx.io.cwd, (a['crt'] as string | undefined) ?? besideKeystore(out, '.crt')),
    force: Boolean(a['force']),
    alias: a['alias'] as string,
    commonName: a['cn'] as string,
    keySize: a['key-size'] as 2048 | 3072 | 4096,
    days: (a['days'] as number | undefined) ?? 3650,
    dnsNames: a['dns'] as string[],
    ipAddresses: a['ip'] as string[],
  };
}

export const createHandler: Handler = async (ctx, a) => {
  const secret = readPasswordFile(resolve(ctx.io.cwd, a['password-file'] as string));
  const args = createArgs(ctx, a);
  if (a['ca-cert'] !== undefined) {
    const keyType = a['key-type'] as 'rsa' | 'ec';
    const ca: IssuingCa = {
      cert: resolve(ctx.io.cwd, a['ca-cert'] as string),
      key: resolve(ctx.io.cwd, a['ca-key'] as string),
      password: a['ca-password-file'] !== undefined ? readPasswordFile(resolve(ctx.io.cwd, a['ca-password-file'] as string)) : undefined,
      insecure: Boolean(a['insecure']),
      keyType,
      days: a['days'] as number | undefined,
    };
    const written = await writeKeystore(secret, args, ca);
    ctx.log.info(`created ${written.p12} (${keyType === 'ec' ? 'EC P-256' : `RSA ${args.keySize}`}, ${written.days} days, alias ${args.alias}, issued by ${ca.cert}) and ${written.crt}; clients trust ${ca.cert}`);
    ctx.io.stdout.write(`${written.p12}\n`);
    return EXIT.OK;
  }
  if (a['key-type'] === 'ec') throw new KeygateError('USAGE', 'failed to parse flags: --key-type ec needs --ca-cert (the self-signed keystore is RSA)', { hint: 'keygate pki ca create, then keygate keystore create --ca-cert pki/ca.crt --key-type ec' });
  const written = await writeKeystore(secret, args);
  ctx.log.info(`created ${written.p12} (RSA ${args.keySize}, ${written.days} days, alias ${args.alias}) and ${written.crt}`);
  ctx.io.stdout.write(`${written.p12}\n`);
  return EXIT.OK;
};

/** `keystore create`'s flags (src/commands/keystore.ts declares them when the action is create). */
export function createFlags<T>(y: Argv<T>) {
  return y
    .option('password-file', { type: 'string', demandOption: true, describe: 'file holding the initial password (never pass it on argv)' })
    .option('out', { type: 'string', describe: 'keystore file to write (0600; default: keystore.path in ./keygate.config.json, else keystore/keygate.p12)' })
    .option('crt', { type: 'string', describe: 'certificate file to export (0644; default: beside --out, .crt)' })
    .option('subject', { type: 'string', describe: 'subject attributes beside CN, e.g. "O=Example Ltd, C=GB" (default: CN only)' })
    .option('alias', { type: 'string', default: 'keygate', describe: 'entry alias (friendlyName)' })
    .option('cn', { type: 'string', default: 'localhost', describe: 'subject common name' })
    .option('key-size', { choices: [2048, 3072, 4096] as const, default: 4096, describe: 'RSA key size' })
    .option('days', { type: 'number', describe: 'validity in days (default 3650 self-signed; 397, at most 825, with --ca-cert)' })
    .option('dns', { type: 'string', array: true, default: ['localhost'], describe: 'SAN DNS names' })
    .option('ip', { type: 'string', array: true, default: ['127.0.0.1', '::1'], describe: 'SAN IP addresses' })
    .option('force', { type: 'boolean', default: false, describe: 'overwrite existing files' })
    .option('ca-cert', { type: 'string', describe: 'issue the certificate from this dev CA (keygate pki ca create) instead of self-signing' })
    .option('ca-key', { type: 'string', default: 'pki/ca.key', describe: 'with --ca-cert: the CA key' })
    .option('ca-password-file', { type: 'string', describe: 'with --ca-cert: file holding the CA key password' })
    .option('insecure', { type: 'boolean', default: false, describe: 'with --ca-cert: accept an unencrypted CA key' })
    .option('key-type', { choices: ['rsa', 'ec'] as const, default: 'rsa', describe: 'key type (ec only with --ca-cert)' })
    .check((argv) => {
      if (argv.days !== undefined && (!Number.isInteger(argv.days) || argv.days < 1 || argv.days > 36500)) throw new Error('--days must be a whole number from 1 to 36500');
      return true;
    })
    .example('$0 keystore create --password-file /run/secrets/initial', 'RSA 4096, 10 years, SAN localhost/127.0.0.1/::1')
    .example('$0 keystore create --password-file pw --ca-cert pki/ca.crt --ca-password-file ca.pw --key-type ec', 'EC P-256, 397 days, issued by the dev CA')
    .epilogue("Exit codes: 0 written, 2 usage (a flag, the password file, a name outside the CA's profile), 5 keystore (it exists: --force), 7 input (the CA files) (docs/errors.md)");
}
