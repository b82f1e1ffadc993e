// The command line through yargs: help, version, the commands outside the gate (init, keystore, admin, pki,
// dev-setup) and any line of the gate's commands that src/gate-args.ts leaves to it. A part of its own in the
// bundle (scripts/build.mjs), compiled only when such a line comes: a start parses none of this, nor yargs.

import type Yargs from 'yargs';
import type { Argv, CommandModule } from 'yargs';
import { lateLibrary } from './late-runtime.js';
import { KeygateError, describeCause } from './errors.js';
import type { Handler, Io } from './context.js';
import { EXIT_EPILOGUE, GLOBAL_FLAGS, withFlags, type Choose, type GateCommand } from './commands/common.js';
import { NOT_FLAG_VARIABLES, TRUE_WORDS } from './gate-args.js';
import { didYouMean } from './core/suggest.js';
import { initCommand } from './commands/init.js';
import { keystoreCommand } from './commands/keystore.js';
import { adminCommand } from './commands/admin.js';
import { pkiCommand } from './commands/pki.js';
import { devSetupCommand } from './commands/dev-setup.js';
import { releaseCommand } from './commands/release.js';
import { doctorCommand } from './commands/doctor.js';

/** The whole line through yargs: the command chosen (none after --help/--version), or the usage error. */
export async function parseWithYargs(argv: readonly string[], io: Io, invocation: string, gates: readonly GateCommand[]) {
  let chosen: { handler: Handler; args: Record<string, unknown> } | undefined;
  const choose = (handler: Handler) => (args: Record<string, unknown>) => {
    chosen = { handler, args };
  };
  let usageError: string | KeygateError | undefined;
  let fromEnv: Record<string, unknown> = {};
  const modules = commandModules(gates, argv);
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
  if (usageError === NO_COMMAND) {
    // a bare `keygate` (or flags alone): the usage, on stderr, instead of a start nobody asked for
    parser.showHelp((text: string) => io.stderr.write(`${text}\n\n`));
    usageError = new KeygateError('USAGE', 'no command given', { hint: 'keygate serve (the gated start), or keygate <command> --help' });
  } else if (typeof usageError === 'string') {
    usageError = new KeygateError('USAGE', withSuggestion(usageError, argv, modules), { hint: `run keygate ${helpWords(argv, modules)}--help` });
  }
  return { chosen: chosen as { handler: Handler; args: Record<string, unknown> } | undefined, usageError, parsed };
}

const NO_COMMAND = 'no command given';

/** `keystore create ` for `keystore create --x`: the help that lists this command's flags, else ''. */
function helpWords(argv: readonly string[], commands: CommandList): string {
  const [first, second] = argv;
  if (first === undefined || first.startsWith('-')) return '';
  const spec = commands(() => () => undefined)
    .map((m) => String([m.command].flat()[0]))
    .find((c) => c.split(' ')[0] === first);
  if (spec === undefined) return '';
  // `keystore <action>`: the action's help lists the flags
  return spec.includes(' <') && second !== undefined && !second.startsWith('-') ? `${first} ${second} ` : `${first} `;
}

/**
 * yargs' "Unknown argument: prot" with "(did you mean --port?)" from the flags of the command argv names (and the
 * global ones), or from the command names when the unknown word is the command itself.
 */
function withSuggestion(message: string, argv: readonly string[], commands: CommandList): string {
  const m = /^Unknown arguments?: (.+)$/.exec(message);
  if (!m) return message;
  const modules = commands(() => () => undefined);
  const names = modules.map((mod) => String([mod.command].flat()[0]).split(' ')[0]!);
  const word = argv.find((a) => !a.startsWith('-'));
  const chosen = modules.find((mod) => String([mod.command].flat()[0]).split(' ')[0] === word);
  const flags = new Set([...flagsOf((y) => globalOptions(y)), ...(chosen ? flagsOf(chosen.builder) : [])]);
  const hints = m[1]!.split(', ').map((unknown) => {
    const asFlag = argv.some((a) => a === `--${unknown}` || a.startsWith(`--${unknown}=`) || a === `-${unknown}`);
    return asFlag || chosen ? didYouMean(unknown, [...flags].filter((f) => f.length > 1), (f) => `--${f}`) : didYouMean(unknown, names);
  });
  return `${message}${hints.find((h) => h !== '') ?? ''}`;
}

type CommandList = (choose: Choose) => CommandModule[];

/** A gate command (its flags and help as data) as a yargs command module. */
function gateModule(gate: GateCommand, choose: Choose): CommandModule {
  return {
    command: gate.name,
    describe: gate.describe,
    builder: (y) => {
      let built = withFlags(y, gate.flags);
      for (const [command, what] of gate.examples) built = built.example(command, what);
      return built.epilogue(gate.epilogue ?? EXIT_EPILOGUE);
    },
    handler: choose(gate.handler),
  };
}

