// PKCS#12 keystores: unlock with node-forge (it reads every variant we meet, including RC2 legacy files Node's
// own `pfx` cannot) and hand Node key + cert + chain as PEM, never `pfx`. It only reads: keygate writes
// keystores in one place, src/pki/pkcs12.ts. Traps handled here are from shared/notes/pkcs12-and-hashing-findings.md §1:
// forge returns EC keys/certs as raw ASN.1 (bag.asn1), accepts any password when there is no MAC, and
// cannot open PBES2 files with non-ASCII passwords.

// node-forge's modules one by one, not its index: the index also loads TLS, SSH, ed25519 and the TLS cipher
// suites, a large part of forge that a keystore never uses but every start and reload would compile
// (docs/performance.md). pki brings asn1, oids, pbe (with aes, des, rc2), pem, pbkdf2, pkcs12, rsa and x509.
import forge from 'node-forge/lib/forge.js';
import 'node-forge/lib/pki.js';
import 'node-forge/lib/md.all.js';
import { X509Certificate, createPrivateKey, createPublicKey, pbkdf2Sync, type KeyObject } from 'node:crypto';
import { KeygateError } from '../errors.js';
import type { Secret } from './secret.js';
import { ACME_ACCOUNT_ALIAS } from '../core/acme-config.js';
import { IterationCapError, MAX_KDF_ITERATIONS, NODE_HASH, capIterations, checkPfxMac, pkcs12Kdf } from './pkcs12-mac.js';

export interface UnlockedKeystore {
  readonly keyPem: string;
  readonly certPem: string;
  /** Intermediates, leaf's issuer first; self-signed roots left out. */
  readonly chainPem: string[];
  readonly alias: string | undefined;
  readonly subject: string;
  readonly notAfter: Date;
  readonly keyType: string;
  /** The ACME account key (PKCS#8 PEM), when the keystore holds one (friendlyName ACME_ACCOUNT_ALIAS). */
  readonly acmeAccountKeyPem?: string;
}

export interface UnlockOptions {
  /** friendlyName of the entry to use when the keystore has several keys. */
  readonly alias?: string;
  /** Accept an expired or not-yet-valid certificate (explicit consent). */
  readonly allowExpired?: boolean;
  readonly now?: Date;
  /** Where the bytes came from, for messages. */
  readonly name?: string;
}

// forge runs PBKDF2 in JavaScript whenever the PRF is given as a forge digest object, which is always the case
// when it opens a PBES2 keystore (pbe.js getCipherForPBES2): slow SHA-1 in JS that blocks the event loop at
// keytool's iteration counts. Route those calls to node:crypto's native pbkdf2Sync; the bytes are the same.
// Every derivation forge can start is capped (MAX_KDF_ITERATIONS), on the native path and on the JS fallback
// alike: the count comes from the keystore file, which is attacker input.
const jsPbkdf2 = forge.pkcs5.pbkdf2;
(forge.pkcs5 as { pbkdf2: unknown }).pbkdf2 = function nativePbkdf2(p: string, s: string, c: number, dkLen: number, md?: unknown, callback?: unknown): unknown {
  capIterations(c, 'key derivation');
  const algorithm = md && typeof md === 'object' ? NODE_HASH[(md as { algorithm?: string }).algorithm ?? ''] : undefined;
  // The password as UTF-8: what OpenSSL and Java feed PBKDF2 in a PBES2 keystore (RFC 8018 leaves it to the
  // application; PKCS#12 v1.1 appendix B.1 says UTF-8). forge's own JS one takes its bytes as latin1, which is
  // why non-ASCII passwords opened no openssl 3 default keystore (forge #487, #1073). Same bytes for ASCII.
  if (algorithm && callback === undefined) return pbkdf2Sync(Buffer.from(p, 'utf8'), Buffer.from(s, 'binary'), c, dkLen, algorithm).toString('binary');
  return (jsPbkdf2 as (...a: unknown[]) => unknown)(p, s, c, dkLen, md, callback);
};

