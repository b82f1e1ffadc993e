// keygate release: signed releases (docs/releases.md). keygen and sign run in CI; verify in CI or before a
// deploy; accept and reset-floor as root on a host. Pinning the keys is `keygate pin --release-keys`.

import type { CommandModule } from 'yargs';
import { EXIT_EPILOGUE, type Choose } from './common.js';
import { keygenCommand } from './release/keygen.js';
import { signCommand } from './release/sign.js';
import { verifyCommand } from './release/verify.js';
import { acceptCommand } from './release/accept.js';
import { resetFloorCommand } from './release/reset-floor.js';

export const releaseCommand = (choose: Choose): CommandModule => ({
  command: 'release <command>',
  describe: 'signed releases: keygen, sign (CI), verify, accept and reset-floor (root, on a host)',
  builder: (y) =>
    y
      .command(keygenCommand(choose))
      .command(signCommand(choose))
      .command(verifyCommand(choose))
      .command(acceptCommand(choose))
      .command(resetFloorCommand(choose))
      .demandCommand(1)
      .epilogue(EXIT_EPILOGUE),
  handler: () => undefined,
});
