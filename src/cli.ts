// The command line: the gate's commands in their usual shapes through src/gate-args.ts (no yargs on the gate
// path), everything else (help, the other commands, any line it leaves) through yargs with an explicit command
// list; flags > KEYGATE_* env > defaults either way, and the one place where errors become exit statuses.
// Data goes to stdout, narration to stderr (both injected).

import type Yargs from 'yargs';
import type { Argv, CommandModule } from 'yargs';
import { lateLibrary } from './late-runtime.js';
import { EXIT, KeygateError, ERROR_CODES, isKeygateError, describeCause, type ExitStatus } from './errors.js';
import { createLogger, createProgress, type LogFormat } from './adapters/logger.js';
import type { Context, Handler, Io } from './context.js';
import { invocationOf, renderHint } from './project.js';
import { EXIT_EPILOGUE, GLOBAL_FLAGS, withFlags, type Choose, type GateCommand } from './commands/common.js';
import { NOT_FLAG_VARIABLES, TRUE_WORDS, parseGateArgs } from './gate-args.js';
import { generateFilelistCommand, generateGate } from './commands/generate-filelist.js';
import { pinCommand, pinGate } from './commands/pin.js';
import { verifyCommand, verifyGate } from './commands/verify.js';
import { checkCommand, checkGate } from './commands/check.js';
import { serveCommand, serveGate } from './commands/serve.js';


/** The commands src/gate-args.ts may parse without yargs. */
export const GATE_COMMANDS: readonly GateCommand[] = [serveGate, verifyGate, checkGate, pinGate, generateGate];

/** Parses argv and runs one command; returns the exit status. Never throws, never calls process.exit. */
export async function main(argv: readonly string[], io: Io): Promise<ExitStatus> {
  const invocation = invocationOf(io.entry, io.cwd, io.invokedAs);
  const gate = parseGateArgs(argv, io.env, GATE_COMMANDS, GLOBAL_FLAGS);
  const { chosen, usageError, parsed } = gate
    ? { chosen: { handler: gate.command.handler, args: gate.args }, usageError: undefined, parsed: gate.args }
    : await parseWithYargs(argv, io, invocation);
  const format: LogFormat = parsed['log-format'] === 'json' ? 'json' : 'text';
  const debug = Boolean(parsed['debug']) || io.env['KEYGATE_DEBUG'] === '1';
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
    await log.close();
  }
}

