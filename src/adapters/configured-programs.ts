// Template variables read from keygate.config.json: `${BACKEND}` (server.backend.command[0]) and
// `${VAULT_CLIENT}` (the program that receives the password), each by its realpath. The config is read here
// before it is verified, only to name more files to hash: a config changed to name other programs differs from
// the manifest and is refused anyway.

import { readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { vaultClientPath } from '../core/vault-client.js';
import { backendProgram } from '../backend/preflight.js';

export interface ConfiguredPrograms {
  readonly backend?: string;
  readonly vaultClient?: string;
}

/** The configured programs' realpaths; a name that does not resolve is returned as is (the line then matches nothing). */
export function readConfiguredPrograms(base: string, nodePath: string, env: Readonly<Record<string, string | undefined>>): ConfiguredPrograms {
  let raw: { server?: { backend?: { command?: unknown } }; vault?: { provider?: unknown; clientPath?: unknown; command?: unknown } };
  try {
    raw = JSON.parse(readFileSync(join(base, 'keygate.config.json'), 'utf8'));
  } catch {
    return {}; // no config, or bad JSON: serve reports that from verified bytes
  }
  const real = (p: string | undefined): string | undefined => {
    if (!p || !isAbsolute(p)) return undefined; // isAbsolute, not '/': `C:\...` on Windows
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  const command = raw?.server?.backend?.command;
  const first = Array.isArray(command) && typeof command[0] === 'string' ? command[0] : undefined;
  const backend = first === undefined ? undefined : backendProgram({ command: [first] }, nodePath);
  const v = raw?.vault ?? {};
  const vault = {
    provider: typeof v.provider === 'string' ? v.provider : 'cspm',
    clientPath: typeof v.clientPath === 'string' ? v.clientPath : undefined,
    command: Array.isArray(v.command) ? (v.command.filter((a) => typeof a === 'string') as string[]) : undefined,
  };
  return { backend: real(backend), vaultClient: real(vaultClientPath(vault, base, env)) };
}
