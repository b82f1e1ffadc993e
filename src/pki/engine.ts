// The dev PKI's crypto edge: keys from node:crypto, certificates, CSRs and CRLs with @peculiar/x509 on Node's
// WebCrypto (node-forge cannot sign with EC keys; pkijs would do, with a lower-level API and SHA-1 defaults in
// every sign()), PKCS#12 and encrypted keys from ./pkcs12.ts. It writes exactly what a policy.ts plan says.
// A late part (scripts/build.mjs LATE): only `keygate pki` and `keystore create --ca-cert` parse it.

import 'reflect-metadata'; // tsyringe, under @peculiar/x509, needs it before it loads (the library's README)
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { KeygateError } from '../errors.js';
import type { Secret } from '../adapters/secret.js';
import { int } from '../core/der.js';
import { buildPkcs12, encryptPrivateKey } from './pkcs12.js';
import {
  CA_KEY_ITERATIONS,
  P12_PROFILES,
  PolicyError,
  checkPublicKey,
  normalizeSerial,
  decodeNameConstraints,
  encodeNameConstraints,
  formatCidr,
  serialFromRandom,
  CRL_REASONS,
  type CrlReason,
  type CsrRequest,
  type ExtensionPlan,
  type KeyType,
  type NameConstraints,
  type P12ProfileName,
  type Rdn,
  type San,
  type SanType,
} from './policy.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const OID_NAME_CONSTRAINTS = '2.5.29.30';
const OID_CRL_NUMBER = '2.5.29.20';

/** A new private key: EC P-256 (the default, as step, cfssl and mkcert -ecdsa), RSA, or Ed25519. */
export function generateKey(type: KeyType, rsaBits: number): KeyObject {
  if (type === 'ec') return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  if (type === 'rsa') return generateKeyPairSync('rsa', { modulusLength: rsaBits }).privateKey;
  return generateKeyPairSync('ed25519').privateKey;
}

/** The key's type for the profiles, or a policy error for keys keygate does not sign for or with. */
export function keyTypeOf(key: KeyObject): KeyType {
  const d = key.asymmetricKeyDetails ?? {};
  checkPublicKey({ type: key.asymmetricKeyType ?? 'unknown', bits: d.modulusLength, curve: d.namedCurve });
  return key.asymmetricKeyType as KeyType;
}

/** WebCrypto parameters for signing with this key: SHA-256 for RSA and P-256, SHA-384 for P-384, never SHA-1. */
function signingParams(key: KeyObject): { importAlg: RsaHashedImportParams | EcKeyImportParams | Algorithm; sign: Algorithm | EcdsaParams } {
  const t = keyTypeOf(key);
  if (t === 'rsa') return { importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm };
  if (t === 'ed25519') return { importAlg: { name: 'Ed25519' }, sign: { name: 'Ed25519' } };
  const curve = key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'P-384' : 'P-256';
  return { importAlg: { name: 'ECDSA', namedCurve: curve }, sign: { name: 'ECDSA', hash: curve === 'P-384' ? 'SHA-384' : 'SHA-256' } as EcdsaParams };
}

async function webSigningKey(key: KeyObject): Promise<{ key: CryptoKey; algorithm: Algorithm | EcdsaParams }> {
  const { importAlg, sign } = signingParams(key);
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const k = await webcrypto.subtle.importKey('pkcs8', der, importAlg, false, ['sign']);
  return { key: k as unknown as CryptoKey, algorithm: sign };
}

/** Bytes in a fresh ArrayBuffer: what WebCrypto's BufferSource type asks for. */
const ab = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

/** What the x509 parsers take: the PEM text, or the DER bytes (a latin1 string of DER would be read as PEM). */
const pemOrDer = (text: string): string | Uint8Array<ArrayBuffer> => (/-----BEGIN /.test(text) ? text : ab(Buffer.from(text, 'latin1')));

const spkiOf = (key: KeyObject): Buffer => (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });

const jsonName = (rdns: readonly Rdn[]): x509.JsonName => rdns.map((r) => ({ [r.type]: [r.value] }));

const GENERAL_NAME: Record<SanType, 'dns' | 'ip' | 'email' | 'url'> = { dns: 'dns', ip: 'ip', email: 'email', uri: 'url' };

