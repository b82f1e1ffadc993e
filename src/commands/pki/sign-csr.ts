// keygate pki sign-csr: a CSR signed under a profile, never with its requested extensions (docs/pki.md).

import type { CommandModule } from 'yargs';
import { writeAtomicIn } from '../../adapters/files.js';
import { assertWritable, caInput, engine, force, loadCaFrom, path, pkiAction, readInput, sanList, subjectText } from './common.js';
import { decideCsr, leafPlan, validity, type LeafKind } from '../../pki/policy.js';
import { EXIT_EPILOGUE, type Choose } from '../common.js';

const signCsr = pkiAction(async (ctx, a) => {
  const kind = a['profile'] as LeafKind;
  const csrFile = path(ctx, a['csr']);
  const certFile = path(ctx, a['cert'] ?? csrFile.replace(/\.(csr|req|pem)$/i, '') + '.crt');
  const v = validity(kind, a['days'] as number | undefined, new Date());
  assertWritable([certFile], Boolean(a['force']));
  const e = await engine();
  const { request, publicKey } = await e.readCsr(readInput(csrFile, 'CSR'), csrFile);
  const keyType = e.keyTypeOf(publicKey);
  const ca = await loadCaFrom(ctx, a, e);
  const decision = decideCsr(kind, request, ca.nameConstraints);
  for (const d of decision.dropped) ctx.log.warn(`sign-csr: left out ${d}`);
  const plan = leafPlan(kind, keyType, decision.sans, ca.nameConstraints);
  const certPem = await e.issueCertificate(ca, decision.subject, publicKey, plan, v);
  writeAtomicIn(certFile, certPem, 0o644);
  ctx.log.info(`signed ${csrFile} as a ${kind} certificate ${subjectText(decision.subject)}${sanList(plan.sans)} (${v.days} days, EKU ${plan.extKeyUsage.join(',')}): ${certFile}`);
  ctx.io.stdout.write(`${certFile}\n`);
});

export const signCsrCommand = (choose: Choose): CommandModule => ({
  command: 'sign-csr',
  describe: 'sign a CSR: its subject and allowed SANs only, never its requested extensions',
  builder: (c) =>
    caInput(c)
      .option('csr', { type: 'string', demandOption: true, describe: 'the PKCS#10 request (PEM or DER)' })
      .option('profile', { choices: ['server', 'client'] as const, default: 'server', describe: 'which leaf profile to apply' })
      .option('days', { type: 'number', describe: 'validity in days (default 397, at most 825)' })
      .option('cert', { type: 'string', describe: 'certificate to write (default: beside --csr, .crt)' })
      .option('force', force)
      .example('$0 pki sign-csr --csr app.csr --profile server --ca-password-file ca.pw', 'app.crt')
      .epilogue(EXIT_EPILOGUE),
  handler: choose(signCsr),
});
