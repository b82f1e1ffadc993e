// Vault providers: run a client as a subprocess and get the keystore password.
// Every call goes through runClient(): execa with an argument array (never a shell), a timeout, an output
// cap, a minimal environment, no stdin. A failure is rebuilt from exit code / signal / timeout only; the
// child's stdout and stderr never reach a message or a log (they may hold the secret).

import type * as Execa from 'execa';
import type { XMLParser } from 'fast-xml-parser';
import { importLibrary, lateLibrary } from '../late-runtime.js';
import { KeygateError } from '../errors.js';
export { defaultCspmClientPath } from '../core/vault-client.js';
import { Secret } from './secret.js';
import { NO_CWD_LOOKUP, cmdArguments, isBatchFile, isWin32AbsoluteProgram, windowsPrograms } from '../core/win32-paths.js';
import { trustedSystemDirectory } from './windows-acl.js';

export { Secret };

export interface FetchOptions {
  /** Ask the vault, not the client's cache (after a cached password failed to unlock). */
  readonly bypassCache: boolean;
  /** SIGINT/SIGTERM during the call: the client is killed and the call rejects (the start stops). */
  readonly signal?: AbortSignal;
}

/** What every vault plugs in as. */
export interface SecretProvider {
  /** For logs: what is asked, never a secret. */
  readonly description: string;
  fetch(options: FetchOptions): Promise<Secret>;
}

export interface ClientLimits {
  readonly timeoutMs: number;
  /** Most bytes of output accepted; more is an error (a client that floods is broken or hostile). */
  readonly maxOutputBytes: number;
}

interface ClientRun {
  readonly stdout: Buffer;
  readonly exitCode: number;
}

/** Environment handed to a vault client: what it needs to run, never anything of ours. */
function childEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['PATH', 'CSPM_CLIENT_HOME', 'LANG', 'LC_ALL', 'TZ', 'HOME', 'JAVA_HOME', 'SystemRoot']) {
    const v = env[k];
    if (v !== undefined) out[k] = v;
  }
  // Windows: the client (and cmd.exe running a .cmd) must not look bare program names up in the current folder.
  if (process.platform === 'win32') Object.assign(out, NO_CWD_LOOKUP);
  return out;
}

/**
 * What to start on Windows for a vault client: the file itself when it is an .exe/.com named by an absolute path; a
 * .cmd/.bat through cmd.exe named by its absolute path in the system directory (cross-spawn, under execa, would take
 * `%ComSpec%` or the bare name `cmd.exe`, which Windows looks up in the current folder first: issue 31). Anything else
 * (a bare name, a relative path, a script cross-spawn would hand to the interpreter its shebang names, looked up on
 * PATH) is refused.
 */
function windowsProgram(file: string, args: readonly string[]): { file: string; args: string[]; verbatim: boolean } {
  const refuse = (why: string) => new KeygateError('VAULT_NOT_FOUND', `failed to run vault client ${file}: ${why}`, { hint: 'set vault.clientPath (or CSPM_CLIENT_HOME) to the full path of the client, e.g. C:\\cspm\\cloakware\\cspmclient\\bin64\\cspmclient64.exe (docs/windows.md)' });
  if (!isWin32AbsoluteProgram(file)) throw refuse('on Windows a vault client must be named by an absolute path (keygate looks no program up by name)');
  if (/\.(exe|com)$/i.test(file)) return { file, args: [...args], verbatim: false };
  if (!isBatchFile(file)) throw refuse('not a Windows program (.exe, .com, .cmd or .bat)');
  let system: string;
  try {
    system = trustedSystemDirectory().dir;
  } catch (err) {
    throw refuse(`cmd.exe cannot be found: ${(err as Error).message}`);
  }
  try {
    return { file: windowsPrograms(system).cmd, args: cmdArguments(file, args), verbatim: true };
  } catch (err) {
    throw refuse((err as Error).message);
  }
}

