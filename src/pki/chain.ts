// What `keystore import` accepts (docs/certificates.md): the certificates a CA sent back, read from PEM or PKCS#7
// (.p7b, PEM or DER), and the checks before they go into the keystore: the certificate is for the keystore's key,
// the chain runs leaf → each issuer (verified signatures) up to a root (in the bundle or given to check against),
// PEM input is in that order (a PKCS#7 certificate set has no order, so it is put in order), and the names are the
// ones the request asked for. Refusals are KeygateErrors with one line and a fix.

import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { KeygateError } from '../errors.js';
import { childrenOf, pemBlocks, readTlv } from '../core/der.js';
import { ipBytes } from './policy.js';

const OID_SIGNED_DATA = Buffer.from('06092a864886f70d010702', 'hex'); // 1.2.840.113549.1.7.2

/** The certificates in a file: PEM CERTIFICATE blocks (ordered), PEM PKCS7, DER PKCS#7 or one DER certificate. */
export function readCertificates(bytes: Buffer, name: string): { certs: X509Certificate[]; ordered: boolean } {
  const text = bytes.toString('latin1');
  const bad = (what: string): KeygateError =>
    new KeygateError('PKI_INPUT_INVALID', `failed to read ${name}: ${what}`, { hint: 'pass the PEM certificate(s) or the .p7b file your CA sent (openssl x509 -in FILE -noout -subject shows what a PEM holds)' });
  const parse = (der: Buffer): X509Certificate => {
    try {
      return new X509Certificate(der);
    } catch {
      throw bad('a certificate in it does not parse');
    }
  };
  if (/-----BEGIN /.test(text)) {
    const p7 = [...pemBlocks(text, 'PKCS7'), ...pemBlocks(text, 'CMS')];
    if (p7.length) return { certs: p7.flatMap((d) => pkcs7Certificates(d, bad)).map(parse), ordered: false };
    const pems = pemBlocks(text, 'CERTIFICATE');
    if (pems.length === 0) throw bad(/PRIVATE KEY-----/.test(text) ? 'it holds a private key, no certificate (never send or keep a key in the clear: keygate keystore csr makes it inside the keystore)' : 'no CERTIFICATE or PKCS7 block');
    return { certs: pems.map(parse), ordered: true };
  }
  if (bytes.length > 20 && bytes.subarray(0, 24).includes(OID_SIGNED_DATA)) return { certs: pkcs7Certificates(bytes, bad).map(parse), ordered: false };
  return { certs: [parse(bytes)], ordered: true };
}

/** SignedData's `certificates [0] IMPLICIT SET OF Certificate` (RFC 5652 §5.1), each as its DER. */
function pkcs7Certificates(der: Buffer, bad: (what: string) => KeygateError): Buffer[] {
  try {
    const top = readTlv(der, 0);
    const [type, content] = childrenOf(der, top);
    if (!type || !content || !der.subarray(type.head, type.end).equals(OID_SIGNED_DATA) || content.tag !== 0xa0) throw new Error('not SignedData');
    const signed = childrenOf(der, content)[0]!;
    const certSet = childrenOf(der, signed).find((t) => t.tag === 0xa0);
    if (!certSet) return [];
    return childrenOf(der, certSet)
      .filter((t) => t.tag === 0x30)
      .map((t) => Buffer.from(der.subarray(t.head, t.end)));
  } catch {
    throw bad('not a PKCS#7 certificate bundle');
  }
}

const spki = (k: KeyObject): Buffer => (k.type === 'private' ? createPublicKey(k) : k).export({ type: 'spki', format: 'der' });
const subjectOf = (c: X509Certificate): string => c.subject.replace(/\n/g, ', ');
const selfSigned = (c: X509Certificate): boolean => c.checkIssued(c) && c.verify(c.publicKey);
/** Whether `issuer` issued `c`: names and key identifiers (checkIssued) and the signature. */
const issued = (c: X509Certificate, issuer: X509Certificate): boolean => c.checkIssued(issuer) && c.verify(issuer.publicKey);

/** A certificate's DNS and IP SANs as `DNS:x` / `IP:y` (IPs in one canonical form), sorted. */
export function sanSet(c: X509Certificate): string[] {
  const out = new Set<string>();
  for (const part of (c.subjectAltName ?? '').split(', ')) {
    const m = /^(DNS|IP Address):(.+)$/.exec(part.trim());
    if (!m) continue;
    if (m[1] === 'DNS') out.add(`DNS:${m[2]!.toLowerCase()}`);
    else out.add(`IP:${canonicalIp(m[2]!)}`);
  }
  return [...out].sort();
}

function canonicalIp(ip: string): string {
  try {
    const b = ipBytes(ip);
    if (b.length === 4) return b.join('.');
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
    return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
  } catch {
    return ip;
  }
}

