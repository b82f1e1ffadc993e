// The built entry's layout, shared by scripts/build.mjs (which writes it) and scripts/parts.mjs (which reads it):
// the pin slot `keygate pin` rewrites, the comment the parts live in, and how the early part is hashed for
// dist/parts.json. src/late-runtime.ts reads the same comment at run time.
import { createHash } from 'node:crypto';

/** The pin slot, with whatever pin it holds; UNPINNED_SLOT is the slot as the build writes it. */
export const PIN = /@@KEYGATE_PIN@@:[0-9a-f]{64}/;
export const UNPINNED_SLOT = `@@KEYGATE_PIN@@:${'0'.repeat(64)}`;

/** The parts comment: PARTS_OPEN, one `name:base64` line per part, PARTS_CLOSE, at the very end of the entry. */
export const PARTS_OPEN = '\nfunction __kgParts(){/*\n';
export const PARTS_CLOSE = '\n*/}\n';

/** sha256 of an early part (the entry's bytes before the parts comment, its first newline included), pin zeroed. */
export function earlySha256(early) {
  return createHash('sha256').update(Buffer.from(early.toString('latin1').replace(PIN, UNPINNED_SLOT), 'latin1')).digest('hex');
}

/** sha256 of a part's JavaScript as text. */
export const textSha256 = (text) => createHash('sha256').update(text, 'utf8').digest('hex');