/** The extensions of a plan, in the order openssl prints them. */
async function extensionsFor(plan: ExtensionPlan, subjectKey: Buffer, issuerKey: Buffer, subjectIsEmpty: boolean): Promise<x509.Extension[]> {
  const ku = plan.keyUsage.reduce((acc, u) => acc | x509.KeyUsageFlags[u], 0);
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(plan.ca, plan.ca ? plan.pathLength : undefined, true),
    new x509.KeyUsagesExtension(ku, true),
  ];
  if (plan.extKeyUsage.length) exts.push(new x509.ExtendedKeyUsageExtension(plan.extKeyUsage.map((e) => x509.ExtendedKeyUsage[e]), false));
  // RFC 5280 §4.2.1.6: with an empty subject the SAN extension must be critical.
  if (plan.sans.length) exts.push(new x509.SubjectAlternativeNameExtension(plan.sans.map((s) => ({ type: GENERAL_NAME[s.type], value: s.value })), subjectIsEmpty));
  if (plan.nameConstraints) exts.push(new x509.Extension(OID_NAME_CONSTRAINTS, true, ab(encodeNameConstraints(plan.nameConstraints))));
  exts.push(await x509.SubjectKeyIdentifierExtension.create(ab(subjectKey)));
  if (!plan.ca || !subjectKey.equals(issuerKey)) exts.push(await x509.AuthorityKeyIdentifierExtension.create(ab(issuerKey)));
  return exts;
}

export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** A new serial (policy.serialFromRandom over 16 random bytes). */
export const newSerial = (): string => serialFromRandom(randomBytes(16));

/** A self-signed certificate for `key` as the plan says (the dev CA's, or a keystore's own server certificate), PEM. */
export async function createSelfSignedCertificate(subject: readonly Rdn[], key: KeyObject, plan: ExtensionPlan, v: Validity): Promise<string> {
  const signer = await webSigningKey(key);
  const spki = spkiOf(key);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: jsonName(subject),
    issuer: jsonName(subject),
    notBefore: v.notBefore,
    notAfter: v.notAfter,
    publicKey: ab(spki),
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions: await extensionsFor(plan, spki, spki, false),
  });
  return cert.toString('pem') + '\n';
}

/** A loaded CA: its certificate, its key, and the name constraints it carries. */
export interface LoadedCa {
  readonly cert: x509.X509Certificate;
  readonly certPem: string;
  readonly key: KeyObject;
  readonly nameConstraints: NameConstraints | undefined;
}

/**
 * Opens the CA: certificate PEM + key PEM. An encrypted key needs the password; an unencrypted one is taken
 * only with `insecure` (explicit consent, as for creating it). The key must belong to the certificate, and the
 * certificate must be a CA that may sign (CA:TRUE, keyCertSign).
 */
export function loadCa(certPem: string, keyPem: string, password: Secret | undefined, insecure: boolean, names: { cert: string; key: string }): LoadedCa {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(pemOrDer(certPem));
  } catch {
    throw new KeygateError('PKI_INPUT_INVALID', `failed to read the CA certificate ${names.cert}: not a PEM or DER certificate`, { hint: 'pass the ca.crt written by keygate pki ca create with --ca-cert' });
  }
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(keyPem);
  if (!encrypted && !insecure) {
    throw new KeygateError('USAGE', `refused to use the CA key ${names.key}: it is not encrypted`, {
      hint: 'pass --insecure to use an unencrypted CA key, or encrypt it: openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -in ca.key -out ca.key.enc',
    });
  }
  if (encrypted && !password) {
    throw new KeygateError('USAGE', `failed to open the CA key ${names.key}: it is encrypted and no password was given`, { hint: 'pass --ca-password-file FILE (or run on a terminal to be asked)' });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(encrypted ? { key: keyPem, format: 'pem', passphrase: password!.reveal() } : { key: keyPem, format: 'pem' });
  } catch (err) {
    if (encrypted && /bad decrypt|decrypt/i.test((err as Error).message)) {
      throw new KeygateError('PKI_BAD_PASSWORD', `failed to open the CA key ${names.key}: the password does not decrypt it`, { hint: 'pass the password file used with keygate pki ca create' });
    }
    throw new KeygateError('PKI_INPUT_INVALID', `failed to read the CA key ${names.key}: not a PEM private key`, { hint: 'pass the ca.key written by keygate pki ca create with --ca-key' });
  }
  if (!spkiOf(key).equals(Buffer.from(cert.publicKey.rawData))) {
    throw new KeygateError('PKI_INPUT_INVALID', `failed to use the CA: the key ${names.key} does not belong to the certificate ${names.cert}`, { hint: 'pass the ca.key created together with this ca.crt' });
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (!bc?.ca || (ku && !(ku.usages & x509.KeyUsageFlags.keyCertSign))) {
    throw new KeygateError('PKI_INPUT_INVALID', `failed to use ${names.cert} as a CA: it is not a CA certificate (CA:TRUE with keyCertSign)`, { hint: 'create one: keygate pki ca create' });
  }
  let nameConstraints: NameConstraints | undefined;
  const nc = cert.getExtension(OID_NAME_CONSTRAINTS);
  if (nc) {
    try {
      nameConstraints = decodeNameConstraints(new Uint8Array(nc.value));
    } catch (err) {
      throw new KeygateError('PKI_INPUT_INVALID', `failed to use ${names.cert}: ${(err as Error).message}`, {});
    }
  }
  return { cert, certPem: cert.toString('pem') + '\n', key, nameConstraints };
}