export interface ImportPlan {
  readonly leaf: X509Certificate;
  /** Intermediates, leaf's issuer first, then the root when the bundle had it. */
  readonly chain: X509Certificate[];
  /** The root the chain ends at (from the bundle or --root); none for an ACME chain that stops below it. */
  readonly root: X509Certificate | undefined;
  readonly rootFromBundle: boolean;
}

/**
 * The checks of `keystore import`, in the order a user fixes them: the key, the chain (complete, then ordered),
 * the names. `requested` are the names the request asked for (the placeholder's, or the current certificate's).
 */
export function planImport(input: {
  key: KeyObject;
  certs: X509Certificate[];
  ordered: boolean;
  roots: X509Certificate[];
  requested: readonly string[];
  file: string;
  /** ACME (RFC 8555 §7.4.2): the CA sends the leaf and its intermediates, not the root the clients hold. */
  rootOptional?: boolean;
}): ImportPlan {
  const { certs, file } = input;
  const keySpki = spki(input.key);
  const leaf = certs.find((c) => spki(c.publicKey).equals(keySpki));
  if (!leaf) {
    throw new KeygateError('IMPORT_KEY_MISMATCH', `refused to import ${file}: none of its ${certs.length} certificate(s) is for the keystore's key (it has ${certs.map(subjectOf).join('; ')})`, {
      hint: 'import the certificate your CA issued for the request keygate keystore csr wrote with this keystore (a request made again with --force has a new key)',
    });
  }
  // Walk from the leaf through the bundle: each certificate's issuer, once, up to a self-signed root.
  const chain: X509Certificate[] = [];
  let current = leaf;
  let root: X509Certificate | undefined;
  let rootFromBundle = false;
  for (;;) {
    if (current !== leaf && selfSigned(current)) {
      root = current;
      rootFromBundle = true;
      break;
    }
    const next = certs.find((c) => c !== current && c !== leaf && !chain.includes(c) && issued(current, c));
    if (!next) {
      root = input.roots.find((r) => selfSigned(r) && issued(current, r));
      if (!root && input.rootOptional) break; // the CA did not send its root (a one-tier CA: not even an intermediate)
      if (!root) {
        const missing = current === leaf && certs.length === 1 ? 'holds the certificate alone' : `ends at ${subjectOf(current)}`;
        throw new KeygateError('IMPORT_CHAIN_INCOMPLETE', `refused to import ${file}: the chain is incomplete: it ${missing}, issued by ${current.issuer.replace(/\n/g, ', ')}, which is neither in it nor a root given with --root`, {
          hint: 'add the missing intermediate certificate(s) after the leaf, or pass the CA\'s root certificate with --root root.crt (it checks the chain; clients hold it)',
        });
      }
      break;
    }
    if (!next.ca) {
      throw new KeygateError('IMPORT_CHAIN_INCOMPLETE', `refused to import ${file}: ${subjectOf(next)} signed ${subjectOf(current)} but is not a CA certificate (CA:TRUE)`, {
        hint: 'ask your CA for its intermediate and root certificates',
      });
    }
    chain.push(next);
    current = next;
  }
  const used = [leaf, ...chain];
  const stray = certs.filter((c) => !used.includes(c));
  const order = used.map(subjectOf).join(' → ');
  if (stray.length) {
    throw new KeygateError('IMPORT_CHAIN_ORDER', `refused to import ${file}: ${stray.map(subjectOf).join('; ')} belongs to no chain of the certificate (${order})`, {
      hint: 'leave out certificates of other chains: keep the leaf and its issuers only',
    });
  }
  if (input.ordered && used.some((c, i) => certs[i] !== c)) {
    throw new KeygateError('IMPORT_CHAIN_ORDER', `refused to import ${file}: the certificates are out of order (given: ${certs.map(subjectOf).join(' → ')}; a chain goes ${order})`, {
      hint: 'put them leaf first, then each issuer: cat leaf.crt intermediate.crt [root.crt] > chain.pem',
    });
  }
  const got = sanSet(leaf);
  const missing = input.requested.filter((n) => !got.includes(n));
  const extra = got.filter((n) => !input.requested.includes(n));
  if (missing.length || extra.length) {
    throw new KeygateError(
      'IMPORT_NAME_MISMATCH',
      `refused to import ${file}: the certificate names ${got.join(' ') || 'nothing'}, the request asked for ${input.requested.join(' ')}${missing.length ? `; missing ${missing.join(' ')}` : ''}${extra.length ? `; not asked for ${extra.join(' ')}` : ''}`,
      { hint: 'ask your CA to issue it with the requested names, or make a new request with the names you need: keygate keystore csr --force --dns …' },
    );
  }
  return { leaf, chain, root, rootFromBundle };
}
