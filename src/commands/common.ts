// What the integrity commands (generate-filelist, pin, verify, check) share: their flags, how those become
// paths and hashing options, and the exit-code epilogue every command's help ends with.

import type { Argv, Options } from 'yargs';
import { EXIT } from '../errors.js';
import { createProgress } from '../adapters/logger.js';
import type { HashStrategy } from '../adapters/file-hash.js';
import type { Context, Handler } from '../context.js';
import { assertProject, resolvePaths, type IntegrityEnv, type IntegrityPaths } from '../gate/integrity.js';
import { projectOfEntry } from '../project.js';
import type { FlagTable, GateCommandSpec } from '../gate-args.js';

/** How a command module hands its action to main() (which runs it once yargs has parsed everything). */
export type Choose = (h: Handler) => (args: Record<string, unknown>) => void;

export const EXIT_EPILOGUE = `Exit codes: ${Object.entries(EXIT)
  .map(([k, v]) => `${v} ${k.toLowerCase()}`)
  .join(', ')} (docs/errors.md)`;

/**
 * A command the gate's own parser (src/gate-args.ts) runs without yargs: its flags as data (the same table
 * yargs gets for help and for every line the gate's parser leaves to it) and its action.
 */
export interface GateCommand extends GateCommandSpec {
  /** For yargs' help (src/cli-yargs.ts builds the command module from these). */
  readonly describe: string;
  readonly examples: ReadonlyArray<readonly [command: string, what: string]>;
  /** Default: EXIT_EPILOGUE. */
  readonly epilogue?: string;
  readonly handler: Handler;
}

/** Flags every command takes. */
export const GLOBAL_FLAGS = {
  'log-format': { type: 'string', choices: ['text', 'json'], default: 'text', describe: 'stderr log format' },
  'log-file': { type: 'string', describe: 'also append JSON log lines to this file' },
  debug: { type: 'boolean', default: false, describe: 'print causes and stack traces' },
} as const satisfies FlagTable;

/** --template, --manifest, --entry, --strategy. */
export const INTEGRITY_FLAGS = {
  template: { type: 'string', describe: 'filelist template (default: filelist.template in the project: the running entry\'s, else the current folder)' },
  manifest: { type: 'string', alias: 'output', describe: 'manifest file (default: filelist.sha256 beside the template)' },
  entry: { type: 'string', describe: 'main entry holding the pin (default: the running entry, or entry in keygate.config.json, or dist/main.js)' },
  strategy: { type: 'string', choices: ['auto', 'sync', 'parallel'], default: 'auto', describe: 'hashing strategy (warm cache: sync, cold: parallel)' },
} as const satisfies FlagTable;

/** A flag table as yargs' `.options()` takes it. */
export function withFlags<T>(y: Argv<T>, flags: FlagTable, global = false): Argv<T> {
  const options: Record<string, Options> = {};
  for (const [name, { type, choices, ...spec }] of Object.entries(flags)) {
    // a flag with choices is given to yargs without its type, so help shows the choices, not [string]
    options[name] = { ...spec, ...(choices ? { choices: [...choices] } : { type }), ...(global ? { global: true } : {}) };
  }
  return y.options(options) as Argv<T>;
}

/**
 * The files a command works on. A project entry (`node keygate/main.cjs verify`) works on its own project and
 * pins itself, from any folder; the package's copy (`npx keygate verify`) on the current folder and the entry its
 * config names (src/project.ts). Flags win, relative to the current folder. A folder that is no project is refused.
 */
export function pathsFrom(ctx: Context, args: Record<string, unknown>): IntegrityPaths {
  const template = args['template'] as string | undefined;
  const project = template === undefined ? projectOfEntry(ctx.io.entry, ctx.io.invokedAs) : undefined;
  const paths = resolvePaths(project ?? ctx.io.cwd, {
    template,
    manifest: args['manifest'] as string | undefined,
    entry: (args['entry'] as string | undefined) ?? (project !== undefined ? ctx.io.entry : undefined),
  }, ctx.io.env);
  // flags name the files themselves: a missing one is reported by the command, with its own fix
  if (template === undefined && args['manifest'] === undefined) assertProject(paths);
  return paths;
}

export function envFrom(ctx: Context, args: Record<string, unknown>, label: string): IntegrityEnv {
  return {
    env: ctx.io.env,
    nodePath: ctx.io.nodePath,
    strategy: (args['strategy'] as HashStrategy | undefined) ?? 'auto',
    onProgress: createProgress(ctx.io.stderr, label),
  };
}
