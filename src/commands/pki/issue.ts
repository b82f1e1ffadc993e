// keygate pki issue server|client: a leaf certificate and its key (docs/pki.md).

import type { CommandModule } from 'yargs';
import { KeygateError } from '../../errors.js';
import { writeAtomicIn } from '../../adapters/files.js';
import { assertWritable, caInput, describeKey, engine, force, loadCaFrom, path, pkiAction, sanList, subjectText } from './common.js';
import { checkSubjectNames, cnProblem, leafPlan, parseSan, parseSubject, validity, type KeyType, type LeafKind, type Rdn } from '../../pki/policy.js';
import { EXIT_EPILOGUE, type Choose } from '../common.js';

const issue = pkiAction(async (ctx, a) => {
  const kind = a['kind'] as LeafKind;
  const sans = ((a['san'] as string[] | undefined) ?? []).map(parseSan);
  const cn = a['cn'] as string | undefined;
  const subject: Rdn[] = a['subject'] !== undefined ? parseSubject(String(a['subject'])) : cn !== undefined ? parseSubject(`CN=${cn.replace(/([,\\])/g, '\\$1')}`) : [];
  // A client needs a name to be known by.
  if (subject.length === 0 && kind === 'client' && sans.length === 0) throw new KeygateError('USAGE', 'failed to issue a client certificate: give it a name with --cn (and/or --san email:…)', { hint: 'keygate pki issue client --cn alice' });
  const keyType = a['key-type'] as KeyType;
  const v = validity(kind, a['days'] as number | undefined, new Date());
  const certFile = path(ctx, a['cert'] ?? `pki/${kind}.crt`);
  const keyFile = path(ctx, a['key'] ?? certFile.replace(/\.(crt|pem|cer)$/i, '') + '.key');
  assertWritable([certFile, keyFile], Boolean(a['force']));
  const e = await engine();
  const ca = await loadCaFrom(ctx, a, e);
  const plan = leafPlan(kind, keyType, sans, ca.nameConstraints);
  // A server's CN is its first name (only for display: clients match SANs); an IP one only when OpenSSL will not
  // check it as a host name against the CA's DNS constraints (it does when there is no DNS SAN).
  if (subject.length === 0 && plan.sans[0]) subject.push({ type: 'CN', value: (plan.sans.find((x) => !cnProblem(kind, x.value, plan.sans, ca.nameConstraints)) ?? plan.sans[0]).value });
  checkSubjectNames(kind, subject, plan.sans, ca.nameConstraints);
  const key = e.generateKey(keyType, a['rsa-bits'] as number);
  const certPem = await e.issueCertificate(ca, subject, key, plan, v);
  writeAtomicIn(keyFile, e.keyPem(key, undefined), 0o600);
  writeAtomicIn(certFile, certPem, 0o644);
  ctx.log.info(`issued ${kind} certificate ${subjectText(subject)}${sanList(plan.sans)} (${describeKey(a)}, ${v.days} days, EKU ${plan.extKeyUsage.join(',')}): ${certFile}, key ${keyFile}`);
  ctx.io.stdout.write(`${certFile}\n`);
});

export const issueCommand = (choose: Choose): CommandModule => ({
  command: 'issue <kind>',
  describe: 'issue a server (serverAuth) or client (clientAuth) certificate and its key',
  builder: (c) =>
    caInput(c.positional('kind', { choices: ['server', 'client'] as const }))
      .option('san', { type: 'string', array: true, describe: 'DNS:name, IP:addr, email:addr, URI:uri (repeat; a server needs one)' })
      .option('cn', { type: 'string', describe: 'subject common name (default: the first SAN)' })
      .option('subject', { type: 'string', describe: 'full subject instead of --cn, e.g. "CN=alice,O=Acme"' })
      .conflicts('cn', 'subject')
      .option('key-type', { choices: ['ec', 'rsa'] as const, default: 'ec', describe: 'key type' })
      .option('rsa-bits', { choices: [2048, 3072, 4096] as const, default: 2048, describe: 'RSA key size' })
      .option('days', { type: 'number', describe: 'validity in days (default 397, at most 825)' })
      .option('cert', { type: 'string', describe: 'certificate to write (default pki/<kind>.crt)' })
      .option('key', { type: 'string', describe: 'key to write, 0600 (default: beside --cert, .key)' })
      .option('force', force)
      .example('$0 pki issue server --san DNS:localhost --san IP:127.0.0.1 --ca-password-file ca.pw', 'pki/server.crt + pki/server.key')
      .example('$0 pki issue client --cn alice --ca-password-file ca.pw --cert pki/alice.crt', 'pki/alice.crt + pki/alice.key')
      .epilogue(EXIT_EPILOGUE),
  handler: choose(issue),
});
