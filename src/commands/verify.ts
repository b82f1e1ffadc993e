// verify: the manifest against the pin, every file against the manifest, the template against the manifest
// (new files), and the config serve will read; --json prints a report on stdout whatever went wrong.

import { EXIT, KeygateError } from '../errors.js';
import type { Context, Handler } from '../context.js';
import { ownPin } from '../pin-slot.js';
import { renderHint } from '../project.js';
import { assertVerifiedConfig, integrityError, readPin, reportJson, verifyTree } from '../gate/integrity.js';
import { envFrom, INTEGRITY_FLAGS, type GateCommand, pathsFrom } from './common.js';

/** The pin to check against: the named entry's, else this running entry's own. */
function pinFor(ctx: Context, args: Record<string, unknown>, entry: string): string {
  return args['entry'] !== undefined || entry !== ctx.io.entry ? readPin(entry) : ownPin();
}

const verify: Handler = async (ctx, args) => {
  const paths = pathsFrom(ctx, args);
  const json = Boolean(args['json']);
  let report: Awaited<ReturnType<typeof verifyTree>> | undefined;
  try {
    report = await verifyTree(paths, pinFor(ctx, args, paths.entry), envFrom(ctx, args, 'verifying'));
    if (!report.ok) throw integrityError(report);
    // The config serve will read: checked here too, so a typo fails verify (and CI), not the start.
    assertVerifiedConfig(paths, report.manifest);
  } catch (err) {
    if (!json || !(err instanceof KeygateError)) throw err;
    // --json: a report on stdout whatever went wrong (a bad pin has no file report), the error inside it.
    const error = { code: err.code, exit: err.exitStatus, message: err.message.split('\n')[0]!, ...(err.hint ? { fix: renderHint(err.hint, ctx.invocation ?? 'keygate') } : {}) };
    ctx.io.stdout.write(`${JSON.stringify({ ...(report ? reportJson(report) : {}), ok: false, error }, null, 2)}\n`);
    ctx.log.error(error.message, { code: err.code });
    return err.exitStatus;
  }
  if (json) ctx.io.stdout.write(`${JSON.stringify(reportJson(report), null, 2)}\n`);
  ctx.log.info(`verified ${report.files} files in ${Math.round(report.ms)} ms`, { manifest: report.manifestSha256 });
  return EXIT.OK;
};

/** `verify` for the gate's own parser (src/gate-args.ts) and for yargs (src/cli-yargs.ts). */
export const verifyGate: GateCommand = {
  name: 'verify',
  describe: 'check the manifest against the pin and every file against the manifest; report changed, missing and new files',
  flags: { ...INTEGRITY_FLAGS, json: { type: 'boolean', default: false, describe: 'print the report as JSON on stdout' } },
  examples: [['$0 verify --json', 'machine-readable report']],
  handler: verify,
};