/** Every command, in one list (the parser and the KEYGATE_* variables both read it); one file each. */
function commandModules(gates: readonly GateCommand[], argv: readonly string[]): CommandList {
  return (choose) => [
    ...gates.map((gate) => gateModule(gate, choose)),
    initCommand(choose),
    keystoreCommand(choose, argv), // its flags are those of the action argv names
    adminCommand(choose),
    pkiCommand(choose),
    devSetupCommand(choose),
    releaseCommand(choose),
    doctorCommand(choose),
  ];
}

function globalOptions<T>(y: Argv<T>) {
  return withFlags(y, GLOBAL_FLAGS, true);
}

/** keygate's own version, put in by scripts/build.mjs (no file is read at run time); "dev" under tsx. */
declare const KEYGATE_VERSION: string | undefined;
export const VERSION: string = typeof KEYGATE_VERSION === 'string' ? KEYGATE_VERSION : 'dev';

/** The flag names (and aliases) a command module declares; the boolean ones are added to `booleans`. */
function flagsOf(builder: CommandModule['builder'], booleans?: Set<string>): Set<string> {
  const y = lateLibrary<typeof Yargs>('yargs')([]);
  const built = (typeof builder === 'function' ? builder(y) : y.options(builder ?? {})) as Argv;
  const o = (built as unknown as { getOptions(): unknown }).getOptions() as { key: Record<string, unknown>; alias: Record<string, string[]>; boolean: string[] };
  for (const b of o.boolean) booleans?.add(b);
  return new Set([...Object.keys(o.key), ...Object.values(o.alias).flat()]);
}

/**
 * The KEYGATE_<FLAG> variables that apply to the command argv names (serve when none), as flag → value.
 * yargs' own .env() cannot do this: with .strict(), KEYGATE_PORT (a serve flag) would make `verify` fail with
 * "Unknown argument: port", and it reads process.env, not the injected io.env. A variable for another command's
 * flag is left alone; one that names no flag of any command is a usage error (a typo must not pass silently).
 * Precedence stays flags > variables > config file > defaults: the values go in as a yargs config object.
 */
export function flagsFromEnv(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, commands: CommandList): Record<string, unknown> {
  const vars = Object.entries(env).filter(([k, v]) => k.startsWith('KEYGATE_') && v !== undefined && !NOT_FLAG_VARIABLES.has(k));
  if (vars.length === 0) return {}; // the usual case: no yargs builders run
  const modules = commands(() => () => undefined);
  // Which flags are booleans comes from the same declarations yargs parses (KEYGATE_X=0 is false, 1/true/yes true).
  const booleans = new Set<string>();
  const global = flagsOf((y) => globalOptions(y), booleans);
  const byName = new Map<string, Set<string>>();
  for (const m of modules) for (const name of [m.command].flat()) byName.set(String(name).split(' ')[0]!, flagsOf(m.builder, booleans));
  // The command: the first word that names one (global flags with a value are skipped), else serve ($0).
  let command = 'serve';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--') && global.has(a.slice(2)) && !booleans.has(a.slice(2))) i++; // its value is not a command
    else if (!a.startsWith('-') && byName.has(a)) {
      command = a;
      break;
    }
  }
  const applies = byName.get(command) ?? new Set();
  const out: Record<string, unknown> = {};
  for (const [name, value] of vars) {
    const flag = name.slice('KEYGATE_'.length).toLowerCase().replace(/_/g, '-');
    if (global.has(flag) || applies.has(flag)) out[flag] = booleans.has(flag) ? TRUE_WORDS.test(value!) : value;
    else if (![...byName.values()].some((flags) => flags.has(flag))) {
      const all = new Set([...global, ...[...byName.values()].flatMap((flags) => [...flags])].filter((f) => f.length > 1));
      const near = didYouMean(flag, all, (f) => `KEYGATE_${f.toUpperCase().replace(/-/g, '_')}`);
      throw new KeygateError('USAGE', `failed to read the environment: ${name} names no flag of any keygate command (--${flag})${near}`, {
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
      .alias('help', 'h')
      .demandCommand(1, NO_COMMAND)
      .version(VERSION)
      .alias('version', 'v')
      // yargs lays out the help text on every run (cacheHelpMessage), a cost only help should pay: only then wrap.
      .wrap(argv.length === 0 || argv.includes('--help') || argv.includes('-h') ? Math.min(110, (io.stdout as { columns?: number }).columns ?? 100) : null)
      .usage('$0 <command> [options]\n\nVerify every file, then ask the vault for the keystore password, then serve HTTPS.')
      .config(fromEnv),
  ) as Argv;
  for (const m of modules) y = y.command(m);
  return y.epilogue(EXIT_EPILOGUE);
}

