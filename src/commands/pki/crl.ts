// keygate pki crl: revoke certificates, the CRL extended in place (docs/pki.md).

import type { CommandModule } from 'yargs';
import { KeygateError } from '../../errors.js';
import { fileExists, writeAtomicIn } from '../../adapters/files.js';
import { caInput, engine, loadCaFrom, path, pkiAction, readInput, type CrlEntry } from './common.js';
import { CRL_REASONS, normalizeSerial, parseDuration, type CrlReason } from '../../pki/policy.js';
import { EXIT_EPILOGUE, type Choose } from '../common.js';

const crl = pkiAction(async (ctx, a) => {
  const out = path(ctx, a['out']);
  const reason = a['reason'] as CrlReason;
  const nextMs = parseDuration(String(a['next-update']));
  const e = await engine();
  const ca = await loadCaFrom(ctx, a, e);
  const now = new Date();
  const add: CrlEntry[] = [];
  for (const r of (a['revoke'] as string[] | undefined) ?? []) add.push(await revokeEntry(r));
  async function revokeEntry(r: string): Promise<CrlEntry> {
    // A certificate file, or a serial as `openssl x509 -serial` / `keygate pki inspect` print it.
    const file = path(ctx, r);
    if (fileExists(file)) {
      const c = await e.certificateInfo(readInput(file, 'certificate to revoke'), file);
      if (!(await e.issuedBy(c, ca))) throw new KeygateError('PKI_INPUT_INVALID', `refused to revoke ${file}: it was not issued by this CA (issuer ${c.issuer})`, {});
      return { serial: normalizeSerial(c.serialNumber), date: now, reason };
    }
    return { serial: normalizeSerial(r), date: now, reason };
  }
  const previous = fileExists(out) ? readInput(out, 'CRL') : undefined;
  const nextUpdate = new Date(now.getTime() + nextMs);
  const made = await e.buildCrl(ca, previous, add, now, nextUpdate);
  writeAtomicIn(out, made.pem, 0o644);
  ctx.log.info(`wrote CRL #${made.number} ${out}: ${made.entries.length} revoked, next update ${nextUpdate.toISOString()}`);
  ctx.io.stdout.write(`${out}\n`);
});

export const crlCommand = (choose: Choose): CommandModule => ({
  command: 'crl',
  describe: 'revoke certificates: write (or extend) the CA\'s CRL, PEM "X509 CRL"',
  builder: (c) =>
    caInput(c)
      .option('revoke', { type: 'string', array: true, describe: 'a certificate file or a serial (hex) to revoke (repeat; none: just re-sign)' })
      .option('reason', { choices: Object.keys(CRL_REASONS), default: 'unspecified', describe: 'revocation reason (RFC 5280)' })
      .option('next-update', { type: 'string', default: '7d', describe: 'when the next CRL is due (Nd, Nh or Nm)' })
      .option('out', { type: 'string', default: 'pki/ca.crl', describe: 'the CRL (its earlier entries are kept)' })
      .example('$0 pki crl --revoke pki/alice.crt --reason keyCompromise --ca-password-file ca.pw', 'pki/ca.crl')
      .epilogue(EXIT_EPILOGUE),
  handler: choose(crl),
});
