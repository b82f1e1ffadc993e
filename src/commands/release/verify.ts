// release verify (CI, or an operator before a deploy): the manifest on disk against its envelope and the trust
// root beside the template, with the rules the gate applies at start; with the entry, also that it pins that
// trust root. The host's state file is applied where it exists (on a host), not in CI.

import { basename } from 'node:path';
import type { CommandModule } from 'yargs';
import { EXIT, KeygateError } from '../../errors.js';
import type { Handler } from '../../context.js';
import { fileExists, readWhole } from '../../adapters/files.js';
import { sha256 } from '../../adapters/file-hash.js';
import { readPin, resolvePaths } from '../../gate/integrity.js';
import { pinnedTrustRoot, trustPath, verifyReleaseFiles } from '../../gate/release.js';
import type { Choose } from '../common.js';

const verify: Handler = async (ctx, a) => {
  const paths = resolvePaths(ctx.io.cwd, { template: a['template'] as string | undefined, manifest: a['manifest'] as string | undefined, entry: a['entry'] as string | undefined });
  const trustFile = trustPath(paths.template);
  if (!fileExists(trustFile)) throw new KeygateError('RELEASE_INVALID', `failed to verify the release: no ${basename(trustFile)} beside ${basename(paths.template)}`, { hint: 'pin the release keys first: keygate pin --release-keys <key>.pub' });
  const trustSha = sha256(readWhole(trustFile));
  // With an entry on disk, it must pin this trust root (what a host will check); in CI without one, the root alone.
  const pin = fileExists(paths.entry) ? readPin(paths.entry) : trustSha;
  const trust = pinnedTrustRoot(paths.template, pin);
  if (!trust) {
    throw new KeygateError('PIN_MISMATCH', `failed to verify the release: ${paths.entry} pins ${pin}, not ${basename(trustFile)} (${trustSha})`, { hint: 'keygate pin --release-keys <key>.pub, then register the entry hash in the vault' });
  }
  const info = verifyReleaseFiles({ root: trust.root, sha256: trust.sha256 }, paths.manifest, sha256(readWhole(paths.manifest)), { stateWhereItExists: true });
  ctx.log.info(`release ${info.payload.version} of ${info.payload.project} verifies: manifest ${info.payload.manifestSha256}, expires ${info.payload.expires}, signed by ${info.signedBy.join(', ')} (${trust.root.threshold} needed)`);
  ctx.io.stdout.write(`${info.payload.version}\n`);
  return EXIT.OK;
};

export const verifyCommand = (choose: Choose): CommandModule => ({
  command: 'verify',
  describe: 'check a release: signatures by the pinned keys, project, manifest, expiry, version (CI)',
  builder: (y) =>
    y
      .option('template', { type: 'string', describe: 'filelist template (default: filelist.template here)' })
      .option('manifest', { type: 'string', describe: 'manifest (default: filelist.sha256 beside the template)' })
      .option('entry', { type: 'string', describe: 'the entry that must pin the trust root (default: the project\'s)' }),
  handler: choose(verify),
});
