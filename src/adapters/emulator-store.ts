// The dev A2A emulator's store (dev/cspm/a2a-store.json): alias → password, and the registered entry hashes (what
// PAM's A2A Script registration is for a real vault). For `npm start`'s dev-setup only: NOT a vault.

import { writeAtomicIn, fileExists, readWhole } from './files.js';

export interface EmulatorStore {
  accounts: Record<string, { userName: string; password: string; cachedPassword?: string; keystoreSha256?: string }>;
  scripts: { path: string; sha256: string }[];
}

/** Reads the store (an empty one when the file does not exist). */
export function readStore(file: string): EmulatorStore {
  if (!fileExists(file)) return { accounts: {}, scripts: [] };
  const raw = JSON.parse(readWhole(file).toString('utf8')) as Partial<EmulatorStore>;
  return { accounts: raw.accounts ?? {}, scripts: raw.scripts ?? [] };
}

/** Writes the store, 0600 (it holds passwords in plain text: the demo's emulator only). */
export function writeStore(file: string, store: EmulatorStore): void {
  writeAtomicIn(file, JSON.stringify(store, null, 2) + '\n', 0o600);
}
