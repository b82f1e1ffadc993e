// keygate pki: a dev PKI (docs/pki.md). `ca create`, `issue server|client`, `sign-csr`, `p12`, `crl`, `inspect`.
// Profiles and policy: src/pki/policy.ts (pure). Crypto: src/pki/engine.ts, a late part loaded only here
// (and by keystore create --ca-cert), so verify and serve never parse @peculiar/x509.
// Passwords come from files (or a prompt on a terminal), never argv; keys are written 0600 through a temp file
// and a rename; nothing is overwritten without --force (the CRL is the one file updated in place: it is
// cumulative, and each update keeps the earlier revocations).

import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { EXIT, KeygateError, describeCause } from '../errors.js';
import type { Context, Handler } from '../context.js';
import { Secret } from '../adapters/secret.js';
import { fileExists, readWhole, writeAtomicIn } from '../adapters/files.js';
import { readPasswordFile } from './keystore-create.js';
import { EXIT_EPILOGUE, type Choose } from './common.js';
import {
  CRL_REASONS,
  LIFETIME,
  caPlan,
  checkSubjectNames,
  cnProblem,
  decideCsr,
  formatCidr,
  leafPlan,
  normalizeSerial,
  parseCidr,
  parseDnsConstraint,
  parseDuration,
  parseSan,
  parseSubject,
  sanText,
  validity,
  type CrlReason,
  type KeyType,
  type LeafKind,
  type P12ProfileName,
  type Rdn,
  type San,
} from '../pki/policy.js';
import { promptPassword } from '../pki/prompt.js';

type Engine = typeof import('../pki/engine.js');
type CrlEntry = import('../pki/engine.js').CrlEntry;
/** The crypto part, compiled on first use (scripts/build.mjs LATE). */
const engine = (): Promise<Engine> => import('../pki/engine.js');

/**
 * Runs a pki action; a policy refusal from the pure core (PolicyError, matched by name: the late part has its
 * own copy of the class) becomes PKI_POLICY with the message as it is.
 */
function pkiAction(action: (ctx: Context, a: Record<string, unknown>) => Promise<void>): Handler {
  return async (ctx, a) => {
    try {
      await action(ctx, a);
    } catch (err) {
      if (err instanceof Error && err.name === 'PolicyError') throw new KeygateError('PKI_POLICY', `refused: ${err.message}`, { hint: 'see docs/pki.md for what each profile allows' });
      throw err;
    }
    return EXIT.OK;
  };
}

const path = (ctx: Context, p: unknown): string => resolve(ctx.io.cwd, String(p));

function readInput(file: string, what: string): string {
  try {
    return readWhole(file).toString('latin1');
  } catch (err) {
    throw new KeygateError('PKI_INPUT_INVALID', `failed to read ${what} ${file}: ${describeCause(err)}`, { hint: `pass an existing ${what} file` });
  }
}

/** Refuses before anything is generated when an output exists and --force is not given. */
function assertWritable(files: readonly string[], force: boolean): void {
  if (force) return;
  const existing = files.filter((f) => fileExists(f));
  if (existing.length) {
    throw new KeygateError('PKI_EXISTS', `refused to overwrite ${existing.join(', ')}`, { hint: 'choose other output files, or pass --force (an overwritten key is lost)' });
  }
}

/**
 * A password from --<flag> FILE, else asked on the terminal (twice when `confirm`), else a usage error: an
 * unattended run must never wait for input.
 */
async function passwordFrom(ctx: Context, file: unknown, flag: string, question: string, confirm: boolean): Promise<Secret> {
  if (typeof file === 'string') return readPasswordFile(path(ctx, file));
  const asked = await promptPassword(question, confirm);
  if (asked === undefined) throw new KeygateError('USAGE', `failed to get a password: no --${flag} and no terminal to ask on`, { hint: `pass --${flag} FILE (the password on its first line, file mode 0600)` });
  if (asked.length < 8 || /[^\x20-\x7e]/.test(asked)) throw new KeygateError('USAGE', 'refused the password: use at least 8 printable ASCII characters', {});
  return new Secret(asked);
}

