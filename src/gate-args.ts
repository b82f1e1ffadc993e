// The gate's own argument parser: the common shapes of the gate's commands (serve, verify, check, pin,
// generate-filelist) parsed from the same flag tables yargs gets, without loading yargs, which every start
// would otherwise parse (docs/performance.md). It never reports an error and never guesses: anything it does
// not fully understand (help, version, an unknown or repeated flag, a value it would have to coerce, a
// KEYGATE_* variable that is not one of this command's flags) returns undefined, and yargs parses the whole
// line, with its own messages.
// Pure: argv and env in, args out. gate-args.test.ts holds its answers against yargs' on the same lines.

/** One flag, as yargs' `.options()` takes it (the same object is given to yargs). */
export interface FlagSpec {
  readonly type: 'string' | 'number' | 'boolean';
  readonly describe: string;
  readonly choices?: readonly string[];
  readonly default?: string | boolean;
  readonly alias?: string;
}

export type FlagTable = Readonly<Record<string, FlagSpec>>;

export interface GateCommandSpec {
  /** The command word; a line that names none goes to yargs, which prints usage. */
  readonly name: string;
  readonly flags: FlagTable;
}

export interface GateArgs<C extends GateCommandSpec> {
  readonly command: C;
  /** Flag values by their names in the table (not aliases), defaults filled in, as yargs gives them. */
  readonly args: Record<string, unknown>;
}

/**
 * KEYGATE_* variables that are no flag: the dev A2A emulator's store file (dev/cspm), the test runner's list
 * of node binaries (scripts/run-tests.mjs) and the Windows lane's node.exe (test/windows-wine.e2e.test.ts; .ci/run
 * exports it, and every keygate a test starts inherits it). Every other KEYGATE_<FLAG> must name a flag.
 */
export const NOT_FLAG_VARIABLES: ReadonlySet<string> = new Set([
  'KEYGATE_A2A_STORE',
  'KEYGATE_TEST_NODES',
  'KEYGATE_WINE_NODE',
]);

/** How cli.ts turns KEYGATE_<FLAG>=value into a value for a boolean flag. */
export const TRUE_WORDS = /^(1|true|yes)$/i;

/**
 * Parses argv for one of `commands`, with `globals` allowed everywhere; undefined when yargs must do it.
 * Precedence as in cli.ts: flags > KEYGATE_* variables > defaults.
 */
export function parseGateArgs<C extends GateCommandSpec>(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  commands: readonly C[],
  globals: FlagTable,
): GateArgs<C> | undefined {
  if (argv.length === 0 || argv[0]!.startsWith('-')) return undefined; // no command word: yargs' usage
  const command = commands.find((c) => c.name === argv[0]);
  const rest = argv.slice(1);
  if (!command) return undefined;
  const table: Record<string, FlagSpec> = { ...globals, ...command.flags };
  const byName = new Map<string, string>();
  for (const [name, spec] of Object.entries(table)) {
    byName.set(name, name);
    if (spec.alias) byName.set(spec.alias, name);
  }
  const given = new Map<string, unknown>();
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (!token.startsWith('--') || token === '--') return undefined; // positionals, short flags, `--`
    const eq = token.indexOf('=');
    const written = eq === -1 ? token.slice(2) : token.slice(2, eq);
    const name = byName.get(written);
    if (name === undefined || given.has(name)) return undefined; // unknown (help, version, typos) or repeated
    const spec = table[name]!;
    let text: string;
    if (spec.type === 'boolean') {
      if (eq !== -1) return undefined; // --flag=false and the like: yargs' reading
      given.set(name, true);
      continue;
    }
    if (eq !== -1) text = token.slice(eq + 1);
    else {
      if (i + 1 >= rest.length) return undefined;
      text = rest[++i]!;
    }
    const value = valueOf(spec, text);
    if (value === undefined) return undefined;
    given.set(name, value);
  }
  const fromEnv = new Map<string, unknown>();
  for (const [key, text] of Object.entries(env)) {
    if (!key.startsWith('KEYGATE_') || text === undefined || NOT_FLAG_VARIABLES.has(key)) continue;
    const name = key.slice('KEYGATE_'.length).toLowerCase().replace(/_/g, '-');
    const spec = table[name];
    if (!spec) return undefined; // another command's flag, or none at all: cli.ts decides which
    const value = spec.type === 'boolean' ? TRUE_WORDS.test(text) : valueOf(spec, text);
    if (value === undefined) return undefined;
    fromEnv.set(name, value);
  }
  const args: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) {
    const value = given.has(name) ? given.get(name) : fromEnv.has(name) ? fromEnv.get(name) : spec.default;
    if (value !== undefined) args[name] = value;
  }
  return { command, args };
}

/** A flag's value when it is plainly one (a decimal port, one of the choices, a string not like a flag). */
function valueOf(spec: FlagSpec, text: string): unknown {
  if (text === '' || text.startsWith('-')) return undefined;
  if (spec.type === 'number') return /^[0-9]{1,9}$/.test(text) ? Number(text) : undefined;
  if (spec.choices && !spec.choices.includes(text)) return undefined;
  return text;
}