/** Runs a vault client safely; throws VAULT_* errors built only from status, never from output. */
export async function runClient(file: string, args: readonly string[], env: Readonly<Record<string, string | undefined>>, limits: ClientLimits, signal?: AbortSignal): Promise<ClientRun> {
  const { execa } = await importLibrary<typeof Execa>('execa');
  const run = process.platform === 'win32' ? windowsProgram(file, args) : { file, args: [...args], verbatim: false };
  const result = await execa(run.file, run.args, {
    ...(run.verbatim ? { windowsVerbatimArguments: true } : {}),
    ...(signal ? { cancelSignal: signal } : {}),
    reject: false,
    shell: false,
    stdin: 'ignore',
    encoding: 'buffer',
    timeout: limits.timeoutMs,
    forceKillAfterDelay: 1000,
    maxBuffer: limits.maxOutputBytes,
    env: childEnv(env),
    extendEnv: false,
    stripFinalNewline: false,
    windowsHide: true,
  });
  const code = (result as { code?: string }).code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOEXEC') {
    throw new KeygateError('VAULT_NOT_FOUND', `failed to run vault client ${file}: ${code === 'ENOENT' ? 'no such file' : 'not executable'}`, {
      hint: 'install the PAM A2A client, or set vault.clientPath / CSPM_CLIENT_HOME (docs/pam-setup.md)',
    });
  }
  if (result.isCanceled) {
    throw new KeygateError('VAULT_FAILED', `failed to get the password: stopped by a signal while vault client ${file} ran (it was killed)`, {
      hint: 'nothing to fix: keygate was asked to stop; start it again when you mean to',
    });
  }
  if (result.timedOut) {
    throw new KeygateError('VAULT_TIMEOUT', `failed to get the password: vault client ${file} did not answer within ${limits.timeoutMs} ms and was killed`, {
      hint: 'check that the A2A client service is running and reaches PAM; raise vault.timeoutMs if PAM is slow',
    });
  }
  if (result.isMaxBuffer) {
    throw new KeygateError('VAULT_FAILED', `failed to get the password: vault client ${file} printed more than ${limits.maxOutputBytes} bytes`, {
      hint: 'check that vault.clientPath names the A2A client, not another program',
    });
  }
  if (result.signal) {
    throw new KeygateError('VAULT_FAILED', `failed to get the password: vault client ${file} was killed by ${result.signal}`, {
      hint: `run the client by hand to see why (${file} <alias> false -x); check the A2A client's own log under CSPM_CLIENT_HOME`,
    });
  }
  if (result.failed && result.exitCode === undefined) {
    throw new KeygateError('VAULT_FAILED', `failed to run vault client ${file}: ${code ?? 'could not start'}`, {
      hint: `check that ${file} is the A2A client and runs for this user: ls -l ${file}`,
    });
  }
  return { stdout: Buffer.from(result.stdout as Uint8Array), exitCode: result.exitCode ?? 1 };
}

function decodeUtf8(bytes: Buffer, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new KeygateError('VAULT_BAD_OUTPUT', `failed to read ${what}: the answer is not valid UTF-8`, {
      hint: 'check that vault.clientPath names the PAM A2A client and vault.output matches how it answers (xml with -x)',
    });
  }
}

// Broadcom "Credential Manager client return codes". Only codes confirmed in Broadcom's own articles are named
// (KB 219299 for 409, KB 274707 for 412); any other status is shown with its number.
export const PAM_STATUS: Readonly<Record<number, { text: string; hint: string }>> = {
  409: {
    text: 'unauthorized script name (PAM-CM-0575): the vault does not recognise the calling script or its hash',
    hint: 'if you changed or re-pinned the main entry, register its new sha256 (printed by keygate pin) in the A2A Script; else restore the entry',
  },
  412: {
    text: 'no authorization for this request server: the A2A client is not active or not mapped in PAM',
    hint: "activate the A2A client's device in PAM and check the A2A Mapping (docs/pam-setup.md)",
  },
};

