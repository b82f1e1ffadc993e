// Checks on server.backend made after verification and before the vault is asked: a backend keygate could not
// start, or whose program the manifest does not cover, stops the start while no secret exists yet.

import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BackendConfig } from '../core/config.js';
import { KeygateError, describeCause } from '../errors.js';

export interface Listed {
  /** True when the manifest lists this file (absolute, or relative to the project folder). */
  has(file: string): boolean;
}

/** The backend's program with ${NODE} resolved; undefined when the config names none. */
export function backendProgram(config: { readonly command: readonly string[] } | undefined, nodePath: string): string | undefined {
  const first = config?.command[0];
  if (!first) return undefined;
  return first === '${NODE}' ? nodePath : first;
}

/** Refuses a backend whose program is not in the verified manifest, whose cwd is missing, or that has no socket. */
export function preflightBackend(config: BackendConfig, base: string, nodePath: string, listed: Listed): void {
  const program = backendProgram(config, nodePath)!;
  let real: string;
  try {
    real = realpathSync(program);
    if (!statSync(real).isFile()) throw new Error('not a regular file');
  } catch (err) {
    throw new KeygateError('BACKEND_START_FAILED', `failed to check the backend program ${program}: ${describeCause(err)}`, {
      hint: 'set server.backend.command[0] to the absolute path of an installed program (e.g. /usr/bin/python3)',
    });
  }
  // The interpreter runs the app's verified files: an unverified one could run anything. ${BACKEND} in the
  // template lists it (the realpath: /usr/bin/python3 is a symlink to python3.11 on Debian).
  if (!listed.has(program) && !listed.has(real)) {
    throw new KeygateError('BACKEND_UNVERIFIED', `refused to start the backend: its program ${real} is not in the verified manifest`, {
      hint: 'add the line ${BACKEND} to filelist.template, then keygate generate-filelist && keygate pin',
    });
  }
  const cwd = resolve(base, config.cwd);
  try {
    if (!statSync(cwd).isDirectory()) throw new Error('not a folder');
  } catch (err) {
    throw new KeygateError('BACKEND_START_FAILED', `failed to check server.backend.cwd ${cwd}: ${describeCause(err)}`, { hint: 'set server.backend.cwd to the app folder' });
  }
  if (config.listen === 'unix' && !config.command.some((a) => a.includes('${SOCKET}'))) {
    throw new KeygateError('CONFIG_INVALID', 'failed to read keygate.config.json: server.backend.command: listen is "unix" but no argument holds ${SOCKET}', {
      hint: 'pass the socket path to the app, e.g. "--bind", "unix:${SOCKET}" for gunicorn, or set "listen": "fd" (fd 3)',
    });
  }
}
