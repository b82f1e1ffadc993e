// /auth's signature check, the same work whether or not the name exists: an unknown name is checked
// against a decoy key made at start, so neither the status nor the time of the answer says which names exist.

import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { b64uDecode, verifyLogin, x448PublicFromRaw } from './crypto.js';
import type { AdminUser } from './users.js';

export type LoginVerdict = { readonly ok: true; readonly user: AdminUser; readonly peerRaw: Buffer } | { readonly ok: false; readonly why: string };

/** A fresh Ed448 key no one holds: what an unknown name's signature is verified against. */
export function decoyKey(): KeyObject {
  return generateKeyPairSync('ed448').publicKey;
}

/**
 * Decodes and verifies a login; throws ProtocolError (400) for a malformed key or signature, known name or not.
 * Expiry is told only to a caller whose signature verified (it proves they hold the key).
 */
export function checkLogin(users: ReadonlyMap<string, AdminUser>, decoy: KeyObject, msg: { user: string; key: string; sign: string }, nowS: number): LoginVerdict {
  const user = users.get(msg.user);
  const peerRaw = b64uDecode(msg.key, '"key"');
  x448PublicFromRaw(peerRaw);
  const signature = b64uDecode(msg.sign, '"sign"');
  const verified = verifyLogin(user?.key ?? decoy, msg.user, peerRaw, signature);
  if (!user || !verified) return { ok: false, why: 'unknown user or wrong key' };
  if (user.expiresS !== undefined && user.expiresS <= nowS) return { ok: false, why: "this user's key has expired" };
  return { ok: true, user, peerRaw };
}
