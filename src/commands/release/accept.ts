// release accept (as root, at deploy or install): verifies the whole tree as a start would and raises the host's
// floor (the trust root's stateFile) to this release's version, creating the file root-owned when it is missing.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CommandModule } from 'yargs';
import { EXIT, KeygateError } from '../../errors.js';
import type { Handler } from '../../context.js';
import { fileExists, readWhole, writeAtomic } from '../../adapters/files.js';
import { integrityError, readPin, verifyTree } from '../../gate/integrity.js';
import { advanceState, pinnedTrustRoot, stateChainProblem } from '../../gate/release.js';
import { INTEGRITY_FLAGS, envFrom, pathsFrom, withFlags, type Choose } from '../common.js';

const accept: Handler = async (ctx, a) => {
  const paths = pathsFrom(ctx, a);
  const pin = readPin(paths.entry);
  const trust = pinnedTrustRoot(paths.template, pin);
  if (!trust) throw new KeygateError('RELEASE_INVALID', `failed to accept: ${paths.entry} pins no release trust root`, { hint: 'keygate pin --release-keys <key>.pub' });
  const state = trust.root.stateFile;
  if (!state) throw new KeygateError('USAGE', 'failed to accept: the trust root names no stateFile, so this host keeps no floor (minVersion alone applies)', { hint: 'keygate pin --release-keys <keys> --state-file /var/lib/keygate/<project>.version' });
  if (process.geteuid?.() !== 0) throw new KeygateError('RELEASE_STATE_UNSAFE', `failed to accept: only root may raise the floor in ${state}`, { hint: `sudo node ${ctx.io.entry} release accept` });
  // The folder chain is judged before root writes anything there, and again once its folders exist.
  const unsafe = (): void => {
    const problem = stateChainProblem(state);
    if (problem) throw new KeygateError('RELEASE_STATE_UNSAFE', `failed to accept: the release state ${state} would not be root's alone: ${problem.message}`, { hint: 'put the state file in a folder only root can write (--state-file /var/lib/keygate/<project>.version), then keygate pin --release-keys again' });
  };
  unsafe();
  if (!fileExists(state)) {
    mkdirSync(dirname(state), { recursive: true, mode: 0o755 });
    unsafe();
    writeAtomic(state, `${trust.root.minVersion}\n`, 0o644);
  }
  const report = await verifyTree(paths, pin, envFrom(ctx, a, 'hashing'));
  if (!report.ok) throw integrityError(report);
  const how = advanceState(report.release!);
  if (typeof how === 'object') throw new KeygateError('RELEASE_STATE_UNSAFE', `failed to accept: ${state} could not be written: ${how.failed}`, { hint: `as root, with ${dirname(state)} writable: keygate release accept` });
  ctx.log.info(`accepted release ${report.release!.payload.version} of ${report.release!.payload.project}: ${how === 'raised' ? `${state} raised to it` : `${state} already at ${readWhole(state).toString().trim()}`}`);
  return EXIT.OK;
};

export const acceptCommand = (choose: Choose): CommandModule => ({
  command: 'accept',
  describe: 'as root: verify the tree and raise this host\'s lowest accepted release version to this one',
  builder: (y) => withFlags(y, INTEGRITY_FLAGS),
  handler: choose(accept),
});