// Likewise forge's PKCS#12 KDF (legacy RC2/3DES keystores from openssl -legacy and keytool's legacy mode):
// JS hashing that blocks the event loop at keytool's iteration counts. Same derivation, native hashes.
const forgePbe = (forge as unknown as { pbe: { generatePkcs12Key: unknown } }).pbe; // not in @types/node-forge
const jsPkcs12Key = forgePbe.generatePkcs12Key;
/** forge's own pure-JS PKCS#12 KDF, unpatched: the reference the native one is tested against. */
export const forgeJsPkcs12Key = jsPkcs12Key as (password: string, salt: forge.util.ByteStringBuffer, id: number, iter: number, n: number, md?: unknown) => forge.util.ByteStringBuffer;
forgePbe.generatePkcs12Key = function nativePkcs12Key(password: string | null | undefined, salt: unknown, id: number, iter: number, n: number, md?: unknown): unknown {
  capIterations(iter, 'key derivation');
  const m = (md ?? { algorithm: 'sha1', digestLength: 20, blockLength: 64 }) as { algorithm?: string; digestLength?: number; blockLength?: number };
  const hash = NODE_HASH[m.algorithm ?? ''];
  if (!hash || !(iter >= 1) || !m.digestLength || !m.blockLength) return (jsPkcs12Key as (...a: unknown[]) => unknown)(password, salt, id, iter, n, md);
  const saltBytes = typeof salt === 'string' ? salt : (salt as forge.util.ByteStringBuffer).bytes();
  const key = pkcs12Kdf(hash, m.blockLength, m.digestLength, password ?? undefined, Buffer.from(saltBytes, 'binary'), id, iter, n);
  return forge.util.createBuffer(key.toString('binary'));
};

// forge's MAC check calls pkcs12.generateKey, an alias of generatePkcs12Key taken when forge loaded
// (node-forge lib/pkcs12.js `p12.generateKey = forge.pbe.generatePkcs12Key`), which the patch above does not
// reach: the MAC of an algorithm the native check leaves to forge (MD5, say) would run uncapped. Same function,
// capped.
const forgeP12 = forge.pkcs12 as unknown as { generateKey: (password: unknown, salt: unknown, id: number, iter: number, n: number, md?: unknown) => unknown };
forgeP12.generateKey = function cappedMacKey(password: unknown, salt: unknown, id: number, iter: number, n: number, md?: unknown): unknown {
  capIterations(iter, id === 3 ? 'MAC' : 'key derivation');
  return (forgePbe.generatePkcs12Key as (...a: unknown[]) => unknown)(password, salt, id, iter, n, md);
};

// forge reads an RSA-PSS PrivateKeyInfo as a plain RSA key (it does not check the algorithm OID), and
// keyDer() then re-wraps it as rsaEncryption: the key would no longer match its RSA-PSS certificate. Refuse every
// algorithm but rsaEncryption here, so such keys stay as the original PKCS#8 in bag.asn1 (like EC keys).
const forgePrivateKeyFromAsn1 = forge.pki.privateKeyFromAsn1;
forge.pki.privateKeyFromAsn1 = function rsaOnlyPrivateKeyFromAsn1(obj: forge.asn1.Asn1): forge.pki.rsa.PrivateKey {
  const v = obj.value as forge.asn1.Asn1[];
  const alg = Array.isArray(v) && v.length >= 3 && Array.isArray(v[1]?.value) ? (v[1]!.value as forge.asn1.Asn1[])[0] : undefined;
  if (alg && alg.type === forge.asn1.Type.OID && forge.asn1.derToOid(alg.value as string) !== forge.pki.oids['rsaEncryption']) {
    throw new Error('not an rsaEncryption key');
  }
  return forgePrivateKeyFromAsn1(obj);
};

interface Bag {
  readonly der: Buffer;
  readonly friendlyName: string | undefined;
  readonly localKeyId: string | undefined;
}

const toBuf = (binary: string): Buffer => Buffer.from(binary, 'binary');

function bagAttr(bag: forge.pkcs12.Bag, name: 'friendlyName' | 'localKeyId'): string | undefined {
  const v = (bag.attributes as Record<string, unknown[] | undefined>)[name]?.[0];
  if (typeof v !== 'string') return undefined;
  return name === 'localKeyId' ? toBuf(v).toString('hex') : v;
}

