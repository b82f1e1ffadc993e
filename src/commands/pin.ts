// pin: write the manifest's sha256 into the main entry, print the entry's new sha256 (what PAM registers).

import { EXIT } from '../errors.js';
import type { Handler } from '../context.js';
import { pinEntry } from '../gate/integrity.js';
import { INTEGRITY_FLAGS, type GateCommand, pathsFrom } from './common.js';

const pin: Handler = async (ctx, args) => {
  const paths = pathsFrom(ctx, args);
  const result = pinEntry(paths);
  ctx.log.info(`${result.changed ? 'pinned' : 'already pinned'} manifest ${result.manifestSha256} into ${paths.entry}; register the entry hash below in the vault`);
  ctx.io.stdout.write(`${result.entrySha256}\n`);
  return EXIT.OK;
};

/** `pin` for the gate's own parser (src/gate-args.ts) and for yargs (src/cli-yargs.ts). */
export const pinGate: GateCommand = {
  name: 'pin',
  describe: "write the manifest's sha256 into the main entry and print the entry's new sha256 (register it in the vault)",
  flags: INTEGRITY_FLAGS,
  examples: [['$0 pin', 'pins filelist.sha256 into the entry (the running one, or entry in keygate.config.json)']],
  handler: pin,
};
