// keystore.spkiSha256: the server key pinned in the verified config. PAM rotation changes the keystore's password,
// never its key pair, so a keystore that unlocks with the vault's password but holds another key was swapped
// (at start or by a hot reload): refused. The pin is the SHA-256 of the certificate's SubjectPublicKeyInfo (DER),
// the value HPKP and `openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256` give.

import { X509Certificate, createHash } from 'node:crypto';
import { KeygateError } from '../errors.js';

/** SHA-256 of the certificate's SubjectPublicKeyInfo, hex. */
export function spkiSha256(certPem: string): string {
  const der = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** Throws KEYSTORE_KEY_NOT_PINNED when pins are set and the certificate's key is none of them. */
export function assertKeyPinned(certPem: string, pins: readonly string[] | undefined, keystore: string): void {
  if (!pins || pins.length === 0) return;
  const actual = spkiSha256(certPem);
  if (pins.includes(actual)) return;
  throw new KeygateError('KEYSTORE_KEY_NOT_PINNED', `refused keystore ${keystore}: its key's SPKI sha256 is ${actual}, not a pinned keystore.spkiSha256 (was the keystore swapped?)`, {
    hint: `if the key pair was replaced on purpose, put ${actual} in keystore.spkiSha256, then keygate generate-filelist && keygate pin`,
  });
}