/** A certificate file, parsed (for `pki crl --revoke FILE`). */
export function certificateInfo(pemText: string, name: string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(pemOrDer(pemText));
  } catch {
    throw new KeygateError('PKI_INPUT_INVALID', `failed to read the certificate ${name}: not a PEM or DER certificate`, {});
  }
}

/** Whether the CA signed this certificate (its signature verifies with the CA's key and the issuer names match). */
export async function issuedBy(cert: x509.X509Certificate, ca: LoadedCa): Promise<boolean> {
  if (cert.issuer !== ca.cert.subject) return false;
  return cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }).catch(() => false);
}

/** A leaf certificate for `publicKey`, signed by the CA, PEM. Issuer name bytes are the CA subject's own. */
export async function issueCertificate(ca: LoadedCa, subject: readonly Rdn[], publicKey: KeyObject, plan: ExtensionPlan, v: Validity): Promise<string> {
  const signer = await webSigningKey(ca.key);
  const spki = spkiOf(publicKey);
  if (v.notAfter > ca.cert.notAfter) {
    throw new KeygateError('PKI_POLICY', `refused to issue: the certificate would outlive its CA (CA expires ${ca.cert.notAfter.toISOString()})`, { hint: 'pass a smaller --days, or create a new CA' });
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: jsonName(subject),
    issuer: ca.cert.subjectName,
    notBefore: v.notBefore,
    notAfter: v.notAfter,
    publicKey: ab(spki),
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions: await extensionsFor(plan, spki, Buffer.from(ca.cert.publicKey.rawData), subject.length === 0),
  });
  return cert.toString('pem') + '\n';
}

const SHORT_NAMES: Record<string, string> = { '2.5.4.3': 'CN', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST' };
const EXTENSION_NAMES: Record<string, string> = {
  '2.5.29.19': 'basicConstraints',
  '2.5.29.15': 'keyUsage',
  '2.5.29.37': 'extKeyUsage',
  '2.5.29.30': 'nameConstraints',
  '2.5.29.14': 'subjectKeyIdentifier',
  '2.5.29.35': 'authorityKeyIdentifier',
  '2.5.29.31': 'cRLDistributionPoints',
  '1.3.6.1.5.5.7.1.1': 'authorityInfoAccess',
};

/** How a requested extension is shown in the "dropped" report (basicConstraints says whether it asked for CA). */
function describeExtension(ext: x509.Extension): string {
  const name = EXTENSION_NAMES[ext.type] ?? ext.type;
  if (ext instanceof x509.BasicConstraintsExtension) return `${name} (CA:${ext.ca ? 'TRUE' : 'FALSE'})`;
  if (ext instanceof x509.ExtendedKeyUsageExtension) return `${name} (${ext.usages.map((u) => Object.entries(x509.ExtendedKeyUsage).find(([, v]) => v === u)?.[0] ?? u).join(', ')})`;
  return name;
}

/** Reads a PKCS#10 CSR, verifies its signature, and returns what it asks for plus its public key. */
export async function readCsr(pemText: string, name: string): Promise<{ request: CsrRequest; publicKey: KeyObject }> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pemOrDer(pemText));
  } catch {
    throw new KeygateError('PKI_INPUT_INVALID', `failed to read the CSR ${name}: not a PEM or DER PKCS#10 request`, { hint: 'make one with: openssl req -new -key app.key -subj /CN=app -out app.csr' });
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  } catch {
    throw new KeygateError('PKI_INPUT_INVALID', `failed to read the CSR ${name}: its public key cannot be parsed`, {});
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch {
    ok = false;
  }
  if (!ok) throw new KeygateError('PKI_INPUT_INVALID', `refused the CSR ${name}: its signature does not verify (altered, or not signed by its own key)`, { hint: 'make a new CSR with the private key it names' });
  const subject: [string, string][] = [];
  for (const rdn of csr.subjectName.toJSON()) for (const [type, values] of Object.entries(rdn)) for (const v of values) subject.push([SHORT_NAMES[type] ?? type, v]);
  const sans: San[] = [];
  const other: string[] = [];
  for (const ext of csr.extensions) {
    if (ext instanceof x509.SubjectAlternativeNameExtension) {
      for (const n of ext.names.items) {
        const t = ({ dns: 'dns', ip: 'ip', email: 'email', url: 'uri' } as Record<string, SanType>)[n.type];
        if (t) sans.push({ type: t, value: n.value });
        else other.push(`subjectAltName ${n.type}:${n.value}`);
      }
    } else other.push(describeExtension(ext));
  }
  return { request: { subject, sans, otherExtensions: other }, publicKey };
}