/** --ca-cert / --ca-key / --ca-password-file / --insecure → the loaded CA. */
async function loadCaFrom(ctx: Context, a: Record<string, unknown>, e: Engine) {
  const certFile = path(ctx, a['ca-cert']);
  const keyFile = path(ctx, a['ca-key']);
  const certPem = readInput(certFile, 'CA certificate');
  const keyPemText = readInput(keyFile, 'CA key');
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(keyPemText);
  const password = encrypted ? await passwordFrom(ctx, a['ca-password-file'], 'ca-password-file', `password for the CA key ${keyFile}: `, false) : undefined;
  return e.loadCa(certPem, keyPemText, password, Boolean(a['insecure']), { cert: certFile, key: keyFile });
}

const sanList = (sans: readonly San[]): string => (sans.length ? ` [${sans.map(sanText).join(' ')}]` : '');

const subjectText = (rdns: readonly Rdn[]): string => rdns.map((r) => `${r.type}=${r.value.replace(/([,\\])/g, '\\$1')}`).join(', ');

// ---- ca create ---------------------------------------------------------------------------------------------

const caCreate = pkiAction(async (ctx, a) => {
  const subject = parseSubject(String(a['subject']));
  const permitted = { permittedDns: (a['permit-dns'] as string[] | undefined ?? []).map(parseDnsConstraint), permittedIp: (a['permit-ip'] as string[] | undefined ?? []).map(parseCidr) };
  const plan = caPlan(permitted);
  const v = validity('ca', a['days'] as number | undefined, new Date());
  const certFile = path(ctx, a['cert']);
  const keyFile = path(ctx, a['key']);
  const insecure = Boolean(a['insecure']);
  if (insecure && a['password-file'] !== undefined) throw new KeygateError('USAGE', 'failed to parse flags: --insecure (an unencrypted CA key) and --password-file exclude each other', { hint: 'drop one of them' });
  assertWritable([certFile, keyFile], Boolean(a['force']));
  const password = insecure ? undefined : await passwordFrom(ctx, a['password-file'], 'password-file', 'password to encrypt the new CA key: ', true);
  const e = await engine();
  const key = e.generateKey(a['key-type'] as KeyType, a['rsa-bits'] as number);
  const certPem = await e.createCaCertificate(subject, key, plan, v);
  writeAtomicIn(keyFile, e.keyPem(key, password), 0o600);
  writeAtomicIn(certFile, certPem, 0o644);
  if (insecure) ctx.log.warn(`the CA key ${keyFile} is NOT encrypted (--insecure): anyone who reads it can issue certificates your peers trust`);
  const nc = plan.nameConstraints ? `, names limited to ${[...plan.nameConstraints.permittedDns, ...plan.nameConstraints.permittedIp.map(formatCidr)].join(' ')}` : '';
  ctx.log.info(`created CA ${subjectText(subject)} (${describeKey(a)}, ${v.days} days, pathlen 0${nc}): ${certFile}, key ${keyFile}${insecure ? '' : ' (encrypted)'}`);
  ctx.io.stdout.write(`${certFile}\n`);
});

const describeKey = (a: Record<string, unknown>): string => (a['key-type'] === 'rsa' ? `RSA ${a['rsa-bits']}` : a['key-type'] === 'ed25519' ? 'Ed25519' : 'EC P-256');

// ---- issue server|client -------------------------------------------------------------------------------------

