// keygate keystore import: the CA's answer to `keystore csr` goes into the keystore that holds the key. The
// keystore is opened with its password (the key stays in this process's memory), the certificates are checked
// (src/pki/chain.ts: for this key, complete, ordered, the requested names, not expired) and the keystore is
// rewritten with the same key and alias, leaf + chain, in one atomic rename (its group and mode kept, at most 0640; 0600 for a new file); the leaf also goes to the .crt
// beside it (0644, as keystore create writes one). Nothing else is written.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { EXIT, KeygateError, describeCause } from '../errors.js';
import type { Handler } from '../context.js';
import { readPasswordFile } from '../adapters/password-file.js';
import { besideKeystore, readWhole, rewriteKeystore, writeAtomicIn } from '../adapters/files.js';
import { keystorePasswordFromVault, onePasswordSource } from './keystore-vault.js';
import { defaultOut } from './keystore-create.js';
import { planImport, readCertificates, sanSet } from '../pki/chain.js';
import { ACME_ACCOUNT_ALIAS } from '../core/acme-config.js';

function readFileOr(file: string, what: string, code: 'PKI_INPUT_INVALID' | 'KEYSTORE_UNREADABLE', hint: string): Buffer {
  try {
    return readWhole(file);
  } catch (err) {
    throw new KeygateError(code, `failed to read ${what} ${file}: ${describeCause(err)}`, { hint });
  }
}

export const importHandler: Handler = async (ctx, a) => {
  const vault = a['from-vault'] ? await keystorePasswordFromVault(ctx) : undefined;
  const secret = vault?.secret ?? readPasswordFile(resolve(ctx.io.cwd, a['password-file'] as string));
  // --from-vault: the configured keystore.path (the project's), else as create and csr: ./keygate.config.json's
  const keystore = resolve(ctx.io.cwd, (a['keystore'] as string | undefined) ?? (vault ? resolve(vault.base, vault.config.keystore.path) : defaultOut(ctx.io.cwd)));
  const alias = (a['alias'] as string | undefined) ?? vault?.config.keystore.alias;
  const certFiles = [a['cert'] as string, ...((a['chain'] as string[] | undefined) ?? [])].map((f) => resolve(ctx.io.cwd, f));
  const rootFiles = ((a['root'] as string[] | undefined) ?? []).map((f) => resolve(ctx.io.cwd, f));
  const bytes = readFileOr(keystore, 'the keystore', 'KEYSTORE_UNREADABLE', 'pass the keystore keygate keystore csr wrote with --keystore');
  const [{ unlockKeystore }, e] = await Promise.all([import('../adapters/keystore.js'), import('../pki/engine.js')]);
  // Expired is fine here: the placeholder may have run out while the CA took its time.
  const held = unlockKeystore(bytes, secret, { name: keystore, allowExpired: true, ...(alias !== undefined ? { alias } : {}) });
  const inputs = certFiles.map((f) => readCertificates(readFileOr(f, 'the certificate file', 'PKI_INPUT_INVALID', 'pass the file your CA sent'), f));
  const roots = rootFiles.flatMap((f) => readCertificates(readFileOr(f, 'the root certificate', 'PKI_INPUT_INVALID', 'pass your CA\'s root certificate (PEM)'), f).certs);
  const label = certFiles.length === 1 ? certFiles[0]! : certFiles.join(' + ');
  const plan = planImport({
    key: createPrivateKey(held.keyPem),
    certs: inputs.flatMap((i) => i.certs),
    ordered: inputs.every((i) => i.ordered),
    roots,
    requested: sanSet(new X509Certificate(held.certPem)),
    file: label,
  });
  const now = new Date();
  if (new Date(plan.leaf.validTo) < now || new Date(plan.leaf.validFrom) > now) {
    throw new KeygateError('KEYSTORE_CERT_EXPIRED', `refused to import ${label}: the certificate is valid from ${new Date(plan.leaf.validFrom).toISOString()} to ${new Date(plan.leaf.validTo).toISOString()}`, {
      hint: 'ask your CA for a certificate valid now (check this machine\'s clock too)',
    });
  }
  const entryAlias = held.alias ?? 'keygate';
  // An ACME account key in the keystore stays there (a CSR/import cycle and ACME renewal may alternate).
  const extra = held.acmeAccountKeyPem ? [{ pem: held.acmeAccountKeyPem, alias: ACME_ACCOUNT_ALIAS }] : [];
  const p12 = e.makePkcs12(held.keyPem, plan.leaf.toString(), plan.chain.map((c) => c.toString()), entryAlias, secret, 'modern', extra);
  rewriteKeystore(keystore, p12); // keeps the old file's group and mode (at most 0640)
  // the leaf beside it, as keystore create writes one: public, and what doctor reads the expiry from (no password)
  const crt = resolve(ctx.io.cwd, (a['crt'] as string | undefined) ?? besideKeystore(keystore, '.crt'));
  writeAtomicIn(crt, plan.leaf.toString(), 0o644);
  const expires = new Date(plan.leaf.validTo).toISOString();
  ctx.log.info(
    `imported ${plan.leaf.subject.replace(/\n/g, ', ')} [${sanSet(plan.leaf).join(' ')}] into ${keystore} (alias ${entryAlias}), expires ${expires}; chain: ${plan.chain.length} certificate(s) up to ${plan.root!.subject.replace(/\n/g, ', ')}${plan.rootFromBundle ? '' : ' (the root is not stored: clients hold it)'}; the certificate also in ${crt}`,
  );
  ctx.io.stdout.write(`${keystore}\n`);
  return EXIT.OK;
};

/** `keystore import`'s flags. */
export function importFlags<T>(y: Argv<T>) {
  return y
    .option('password-file', { type: 'string', describe: 'file holding the keystore password (never pass it on argv)' })
    .option('keystore', { type: 'string', describe: 'the keystore keystore csr wrote, rewritten in place (default: keystore.path in ./keygate.config.json, else keystore/keygate.p12)' })
    .option('cert', { type: 'string', demandOption: true, describe: 'the issued certificate: PEM (leaf first, then each issuer) or PKCS#7 (.p7b, PEM or DER)' })
    .option('chain', { type: 'string', array: true, describe: 'more certificate files of the chain, after --cert' })
    .option('root', { type: 'string', array: true, describe: "the CA's root certificate, to check a chain that does not include it (not stored)" })
    .option('alias', { type: 'string', describe: 'the key entry, when the keystore holds several' })
    .option('crt', { type: 'string', describe: 'where to write the imported certificate too (0644; default: beside the keystore, .crt; doctor reads its expiry there)' })
    .option('from-vault', { type: 'boolean', default: false, describe: 'ask the vault for the keystore password, as serve does, after the same verification (run as the registered entry)' })
    .check(onePasswordSource)
    .example('$0 keystore import --password-file initial.pw --cert app.crt --chain intermediate.crt --root root.crt', 'PEM files from the CA')
    .example('$0 keystore import --password-file initial.pw --cert app.p7b', 'a PKCS#7 bundle with the root')
    .epilogue('Exit codes: 0 written, 2 usage (a flag, the password file), 5 keystore (wrong password, unreadable, expired certificate), 7 input (a certificate for another key, an incomplete or unordered chain, other names) (docs/certificates.md, docs/errors.md)');
}
