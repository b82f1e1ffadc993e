// Step 1 of the gated start: node must not have been told to load or run anything before the entry, nor to
// change how it loads code, TLS or libraries. An allow-list, not a deny-list: Node keeps adding options that
// load code (--require, --import, --loader, --experimental-*, --snapshot-blob, --openssl-config, ...), and a
// deny-list misses spellings such as NODE_OPTIONS='"--require" x' (Node's own quoting).
// This is a tripwire, not a barrier: whatever such an option loads has already run when keygate sees it
// (docs/security.md). It still stops the start before the vault is asked.

import { KeygateError } from '../errors.js';

/** Options that change only limits or diagnostics: they load no code and touch no trust setting. */
const ALLOWED_OPTION = /^--(max-old-space-size|max-semi-space-size|stack-size)=\d+$|^--(no-warnings|trace-warnings|enable-source-maps|no-deprecation|trace-deprecation|use-openssl-ca|use-bundled-ca)$|^--unhandled-rejections=(strict|warn|throw|none|warn-with-error-code)$|^--dns-result-order=(ipv4first|verbatim|ipv6first)$/;

/** Environment variables that make node or the C libraries load code or configuration keygate cannot verify. */
const REFUSED_ENV = ['LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'OPENSSL_CONF', 'OPENSSL_MODULES', 'OPENSSL_ENGINES', 'NODE_PATH', 'NODE_REPL_EXTERNAL_MODULE', 'NODE_COMPILE_CACHE'];

/** NODE_OPTIONS split as Node splits it: on spaces, with "double quotes" grouping and \\ escaping inside them. */
export function splitNodeOptions(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < value.length) cur += value[++i];
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') {
      quoted = true;
      inToken = true;
    } else if (/\s/.test(c)) {
      if (inToken) out.push(cur);
      cur = '';
      inToken = false;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (inToken) out.push(cur);
  return out;
}

/** Throws UNSAFE_RUNTIME naming the first option or variable that is not on the allow-list. */
export function assertSafeRuntime(env: Readonly<Record<string, string | undefined>>, execArgv: readonly string[], entryCommand: string): void {
  const refuse = (what: string): never => {
    throw new KeygateError('UNSAFE_RUNTIME', `refused to start: ${what} could load code or settings that keygate cannot verify`, {
      hint: `start keygate as: ${entryCommand} (no node options; unset it; NODE_OPTIONS may hold only limits such as --max-old-space-size=N)`,
    });
  };
  for (const name of REFUSED_ENV) if (env[name] !== undefined && env[name] !== '') refuse(`${name}=${env[name]}`);
  for (const opt of splitNodeOptions(env['NODE_OPTIONS'] ?? '')) if (!ALLOWED_OPTION.test(opt)) refuse(`NODE_OPTIONS ${opt}`);
  for (const opt of execArgv) if (!ALLOWED_OPTION.test(opt)) refuse(`the node option ${opt}`);
}
