// Which Windows programs keygate starts, and from where (issue 31, review 2026-12b H2). Windows looks for a bare
// program name in the current folder before PATH (libuv's search_path: "check the current directory for file, then
// search all path directories"; CreateProcess and cmd.exe do the same unless NoDefaultCurrentDirectoryInExePath is
// set), and keygate's current folder is the project, which other accounts may add files to. So every program keygate
// starts on Windows is named by an absolute path in the system directory, and every child gets
// NoDefaultCurrentDirectoryInExePath=1. Pure: module paths in, program paths and command lines out.

/** In every child's environment on Windows: no current-folder lookup of bare names (NeedCurrentDirectoryForExePathW). */
export const NO_CWD_LOOKUP = { NoDefaultCurrentDirectoryInExePath: '1' } as const;

/**
 * The system directory (`%SystemRoot%\System32`) from the paths of the modules loaded in this process: the folder
 * of ntdll.dll. The kernel maps ntdll into every process from the system directory itself, before any user code
 * and whatever the environment says, so unlike `%SystemRoot%` this is not something the caller of keygate sets.
 * undefined when no absolute ntdll.dll is listed.
 */
export function systemDirectoryFromModules(modules: readonly string[]): string | undefined {
  for (const m of modules) {
    const p = m.replace(/^\\\\\?\\/, '').replace(/\//g, '\\');
    const cut = p.lastIndexOf('\\');
    if (cut < 0 || p.slice(cut + 1).toLowerCase() !== 'ntdll.dll') continue;
    const dir = p.slice(0, cut);
    if (/^[A-Za-z]:\\./.test(dir)) return dir;
  }
  return undefined;
}

/** The system directory from `%SystemRoot%` (the fallback: the environment is the caller's); undefined if unusable. */
export function systemDirectoryFromEnv(systemRoot: string | undefined): string | undefined {
  if (!systemRoot || !/^[A-Za-z]:[\\/]/.test(systemRoot) || /["\r\n\0]/.test(systemRoot)) return undefined;
  return `${systemRoot.replace(/\//g, '\\').replace(/\\+$/, '')}\\System32`;
}

/** The programs keygate starts on Windows, by absolute path in the system directory. */
export function windowsPrograms(systemDirectory: string): { readonly powershell: string; readonly cmd: string } {
  return { powershell: `${systemDirectory}\\WindowsPowerShell\\v1.0\\powershell.exe`, cmd: `${systemDirectory}\\cmd.exe` };
}

// cmd.exe's meta characters: each is escaped with ^ so that cmd passes it on as text (cross-spawn 7.0.6
// lib/util/escape.js, after https://qntm.org/cmd; the quotes themselves are escaped too, so no part of the line is
// "inside quotes" for cmd, where ^ would not escape).
const CMD_META = /([()\][%!^"`<>&|;, *?])/g;

/** One argument for a program that a .cmd file starts: MSVCRT quoting first, then cmd.exe's escaping. */
function cmdArgument(arg: string): string {
  let a = arg.replace(/(\\*)"/g, '$1$1\\"'); // backslashes before a quote are doubled, the quote escaped
  a = a.replace(/(\\*)$/, '$1$1'); // backslashes before the closing quote are doubled
  return `"${a}"`.replace(CMD_META, '^$1');
}

/**
 * The arguments for `cmd.exe` to run a .cmd/.bat file with `args` as cross-spawn would build them (`/d /s /c "…"`,
 * passed verbatim), but with cmd.exe named by the caller. Refuses what cmd.exe cannot carry (CR, LF, NUL).
 */
export function cmdArguments(script: string, args: readonly string[]): string[] {
  for (const a of [script, ...args]) {
    if (/[\r\n\0]/.test(a)) throw new Error('an argument for a .cmd file holds a line break or NUL, which cmd.exe cannot pass on');
  }
  const line = [script.replace(/\//g, '\\').replace(CMD_META, '^$1'), ...args.map(cmdArgument)].join(' ');
  return ['/d', '/s', '/c', `"${line}"`];
}

/** Whether Windows would run this file through cmd.exe. */
export function isBatchFile(file: string): boolean {
  return /\.(cmd|bat)$/i.test(file);
}

/** Whether a program path is absolute on Windows (`C:\x`, `\\server\share\x`, or `\x` on the current drive; not `C:x`). */
export function isWin32AbsoluteProgram(file: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(file) || /^[\\/]/.test(file);
}