export interface CspmOptions {
  /** The A2A client executable (cspmclient64). */
  readonly clientPath: string;
  /** The target account alias in PAM. */
  readonly alias: string;
  /** `xml` (-x, preferred: passwords may hold spaces) or `text`. */
  readonly output: 'xml' | 'text';
  readonly limits: ClientLimits;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Default client location, as the PAM examples lay it out. */

/** Symantec/Broadcom PAM A2A: `cspmclient <alias> <bypassCache> [-x]`, status 400 is success. */
export function cspmProvider(options: CspmOptions): SecretProvider {
  return {
    description: `PAM A2A alias ${options.alias}`,
    async fetch({ bypassCache, signal }) {
      const args = [options.alias, bypassCache ? 'true' : 'false', ...(options.output === 'xml' ? ['-x'] : [])];
      const running = runClient(options.clientPath, args, options.env, options.limits, signal); // spawned by now
      // The XML parser is compiled while the client runs, not before it is started (docs/performance.md).
      if (options.output === 'xml') {
        setImmediate(() => {
          try {
            xmlParser();
          } catch {
            // a build without the part: parseCspmXml meets the same error and reports it
          }
        });
      }
      const run = await running;
      const text = decodeUtf8(run.stdout, 'the A2A client answer');
      const { status, password } = options.output === 'xml' ? parseCspmXml(text) : parseCspmText(text);
      if (status !== 400) {
        const known = PAM_STATUS[status];
        throw new KeygateError(
          'VAULT_DENIED',
          `failed to get the password for alias ${options.alias}: PAM answered ${status}${known ? `, ${known.text}` : " (see Broadcom's Credential Manager client return codes)"}`,
          { hint: known?.hint ?? 'look the status up in the PAM documentation and the Credentials > Reports page', details: { status } },
        );
      }
      if (password === undefined || password === '') {
        throw new KeygateError('VAULT_BAD_OUTPUT', `failed to get the password for alias ${options.alias}: PAM answered 400 but sent no password`, {
          hint: 'check that the target account has a password in PAM',
        });
      }
      return new Secret(password);
    },
  };
}

function badAnswer(what: string): KeygateError {
  return new KeygateError('VAULT_BAD_OUTPUT', `failed to read the A2A client answer: ${what}`, {
    hint: 'check that vault.clientPath names the PAM A2A client and vault.output matches how it answers (xml with -x)',
  });
}

/** fast-xml-parser's XMLParser: a part of its own (src/late-runtime.ts), loaded once. */
function xmlParser(): typeof XMLParser {
  return lateLibrary<{ XMLParser: typeof XMLParser }>('fast-xml-parser').XMLParser;
}

/** Parses the `-x` XML answer with a real XML parser (never regular expressions). */
export function parseCspmXml(text: string): { status: number; password?: string } {
  let doc: unknown;
  try {
    // htmlEntities: XML requires numeric character references (&#38; &#x26;) to be decoded, and with this off
    // fast-xml-parser leaves them as written, so a password a producer escaped that way would come out wrong
    // (KEYSTORE_BAD_PASSWORD and a wasted bypass-cache call). It also knows HTML's named entities, which no XML
    // producer may emit undeclared; decoding happens once, so `&amp;#38;` stays the text `&#38;`.
    const parser = new (xmlParser())({ ignoreAttributes: true, parseTagValue: false, trimValues: false, processEntities: true, htmlEntities: true, allowBooleanAttributes: false });
    doc = parser.parse(text, true);
  } catch {
    throw badAnswer('not well-formed XML');
  }
  const code = findKey(doc, 'errorcode');
  if (code === undefined) throw badAnswer('no <errorcode> element');
  const status = Number(String(code).trim());
  if (!Number.isInteger(status)) throw badAnswer('<errorcode> is not a number');
  const account = findKey(findKey(doc, 'credential') ?? doc, 'TargetAccount');
  const password = account === undefined ? undefined : findKey(account, 'password');
  return { status, password: typeof password === 'string' ? password : password === undefined ? undefined : String(password) };
}

/** Parses the plain answer `<status> <userName> <password>`; the password is everything after the second space. */
export function parseCspmText(text: string): { status: number; password?: string } {
  const line = text.replace(/\r?\n$/, '');
  if (line.includes('\n')) throw badAnswer('more than one line');
  const m = /^(\d{1,6})(?: ([^ ]*)(?: (.*))?)?$/s.exec(line);
  if (!m) throw badAnswer('it does not start with a status number');
  return { status: Number(m[1]), password: m[3] };
}

function findKey(node: unknown, name: string, depth = 0): unknown {
  if (depth > 16 || node === null || typeof node !== 'object') return undefined;
  const rec = node as Record<string, unknown>;
  if (Object.prototype.hasOwnProperty.call(rec, name)) return rec[name];
  for (const v of Object.values(rec)) {
    const found = findKey(v, name, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

export interface CommandOptions {
  /** argv of a program that prints the secret on stdout (like Apache's SSLPassPhraseDialog exec:). */
  readonly command: readonly string[];
  readonly limits: ClientLimits;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Generic provider: a command that prints the password on stdout and exits 0. Trailing newlines are trimmed. */
export function commandProvider(options: CommandOptions): SecretProvider {
  const [file, ...args] = options.command;
  if (!file) throw new KeygateError('CONFIG_INVALID', 'vault.command: must name a program', {});
  return {
    description: `command ${file}`,
    // A plain command has no cache to bypass: both calls run it the same way.
    async fetch({ signal }) {
      const run = await runClient(file, args, options.env, options.limits, signal);
      if (run.exitCode !== 0) {
        throw new KeygateError('VAULT_DENIED', `failed to get the password: ${file} exited with status ${run.exitCode}`, {
          hint: `run ${file} by hand as the service user to see why`,
          details: { exitCode: run.exitCode },
        });
      }
      const password = decodeUtf8(run.stdout, `the output of ${file}`).replace(/[\r\n]+$/, '');
      if (password === '') throw new KeygateError('VAULT_BAD_OUTPUT', `failed to get the password: ${file} printed nothing`, {});
      if (/[\r\n]/.test(password)) throw new KeygateError('VAULT_BAD_OUTPUT', `failed to get the password: ${file} printed more than one line`, {});
      return new Secret(password);
    },
  };
}
