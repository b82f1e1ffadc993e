// What the integrity commands (generate-filelist, pin, verify, check) share: their flags, how those become
// paths and hashing options, and the exit-code epilogue every command's help ends with.

import type { Argv } from 'yargs';
import { EXIT } from '../errors.js';
import { createProgress } from '../adapters/logger.js';
import type { HashStrategy } from '../adapters/file-hash.js';
import type { Context, Handler } from '../context.js';
import { resolvePaths, type IntegrityEnv, type IntegrityPaths } from '../gate/integrity.js';

/** How a command module hands its action to main() (which runs it once yargs has parsed everything). */
export type Choose = (h: Handler) => (args: Record<string, unknown>) => void;

export const EXIT_EPILOGUE = `Exit codes: ${Object.entries(EXIT)
  .map(([k, v]) => `${v} ${k.toLowerCase()}`)
  .join(', ')} (docs/errors.md)`;

/** --template, --manifest, --entry, --strategy. */
export function integrityOptions<T>(y: Argv<T>) {
  return y
    .option('template', { type: 'string', describe: 'filelist template', default: 'filelist.template' })
    .option('manifest', { type: 'string', alias: 'output', describe: 'manifest file (default: filelist.sha256 beside the template)' })
    .option('entry', { type: 'string', describe: 'main entry holding the pin (default: dist/main.js beside the template)' })
    .option('strategy', { choices: ['auto', 'sync', 'parallel'] as const, default: 'auto', describe: 'hashing strategy (warm cache: sync, cold: parallel)' });
}

export function pathsFrom(ctx: Context, args: Record<string, unknown>): IntegrityPaths {
  return resolvePaths(ctx.io.cwd, {
    template: args['template'] as string | undefined,
    manifest: args['manifest'] as string | undefined,
    entry: args['entry'] as string | undefined,
  });
}

export function envFrom(ctx: Context, args: Record<string, unknown>, label: string): IntegrityEnv {
  return {
    env: ctx.io.env,
    nodePath: ctx.io.nodePath,
    strategy: (args['strategy'] as HashStrategy | undefined) ?? 'auto',
    onProgress: createProgress(ctx.io.stderr, label),
  };
}