/** A CSR made here (tests, docs, and keystore csr through createServerCsr). */
export async function createCsr(subject: readonly Rdn[], key: KeyObject, extensions: x509.Extension[]): Promise<string> {
  const signer = await webSigningKey(key);
  const publicKey = await webcrypto.subtle.importKey('spki', spkiOf(key), signingParams(key).importAlg, true, ['verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: jsonName(subject),
    keys: { privateKey: signer.key, publicKey: publicKey as unknown as CryptoKey },
    signingAlgorithm: signer.algorithm,
    extensions,
  });
  return csr.toString('pem') + '\n';
}

/** A server CSR (keygate keystore csr): the subject and the SANs as a requested subjectAltName extension. */
export async function createServerCsr(subject: readonly Rdn[], key: KeyObject, sans: readonly San[]): Promise<string> {
  return createCsr(subject, key, [new x509.SubjectAlternativeNameExtension(sans.map((s) => ({ type: GENERAL_NAME[s.type], value: s.value })), subject.length === 0)]);
}

export interface CrlEntry {
  readonly serial: string;
  readonly date: Date;
  readonly reason: CrlReason;
}

/**
 * A CRL signed by the CA: the previous CRL's entries (its signature checked against the CA) plus the new ones,
 * CRL number one higher, AKI. PEM label `X509 CRL`: @peculiar/x509 writes `CRL`, which OpenSSL 3 and Node's
 * tls `crl` option refuse (notes/mtls-backend-pki.md §1.5).
 */
export async function buildCrl(ca: LoadedCa, previousPem: string | undefined, add: readonly CrlEntry[], now: Date, nextUpdate: Date): Promise<{ pem: string; number: number; entries: CrlEntry[] }> {
  const entries: CrlEntry[] = [];
  let number = 1;
  if (previousPem !== undefined) {
    let prev: x509.X509Crl;
    try {
      prev = new x509.X509Crl(pemOrDer(previousPem));
    } catch {
      throw new KeygateError('PKI_INPUT_INVALID', 'failed to read the existing CRL: not a PEM or DER CRL', { hint: 'move it away to start a new CRL (its revocations are lost)' });
    }
    if (!(await prev.verify({ publicKey: ca.cert }).catch(() => false))) {
      throw new KeygateError('PKI_INPUT_INVALID', 'refused to extend the existing CRL: it is not signed by this CA', { hint: 'pass the CRL of this CA with --out, or another file name' });
    }
    for (const e of prev.entries) {
      const reason = (Object.entries(CRL_REASONS).find(([, c]) => c === e.reason)?.[0] ?? 'unspecified') as CrlReason;
      entries.push({ serial: e.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''), date: e.revocationDate, reason });
    }
    const n = prev.extensions.find((x) => x.type === OID_CRL_NUMBER);
    if (n) number = crlNumberOf(Buffer.from(n.value)) + 1;
  }
  for (const e of add) if (!entries.some((x) => x.serial === e.serial)) entries.push(e);
  const signer = await webSigningKey(ca.key);
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName,
    thisUpdate: now,
    nextUpdate,
    entries: entries.map((e) => ({ serialNumber: e.serial.length % 2 ? `0${e.serial}` : e.serial, revocationDate: e.date, reason: CRL_REASONS[e.reason] as number as x509.X509CrlReason })),
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(ab(Buffer.from(ca.cert.publicKey.rawData))), new x509.Extension(OID_CRL_NUMBER, false, ab(int(number)))],
  });
  const pem = crl.toString('pem').replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, (_m, which: string) => `-----${which} X509 CRL-----`) + '\n';
  return { pem, number, entries };
}

