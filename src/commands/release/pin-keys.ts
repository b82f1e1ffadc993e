// pin --release-keys: writes the trust root (keys, threshold, project, minVersion, stateFile) beside the template
// and pins its sha256 into the entry. Re-running it with the same inputs changes nothing.

import { resolve } from 'node:path';
import { EXIT, KeygateError } from '../../errors.js';
import type { Context } from '../../context.js';
import type { IntegrityPaths } from '../../gate/integrity.js';
import { writePin } from '../../gate/integrity.js';
import { trustPath } from '../../gate/release.js';
import { parseTrustRoot, serializeTrustRoot, ReleaseRefusal, type TrustRoot } from '../../core/release.js';
import { sha256 } from '../../adapters/file-hash.js';
import { writeAtomic } from '../../adapters/files.js';
import { readPublicKey } from './keys.js';

export async function pinReleaseKeys(ctx: Context, paths: IntegrityPaths, args: Record<string, unknown>): Promise<typeof EXIT.OK> {
  const files = String(args['release-keys'])
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  if (files.length === 0) throw new KeygateError('USAGE', 'failed to pin release keys: --release-keys names no file', { hint: 'keygate pin --release-keys ci.pub[,backup.pub]' });
  const keys = files.map((f) => readPublicKey(resolve(ctx.io.cwd, f)));
  // No default (package.json's name is shared by staging and production, and by forks): the project is what keeps
  // a release signed for one deployment from starting on another that pins the same key (review 2026-12b L9).
  const project = args['project'] as string | undefined;
  if (project === undefined || project === '') {
    throw new KeygateError('USAGE', 'failed to pin release keys: no --project (releases name the deployment they are for; a key may sign for several)', {
      hint: 'pass --project <name>, one per deployment that must not run the others\' releases (shop-prod, shop-staging)',
    });
  }
  const root: TrustRoot = {
    project,
    threshold: (args['threshold'] as number | undefined) ?? 1,
    keys: keys.map((k) => ({ id: k.id, publicKey: k.raw.toString('base64') })),
    minVersion: (args['min-version'] as number | undefined) ?? 1,
    ...(args['state-file'] !== undefined ? { stateFile: String(args['state-file']) } : {}),
  };
  const bytes = serializeTrustRoot(root);
  try {
    parseTrustRoot(bytes); // the same rules the gate applies: never pin a root it would refuse
  } catch (err) {
    if (err instanceof ReleaseRefusal) throw new KeygateError('USAGE', `failed to pin release keys: ${err.message}`, { hint: 'keygate pin --help' });
    throw err;
  }
  const file = trustPath(paths.template);
  writeAtomic(file, bytes, 0o644);
  const result = writePin(paths, sha256(bytes));
  ctx.log.info(
    `${result.changed ? 'pinned' : 'already pinned'} release trust root ${file} (${root.keys.length} key(s), ${root.threshold} needed, project ${root.project}, versions from ${root.minVersion}) into ${paths.entry}; register the entry hash below in the vault once: releases signed by these keys start without a new registration`,
  );
  ctx.io.stdout.write(`${result.entrySha256}\n`);
  return EXIT.OK;
}
