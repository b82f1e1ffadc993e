// The command line: the gate's commands in their usual shapes through src/gate-args.ts, everything else (help,
// version, the other commands, any line it leaves) through src/cli-yargs.ts, a part compiled only then: a start
// neither parses yargs nor the other commands. Flags > KEYGATE_* env > defaults either way; the one place where
// errors become exit statuses. Data goes to stdout, narration to stderr (both injected).

import { EXIT, KeygateError, ERROR_CODES, isKeygateError, describeCause, type ExitStatus } from './errors.js';
import { createLogger, type LogFormat } from './adapters/logger.js';
import type { Context, Handler, Io } from './context.js';
import { invocationOf, renderHint } from './project.js';
import { GLOBAL_FLAGS, type GateCommand } from './commands/common.js';
import { TRUE_WORDS, parseGateArgs } from './gate-args.js';
import { compiledParts, hasParts } from './late-runtime.js';
import { generateGate } from './commands/generate-filelist.js';
import { pinGate } from './commands/pin.js';
import { verifyGate } from './commands/verify.js';
import { checkGate } from './commands/check.js';
import { serveGate } from './commands/serve.js';


/** The commands src/gate-args.ts may parse without yargs, in the order yargs' help lists them. */
export const GATE_COMMANDS: readonly GateCommand[] = [generateGate, pinGate, verifyGate, checkGate, serveGate];

/** Parses argv and runs one command; returns the exit status. Never throws, never calls process.exit. */
export async function main(argv: readonly string[], io: Io): Promise<ExitStatus> {
  const invocation = invocationOf(io.entry, io.cwd, io.invokedAs);
  const gate = parseGateArgs(argv, io.env, GATE_COMMANDS, GLOBAL_FLAGS);
  const { chosen, usageError, parsed } = gate
    ? { chosen: { handler: gate.command.handler, args: gate.args }, usageError: undefined, parsed: gate.args }
    : await (await import('./cli-yargs.js')).parseWithYargs(argv, io, invocation, GATE_COMMANDS);
  const format: LogFormat = parsed['log-format'] === 'json' ? 'json' : 'text';
  const debug = Boolean(parsed['debug']) || TRUE_WORDS.test(io.env['KEYGATE_DEBUG'] ?? '');
  const log = createLogger({ stream: io.stderr, format, level: debug ? 'debug' : 'info', file: typeof parsed['log-file'] === 'string' ? parsed['log-file'] : undefined });
  const ctx: Context = { io, log, debug, format, invocation };
  try {
    if (usageError instanceof KeygateError) throw usageError;
    if (usageError !== undefined) throw new KeygateError('USAGE', usageError, { hint: 'run keygate --help' });
    if (!chosen) return EXIT.OK; // --help / --version printed already
    return await chosen.handler(ctx, chosen.args);
  } catch (err) {
    return reportError(ctx, err);
  } finally {
    // which parts this run compiled: the gate path's claim (docs/security.md) is checked against this line
    if (hasParts()) log.debug('parts compiled', { parts: compiledParts().join(',') || 'none' });
    await log.close();
  }
}

/** Prints an error once, in the configured format, and maps it to its exit status. */
export function reportError(ctx: Context, err: unknown): ExitStatus {
  if (isKeygateError(err)) {
    // hints are written as `keygate <command>`; the user sees the command as they run it
    const hint = err.hint ? renderHint(err.hint, ctx.invocation ?? 'keygate') : undefined;
    const [first, ...rest] = err.message.split('\n');
    const rows = rest.map((r) => r.trim());
    if (ctx.format === 'json') {
      ctx.log.error(first!, { code: err.code, exit: err.exitStatus, ...(rows.length ? { problems: rows } : {}), ...(hint ? { fix: hint } : {}) });
    } else {
      ctx.log.error(`${first!} [${err.code}]`);
      for (const row of rows) ctx.io.stderr.write(`  ${row}\n`);
      if (hint) ctx.io.stderr.write(`  fix: ${hint}\n`);
    }
    if (ctx.debug && err.cause instanceof Error) ctx.io.stderr.write(`cause: ${err.cause.stack ?? err.cause.message}\n`);
    return err.exitStatus;
  }
  ctx.log.error(`unexpected error, please report it: ${describeCause(err)}`, { code: 'INTERNAL' });
  if (ctx.debug && err instanceof Error) ctx.io.stderr.write(`${err.stack}\n`);
  else ctx.io.stderr.write('re-run with --debug (or KEYGATE_DEBUG=1) for the stack trace\n');
  return ERROR_CODES.INTERNAL.exit;
}

export type { Context, Handler, Io } from './context.js';
