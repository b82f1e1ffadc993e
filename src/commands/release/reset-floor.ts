// release reset-floor (as root, when the host's floor cannot be trusted: a state file the service user could
// write, a link, a value that is no version). It removes the state file without reading it as a floor (unlink
// removes a link itself, never what it leads to) and writes a new one, root's and 0644, at the highest of
// --at-least (what the operator knows this host ran: the start logs "release N of <project> signed by …"), the
// trust root's minVersion, and the old floor when that one was sound. Never the release on disk: an attacker
// who could write the state file could also have put an older release back.

import { lstatSync, mkdirSync, unlinkSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import type { CommandModule } from 'yargs';
import { EXIT, KeygateError } from '../../errors.js';
import type { Handler } from '../../context.js';
import { writeAtomic } from '../../adapters/files.js';
import { readStateFile, stateChainProblem } from '../../gate/release.js';
import { INTEGRITY_FLAGS, withFlags, type Choose } from '../common.js';
import { floorTarget } from './accept.js';

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const resetFloor: Handler = async (ctx, a) => {
  const atLeast = a['at-least'];
  if (typeof atLeast !== 'number' || !Number.isSafeInteger(atLeast) || atLeast < 1) {
    throw new KeygateError('USAGE', `failed to reset the floor: --at-least must be a whole number from 1, got ${String(atLeast)}`, {
      hint: 'keygate release reset-floor --at-least <the highest N in this host\'s "release N of … signed by" log lines>',
    });
  }
  const { trust, state } = floorTarget(ctx, a, 'reset the floor');
  const folder = dirname(state);
  // The folder must be root's alone first (and no link on the way that another user owns): a file written into
  // a folder someone else can write is no better than the one it replaces.
  const folderProblem = stateChainProblem(state, undefined, { folderOnly: true });
  if (folderProblem) {
    throw new KeygateError('RELEASE_STATE_UNSAFE', `failed to reset the floor: ${folderProblem.message}`, {
      hint: `as root: ${folderProblem.fix}, then keygate release reset-floor --at-least ${atLeast}`,
    });
  }
  const st = lstatOrUndefined(state);
  let sound: number | undefined;
  let was = 'there was none';
  if (st?.isDirectory()) {
    throw new KeygateError('RELEASE_STATE_UNSAFE', `failed to reset the floor: ${state} is a folder`, { hint: `as root: rm -r ${state}, then keygate release reset-floor --at-least ${atLeast}` });
  }
  if (st) {
    if (stateChainProblem(state) === undefined) {
      try {
        sound = readStateFile(state); // root's alone: a floor this never lowers
      } catch {
        sound = undefined;
      }
    }
    was = sound !== undefined ? `it held ${sound}` : `${st.isSymbolicLink() ? 'a link' : 'a file'} owned by uid ${st.uid} with mode ${(st.mode & 0o7777).toString(8)}, removed unread`;
    unlinkSync(state);
  } else {
    mkdirSync(folder, { recursive: true, mode: 0o755 });
    const made = stateChainProblem(state, undefined, { folderOnly: true });
    if (made) throw new KeygateError('RELEASE_STATE_UNSAFE', `failed to reset the floor: ${made.message}`, { hint: `as root: ${made.fix}, then keygate release reset-floor --at-least ${atLeast}` });
  }
  const floor = Math.max(atLeast, trust.root.minVersion, sound ?? 0);
  writeAtomic(state, `${floor}\n`, 0o644);
  if (readStateFile(state) !== floor) throw new KeygateError('RELEASE_STATE_UNSAFE', `failed to reset the floor: ${state} does not read back as ${floor}`, { hint: `as root: keygate release reset-floor --at-least ${atLeast}` });
  const why = floor === atLeast ? '--at-least' : floor === sound ? 'the sound floor it held, never lowered' : 'the trust root\'s minVersion';
  ctx.log.info(`reset the release floor in ${state} to ${floor} (${why}; ${was}); releases below ${floor} no longer start here`);
  ctx.io.stdout.write(`${floor}\n`);
  return EXIT.OK;
};

export const resetFloorCommand = (choose: Choose): CommandModule => ({
  command: 'reset-floor',
  describe: 'as root: replace a release floor that cannot be trusted with one you state (--at-least, from this host\'s log), never lower than minVersion',
  builder: (y) =>
    withFlags(y, INTEGRITY_FLAGS)
      .option('at-least', { type: 'number', demandOption: true, describe: 'the highest release version this host is known to have run ("release N of … signed by" in its log)' })
      .example('$0 release reset-floor --at-least 42', 'after RELEASE_STATE_UNSAFE: the floor back at 42, root\'s alone'),
  handler: choose(resetFloor),
});
