// Reads Windows security descriptors (SDDL) and who keygate runs as, with one PowerShell call for all paths:
// Node's fs.stat cannot tell (uid 0, mode bits mirror only the read-only attribute: nodejs/node #20636).
// Get-Acl's SDDL names principals by SID, so the answer does not depend on the system's language (icacls's does).

import { spawnSync } from 'node:child_process';
import { NO_CWD_LOOKUP, systemDirectoryFromEnv, systemDirectoryFromModules, windowsPrograms } from '../core/win32-paths.js';

let systemDirectory: { dir: string; from: 'loader' | 'env' } | undefined;

/**
 * The Windows system directory, from a source the caller of keygate does not control: the folder the loader mapped
 * ntdll.dll from, as Node's diagnostic report lists this process's modules (process.report, `sharedObjects`). Node
 * has no call for GetSystemDirectoryW or the known-folder API, and asking `reg query` or PowerShell would mean starting
 * a program to learn where programs are. `%SystemRoot%` is only the fallback, for a report without ntdll.dll (not
 * seen): the environment is what the caller hands keygate. Read once per process (the report costs ~3 s under Wine,
 * where dbghelp loads symbols for its native stack; not measured on Windows). docs/windows.md#programs-keygate-starts
 */
export function trustedSystemDirectory(): { dir: string; from: 'loader' | 'env' } {
  if (systemDirectory) return systemDirectory;
  let modules: string[] = [];
  // excludeNetwork (Node >= 20.13/22): no DNS lookups for the report's network section; restored after.
  const report = process.report as (NodeJS.ProcessReport & { excludeNetwork?: boolean }) | undefined;
  const exclude = report?.excludeNetwork;
  try {
    if (report) report.excludeNetwork = true;
    modules = ((report?.getReport() as { sharedObjects?: string[] } | undefined)?.sharedObjects ?? []).filter((m) => typeof m === 'string');
  } catch {
    modules = [];
  } finally {
    if (report && exclude !== undefined) report.excludeNetwork = exclude;
  }
  const fromLoader = systemDirectoryFromModules(modules);
  const fromEnv = fromLoader ? undefined : systemDirectoryFromEnv(process.env['SystemRoot']);
  if (!fromLoader && !fromEnv) throw new Error('the Windows system directory is unknown (no ntdll.dll among the loaded modules, no usable %SystemRoot%)');
  systemDirectory = fromLoader ? { dir: fromLoader, from: 'loader' } : { dir: fromEnv!, from: 'env' };
  return systemDirectory;
}

export interface AclReading {
  /** The SID keygate runs as, and whether it is SYSTEM or an elevated administrator. */
  readonly user: string;
  readonly userIsAdmin: boolean;
  /** path → SDDL, or an Error saying why it could not be read. */
  readonly sddl: ReadonlyMap<string, string | Error>;
}

export type AclReader = (paths: readonly string[]) => AclReading;

/** PowerShell's Get-Acl for each path; throws when PowerShell cannot run (no ACL can be read at all). */
export const readAclsWithPowerShell: AclReader = (paths) => {
  const quote = (p: string): string => `'${p.replace(/'/g, "''")}'`;
  const script = [
    '$ErrorActionPreference = "Stop"',
    '$id = [Security.Principal.WindowsIdentity]::GetCurrent()',
    '$admin = (New-Object Security.Principal.WindowsPrincipal $id).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)',
    '"USER`t$($id.User.Value)`t$admin"',
    `foreach ($p in @(${paths.map(quote).join(',') || "''"})) { try { "ACL\`t$((Get-Acl -LiteralPath $p).Sddl)" } catch { "ERR\`t$($_.Exception.Message)" } }`,
  ].join('\n');
  // By absolute path in the system directory, never the bare name (which Windows looks up in the current folder,
  // the project, first: review 2026-12b H2), run from the system directory, with no current-folder lookup for
  // whatever PowerShell starts itself.
  let system: string;
  try {
    system = trustedSystemDirectory().dir;
  } catch (err) {
    throw new Error(`PowerShell Get-Acl could not run (${(err as Error).message})`);
  }
  // -EncodedCommand: the script reaches PowerShell as one base64 word, untouched by command-line quoting.
  const r = spawnSync(windowsPrograms(system).powershell, ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', Buffer.from(script, 'utf16le').toString('base64')], {
    encoding: 'utf8',
    windowsHide: true,
    timeout: 60_000,
    cwd: system,
    env: { ...process.env, ...NO_CWD_LOOKUP },
  });
  if (r.error || r.status !== 0) throw new Error(`PowerShell Get-Acl could not run (${r.error ? (r.error as NodeJS.ErrnoException).code ?? r.error.message : `exit ${r.status}`})`);
  return parseAclOutput(r.stdout, paths);
};

/** The script's output: a USER line, then an ACL or ERR line per path, in order. */
export function parseAclOutput(stdout: string, paths: readonly string[]): AclReading {
  const lines = stdout.split(/\r?\n/).filter((l) => l !== '');
  const head = lines.shift()?.split('\t');
  if (!head || head[0] !== 'USER' || !head[1]) throw new Error('PowerShell Get-Acl gave no user line');
  const sddl = new Map<string, string | Error>();
  paths.forEach((p, i) => {
    const [kind, ...rest] = (lines[i] ?? 'ERR\tno answer').split('\t');
    sddl.set(p, kind === 'ACL' && rest.join('\t') ? rest.join('\t') : new Error(rest.join('\t') || 'no SDDL'));
  });
  const user = head[1];
  return { user, userIsAdmin: head[2] === 'True' || user === 'S-1-5-18', sddl };
}