function keyDer(bag: forge.pkcs12.Bag): Buffer | undefined {
  if (bag.key) return toBuf(forge.asn1.toDer(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key))).getBytes());
  const raw = (bag as { asn1?: forge.asn1.Asn1 }).asn1;
  return raw ? toBuf(forge.asn1.toDer(raw).getBytes()) : undefined; // EC and other non-RSA keys
}

function certDer(bag: forge.pkcs12.Bag): Buffer | undefined {
  if (bag.cert) return toBuf(forge.asn1.toDer(forge.pki.certificateToAsn1(bag.cert)).getBytes());
  const raw = (bag as { asn1?: forge.asn1.Asn1 }).asn1;
  return raw ? toBuf(forge.asn1.toDer(raw).getBytes()) : undefined;
}

/** Unlocks a PKCS#12 keystore; every failure is a distinct KEYSTORE_* error. */
export function unlockKeystore(bytes: Buffer, secret: Secret, options: UnlockOptions = {}): UnlockedKeystore {
  const name = options.name ?? 'the keystore';
  const fix = 'check the file, or recreate it: keygate keystore create (then let PAM rotate its password)';
  const looks = notPkcs12(bytes);
  if (looks) throw notPkcs12Error(name, looks);
  let asn1: forge.asn1.Asn1;
  try {
    // forge's typings only know the old boolean `strict` argument; the options object is what 1.x takes.
    const fromDer = forge.asn1.fromDer as unknown as (der: string, options: object) => forge.asn1.Asn1;
    asn1 = fromDer(bytes.toString('binary'), { strict: true, parseAllBytes: true, decodeBitStrings: true });
  } catch {
    throw new KeygateError('KEYSTORE_CORRUPT', `failed to read ${name}: not a DER-encoded PKCS#12 file (truncated or corrupt)`, { hint: fix });
  }
  // PFX ::= SEQUENCE { version, authSafe, macData OPTIONAL }. forge cannot demand the MAC, and without it any
  // password may "open" the file, so we demand it ourselves.
  const top = asn1.value;
  const derLooks = notPfxDer(asn1);
  if (derLooks) throw notPkcs12Error(name, derLooks);
  if (!Array.isArray(top) || top.length < 2) {
    throw new KeygateError('KEYSTORE_CORRUPT', `failed to read ${name}: not a PKCS#12 structure`, { hint: fix });
  }
  if (top.length < 3) {
    throw new KeygateError('KEYSTORE_NO_MAC', `failed to open ${name}: it has no integrity MAC, so a wrong password could not be detected`, {
      hint: 'recreate it with a MAC: openssl pkcs12 -export (without -nomac), or keygate keystore create',
    });
  }
  const password = secret.reveal();
  // The MAC first, natively (pkcs12-mac.ts: forge's JS key derivation is far slower and blocks the loop).
  const mac = checkPfxMac(asn1, password, (der) => forge.asn1.derToOid(der));
  if (typeof mac === 'object') throw tooManyIterations(name, mac.tooManyIterations, 'MAC');
  if (mac === 'bad') throw badPassword(name);
  if (mac === 'ok') (asn1.value as forge.asn1.Asn1[]).length = 2; // checked: forge need not derive it again
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, password);
  } catch (err) {
    if (err instanceof IterationCapError) throw tooManyIterations(name, err.iterations, err.what);
    const msg = err instanceof Error ? err.message : '';
    // The one place forge's wrong-password text is matched (CONVENTIONS.md §12). With a MAC present, a wrong
    // password always fails here first (findings §1.4).
    if (msg.includes('MAC could not be verified')) throw badPassword(name);
    const cipher = unsupportedAlgorithm(err);
    if (cipher) {
      throw new KeygateError('KEYSTORE_UNSUPPORTED', `failed to open ${name}: unsupported ${cipher}`, {
        hint: 're-encrypt it with AES-256 (the openssl 3 default): openssl pkcs12 -in old.p12 -nodes | openssl pkcs12 -export -out new.p12 (then let PAM rotate its password)',
      });
    }
    throw new KeygateError('KEYSTORE_CORRUPT', `failed to open ${name}: its contents cannot be decrypted or parsed`, { hint: fix });
  }

  const allKeys: Bag[] = [];
  const certs: Bag[] = [];
  for (const safe of p12.safeContents) {
    for (const bag of safe.safeBags) {
      if (bag.type === forge.pki.oids.pkcs8ShroudedKeyBag || bag.type === forge.pki.oids.keyBag) {
        const der = keyDer(bag);
        if (der) allKeys.push({ der, friendlyName: bagAttr(bag, 'friendlyName'), localKeyId: bagAttr(bag, 'localKeyId') });
      } else if (bag.type === forge.pki.oids.certBag) {
        const der = certDer(bag);
        if (der) certs.push({ der, friendlyName: bagAttr(bag, 'friendlyName'), localKeyId: bagAttr(bag, 'localKeyId') });
      }
    }
  }
  // The ACME account key signs requests to the CA; it is never a candidate for the served key.
  const accountBag = allKeys.find((k) => k.friendlyName === ACME_ACCOUNT_ALIAS);
  const keys = allKeys.filter((k) => k !== accountBag);
  if (keys.length === 0) {
    throw new KeygateError('KEYSTORE_NO_KEY', `failed to use ${name}: it holds no private key (a truststore?)`, { hint: fix });
  }
  const aliases = keys.map((k) => k.friendlyName ?? '(no alias)');
  let chosen: Bag | undefined;
  if (options.alias !== undefined) {
    chosen = keys.find((k) => k.friendlyName === options.alias);
    if (!chosen) {
      throw new KeygateError('KEYSTORE_ALIAS_NOT_FOUND', `failed to use ${name}: no key entry with alias ${JSON.stringify(options.alias)}; it has ${aliases.join(', ')}`, {
        hint: 'pass one of those with --alias (or keystore.alias in keygate.config.json)',
      });
    }
  } else if (keys.length > 1) {
    throw new KeygateError('KEYSTORE_ALIAS_NOT_FOUND', `failed to use ${name}: it holds ${keys.length} keys (${aliases.join(', ')}) and no alias was given`, {
      hint: 'choose one with --alias (or keystore.alias in keygate.config.json)',
    });
  } else {
    chosen = keys[0]!;
  }

  let key: KeyObject;
  let x509s: { bag: Bag; cert: X509Certificate }[];
  try {
    key = createPrivateKey({ key: chosen.der, format: 'der', type: 'pkcs8' });
    x509s = certs.map((bag) => ({ bag, cert: new X509Certificate(bag.der) }));
  } catch {
    throw new KeygateError('KEYSTORE_CORRUPT', `failed to use ${name}: its key or certificate cannot be parsed`, { hint: fix });
  }
  // TLS 1.2+ with Mozilla's intermediate profile serves RSA (PKCS#1 v1.5 or PSS signatures) and ECDSA keys.
  // A DSA (or DH, X25519…) key loads into Node but every handshake then fails without a word: refuse it here.
  const keyType = key.asymmetricKeyType ?? 'unknown';
  if (!SERVABLE_KEY_TYPES.has(keyType)) {
    throw new KeygateError('KEYSTORE_UNSUPPORTED', `failed to use ${name}: its key is ${keyType.toUpperCase()}, which the TLS profile cannot serve (RSA, RSA-PSS or EC only)`, {
      hint: 'issue an RSA or EC (P-256) key and certificate into the keystore',
    });
  }
  const byId = chosen.localKeyId ? x509s.find((c) => c.bag.localKeyId === chosen!.localKeyId) : undefined;
  const leaf = byId ?? x509s.find((c) => keyMatches(c.cert, key));
  if (!leaf) {
    if (x509s.length === 0) {
      throw new KeygateError('KEYSTORE_NO_KEY', `failed to use ${name}: it holds a key but no certificate`, { hint: fix });
    }
    throw new KeygateError('KEYSTORE_KEY_MISMATCH', `failed to use ${name}: no certificate in it belongs to the private key${chosen.friendlyName ? ` ${chosen.friendlyName}` : ''}`, {
      hint: fix,
    });
  }
  if (!keyMatches(leaf.cert, key)) {
    throw new KeygateError('KEYSTORE_KEY_MISMATCH', `failed to use ${name}: the certificate ${leaf.cert.subject.replace(/\n/g, ', ')} does not match its private key`, {
      hint: fix,
    });
  }
  const now = options.now ?? new Date();
  const notAfter = new Date(leaf.cert.validTo);
  const notBefore = new Date(leaf.cert.validFrom);
  if (!options.allowExpired && (now > notAfter || now < notBefore)) {
    throw new KeygateError(
      'KEYSTORE_CERT_EXPIRED',
      `failed to use ${name}: the certificate ${now > notAfter ? `expired on ${notAfter.toISOString()}` : `is not valid before ${notBefore.toISOString()}`}`,
      { hint: 'issue a new certificate into the keystore (keygate keystore create --force for the demo), or pass --allow-expired --insecure to serve anyway' },
    );
  }
  // The served chain: walk issuers from the leaf through the other certs that are not another key's leaf.
  const otherLeafIds = new Set(keys.filter((k) => k !== chosen).map((k) => k.localKeyId).filter(Boolean));
  const pool = x509s.filter((c) => c !== leaf && !(c.bag.localKeyId && otherLeafIds.has(c.bag.localKeyId)));
  // No fixed depth: each certificate of the pool joins the chain at most once, so the pool bounds the walk and
  // no long chain is cut short silently.
  const chain: X509Certificate[] = [];
  let current = leaf.cert;
  for (;;) {
    const issuer = pool.find((c) => !chain.includes(c.cert) && c.cert !== current && current.checkIssued(c.cert));
    if (!issuer || issuer.cert.checkIssued(issuer.cert)) break; // stop at a self-signed root: clients hold it
    chain.push(issuer.cert);
    current = issuer.cert;
  }
  return {
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    certPem: leaf.cert.toString(),
    chainPem: chain.map((c) => c.toString()),
    alias: chosen.friendlyName ?? leaf.bag.friendlyName,
    subject: leaf.cert.subject.replace(/\n/g, ', '),
    notAfter,
    keyType: key.asymmetricKeyType ?? 'unknown',
    ...(accountBag ? { acmeAccountKeyPem: accountKeyPem(accountBag.der, name) } : {}),
  };
}