const issue = pkiAction(async (ctx, a) => {
  const kind = a['kind'] as LeafKind;
  const sans = ((a['san'] as string[] | undefined) ?? []).map(parseSan);
  const cn = a['cn'] as string | undefined;
  const subject: Rdn[] = a['subject'] !== undefined ? parseSubject(String(a['subject'])) : cn !== undefined ? parseSubject(`CN=${cn.replace(/([,\\])/g, '\\$1')}`) : [];
  // A client needs a name to be known by.
  if (subject.length === 0 && kind === 'client' && sans.length === 0) throw new KeygateError('USAGE', 'failed to issue a client certificate: give it a name with --cn (and/or --san email:…)', { hint: 'keygate pki issue client --cn alice' });
  const keyType = a['key-type'] as KeyType;
  const v = validity(kind, a['days'] as number | undefined, new Date());
  const certFile = path(ctx, a['cert'] ?? `pki/${kind}.crt`);
  const keyFile = path(ctx, a['key'] ?? certFile.replace(/\.(crt|pem|cer)$/i, '') + '.key');
  assertWritable([certFile, keyFile], Boolean(a['force']));
  const e = await engine();
  const ca = await loadCaFrom(ctx, a, e);
  const plan = leafPlan(kind, keyType, sans, ca.nameConstraints);
  // A server's CN is its first name (only for display: clients match SANs); an IP one only when OpenSSL will not
  // check it as a host name against the CA's DNS constraints (it does when there is no DNS SAN).
  if (subject.length === 0 && plan.sans[0]) subject.push({ type: 'CN', value: (plan.sans.find((x) => !cnProblem(kind, x.value, plan.sans, ca.nameConstraints)) ?? plan.sans[0]).value });
  checkSubjectNames(kind, subject, plan.sans, ca.nameConstraints);
  const key = e.generateKey(keyType, a['rsa-bits'] as number);
  const certPem = await e.issueCertificate(ca, subject, key, plan, v);
  writeAtomicIn(keyFile, e.keyPem(key, undefined), 0o600);
  writeAtomicIn(certFile, certPem, 0o644);
  ctx.log.info(`issued ${kind} certificate ${subjectText(subject)}${sanList(plan.sans)} (${describeKey(a)}, ${v.days} days, EKU ${plan.extKeyUsage.join(',')}): ${certFile}, key ${keyFile}`);
  ctx.io.stdout.write(`${certFile}\n`);
});

// ---- sign-csr -------------------------------------------------------------------------------------------

const signCsr = pkiAction(async (ctx, a) => {
  const kind = a['profile'] as LeafKind;
  const csrFile = path(ctx, a['csr']);
  const certFile = path(ctx, a['cert'] ?? csrFile.replace(/\.(csr|req|pem)$/i, '') + '.crt');
  const v = validity(kind, a['days'] as number | undefined, new Date());
  assertWritable([certFile], Boolean(a['force']));
  const e = await engine();
  const { request, publicKey } = await e.readCsr(readInput(csrFile, 'CSR'), csrFile);
  const keyType = e.keyTypeOf(publicKey);
  const ca = await loadCaFrom(ctx, a, e);
  const decision = decideCsr(kind, request, ca.nameConstraints);
  for (const d of decision.dropped) ctx.log.warn(`sign-csr: left out ${d}`);
  const plan = leafPlan(kind, keyType, decision.sans, ca.nameConstraints);
  const certPem = await e.issueCertificate(ca, decision.subject, publicKey, plan, v);
  writeAtomicIn(certFile, certPem, 0o644);
  ctx.log.info(`signed ${csrFile} as a ${kind} certificate ${subjectText(decision.subject)}${sanList(plan.sans)} (${v.days} days, EKU ${plan.extKeyUsage.join(',')}): ${certFile}`);
  ctx.io.stdout.write(`${certFile}\n`);
});

// ---- p12 ---------------------------------------------------------------------------------------------

