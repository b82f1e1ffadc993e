// generate-filelist: expand filelist.template into filelist.sha256 (GNU sha256sum format), print its sha256.

import type { CommandModule } from 'yargs';
import { EXIT } from '../errors.js';
import type { Handler } from '../context.js';
import { generateFilelist } from '../gate/integrity.js';
import { EXIT_EPILOGUE, envFrom, INTEGRITY_FLAGS, withFlags, type GateCommand, pathsFrom, type Choose } from './common.js';

const generate: Handler = async (ctx, args) => {
  const paths = pathsFrom(ctx, args);
  const built = await generateFilelist(paths, envFrom(ctx, args, 'hashing'));
  ctx.log.info(`wrote ${paths.manifest}`, { files: built.files });
  ctx.io.stdout.write(`${built.sha256}\n`);
  return EXIT.OK;
};

/** `generate-filelist` for the gate's own parser (src/gate-args.ts) and for yargs. */
export const generateGate: GateCommand = { name: 'generate-filelist', flags: INTEGRITY_FLAGS, handler: generate };

export function generateFilelistCommand(choose: Choose): CommandModule {
  return {
    command: 'generate-filelist',
    describe: 'expand the template into filelist.sha256 and print its sha256',
    builder: (y) => withFlags(y, generateGate.flags).example('$0 generate-filelist', 'writes filelist.sha256, prints its hash').epilogue(EXIT_EPILOGUE),
    handler: choose(generateGate.handler),
  };
}
