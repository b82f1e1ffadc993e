// What the integrity commands (generate-filelist, pin, verify, check) share: their flags, how those become
// paths and hashing options, and the exit-code epilogue every command's help ends with.

import type { Argv } from 'yargs';
import { EXIT } from '../errors.js';
import { createProgress } from '../adapters/logger.js';
import type { HashStrategy } from '../adapters/file-hash.js';
import type { Context, Handler } from '../context.js';
import { assertProject, resolvePaths, type IntegrityEnv, type IntegrityPaths } from '../gate/integrity.js';
import { projectOfEntry } from '../project.js';

/** How a command module hands its action to main() (which runs it once yargs has parsed everything). */
export type Choose = (h: Handler) => (args: Record<string, unknown>) => void;

export const EXIT_EPILOGUE = `Exit codes: ${Object.entries(EXIT)
  .map(([k, v]) => `${v} ${k.toLowerCase()}`)
  .join(', ')} (docs/errors.md)`;

/** --template, --manifest, --entry, --strategy. */
export function integrityOptions<T>(y: Argv<T>) {
  return y
    .option('template', { type: 'string', describe: 'filelist template (default: filelist.template in the project: the running entry\'s, else the current folder)' })
    .option('manifest', { type: 'string', alias: 'output', describe: 'manifest file (default: filelist.sha256 beside the template)' })
    .option('entry', { type: 'string', describe: 'main entry holding the pin (default: the running entry, or entry in keygate.config.json, or dist/main.js)' })
    .option('strategy', { choices: ['auto', 'sync', 'parallel'] as const, default: 'auto', describe: 'hashing strategy (warm cache: sync, cold: parallel)' });
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
  });
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
