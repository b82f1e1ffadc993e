// Where the vault client is: one answer for the provider that runs it, the trust-anchor check and the template
// variable ${VAULT_CLIENT}. Pure: paths in, path out.

import { isAbsolute, resolve } from 'node:path';
import { HOST_PATH_STYLE, type PathStyle } from './path-style.js';

/**
 * PAM's documented layout: $CSPM_CLIENT_HOME/cspmclient/bin64/cspmclient64 (the examples' default home); on
 * Windows the program is cspmclient64.exe and the path is written with `\`, as seed 000 names it.
 */
export function defaultCspmClientPath(env: Readonly<Record<string, string | undefined>>, style: PathStyle = HOST_PATH_STYLE): string {
  const home = (env['CSPM_CLIENT_HOME'] || 'c:/cspm/cloakware').replace(/[\\/]+$/, '');
  if (style === 'win32') return `${home}/cspmclient/bin64/cspmclient64.exe`.replace(/\//g, '\\');
  return `${home}/cspmclient/bin64/cspmclient64`;
}

/** The program that receives the password: the command provider's argv[0], or the cspm client's path. */
export function vaultClientPath(
  vault: { readonly provider: string; readonly clientPath?: string; readonly command?: readonly string[] },
  base: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (vault.provider === 'command' && vault.command?.[0]) return vault.command[0];
  if (vault.clientPath) return isAbsolute(vault.clientPath) ? vault.clientPath : resolve(base, vault.clientPath);
  return defaultCspmClientPath(env);
}
