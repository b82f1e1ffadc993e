// Reads Windows security descriptors (SDDL) and who keygate runs as, with one PowerShell call for all paths:
// Node's fs.stat cannot tell (uid 0, mode bits mirror only the read-only attribute: nodejs/node #20636).
// Get-Acl's SDDL names principals by SID, so the answer does not depend on the system's language (icacls's does).

import { spawnSync } from 'node:child_process';

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
  // -EncodedCommand: the script reaches PowerShell as one base64 word, untouched by command-line quoting.
  const r = spawnSync('powershell.exe', ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', Buffer.from(script, 'utf16le').toString('base64')], {
    encoding: 'utf8',
    windowsHide: true,
    timeout: 60_000,
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
