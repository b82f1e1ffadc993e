// release accept (as root, at deploy or install): verifies the whole tree as a start would and raises the host's
// floor (the trust root's stateFile) to this release's version, creating the file root-owned when it is missing.
// Nothing is written before the tree verifies: an accept that fails leaves no floor behind.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CommandModule } from 'yargs';
import { EXIT, KeygateError } from '../../errors.js';
import type { Context, Handler } from '../../context.js';
import { fileExists, readWhole, writeAtomic } from '../../adapters/files.js';
import { integrityError, readPin, verifyTree } from '../../gate/integrity.js';
import { advanceState, pinnedTrustRoot, stateChainProblem, type ReleaseInfo } from '../../gate/release.js';
import type { TrustRoot } from '../../core/release.js';
import { INTEGRITY_FLAGS, envFrom, pathsFrom, withFlags, type Choose } from '../common.js';

/** What accept and reset-floor both need: a pinned trust root with a state file, and root to write it. */
export function floorTarget(ctx: Context, args: Record<string, unknown>, verb: string): { paths: ReturnType<typeof pathsFrom>; pin: string; trust: { root: TrustRoot; sha256: string }; state: string } {
  const paths = pathsFrom(ctx, args);
  const pin = readPin(paths.entry);
  const trust = pinnedTrustRoot(paths.template, pin);
  if (!trust) throw new KeygateError('RELEASE_INVALID', `failed to ${verb}: ${paths.entry} pins no release trust root`, { hint: 'keygate pin --release-keys <key>.pub --project <name>' });
  const state = trust.root.stateFile;
  if (!state) throw new KeygateError('USAGE', `failed to ${verb}: the trust root names no stateFile, so this host keeps no floor (minVersion alone applies)`, { hint: 'keygate pin --release-keys <keys> --project <name> --state-file /var/lib/keygate/<project>.version' });
  if (process.geteuid?.() !== 0) throw new KeygateError('RELEASE_STATE_UNSAFE', `failed to ${verb}: only root may write the floor in ${state}`, { hint: `sudo node ${ctx.io.entry} release ${verb === 'accept' ? 'accept' : 'reset-floor --at-least <version>'}` });
  return { paths, pin, trust, state };
}

const accept: Handler = async (ctx, a) => {
  const { paths, pin, state } = floorTarget(ctx, a, 'accept');
  // The folder chain is judged before root writes anything there, and again once its folders exist.
  const unsafe = (): void => {
    const problem = stateChainProblem(state);
    if (problem) {
      throw new KeygateError('RELEASE_STATE_UNSAFE', `failed to accept: the release state ${state} would not be root's alone: ${problem.message}`, {
        hint: `as root: ${problem.fix}, then keygate release accept; or name a folder only root can write: keygate pin --release-keys <keys> --project <name> --state-file /var/lib/keygate/<project>.version (a new registration)`,
      });
    }
  };
  const exists = fileExists(state);
  if (!exists) unsafe();
  // A floor that exists is applied (and judged) as a start would; a missing one is created only after this.
  const report = await verifyTree(paths, pin, { ...envFrom(ctx, a, 'hashing'), releaseStateWhereItExists: true });
  if (!report.ok) throw integrityError(report);
  const release: ReleaseInfo = report.release!;
  if (!exists) {
    mkdirSync(dirname(state), { recursive: true, mode: 0o755 });
    unsafe();
    writeAtomic(state, `${release.payload.version}\n`, 0o644);
    ctx.log.info(`accepted release ${release.payload.version} of ${release.payload.project}: created ${state} at it`);
    return EXIT.OK;
  }
  const how = advanceState(release);
  if (typeof how === 'object') throw new KeygateError('RELEASE_STATE_UNSAFE', `failed to accept: ${state} could not be written: ${how.failed}`, { hint: `as root, with ${dirname(state)} writable: keygate release accept` });
  ctx.log.info(`accepted release ${release.payload.version} of ${release.payload.project}: ${how === 'raised' ? `${state} raised to it` : `${state} already at ${readWhole(state).toString().trim()}`}`);
  return EXIT.OK;
};

export const acceptCommand = (choose: Choose): CommandModule => ({
  command: 'accept',
  describe: 'as root: verify the tree and raise this host\'s lowest accepted release version to this one',
  builder: (y) => withFlags(y, INTEGRITY_FLAGS),
  handler: choose(accept),
});