function accountKeyPem(der: Buffer, name: string): string {
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
  } catch {
    throw new KeygateError('KEYSTORE_CORRUPT', `failed to use ${name}: its ACME account key (${ACME_ACCOUNT_ALIAS}) cannot be parsed`, { hint: 'restore the keystore from its backup, or import the certificate again (keygate keystore import)' });
  }
}

// Ciphers and PRFs node-forge cannot decrypt with, by OID, for the message (forge throws "Unsupported ... OID"
// with the OID on the error). Others are shown by their OID.
const ALGORITHM_NAMES: Record<string, string> = {
  '1.2.392.200011.61.1.1.1.2': 'camellia-128-cbc',
  '1.2.392.200011.61.1.1.1.3': 'camellia-192-cbc',
  '1.2.392.200011.61.1.1.1.4': 'camellia-256-cbc',
  '1.2.410.200046.1.1.1': 'aria-128-cbc',
  '1.2.410.200046.1.1.6': 'aria-192-cbc',
  '1.2.410.200046.1.1.11': 'aria-256-cbc',
  '1.2.156.10197.1.104.2': 'sm4-cbc',
  '2.16.840.1.101.3.4.1.6': 'aes-128-gcm',
  '2.16.840.1.101.3.4.1.46': 'aes-256-gcm',
};

