// release sign (in CI, never on a server): a DSSE envelope over {project, version, expires, manifestSha256},
// written beside the manifest as filelist.sha256.sig. With --append, another key adds its signature to an
// envelope with the same payload (k of n).

import { createPublicKey, sign as signBytes } from 'node:crypto';
import { basename, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { EXIT, KeygateError } from '../../errors.js';
import type { Handler } from '../../context.js';
import { fileExists, readWhole, writeAtomic } from '../../adapters/files.js';
import { sha256 } from '../../adapters/file-hash.js';
import { RELEASE_PAYLOAD_TYPE, ReleaseRefusal, isZonedTime, keyId, pae, parseEnvelope, parsePayload, parseTrustRoot, rawOf, type Envelope, type ReleasePayload } from '../../core/release.js';
import { parseManifest } from '../../core/manifest.js';
import { resolvePaths } from '../../gate/integrity.js';
import { envelopePath, trustPath } from '../../gate/release.js';
import { parseDuration } from '../../pki/policy.js';
import type { Choose } from '../common.js';
import { passphrase, readPrivateKey } from './keys.js';

const EXPIRES_HINT = 'a later time with its zone (2027-03-01T00:00:00Z) or a duration from now (90d)';

/** --expires: an ISO time with its zone, or a duration from now (30d, 12h: the pki parser); never past. */
export function expiryFrom(value: string, now: Date): string {
  let t: number;
  if (/^\d{4}-\d\d-\d\d/.test(value)) {
    // Without a zone the time would be read in this machine's zone, and each host would differ (review I2).
    if (!isZonedTime(value)) throw new KeygateError('USAGE', `failed to read --expires ${value}: not an ISO time with a zone (Z or +hh:mm)`, { hint: EXPIRES_HINT });
    t = Date.parse(value);
  } else {
    try {
      t = now.getTime() + parseDuration(value);
    } catch {
      throw new KeygateError('USAGE', `failed to read --expires ${value}: not a time or a duration`, { hint: EXPIRES_HINT });
    }
  }
  if (t <= now.getTime()) throw new KeygateError('USAGE', `refused to sign: --expires ${value} is ${new Date(t).toISOString()}, not after now (${now.toISOString()}); every host would refuse the release`, { hint: EXPIRES_HINT });
  return new Date(t).toISOString();
}

const sign: Handler = async (ctx, a) => {
  const paths = resolvePaths(ctx.io.cwd, { template: a['template'] as string | undefined, manifest: a['manifest'] as string | undefined });
  let manifestBytes: Buffer;
  try {
    manifestBytes = readWhole(paths.manifest);
  } catch {
    throw new KeygateError('USAGE', `failed to sign: no manifest at ${paths.manifest}`, { hint: 'keygate generate-filelist first' });
  }
  parseManifest(manifestBytes, basename(paths.manifest)); // never sign garbage
  const trustFile = trustPath(paths.template);
  let project = a['project'] as string | undefined;
  if (project === undefined && fileExists(trustFile)) {
    try {
      project = parseTrustRoot(readWhole(trustFile)).project;
    } catch (err) {
      if (err instanceof ReleaseRefusal) throw new KeygateError('USAGE', `failed to read ${trustFile}: ${err.message}`, {});
      throw err;
    }
  }
  if (project === undefined) throw new KeygateError('USAGE', `failed to sign: no --project and no ${basename(trustFile)} to take it from`, { hint: 'pass --project <name>, or pin the keys first: keygate pin --release-keys <key>.pub' });
  const out = envelopePath(paths.manifest);
  const version = a['release-version'] as number | undefined;
  let payload: ReleasePayload;
  let envelope: Envelope | undefined;
  if (a['append']) {
    if (!fileExists(out)) throw new KeygateError('USAGE', `failed to append: no envelope at ${out}`, { hint: 'the first signer runs keygate release sign without --append' });
    try {
      envelope = parseEnvelope(readWhole(out));
      payload = parsePayload(Buffer.from(envelope.payload, 'base64'));
    } catch (err) {
      if (err instanceof ReleaseRefusal) throw new KeygateError('USAGE', `failed to append to ${out}: ${err.message}`, { hint: 'start a new envelope: keygate release sign --key <release key> --release-version <next> (without --append)' });
      throw err;
    }
    if (payload.manifestSha256 !== sha256(manifestBytes)) throw new KeygateError('USAGE', `failed to append: ${out} signs another manifest (${payload.manifestSha256})`, { hint: 'sign the manifest it names, or start a new envelope without --append' });
    if (Date.parse(payload.expires) <= Date.now()) throw new KeygateError('USAGE', `refused to append: release ${payload.version} in ${out} expired at ${payload.expires}`, { hint: 'start a new envelope: keygate release sign --key <release key> --release-version <next> (without --append)' });
  } else {
    if (version === undefined || !Number.isSafeInteger(version) || version < 1) {
      throw new KeygateError('USAGE', 'failed to sign: --release-version must be a whole number from 1, higher than every release before', { hint: 'keygate release sign --key ci.key --release-version 7' });
    }
    payload = { project, version, expires: expiryFrom(String(a['expires'] ?? '90d'), new Date()), manifestSha256: sha256(manifestBytes) };
  }
  const key = readPrivateKey(resolve(ctx.io.cwd, String(a['key'])), await passphrase(a['password-file'], 'release key passphrase: ', false));
  const id = keyId(rawOf(createPublicKey(key)));
  const payloadB64 = envelope?.payload ?? Buffer.from(JSON.stringify(payload)).toString('base64');
  const sig = signBytes(null, pae(RELEASE_PAYLOAD_TYPE, Buffer.from(payloadB64, 'base64')), key).toString('base64');
  const signatures = [...(envelope?.signatures ?? []).filter((s) => s.keyid !== id), { keyid: id, sig }];
  writeAtomic(out, `${JSON.stringify({ payloadType: RELEASE_PAYLOAD_TYPE, payload: payloadB64, signatures }, null, 2)}\n`, 0o644);
  ctx.log.info(`signed release ${payload.version} of ${payload.project} (manifest ${payload.manifestSha256}, expires ${payload.expires}) with key ${id}: ${out} (${signatures.length} signature(s))`);
  ctx.io.stdout.write(`${out}\n`);
  return EXIT.OK;
};

export const signCommand = (choose: Choose): CommandModule => ({
  command: 'sign',
  describe: 'sign the manifest as a release (in CI): writes filelist.sha256.sig',
  builder: (y) =>
    y
      .option('key', { type: 'string', demandOption: true, describe: 'the encrypted release key (keygate release keygen)' })
      .option('password-file', { type: 'string', describe: 'its passphrase (else asked on the terminal)' })
      .option('release-version', { type: 'number', describe: 'the release number; every host refuses one lower than it accepted' })
      .option('expires', { type: 'string', default: '90d', describe: 'ISO time with its zone (2027-03-01T00:00:00Z) or a duration (90d), after now: hosts refuse the release after it' })
      .option('project', { type: 'string', describe: 'the project the release is for (default: keygate.trust.json)' })
      .option('append', { type: 'boolean', describe: 'add this key\'s signature to the existing envelope (k of n)' })
      .option('template', { type: 'string', describe: 'filelist template (default: filelist.template here)' })
      .option('manifest', { type: 'string', describe: 'manifest (default: filelist.sha256 beside the template)' }),
  handler: choose(sign),
});