function crlNumberOf(der: Buffer): number {
  if (der[0] !== 0x02 || der[1]! > 8) return 0;
  return Number(BigInt(`0x${der.subarray(2, 2 + der[1]!).toString('hex') || '0'}`));
}

/** The p12 for a key + certificate (+ chain), in the named profile. */
export function makePkcs12(
  keyPem: string,
  certPem: string,
  chainPems: readonly string[],
  alias: string,
  password: Secret,
  profile: P12ProfileName,
  extraKeys: readonly { readonly pem: string; readonly alias: string }[] = [],
): Buffer {
  const key = createPrivateKey(keyPem);
  const certDer = (p: string): Buffer => Buffer.from(new x509.X509Certificate(pemOrDer(p)).rawData);
  const cert = new x509.X509Certificate(pemOrDer(certPem));
  if (!spkiOf(key).equals(Buffer.from(cert.publicKey.rawData))) {
    throw new KeygateError('PKI_INPUT_INVALID', 'refused to bundle: the key does not belong to the certificate', { hint: 'pass the key issued together with this certificate' });
  }
  return buildPkcs12({
    keyPkcs8: key.export({ type: 'pkcs8', format: 'der' }),
    cert: Buffer.from(cert.rawData),
    chain: chainPems.map(certDer),
    alias,
    password: password.reveal(),
    profile: P12_PROFILES[profile],
    extraKeys: extraKeys.map((k) => ({ keyPkcs8: createPrivateKey(k.pem).export({ type: 'pkcs8', format: 'der' }), alias: k.alias })),
  });
}

/** The key as PEM: encrypted at rest (PBES2, CA_KEY_ITERATIONS) when a password is given, else plain PKCS#8. */
export function keyPem(key: KeyObject, password: Secret | undefined): string {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  return password ? encryptPrivateKey(der, password.reveal(), CA_KEY_ITERATIONS) : (key.export({ type: 'pkcs8', format: 'pem' }) as string);
}

/** Reads an unencrypted private key PEM (a leaf key for `pki p12`). */
export function readPrivateKey(pemText: string, name: string): KeyObject {
  try {
    return createPrivateKey(pemText);
  } catch {
    throw new KeygateError('PKI_INPUT_INVALID', `failed to read the key ${name}: not an unencrypted PEM private key`, { hint: 'pass the .key written by keygate pki issue' });
  }
}

// ---- inspect -----------------------------------------------------------------------------------------------

export type InspectReport = Record<string, unknown> & { kind: 'certificate' | 'csr' | 'crl' };

const algName = (a: { name: string; hash?: { name: string } } | Algorithm): string => {
  const h = (a as { hash?: { name: string } }).hash?.name;
  return h ? `${a.name} ${h}` : a.name;
};

function sansOf(ext: x509.SubjectAlternativeNameExtension | null): string[] {
  return ext ? ext.names.items.map((n) => `${({ dns: 'DNS', ip: 'IP', email: 'email', url: 'URI' } as Record<string, string>)[n.type] ?? n.type}:${n.value}`) : [];
}

