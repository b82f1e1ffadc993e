// check: the CI gate. Regenerates the manifest in memory and fails when the entry's pin is stale (or the
// config invalid), with the differing files.

import { EXIT } from '../errors.js';
import type { Handler } from '../context.js';
import { checkPin, readPin } from '../gate/integrity.js';
import { envFrom, INTEGRITY_FLAGS, type GateCommand, pathsFrom } from './common.js';

const check: Handler = async (ctx, args) => {
  const paths = pathsFrom(ctx, args);
  const result = await checkPin(paths, readPin(paths.entry), envFrom(ctx, args, 'hashing'));
  ctx.log.info(`pin is current: ${result.pin}`);
  return EXIT.OK;
};

/** `check` for the gate's own parser (src/gate-args.ts) and for yargs (src/cli-yargs.ts). */
export const checkGate: GateCommand = {
  name: 'check',
  describe: 'CI gate: regenerate in memory and fail when the pinned hash is stale or keygate.config.json is invalid',
  flags: INTEGRITY_FLAGS,
  examples: [['$0 check', 'exit 3 and the list of differing files when stale']],
  handler: check,
};
