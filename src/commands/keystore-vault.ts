// The keystore password from the vault for `keystore csr --from-vault` and `keystore import --from-vault` (a
// renewal while PAM holds, and may have rotated, the password): as serve asks it, and only after the same
// verification serve does first (docs/serve.md steps 2–3): the tree against the running entry's pin, the config
// from bytes the manifest lists. The vault hashes the calling script, so this works from the registered entry
// only (node dist/main.js …), like serve. One audit line; never the answer.

import { dirname, resolve } from 'node:path';
import { KeygateError } from '../errors.js';
import type { Context } from '../context.js';
import type { Secret } from '../adapters/secret.js';
import { DEFAULT_CONFIG, type Config } from '../core/config.js';
import { integrityError, parseConfigBytes, verifyTree } from '../gate/integrity.js';
import { providerFor } from '../gate/unlock.js';
import { ownPin } from '../pin-slot.js';
import { CONFIG_FILE } from '../project.js';
import { sha256 } from '../adapters/file-hash.js';
import { fileExists, readWhole } from '../adapters/files.js';
import { pathsFrom } from './common.js';

/** Verifies the project, reads its config from listed bytes, asks the vault (cache bypassed: the current password). */
export async function keystorePasswordFromVault(ctx: Context): Promise<{ secret: Secret; config: Config; base: string }> {
  const paths = pathsFrom(ctx, {});
  const report = await verifyTree(paths, ownPin(), { env: ctx.io.env, nodePath: ctx.io.nodePath });
  if (!report.ok) throw integrityError(report);
  ctx.log.info(`verified ${report.files} files`, { gate: 'verify', manifest: report.manifestSha256 });
  const base = dirname(paths.template);
  const file = resolve(base, CONFIG_FILE);
  let config: Config = DEFAULT_CONFIG;
  if (fileExists(file)) {
    const listed = report.manifest.get(CONFIG_FILE) ?? report.manifest.get(file);
    const bytes = readWhole(file);
    if (listed === undefined || sha256(bytes) !== listed) {
      throw new KeygateError('UNVERIFIED_LOAD', `failed to read ${CONFIG_FILE}: it is not the file the manifest lists, so the vault is not asked`, {
        hint: `add ${CONFIG_FILE} to the template, then keygate generate-filelist && keygate pin`,
      });
    }
    config = parseConfigBytes(bytes);
  }
  const provider = await providerFor(config, base, ctx.io.env);
  try {
    const secret = await provider.fetch({ bypassCache: true, signal: ctx.io.signal });
    ctx.log.info(`vault asked for ${provider.description}: ok`, { gate: 'vault', bypassCache: true });
    return { secret, config, base };
  } catch (err) {
    ctx.log.warn(`vault asked for ${provider.description}: ${err instanceof KeygateError ? err.code : 'INTERNAL'}`, { gate: 'vault', bypassCache: true });
    throw err;
  }
}

/** `--password-file` or `--from-vault`, exactly one (yargs check). */
export function onePasswordSource(argv: Record<string, unknown>): true {
  const file = argv['password-file'] !== undefined;
  const vault = Boolean(argv['from-vault']);
  if (file && vault) throw new Error('pass --password-file or --from-vault, not both');
  if (!file && !vault) throw new Error('Missing required argument: password-file (or --from-vault: the password the vault holds)');
  return true;
}
