// generate-filelist: expand filelist.template into filelist.sha256 (GNU sha256sum format), print its sha256.

import { EXIT } from '../errors.js';
import type { Handler } from '../context.js';
import { generateFilelist } from '../gate/integrity.js';
import { envFrom, INTEGRITY_FLAGS, type GateCommand, pathsFrom } from './common.js';

const generate: Handler = async (ctx, args) => {
  const paths = pathsFrom(ctx, args);
  const built = await generateFilelist(paths, envFrom(ctx, args, 'hashing'));
  ctx.log.info(`wrote ${paths.manifest}`, { files: built.files });
  ctx.io.stdout.write(`${built.sha256}\n`);
  return EXIT.OK;
};

/** `generate-filelist` for the gate's own parser (src/gate-args.ts) and for yargs (src/cli-yargs.ts). */
export const generateGate: GateCommand = {
  name: 'generate-filelist',
  describe: 'expand the template into filelist.sha256 and print its sha256',
  flags: INTEGRITY_FLAGS,
  examples: [['$0 generate-filelist', 'writes filelist.sha256, prints its hash']],
  handler: generate,
};