const p12 = pkiAction(async (ctx, a) => {
  const certFile = path(ctx, a['cert']);
  const keyFile = path(ctx, a['key'] ?? certFile.replace(/\.(crt|pem|cer)$/i, '') + '.key');
  const out = path(ctx, a['out'] ?? certFile.replace(/\.(crt|pem|cer)$/i, '') + '.p12');
  const chain = ((a['chain'] as string[] | undefined) ?? []).map((c) => path(ctx, c));
  const profile = a['profile'] as P12ProfileName;
  assertWritable([out], Boolean(a['force']));
  const password = await passwordFrom(ctx, a['password-file'], 'password-file', `password for ${out}: `, true);
  const e = await engine();
  const certPem = readInput(certFile, 'certificate');
  const keyPemText = readInput(keyFile, 'key');
  e.readPrivateKey(keyPemText, keyFile);
  let bytes: Buffer;
  try {
    bytes = e.makePkcs12(keyPemText, certPem, chain.map((c) => readInput(c, 'chain certificate')), String(a['alias']), password, profile);
  } catch (err) {
    if (err instanceof KeygateError) throw err;
    throw new KeygateError('PKI_INPUT_INVALID', `failed to bundle ${certFile}: ${describeCause(err)}`, { hint: 'pass PEM certificates written by keygate pki' });
  }
  writeAtomicIn(out, bytes, 0o600);
  ctx.log.info(`wrote ${out} (${profile === 'modern' ? 'AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC' : 'compat: 3DES, SHA-1 MAC'}; alias ${a['alias']}; ${1 + chain.length} certificate${chain.length ? 's' : ''})`);
  ctx.io.stdout.write(`${out}\n`);
});

// ---- crl --------------------------------------------------------------------------------------------------

const crl = pkiAction(async (ctx, a) => {
  const out = path(ctx, a['out']);
  const reason = a['reason'] as CrlReason;
  const nextMs = parseDuration(String(a['next-update']));
  const e = await engine();
  const ca = await loadCaFrom(ctx, a, e);
  const now = new Date();
  const add: CrlEntry[] = [];
  for (const r of (a['revoke'] as string[] | undefined) ?? []) add.push(await revokeEntry(r));
  async function revokeEntry(r: string): Promise<CrlEntry> {
    // A certificate file, or a serial as `openssl x509 -serial` / `keygate pki inspect` print it.
    const file = path(ctx, r);
    if (fileExists(file)) {
      const c = await e.certificateInfo(readInput(file, 'certificate to revoke'), file);
      if (!(await e.issuedBy(c, ca))) throw new KeygateError('PKI_INPUT_INVALID', `refused to revoke ${file}: it was not issued by this CA (issuer ${c.issuer})`, {});
      return { serial: normalizeSerial(c.serialNumber), date: now, reason };
    }
    return { serial: normalizeSerial(r), date: now, reason };
  }
  const previous = fileExists(out) ? readInput(out, 'CRL') : undefined;
  const made = await e.buildCrl(ca, previous, add, now, new Date(now.getTime() + nextMs));
  writeAtomicIn(out, made.pem, 0o644);
  ctx.log.info(`wrote CRL #${made.number} ${out}: ${made.entries.length} revoked, next update ${new Date(now.getTime() + nextMs).toISOString()}`);
  ctx.io.stdout.write(`${out}\n`);
});

// ---- inspect ------------------------------------------------------------------------------------------------

