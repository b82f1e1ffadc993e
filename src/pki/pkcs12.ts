// Writing PKCS#12 files (RFC 7292) and encrypted PKCS#8 keys (RFC 5958 / RFC 8018 PBES2) with node:crypto.
// The two p12 profiles are in policy.ts (P12_PROFILES); this file only encodes them. Readers that must open
// what it writes, each checked by test/pki.e2e.test.ts: openssl pkcs12 -info, keytool -list, curl --cert-type
// P12, Node's tls `pfx`, and keygate's own loader (src/adapters/keystore.ts).

import { createCipheriv, createHash, createHmac, createPrivateKey, createPublicKey, pbkdf2Sync, randomBytes } from 'node:crypto';
import { pkcs12Kdf } from '../adapters/pkcs12-mac.js';
import { bmpString, explicit, implicitPrimitive, int, nul, octets, oid, pem, seq, set } from '../core/der.js';
import type { P12Profile } from './policy.js';

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSHA256: '1.2.840.113549.2.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  pbeSha1TripleDes: '1.2.840.113549.1.12.1.3',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

/** PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC): the AlgorithmIdentifier and the ciphertext. */
function pbes2Encrypt(password: string, plaintext: Buffer, iterations: number): { algorithm: Buffer; ciphertext: Buffer } {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  // The password as UTF-8 bytes, as OpenSSL and Java feed PBKDF2 (PKCS#12 v1.1 appendix B.1).
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const kdf = seq(oid(OID.pbkdf2), seq(octets(salt), int(iterations), seq(oid(OID.hmacWithSHA256), nul())));
  return { algorithm: seq(oid(OID.pbes2), seq(kdf, seq(oid(OID.aes256Cbc), octets(iv)))), ciphertext };
}

/** pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 appendix B/C): the PKCS#12 KDF with SHA-1 gives key and IV. */
function pbeSha1TripleDesEncrypt(password: string, plaintext: Buffer, iterations: number): { algorithm: Buffer; ciphertext: Buffer } {
  const salt = randomBytes(8);
  const key = pkcs12Kdf('sha1', 64, 20, password, salt, 1, iterations, 24);
  const iv = pkcs12Kdf('sha1', 64, 20, password, salt, 2, iterations, 8);
  const cipher = createCipheriv('des-ede3-cbc', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { algorithm: seq(oid(OID.pbeSha1TripleDes), seq(octets(salt), int(iterations))), ciphertext };
}

function encrypt(profile: P12Profile, password: string, plaintext: Buffer): { algorithm: Buffer; ciphertext: Buffer } {
  return profile.encryption === 'pbes2-aes256-sha256' ? pbes2Encrypt(password, plaintext, profile.iterations) : pbeSha1TripleDesEncrypt(password, plaintext, profile.iterations);
}

export interface Pkcs12Input {
  /** The private key as unencrypted PKCS#8 DER. */
  readonly keyPkcs8: Buffer;
  /** The leaf certificate, DER. */
  readonly cert: Buffer;
  /** Issuers, DER, leaf's issuer first (the CA certificate for keygate's dev PKI). */
  readonly chain: readonly Buffer[];
  /** friendlyName of the key and leaf (keytool's alias). */
  readonly alias: string;
  readonly password: string;
  readonly profile: P12Profile;
  /**
   * Keys without a certificate, each its own shrouded bag with its friendlyName and a localKeyId no certificate
   * has: the ACME account key (ACME_ACCOUNT_ALIAS) lives in the keystore, under the same password.
   */
  readonly extraKeys?: readonly { readonly keyPkcs8: Buffer; readonly alias: string }[];
}

/**
 * A PFX: one encrypted SafeContents with the certificates, one plain SafeContents with the shrouded key, and a
 * MAC over both (without the MAC a wrong password may go unnoticed, shared/notes/pkcs12-and-hashing-findings.md
 * §1.4). Key and leaf share a localKeyId so readers pair them.
 */
export function buildPkcs12(input: Pkcs12Input): Buffer {
  const { password, profile } = input;
  const localKeyId = createHash('sha256').update(input.cert).digest();
  const leafAttrs = set(seq(oid(OID.friendlyName), set(bmpString(input.alias))), seq(oid(OID.localKeyId), set(octets(localKeyId))));
  const certBag = (der: Buffer, attrs?: Buffer): Buffer =>
    seq(oid(OID.certBag), explicit(0, seq(oid(OID.x509Certificate), explicit(0, octets(der)))), ...(attrs ? [attrs] : []));
  const certContents = seq(certBag(input.cert, leafAttrs), ...input.chain.map((c) => certBag(c)));
  const encCerts = encrypt(profile, password, certContents);
  const certsInfo = seq(oid(OID.encryptedData), explicit(0, seq(int(0), seq(oid(OID.data), encCerts.algorithm, implicitPrimitive(0, encCerts.ciphertext)))));
  const encKey = encrypt(profile, password, input.keyPkcs8);
  const keyBag = seq(oid(OID.shroudedKeyBag), explicit(0, seq(encKey.algorithm, octets(encKey.ciphertext))), leafAttrs);
  const extraBags = (input.extraKeys ?? []).map((k) => {
    const enc = encrypt(profile, password, k.keyPkcs8);
    // localKeyId from the public key (bag attributes are not encrypted: no digest of the private key in the file)
    const spki = createPublicKey(createPrivateKey({ key: k.keyPkcs8, format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' });
    const attrs = set(seq(oid(OID.friendlyName), set(bmpString(k.alias))), seq(oid(OID.localKeyId), set(octets(createHash('sha256').update(spki).digest()))));
    return seq(oid(OID.shroudedKeyBag), explicit(0, seq(enc.algorithm, octets(enc.ciphertext))), attrs);
  });
  const keyInfo = seq(oid(OID.data), explicit(0, octets(seq(keyBag, ...extraBags))));
  const authSafe = seq(certsInfo, keyInfo);
  // MAC (RFC 7292 §5 and appendix B): HMAC over the AuthenticatedSafe's bytes, its key from the PKCS#12 KDF
  // (id 3) with the MAC's own hash, key length = the hash's length (what OpenSSL does for a SHA-256 MAC).
  const macSalt = randomBytes(profile.macHash === 'sha256' ? 16 : 8);
  const u = profile.macHash === 'sha256' ? 32 : 20;
  const macKey = pkcs12Kdf(profile.macHash, 64, u, password, macSalt, 3, profile.iterations, u);
  const mac = createHmac(profile.macHash, macKey).update(authSafe).digest();
  const macData = seq(seq(seq(oid(profile.macHash === 'sha256' ? OID.sha256 : OID.sha1), nul()), octets(mac)), octets(macSalt), int(profile.iterations));
  return seq(int(3), seq(oid(OID.data), explicit(0, octets(authSafe))), macData);
}

/**
 * A private key encrypted at rest: EncryptedPrivateKeyInfo with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), PEM
 * "ENCRYPTED PRIVATE KEY". Node's createPrivateKey({ passphrase }) and `openssl pkey -passin` open it.
 */
export function encryptPrivateKey(keyPkcs8: Buffer, password: string, iterations: number): string {
  const { algorithm, ciphertext } = pbes2Encrypt(password, keyPkcs8, iterations);
  return pem('ENCRYPTED PRIVATE KEY', seq(algorithm, octets(ciphertext)));
}
