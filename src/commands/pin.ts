// pin: write the manifest's sha256 into the main entry, print the entry's new sha256 (what PAM registers).
// With --release-keys it pins a release trust root instead (docs/releases.md): the entry then stays the same
// across releases, and each release is accepted on its signatures. Without it, in a project with a trust root,
// it refuses unless --replace-trust-root says to leave signed releases (a new PAM registration).

import { rmSync } from 'node:fs';
import { EXIT } from '../errors.js';
import type { Handler } from '../context.js';
import { fileExists } from '../adapters/files.js';
import { pinEntry, readPin } from '../gate/integrity.js';
import { trustPath, trustRootReplaceRefusal } from '../gate/release.js';
import { INTEGRITY_FLAGS, type GateCommand, pathsFrom } from './common.js';

const pin: Handler = async (ctx, args) => {
  const paths = pathsFrom(ctx, args);
  if (args['release-keys'] !== undefined) {
    // The release code is loaded only here: a plain pin (and the gate) never parses it.
    const { pinReleaseKeys } = await import('./release/pin-keys.js');
    return pinReleaseKeys(ctx, paths, args);
  }
  const trustFile = trustPath(paths.template);
  if (!args['replace-trust-root']) {
    let current: string | undefined;
    try {
      current = readPin(paths.entry);
    } catch {
      // an entry without a readable pin: judged by the trust root beside the template alone
    }
    const refusal = trustRootReplaceRefusal(paths, current);
    if (refusal) throw refusal;
  }
  const result = pinEntry(paths);
  if (args['replace-trust-root'] && fileExists(trustFile)) {
    // The entry no longer pins it: left beside the template it would say signed releases where there are none.
    rmSync(trustFile);
    ctx.log.info(`removed ${trustFile}: signed releases end here; delete the old entry hash from the vault's registration`);
  }
  ctx.log.info(`${result.changed ? 'pinned' : 'already pinned'} manifest ${result.manifestSha256} into ${paths.entry}; register the entry hash below in the vault`);
  ctx.io.stdout.write(`${result.entrySha256}\n`);
  return EXIT.OK;
};

/** `pin` for the gate's own parser (src/gate-args.ts) and for yargs (src/cli-yargs.ts). */
export const pinGate: GateCommand = {
  name: 'pin',
  describe: "write the manifest's sha256 into the main entry and print the entry's new sha256 (register it in the vault)",
  flags: {
    ...INTEGRITY_FLAGS,
    'release-keys': { type: 'string', describe: 'signed releases: pin these Ed25519 public keys (comma-separated .pub files from keygate release keygen) instead of the manifest' },
    threshold: { type: 'number', describe: 'with --release-keys: signatures a release needs (default 1)' },
    project: { type: 'string', describe: 'with --release-keys (required): the deployment releases must name; staging and production need different names if one key signs both' },
    'min-version': { type: 'number', describe: 'with --release-keys: the lowest release version accepted (default 1; raise it to retire old releases)' },
    'state-file': { type: 'string', describe: 'with --release-keys: a root-owned file keeping the highest version this host accepted' },
    'replace-trust-root': { type: 'boolean', describe: 'pin the manifest even though the project uses signed releases: removes keygate.trust.json (PAM then needs the new entry hash)' },
  },
  examples: [
    ['$0 pin', 'pins filelist.sha256 into the entry (the running one, or entry in keygate.config.json)'],
    ['$0 pin --release-keys ci.pub,backup.pub --project shop-prod', 'pins the release keys: a release signed by either starts without a new registration'],
  ],
  handler: pin,
};