const inspectAction = pkiAction(async (ctx, a) => {
  const file = path(ctx, a['file']);
  let bytes: Buffer;
  try {
    bytes = readWhole(file);
  } catch (err) {
    throw new KeygateError('PKI_INPUT_INVALID', `failed to read ${file}: ${describeCause(err)}`, {});
  }
  const report = await (await engine()).inspect(bytes, file);
  // one write: a reader that stops early (| head) gets whole lines
  if (a['json']) ctx.io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else ctx.io.stdout.write(Object.entries(report).map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}\n`).join(''));
});

// ---- yargs -----------------------------------------------------------------------------------------------

function caInput<T>(y: Argv<T>) {
  return y
    .option('ca-cert', { type: 'string', default: 'pki/ca.crt', describe: 'the CA certificate' })
    .option('ca-key', { type: 'string', default: 'pki/ca.key', describe: 'the CA key (encrypted PKCS#8)' })
    .option('ca-password-file', { type: 'string', describe: 'file holding the CA key password (else asked on the terminal)' })
    .option('insecure', { type: 'boolean', default: false, describe: 'accept an unencrypted CA key' });
}

const days = (kind: keyof typeof LIFETIME) => ({ type: 'number', describe: `validity in days (default ${LIFETIME[kind].default}, at most ${LIFETIME[kind].max})` }) as const;
const force = { type: 'boolean', default: false, describe: 'overwrite existing files' } as const;

/** yargs adapter: `keygate pki <command>`. */
export function pkiCommand(choose: Choose): CommandModule {
  return {
    command: 'pki',
    describe: 'a dev PKI: CA, server and client certificates, CSR signing, PKCS#12, CRL (docs/pki.md)',
    builder: (y) =>
      y
        .command({
          command: 'ca <action>',
          describe: 'create a CA (EC P-256, pathlen 0, key encrypted at rest)',
          builder: (c) =>
            c
              .positional('action', { choices: ['create'] as const })
              .option('subject', { type: 'string', default: 'CN=keygate dev CA', describe: 'subject, e.g. "CN=Acme dev CA,O=Acme"' })
              .option('key-type', { choices: ['ec', 'rsa', 'ed25519'] as const, default: 'ec', describe: 'key type' })
              .option('rsa-bits', { choices: [2048, 3072, 4096] as const, default: 3072, describe: 'RSA key size' })
              .option('days', days('ca'))
              .option('permit-dns', { type: 'string', array: true, describe: 'name constraint: host names under this domain only (repeat)' })
              .option('permit-ip', { type: 'string', array: true, describe: 'name constraint: addresses in this CIDR only (repeat)' })
              .option('cert', { type: 'string', default: 'pki/ca.crt', describe: 'CA certificate to write' })
              .option('key', { type: 'string', default: 'pki/ca.key', describe: 'CA key to write (0600, encrypted)' })
              .option('password-file', { type: 'string', describe: 'file holding the password that encrypts the key (else asked on the terminal)' })
              .option('insecure', { type: 'boolean', default: false, describe: 'write the CA key unencrypted' })
              .option('force', force)
              .example('$0 pki ca create --password-file ca.pw --permit-dns localhost --permit-dns .test --permit-ip 127.0.0.0/8', 'a CA that can only name local hosts')
              .epilogue(EXIT_EPILOGUE),
          handler: choose(caCreate),
        })
        .command({
          command: 'issue <kind>',
          describe: 'issue a server (serverAuth) or client (clientAuth) certificate and its key',
          builder: (c) =>
            caInput(c.positional('kind', { choices: ['server', 'client'] as const }))
              .option('san', { type: 'string', array: true, describe: 'DNS:name, IP:addr, email:addr, URI:uri (repeat; a server needs one)' })
              .option('cn', { type: 'string', describe: 'subject common name (default: the first SAN)' })
              .option('subject', { type: 'string', describe: 'full subject instead of --cn, e.g. "CN=alice,O=Acme"' })
              .conflicts('cn', 'subject')
              .option('key-type', { choices: ['ec', 'rsa'] as const, default: 'ec', describe: 'key type' })
              .option('rsa-bits', { choices: [2048, 3072, 4096] as const, default: 2048, describe: 'RSA key size' })
              .option('days', { type: 'number', describe: 'validity in days (default 397, at most 825)' })
              .option('cert', { type: 'string', describe: 'certificate to write (default pki/<kind>.crt)' })
              .option('key', { type: 'string', describe: 'key to write, 0600 (default: beside --cert, .key)' })
              .option('force', force)
              .example('$0 pki issue server --san DNS:localhost --san IP:127.0.0.1 --ca-password-file ca.pw', 'pki/server.crt + pki/server.key')
              .example('$0 pki issue client --cn alice --ca-password-file ca.pw --cert pki/alice.crt', 'pki/alice.crt + pki/alice.key')
              .epilogue(EXIT_EPILOGUE),
          handler: choose(issue),
        })
        .command({
          command: 'sign-csr',
          describe: 'sign a CSR: its subject and allowed SANs only, never its requested extensions',
          builder: (c) =>
            caInput(c)
              .option('csr', { type: 'string', demandOption: true, describe: 'the PKCS#10 request (PEM or DER)' })
              .option('profile', { choices: ['server', 'client'] as const, default: 'server', describe: 'which leaf profile to apply' })
              .option('days', { type: 'number', describe: 'validity in days (default 397, at most 825)' })
              .option('cert', { type: 'string', describe: 'certificate to write (default: beside --csr, .crt)' })
              .option('force', force)
              .example('$0 pki sign-csr --csr app.csr --profile server --ca-password-file ca.pw', 'app.crt')
              .epilogue(EXIT_EPILOGUE),
          handler: choose(signCsr),
        })
        .command({
          command: 'p12',
          describe: 'bundle a key and certificate (and the CA) into a PKCS#12 file for browsers, curl, Java or keygate',
          builder: (c) =>
            c
              .option('cert', { type: 'string', demandOption: true, describe: 'the certificate (PEM)' })
              .option('key', { type: 'string', describe: 'its key (default: beside --cert, .key)' })
              .option('chain', { type: 'string', array: true, describe: 'issuer certificates to include, e.g. pki/ca.crt (repeat)' })
              .option('out', { type: 'string', describe: 'p12 to write, 0600 (default: beside --cert, .p12)' })
              .option('password-file', { type: 'string', describe: 'file holding the p12 password (else asked on the terminal)' })
              .option('profile', { choices: ['modern', 'compat'] as const, default: 'modern', describe: 'modern: AES-256 + SHA-256 MAC; compat: 3DES + SHA-1 MAC (older macOS keychains)' })
              .option('alias', { type: 'string', default: 'keygate', describe: 'entry alias (friendlyName)' })
              .option('force', force)
              .example('$0 pki p12 --cert pki/alice.crt --chain pki/ca.crt --password-file alice.pw', 'pki/alice.p12')
              .epilogue(EXIT_EPILOGUE),
          handler: choose(p12),
        })
        .command({
          command: 'crl',
          describe: 'revoke certificates: write (or extend) the CA\'s CRL, PEM "X509 CRL"',
          builder: (c) =>
            caInput(c)
              .option('revoke', { type: 'string', array: true, describe: 'a certificate file or a serial (hex) to revoke (repeat; none: just re-sign)' })
              .option('reason', { choices: Object.keys(CRL_REASONS), default: 'unspecified', describe: 'revocation reason (RFC 5280)' })
              .option('next-update', { type: 'string', default: '7d', describe: 'when the next CRL is due (Nd, Nh or Nm)' })
              .option('out', { type: 'string', default: 'pki/ca.crl', describe: 'the CRL (its earlier entries are kept)' })
              .example('$0 pki crl --revoke pki/alice.crt --reason keyCompromise --ca-password-file ca.pw', 'pki/ca.crl')
              .epilogue(EXIT_EPILOGUE),
          handler: choose(crl),
        })
        .command({
          command: 'inspect <file>',
          describe: 'show what a certificate, CSR or CRL holds',
          builder: (c) => c.positional('file', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false, describe: 'JSON on stdout' }).epilogue(EXIT_EPILOGUE),
          handler: choose(inspectAction),
        })
        .demandCommand(1, 'name a pki command: ca create, issue, sign-csr, p12, crl, inspect')
        .epilogue(EXIT_EPILOGUE),
    handler: () => undefined,
  };
}
