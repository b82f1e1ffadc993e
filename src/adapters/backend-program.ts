// `${BACKEND}` in filelist.template: the backend's program (server.backend.command[0] in keygate.config.json,
// its realpath). The config is read here before it is verified, only to name one more file to hash: a config
// changed to name another program differs from the manifest and is refused anyway.

import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

/** The realpath of the configured backend program, or undefined when there is none (or it cannot be read). */
export function readBackendProgram(base: string, nodePath: string): string | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(base, 'keygate.config.json'), 'utf8'));
  } catch {
    return undefined; // no config, or bad JSON: serve reports that from verified bytes
  }
  const command = (raw as { server?: { backend?: { command?: unknown } } })?.server?.backend?.command;
  const first = Array.isArray(command) ? command[0] : undefined;
  if (typeof first !== 'string') return undefined;
  const program = first === '${NODE}' ? nodePath : first;
  if (!program.startsWith('/')) return undefined;
  try {
    return realpathSync(program);
  } catch {
    return program; // missing: the template line then matches no file, which says so
  }
}