/** "cipher <name>" / "key derivation <name>" when forge refused an algorithm it does not implement. */
function unsupportedAlgorithm(err: unknown): string | undefined {
  if (!(err instanceof Error) || !/Unsupported/.test(err.message)) return undefined;
  const oid = (err as { oid?: unknown }).oid;
  const kind = /PRF|key derivation/.test(err.message) ? 'key derivation' : 'cipher';
  if (typeof oid !== 'string') return `${kind} (${err.message.replace(/\.$/, '')})`;
  return `${kind} ${ALGORITHM_NAMES[oid] ?? forge.pki.oids[oid] ?? oid}`;
}

/** What a file that is not PKCS#12 looks like, from its first bytes; undefined when it may be DER PKCS#12. */
function notPkcs12(bytes: Buffer): string | undefined {
  if (bytes.length === 0) return 'an empty file';
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0xfeedfeed) return 'a Java KeyStore (JKS) file';
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0xcececece) return 'a Java JCEKS keystore file';
  const head = bytes.subarray(0, 4096).toString('latin1');
  const pem = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(head);
  if (pem) return `a PEM file (${pem[1]})`;
  // A DER PKCS#12 starts with a SEQUENCE (0x30); printable text that does not is a text file.
  // eslint-disable-next-line no-control-regex
  if (bytes[0] !== 0x30 && /^[\t\n\r\x20-\x7e]*$/.test(head)) return 'a text file';
  return undefined;
}

