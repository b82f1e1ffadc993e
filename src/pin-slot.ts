// The pin slot: `keygate pin` rewrites the 64 hex digits after the marker in the built main entry
// (dist/main.js) with the manifest's sha256. The entry is what the vault hashes, so the pin is covered by
// the vault's check. The marker is built at run time so that it occurs exactly once in the bundle: here.

/** Do not edit: `keygate pin` finds and rewrites this literal in dist/main.js. */
const PIN_SLOT = '@@KEYGATE_PIN@@:0000000000000000000000000000000000000000000000000000000000000000';

/** The marker that precedes the pinned hash in the entry file. */
export const PIN_MARKER = ['@@KEYGATE', 'PIN@@:'].join('_');

/** What an entry that was never pinned carries. */
export const UNPINNED = '0'.repeat(64);

/** The manifest sha256 pinned into the running entry (UNPINNED until `keygate pin`). */
export function ownPin(): string {
  return PIN_SLOT.slice(PIN_MARKER.length);
}