/** What a PEM/DER file holds: certificate, CSR or CRL, as plain data for text or --json output. */
export async function inspect(bytes: Buffer, name: string): Promise<InspectReport> {
  const text = bytes.toString('latin1');
  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
  const input: string | Uint8Array<ArrayBuffer> = label ? text : ab(bytes);
  if (label === 'CERTIFICATE' || label === undefined) {
    try {
      const c = new x509.X509Certificate(input);
      const bc = c.getExtension(x509.BasicConstraintsExtension);
      const ku = c.getExtension(x509.KeyUsagesExtension);
      const eku = c.getExtension(x509.ExtendedKeyUsageExtension);
      const nc = c.getExtension(OID_NAME_CONSTRAINTS);
      const spki = createPublicKey({ key: Buffer.from(c.publicKey.rawData), format: 'der', type: 'spki' });
      return {
        kind: 'certificate',
        subject: c.subject,
        issuer: c.issuer,
        serial: normalizeSerial(c.serialNumber),
        notBefore: c.notBefore.toISOString(),
        notAfter: c.notAfter.toISOString(),
        sha256: Buffer.from(await c.getThumbprint('SHA-256')).toString('hex'),
        key: keyDescription(spki),
        signature: algName(c.signatureAlgorithm),
        selfSigned: await c.isSelfSigned(),
        ca: bc ? { ca: bc.ca, ...(bc.pathLength !== undefined ? { pathLength: bc.pathLength } : {}) } : null,
        keyUsage: ku ? Object.entries(x509.KeyUsageFlags).filter(([k, v]) => typeof v === 'number' && ku.usages & v && isNaN(Number(k))).map(([k]) => k) : [],
        extKeyUsage: eku ? eku.usages.map((u) => Object.entries(x509.ExtendedKeyUsage).find(([, v]) => v === u)?.[0] ?? String(u)) : [],
        sans: sansOf(c.getExtension(x509.SubjectAlternativeNameExtension)),
        ...(nc ? { nameConstraints: safeNc(new Uint8Array(nc.value)) } : {}),
      };
    } catch (err) {
      if (label === 'CERTIFICATE') throw new KeygateError('PKI_INPUT_INVALID', `failed to read ${name}: a CERTIFICATE block that does not parse`, { cause: err });
    }
  }
  if (label === 'CERTIFICATE REQUEST' || label === 'NEW CERTIFICATE REQUEST' || label === undefined) {
    try {
      const { request, publicKey } = await readCsr(typeof input === 'string' ? input : Buffer.from(input).toString('latin1'), name).catch(async (err) => {
        if (err instanceof KeygateError && /signature does not verify/.test(err.message)) return { request: undefined, publicKey: undefined };
        throw err;
      });
      const csr = new x509.Pkcs10CertificateRequest(input);
      return {
        kind: 'csr',
        subject: csr.subject,
        signatureValid: request !== undefined,
        key: publicKey ? keyDescription(publicKey) : null,
        signature: algName(csr.signatureAlgorithm),
        sans: sansOf((csr.extensions.find((e) => e instanceof x509.SubjectAlternativeNameExtension) as x509.SubjectAlternativeNameExtension | undefined) ?? null),
        requestedExtensions: csr.extensions.filter((e) => !(e instanceof x509.SubjectAlternativeNameExtension)).map(describeExtension),
      };
    } catch (err) {
      if (label !== undefined) throw new KeygateError('PKI_INPUT_INVALID', `failed to read ${name}: a ${label} block that does not parse`, { cause: err });
    }
  }
  if (label === 'X509 CRL' || label === 'CRL' || label === undefined) {
    try {
      const crl = new x509.X509Crl(input);
      const n = crl.extensions.find((x) => x.type === OID_CRL_NUMBER);
      return {
        kind: 'crl',
        issuer: crl.issuer,
        thisUpdate: crl.thisUpdate.toISOString(),
        nextUpdate: crl.nextUpdate?.toISOString() ?? null,
        number: n ? crlNumberOf(Buffer.from(n.value)) : null,
        signature: algName(crl.signatureAlgorithm),
        pemLabel: label ?? 'DER',
        revoked: crl.entries.map((e) => ({
          serial: normalizeSerial(e.serialNumber),
          date: e.revocationDate.toISOString(),
          reason: Object.entries(CRL_REASONS).find(([, c]) => c === e.reason)?.[0] ?? (e.reason === undefined ? null : String(e.reason)),
        })),
      };
    } catch (err) {
      if (label !== undefined) throw new KeygateError('PKI_INPUT_INVALID', `failed to read ${name}: a ${label} block that does not parse`, { cause: err });
    }
  }
  throw new KeygateError('PKI_INPUT_INVALID', `failed to read ${name}: not a certificate, CSR or CRL${label ? ` (PEM ${label})` : ''}`, { hint: 'keygate pki inspect reads .crt, .csr and .crl files, PEM or DER' });
}

function safeNc(der: Uint8Array): unknown {
  try {
    const nc = decodeNameConstraints(der);
    return { permittedDns: nc.permittedDns, permittedIp: nc.permittedIp.map(formatCidr) };
  } catch (err) {
    return { unreadable: (err as PolicyError).message };
  }
}

function keyDescription(k: KeyObject): string {
  const d = k.asymmetricKeyDetails ?? {};
  if (k.asymmetricKeyType === 'rsa') return `RSA ${d.modulusLength}`;
  if (k.asymmetricKeyType === 'ec') return `EC ${d.namedCurve === 'prime256v1' ? 'P-256' : d.namedCurve === 'secp384r1' ? 'P-384' : d.namedCurve}`;
  return (k.asymmetricKeyType ?? 'unknown').toUpperCase();
}