/** For DER that parsed: what it is when it is not a PFX (PFX = SEQUENCE { INTEGER 3, ContentInfo, MacData }). */
function notPfxDer(asn1: forge.asn1.Asn1): string | undefined {
  const top = asn1.value;
  if (!Array.isArray(top) || top.length === 0) return undefined;
  const [first, second, third] = top as forge.asn1.Asn1[];
  const T = forge.asn1.Type;
  const isInt = (n?: forge.asn1.Asn1) => n?.tagClass === forge.asn1.Class.UNIVERSAL && n.type === T.INTEGER;
  const isSeq = (n?: forge.asn1.Asn1) => n?.tagClass === forge.asn1.Class.UNIVERSAL && n.type === T.SEQUENCE;
  if (isInt(first) && first!.value === '\x03' && isSeq(second)) return undefined; // a PFX, version 3
  if (isSeq(first) && isSeq(second) && third?.type === T.BITSTRING && top.length === 3) return 'a DER X.509 certificate';
  if (isInt(first) && first!.value === '\x00' && isSeq(second) && third?.type === T.OCTETSTRING) return 'a DER private key (PKCS#8)';
  if (isInt(first) && first!.value === '\x00' && isInt(second)) return 'a DER private key (PKCS#1 RSA)';
  if (isSeq(first) && isSeq(second) && top.length === 2) return 'a DER encrypted private key (PKCS#8)';
  return 'DER data that is not PKCS#12';
}

function notPkcs12Error(name: string, looks: string): KeygateError {
  return new KeygateError('KEYSTORE_CORRUPT', `failed to read ${name}: not a PKCS#12 file: it looks like ${looks}`, {
    hint: 'point keystore.path at the .p12 file, or convert: openssl pkcs12 -export -inkey key.pem -in cert.pem -out keystore.p12, or keytool -importkeystore -srckeystore old.jks -deststoretype pkcs12 -destkeystore keystore.p12',
  });
}

function tooManyIterations(name: string, iterations: number, what: 'MAC' | 'key derivation'): KeygateError {
  const count = Number.isFinite(iterations) ? String(iterations) : 'more than 2^48';
  const asks = what === 'MAC' ? `its MAC asks for ${count} iterations` : `it asks for ${count} key derivation iterations`;
  return new KeygateError('KEYSTORE_UNSUPPORTED', `failed to open ${name}: ${asks}, more than the ${MAX_KDF_ITERATIONS} keygate accepts (a crafted file would stall the start)`, {
    hint: 'recreate it with a usual count: openssl pkcs12 -export -iter 10000 (keytool uses 10,000, OpenSSL 2,048), or keygate keystore create',
  });
}

const SERVABLE_KEY_TYPES = new Set(['rsa', 'rsa-pss', 'ec']);

/**
 * Whether the certificate holds the key's public half. X509Certificate.checkPrivateKey says false for RSA-PSS
 * keys on OpenSSL 3.0 (they matched: openssl x509 -noout -pubkey agrees), so the public keys are compared as
 * SubjectPublicKeyInfo DER when it does.
 */
function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  if (cert.checkPrivateKey(key)) return true;
  try {
    const spki = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' });
    return spki(cert.publicKey).equals(spki(createPublicKey(key)));
  } catch {
    return false;
  }
}

function badPassword(name: string): KeygateError {
  return new KeygateError('KEYSTORE_BAD_PASSWORD', `failed to open ${name}: the password does not match (MAC check failed)`, {
    hint: 'the vault holds a different password than the keystore: check the PAM target account, or re-sync the keystore password in PAM',
  });
}
