// The error catalogue: every code keygate can stop with, its exit status and the default fix.
// docs/errors.md has one row per code; test/errors.test.ts fails when the two drift apart.

/** Exit statuses, one per class of failure, so scripts can tell "files differ" from "could not run". */
export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  INTEGRITY: 3,
  VAULT: 4,
  KEYSTORE: 5,
  SERVER: 6,
  INPUT: 7,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

interface CodeInfo {
  readonly exit: ExitStatus;
  readonly meaning: string;
}

/** Every error code with its exit status and one-line meaning (the docs table is checked against this). */
export const ERROR_CODES = {
  USAGE: { exit: EXIT.USAGE, meaning: 'a flag or argument is missing, unknown or malformed' },
  NOT_A_PROJECT: { exit: EXIT.USAGE, meaning: 'the folder (or the running entry\'s folder) is not a keygate project: no filelist.template, no manifest' },
  CONFIG_INVALID: { exit: EXIT.USAGE, meaning: 'keygate.config.json or a KEYGATE_* variable has a bad value' },
  TEMPLATE_UNREADABLE: { exit: EXIT.INPUT, meaning: 'the filelist template cannot be read, or is not a regular file (FIFO, device, folder)' },
  TEMPLATE_INVALID: { exit: EXIT.INPUT, meaning: 'a template line is malformed (bad glob, unknown variable, `..` escape, binary data)' },
  TEMPLATE_NO_MATCH: { exit: EXIT.INPUT, meaning: 'a template line matches no file and is not marked optional' },
  SYMLINK_REFUSED: { exit: EXIT.INPUT, meaning: 'a protected folder holds a symlinked folder or a dangling symlink' },
  MANIFEST_UNREADABLE: { exit: EXIT.INTEGRITY, meaning: 'the manifest (filelist.sha256) cannot be read, or is not a regular file (FIFO, device, folder)' },
  MANIFEST_MALFORMED: { exit: EXIT.INTEGRITY, meaning: 'a manifest line is not `<64 hex> *<path>`, or lines are unsorted, duplicated or CRLF' },
  FILE_UNREADABLE: { exit: EXIT.INPUT, meaning: 'generate-filelist could not read a file the template protects (permission denied)' },
  ENTRY_UNREADABLE: { exit: EXIT.INPUT, meaning: 'the main entry to pin cannot be read or written' },
  PIN_INVALID: { exit: EXIT.INTEGRITY, meaning: 'the main entry has no pin slot, or the pin is not 64 lowercase hex, or it was never pinned' },
  PIN_MISMATCH: { exit: EXIT.INTEGRITY, meaning: "the manifest's sha256 differs from the hash pinned in the main entry" },
  INTEGRITY_MISMATCH: { exit: EXIT.INTEGRITY, meaning: 'files differ from the manifest: changed, missing, new or unreadable' },
  PIN_STALE: { exit: EXIT.INTEGRITY, meaning: 'check: the tree regenerated now does not hash to the pinned value' },
  RELEASE_INVALID: { exit: EXIT.INTEGRITY, meaning: 'signed release: the envelope is missing or malformed, not signed by enough pinned keys, for another project, or for another manifest' },
  RELEASE_EXPIRED: { exit: EXIT.INTEGRITY, meaning: 'signed release: the release is past its expiry time' },
  RELEASE_ROLLBACK: { exit: EXIT.INTEGRITY, meaning: 'signed release: the version is lower than the trust root\'s minVersion or the highest this host accepted' },
  RELEASE_STATE_UNSAFE: { exit: EXIT.INTEGRITY, meaning: "signed release: the trust root's stateFile is missing, unreadable, or writable by others than root" },
  UNSAFE_RUNTIME: { exit: EXIT.INTEGRITY, meaning: 'node was started with flags or NODE_OPTIONS that load code before the gate' },
  UNTRUSTED_ANCHOR: { exit: EXIT.INTEGRITY, meaning: 'the node executable, the entry, its package.json or the vault client (or a folder above one) is not owned by root or is writable by group/other/the service user' },
  UNVERIFIED_LOAD: { exit: EXIT.INTEGRITY, meaning: 'the app tried to load or read a file that is not in the verified manifest' },
  VAULT_NOT_FOUND: { exit: EXIT.VAULT, meaning: 'the vault client executable is missing or not executable' },
  VAULT_TIMEOUT: { exit: EXIT.VAULT, meaning: 'the vault client did not answer in time and was killed' },
  VAULT_DENIED: { exit: EXIT.VAULT, meaning: 'the vault refused the request (for PAM: status other than 400, e.g. 409 unauthorized script)' },
  VAULT_FAILED: { exit: EXIT.VAULT, meaning: 'the vault client exited abnormally or printed too much' },
  VAULT_BAD_OUTPUT: { exit: EXIT.VAULT, meaning: "the vault client's answer could not be understood or held no password" },
  KEYSTORE_UNREADABLE: { exit: EXIT.KEYSTORE, meaning: 'the PKCS#12 keystore file cannot be read, or is not a regular file (FIFO, device, folder)' },
  KEYSTORE_CORRUPT: { exit: EXIT.KEYSTORE, meaning: 'the keystore is not a well-formed PKCS#12 file (truncated, corrupt, not PKCS#12)' },
  KEYSTORE_BAD_PASSWORD: { exit: EXIT.KEYSTORE, meaning: 'the password from the vault does not open the keystore (even after a cache bypass)' },
  KEYSTORE_NO_MAC: { exit: EXIT.KEYSTORE, meaning: 'the keystore has no integrity MAC, so a wrong password could pass unnoticed' },
  KEYSTORE_NO_KEY: { exit: EXIT.KEYSTORE, meaning: 'the keystore holds no private key, or no certificate for it' },
  KEYSTORE_ALIAS_NOT_FOUND: { exit: EXIT.KEYSTORE, meaning: 'no entry with the requested alias, or several keys and no alias given' },
  KEYSTORE_KEY_MISMATCH: { exit: EXIT.KEYSTORE, meaning: 'the private key does not belong to the certificate' },
  KEYSTORE_KEY_NOT_PINNED: { exit: EXIT.KEYSTORE, meaning: "the keystore's key is not one of keystore.spkiSha256 (a keystore swapped for another)" },
  KEYSTORE_CERT_EXPIRED: { exit: EXIT.KEYSTORE, meaning: 'the certificate is expired or not yet valid' },
  KEYSTORE_UNSUPPORTED: { exit: EXIT.KEYSTORE, meaning: 'the keystore uses a form keygate cannot open safely (an iteration count above 10,000,000, a cipher node-forge lacks such as Camellia, a key type TLS cannot serve such as DSA)' },
  KEYSTORE_TIMEOUT: { exit: EXIT.KEYSTORE, meaning: 'the keystore unlock (reload worker) did not finish in time and was stopped' },
  KEYSTORE_EXISTS: { exit: EXIT.KEYSTORE, meaning: 'keystore create would overwrite an existing file' },
  ACME_FAILED: { exit: EXIT.SERVER, meaning: 'an ACME renewal failed (the CA unreachable or refusing, an order that failed, a certificate that does not check): logged while serving, never an exit; retried with backoff while the old certificate keeps serving' },
  IMPORT_KEY_MISMATCH: { exit: EXIT.INPUT, meaning: "keystore import: no certificate in the input is for the keystore's private key" },
  IMPORT_CHAIN_INCOMPLETE: { exit: EXIT.INPUT, meaning: 'keystore import: an issuer between the certificate and a root is missing, or no root to check the chain against' },
  IMPORT_CHAIN_ORDER: { exit: EXIT.INPUT, meaning: 'keystore import: the PEM certificates are not leaf first then each issuer, or one belongs to no chain of the leaf' },
  IMPORT_NAME_MISMATCH: { exit: EXIT.INPUT, meaning: 'keystore import: the certificate names (SANs) differ from those the request asked for' },
  SERVER_LISTEN_FAILED: { exit: EXIT.SERVER, meaning: 'the HTTPS server could not listen (port in use, permission)' },
  APP_LOAD_FAILED: { exit: EXIT.SERVER, meaning: 'the request handler module failed to load' },
  BACKEND_UNVERIFIED: { exit: EXIT.INTEGRITY, meaning: "the backend's program or working folder is not covered by the verified manifest" },
  BACKEND_START_FAILED: { exit: EXIT.SERVER, meaning: 'the backend process could not be started, or exited before it was ready' },
  BACKEND_NOT_READY: { exit: EXIT.SERVER, meaning: 'the backend did not answer on its socket within server.backend.readyTimeoutMs' },
  BACKEND_USER_INVALID: { exit: EXIT.USAGE, meaning: 'privilege separation cannot start: server.user or server.backend.user is unknown, root or shared, or keygate was not started as root to switch to them' },
  BACKEND_GAVE_UP: { exit: EXIT.SERVER, meaning: 'the backend kept exiting: server.backend.restart.maxRestarts reached, keygate stopped so systemd takes over' },
  PKI_POLICY: { exit: EXIT.USAGE, meaning: 'keygate pki: a requested name, key type, lifetime or usage is outside the certificate profile or the CA\'s name constraints' },
  PKI_EXISTS: { exit: EXIT.USAGE, meaning: 'keygate pki would overwrite an existing key, certificate or p12 file' },
  PKI_INPUT_INVALID: { exit: EXIT.INPUT, meaning: 'keygate pki: a certificate, key, CSR or CRL cannot be parsed, does not match, or its signature does not verify' },
  PKI_BAD_PASSWORD: { exit: EXIT.KEYSTORE, meaning: 'keygate pki: the password does not decrypt the CA key' },
  ADMIN_INVALID: { exit: EXIT.USAGE, meaning: "the admin channel's user registry or server key is missing, malformed, unverified or too open" },
  ADMIN_LISTEN_FAILED: { exit: EXIT.SERVER, meaning: 'the admin channel could not listen (port in use, socket path taken, permission)' },
  ADMIN_IMPORT_FAILED: { exit: EXIT.INPUT, meaning: 'admin import-sqlite could not read the remo_serv user database (not SQLite, no users table, a key that is not a public key)' },
  INTERNAL: { exit: EXIT.INTERNAL, meaning: 'a bug in keygate: please report it with the --debug output' },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface KeygateErrorOptions {
  /** The exact command (or action) that fixes it. */
  hint?: string;
  cause?: unknown;
  /** Structured detail for --json output and tests; never holds a secret. */
  details?: unknown;
}

/** The one error type users see: a code (→ exit status), a one-line message and a fix. */
export class KeygateError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: KeygateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeygateError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get exitStatus(): ExitStatus {
    return ERROR_CODES[this.code].exit;
  }
}

export function isKeygateError(err: unknown): err is KeygateError {
  return err instanceof KeygateError;
}

/** Short description of an unknown thrown value, without its stack (stacks only under --debug). */
export function describeCause(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.startsWith(`${code}:`) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
