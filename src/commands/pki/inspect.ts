// keygate pki inspect: what a certificate, CSR or CRL holds (docs/pki.md).

import type { CommandModule } from 'yargs';
import { KeygateError, describeCause } from '../../errors.js';
import { readWhole } from '../../adapters/files.js';
import { engine, path, pkiAction } from './common.js';
import { EXIT_EPILOGUE, type Choose } from '../common.js';

const inspect = pkiAction(async (ctx, a) => {
  const file = path(ctx, a['file']);
  let bytes: Buffer;
  try {
    bytes = readWhole(file);
  } catch (err) {
    throw new KeygateError('PKI_INPUT_INVALID', `failed to read ${file}: ${describeCause(err)}`, {});
  }
  const report = await (await engine()).inspect(bytes, file);
  // one write: a reader that stops early (| head) gets whole lines
  if (a['json']) ctx.io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else ctx.io.stdout.write(Object.entries(report).map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}\n`).join(''));
});

export const inspectCommand = (choose: Choose): CommandModule => ({
  command: 'inspect <file>',
  describe: 'show what a certificate, CSR or CRL holds',
  builder: (c) => c.positional('file', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false, describe: 'JSON on stdout' }).epilogue(EXIT_EPILOGUE),
  handler: choose(inspect),
});
