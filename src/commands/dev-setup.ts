// The dev keystore, made the same way by `npm start` (the hidden `dev-setup` command below) and by
// `keygate init --dev`: a dev CA and a server certificate it issues, so clients trust a CA (curl --cacert), not a
// self-signed leaf, and `keygate pki issue client` can make client certificates for `server.clientAuth` from the
// same CA (npm run demo:mtls). NOT for production: both passwords live in the dev A2A emulator's plain store.
//
// Why the CA key is encrypted although its password sits in the emulator's store: the key file lives in the
// project (keystore/), the store beside the emulator, 0600. A key file copied, backed up or committed alone is
// useless; --insecure (a plain key) would make that one file enough to issue certificates. The CA is also
// name-constrained to localhost and the loopback addresses, so a dev CA someone added to a browser's roots
// cannot vouch for any real host.

import { resolve } from 'node:path';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import type { CommandModule } from 'yargs';
import { EXIT } from '../errors.js';
import type { Handler } from '../context.js';
import { Secret } from '../adapters/secret.js';
import { fileExists, readWhole, writeAtomicIn } from '../adapters/files.js';
import { readStore, writeStore, type EmulatorStore } from '../adapters/emulator-store.js';
import { generateFilelist, pinEntry, resolvePaths } from '../gate/integrity.js';
import { writeKeystore } from './keystore-create.js';

/** The files of a dev keystore `<name>.p12`: what clients trust is `<name>.crt`, the CA's certificate. */
export interface DevKeystoreFiles {
  readonly keystore: string;
  /** The dev CA's certificate: what clients trust (curl --cacert), and server.clientAuth.caFile for mTLS. */
  readonly trust: string;
  /** The CA's key, PKCS#8 encrypted (PBES2, AES-256), 0600. */
  readonly caKey: string;
  /** The server certificate in the keystore, for inspection (openssl verify -CAfile <trust>). */
  readonly serverCert: string;
}

export function devKeystoreFiles(p12: string): DevKeystoreFiles {
  const base = p12.replace(/\.p12$/i, '');
  return { keystore: p12, trust: `${base}.crt`, caKey: `${base}-ca.key`, serverCert: `${base}-server.crt` };
}

/** The emulator account that holds the CA key's password (the keystore's is the vault alias itself). */
export const devCaAccount = (alias: string): string => `${alias}-dev-ca`;

/** Renew this long before the server certificate (397 days) expires, so a demo never starts with an expired one. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/** True when the dev keystore must be made (again): a file or a password is missing, or the certificate is near its end. */
export function devKeystoreStale(files: DevKeystoreFiles, store: EmulatorStore, alias: string, now: Date): boolean {
  if (![files.keystore, files.trust, files.caKey, files.serverCert].every(fileExists)) return true;
  if (!store.accounts[alias] || !store.accounts[devCaAccount(alias)]) return true;
  // the keystore the password was made for, not another one put at its path since (a production keystore
  // created there with `keystore create --force` would otherwise be "kept" and fail to open)
  if (store.accounts[alias].keystoreSha256 !== createHash('sha256').update(readWhole(files.keystore)).digest('hex')) return true;
  try {
    return new Date(new X509Certificate(readWhole(files.serverCert)).validTo).getTime() - now.getTime() < RENEW_BEFORE_MS;
  } catch {
    return true;
  }
}

/**
 * Makes a dev CA (EC P-256, pathlen 0, names limited to localhost, 127.0.0.0/8 and ::1) with its key encrypted
 * under a random password, and the keystore (random password) with an EC P-256 server certificate for
 * localhost/127.0.0.1/::1 it issues (the `pki issue server` profile: 397 days). Both passwords go into the
 * emulator store only (the caller writes it); nothing prints them.
 */
export async function createDevKeystore(files: DevKeystoreFiles, store: EmulatorStore, alias: string): Promise<void> {
  const [e, { caPlan, parseCidr, parseSubject, validity }] = await Promise.all([import('../pki/engine.js'), import('../pki/policy.js')]);
  const caPassword = randomBytes(32).toString('base64url');
  const keystorePassword = randomBytes(32).toString('base64url');
  const caKey = e.generateKey('ec', 0);
  const plan = caPlan({ permittedDns: ['localhost'], permittedIp: ['127.0.0.0/8', '::1/128'].map(parseCidr) });
  const caPem = await e.createSelfSignedCertificate(parseSubject(`CN=keygate dev CA ${alias},OU=development only`), caKey, plan, validity('ca', undefined, new Date()));
  writeAtomicIn(files.caKey, e.keyPem(caKey, new Secret(caPassword)), 0o600);
  writeAtomicIn(files.trust, caPem, 0o644);
  await writeKeystore(
    new Secret(keystorePassword),
    { out: files.keystore, crt: files.serverCert, force: true, alias: 'keygate', commonName: 'localhost', keySize: 2048, days: 397, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] },
    { cert: files.trust, key: files.caKey, password: new Secret(caPassword), insecure: false, keyType: 'ec', days: undefined },
  );
  store.accounts[alias] = { userName: 'keystore', password: keystorePassword, keystoreSha256: createHash('sha256').update(readWhole(files.keystore)).digest('hex') };
  store.accounts[devCaAccount(alias)] = { userName: 'dev-ca-key', password: caPassword };
}

// ---- dev-setup: the embedded demo behind `npm start` (NOT for production) ---------------------------------

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
  const files = devKeystoreFiles(resolve(cwd, DEMO.keystore));
  ctx.log.warn('dev-setup: using the A2A EMULATOR in dev/cspm, not a real vault: for the demo and tests only');
  const store = readStore(storeFile);
  if (devKeystoreStale(files, store, DEMO.alias, new Date())) {
    await createDevKeystore(files, store, DEMO.alias);
    ctx.log.info(`created demo keystore ${files.keystore} with a server certificate issued by a dev CA; clients trust ${files.trust}; both passwords are registered only in the emulator store`);
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

/** Hidden command behind `npm start`: demo CA + keystore, emulator registration, generate, pin. */
export function devSetupCommand(choose: (h: Handler) => (args: Record<string, unknown>) => void): CommandModule {
  return { command: 'dev-setup', describe: false, builder: (y) => y, handler: choose(devSetupHandler) };
}