/** The whole line through yargs: the command chosen (none after --help/--version), or the usage error. */
export async function parseWithYargs(argv: readonly string[], io: Io, invocation: string) {
  let chosen: { handler: Handler; args: Record<string, unknown> } | undefined;
  const choose = (handler: Handler) => (args: Record<string, unknown>) => {
    chosen = { handler, args };
  };
  let usageError: string | KeygateError | undefined;
  let fromEnv: Record<string, unknown> = {};
  const modules = await commandModules();
  try {
    fromEnv = flagsFromEnv(argv, io.env, modules);
  } catch (err) {
    usageError = err instanceof KeygateError ? err : describeCause(err);
  }
  const parser = buildParser(argv, io, modules(choose), fromEnv, invocation).fail((msg, err) => {
    usageError ??= msg || (err ? err.message : 'invalid arguments');
  });
  let parsed: Record<string, unknown>;
  try {
    parsed = usageError === undefined ? ((await parser.parseAsync()) as Record<string, unknown>) : {};
  } catch (err) {
    usageError ??= describeCause(err);
    parsed = {};
  }
  return { chosen: chosen as { handler: Handler; args: Record<string, unknown> } | undefined, usageError, parsed };
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


type CommandList = (choose: Choose) => CommandModule[];

/**
 * Every command, in one list (the parser and the KEYGATE_* variables both read it); one file each. The commands
 * outside the gate are imported here, on the yargs path only: a start does not evaluate them (the PKI policy
 * alone loads node:net), and in the bundle they are initialised on first use.
 */
async function commandModules(): Promise<CommandList> {
  const [{ initCommand }, { keystoreCreateCommand }, { adminCommand }, { pkiCommand }, { devSetupCommand }] = await Promise.all([
    import('./commands/init.js'),
    import('./commands/keystore-create.js'),
    import('./commands/admin.js'),
    import('./commands/pki.js'),
    import('./commands/dev-setup.js'),
  ]);
  return (choose) => [
    generateFilelistCommand(choose),
    pinCommand(choose),
    verifyCommand(choose),
    checkCommand(choose),
    serveCommand(choose),
    initCommand(choose),
    keystoreCreateCommand(choose),
    adminCommand(choose),
    pkiCommand(choose),
    devSetupCommand(choose),
  ];
}

function globalOptions<T>(y: Argv<T>) {
  return withFlags(y, GLOBAL_FLAGS, true);
}

/** keygate's own version, put in by scripts/build.mjs (no file is read at run time); "dev" under tsx. */
declare const KEYGATE_VERSION: string | undefined;
export const VERSION: string = typeof KEYGATE_VERSION === 'string' ? KEYGATE_VERSION : 'dev';

/**
 * KEYGATE_* variables that are no flag: the dev A2A emulator's store file (dev/cspm) and the test runner's list
 * of node binaries (scripts/run-tests.mjs). Every other KEYGATE_<FLAG> must name a flag of some command.
 */
const NOT_FLAGS = NOT_FLAG_VARIABLES;

/** The flag names (and aliases) a command module declares. */
function flagsOf(builder: CommandModule['builder']): Set<string> {
  const y = lateLibrary<typeof Yargs>('yargs')([]);
  const built = (typeof builder === 'function' ? builder(y) : y.options(builder ?? {})) as Argv;
  const o = (built as unknown as { getOptions(): unknown }).getOptions() as { key: Record<string, unknown>; alias: Record<string, string[]> };
  return new Set([...Object.keys(o.key), ...Object.values(o.alias).flat()]);
}

/**
 * The KEYGATE_<FLAG> variables that apply to the command argv names (serve when none), as flag → value.
 * yargs' own .env() cannot do this: with .strict(), KEYGATE_PORT (a serve flag) made `verify` fail with
 * "Unknown argument: port", and it read process.env, not the injected io.env. A variable for another command's
 * flag is left alone; one that names no flag of any command is a usage error (a typo must not pass silently).
 * Precedence stays flags > variables > config file > defaults: the values go in as a yargs config object.
 */
export function flagsFromEnv(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, commands: CommandList): Record<string, unknown> {
  const vars = Object.entries(env).filter(([k, v]) => k.startsWith('KEYGATE_') && v !== undefined && !NOT_FLAGS.has(k));
  if (vars.length === 0) return {}; // the usual case: no yargs builders run
  const modules = commands(() => () => undefined);
  const global = flagsOf((y) => globalOptions(y));
  const byName = new Map<string, Set<string>>();
  for (const m of modules) for (const name of [m.command].flat()) byName.set(String(name).split(' ')[0]!, flagsOf(m.builder));
  // The command: the first word that names one (global flags with a value are skipped), else serve ($0).
  let command = 'serve';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--log-format' || a === '--log-file') i++;
    else if (!a.startsWith('-') && byName.has(a)) {
      command = a;
      break;
    }
  }
  const applies = byName.get(command) ?? new Set();
  const out: Record<string, unknown> = {};
  for (const [name, value] of vars) {
    const flag = name.slice('KEYGATE_'.length).toLowerCase().replace(/_/g, '-');
    if (global.has(flag) || applies.has(flag)) out[flag] = /^(debug|json|force|insecure|allow-expired|dev|backend)$/.test(flag) ? TRUE_WORDS.test(value!) : value;
    else if (![...byName.values()].some((flags) => flags.has(flag))) {
      throw new KeygateError('USAGE', `failed to read the environment: ${name} names no flag of any keygate command (--${flag})`, {
        hint: `unset ${name}  (each flag --x-y has the variable KEYGATE_X_Y: keygate <command> --help lists them)`,
      });
    }
  }
  return out;
}

function buildParser(argv: readonly string[], io: Io, modules: readonly CommandModule[], fromEnv: Record<string, unknown>, invocation: string) {
  let y = globalOptions(
    lateLibrary<typeof Yargs>('yargs')([...argv])
      .scriptName(invocation)
      .locale('en')
      .strict()
      .help()
      .version(VERSION)
      .alias('version', 'v')
      // yargs lays out the help text on every run (cacheHelpMessage, ~15 ms); do it only when help is asked for.
      .wrap(argv.includes('--help') || argv.includes('-h') ? Math.min(110, (io.stdout as { columns?: number }).columns ?? 100) : null)
      .usage('$0 <command> [options]\n\nVerify every file, then ask the vault for the keystore password, then serve HTTPS.')
      .config(fromEnv),
  ) as Argv;
  for (const m of modules) y = y.command(m);
  return y.epilogue(EXIT_EPILOGUE);
}

export type { Context, Handler, Io } from './context.js';
