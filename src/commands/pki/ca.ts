// keygate pki ca create: a CA, pathlen 0, its key encrypted at rest (docs/pki.md).

import type { CommandModule } from 'yargs';
import { KeygateError } from '../../errors.js';
import { writeAtomicIn } from '../../adapters/files.js';
import { assertWritable, days, describeKey, engine, force, passwordFrom, path, pkiAction, subjectText } from './common.js';
import { caPlan, formatCidr, parseCidr, parseDnsConstraint, parseSubject, validity, type KeyType } from '../../pki/policy.js';
import { EXIT_EPILOGUE, type Choose } from '../common.js';

const caCreate = pkiAction(async (ctx, a) => {
  const subject = parseSubject(String(a['subject']));
  const permitted = { permittedDns: (a['permit-dns'] as string[] | undefined ?? []).map(parseDnsConstraint), permittedIp: (a['permit-ip'] as string[] | undefined ?? []).map(parseCidr) };
  const plan = caPlan(permitted);
  const v = validity('ca', a['days'] as number | undefined, new Date());
  const certFile = path(ctx, a['cert']);
  const keyFile = path(ctx, a['key']);
  const insecure = Boolean(a['insecure']);
  if (insecure && a['password-file'] !== undefined) throw new KeygateError('USAGE', 'failed to parse flags: --insecure (an unencrypted CA key) and --password-file exclude each other', { hint: 'drop one of them' });
  assertWritable([certFile, keyFile], Boolean(a['force']));
  const password = insecure ? undefined : await passwordFrom(ctx, a['password-file'], 'password-file', 'password to encrypt the new CA key: ', true);
  const e = await engine();
  const key = e.generateKey(a['key-type'] as KeyType, a['rsa-bits'] as number);
  const certPem = await e.createSelfSignedCertificate(subject, key, plan, v);
  writeAtomicIn(keyFile, e.keyPem(key, password), 0o600);
  writeAtomicIn(certFile, certPem, 0o644);
  if (insecure) ctx.log.warn(`the CA key ${keyFile} is NOT encrypted (--insecure): anyone who reads it can issue certificates your peers trust`);
  const nc = plan.nameConstraints ? `, names limited to ${[...plan.nameConstraints.permittedDns, ...plan.nameConstraints.permittedIp.map(formatCidr)].join(' ')}` : '';
  ctx.log.info(`created CA ${subjectText(subject)} (${describeKey(a)}, ${v.days} days, pathlen 0${nc}): ${certFile}, key ${keyFile}${insecure ? '' : ' (encrypted)'}`);
  ctx.io.stdout.write(`${certFile}\n`);
});

export const caCommand = (choose: Choose): CommandModule => ({
  command: 'ca <action>',
  describe: 'create a CA (EC P-256, pathlen 0, key encrypted at rest)',
  builder: (c) =>
    c
      .positional('action', { choices: ['create'] as const })
      .option('subject', { type: 'string', default: 'CN=keygate dev CA', describe: 'subject, e.g. "CN=Acme dev CA,O=Acme"' })
      .option('key-type', { choices: ['ec', 'rsa', 'ed25519'] as const, default: 'ec', describe: 'key type' })
      .option('rsa-bits', { choices: [2048, 3072, 4096] as const, default: 3072, describe: 'RSA key size' })
      .option('days', days('ca'))
      .option('permit-dns', { type: 'string', array: true, describe: 'name constraint: host names under this domain only (repeat)' })
      .option('permit-ip', { type: 'string', array: true, describe: 'name constraint: addresses in this CIDR only (repeat)' })
      .option('cert', { type: 'string', default: 'pki/ca.crt', describe: 'CA certificate to write' })
      .option('key', { type: 'string', default: 'pki/ca.key', describe: 'CA key to write (0600, encrypted)' })
      .option('password-file', { type: 'string', describe: 'file holding the password that encrypts the key (else asked on the terminal)' })
      .option('insecure', { type: 'boolean', default: false, describe: 'write the CA key unencrypted' })
      .option('force', force)
      .example('$0 pki ca create --password-file ca.pw --permit-dns localhost --permit-dns .test --permit-ip 127.0.0.0/8', 'a CA that can only name local hosts')
      .epilogue(EXIT_EPILOGUE),
  handler: choose(caCreate),
});
