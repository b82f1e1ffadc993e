// Windows trust anchors: the rule Win32-OpenSSH applies to its key and config files (check_secure_file_permission in
// contrib/win32/win32compat/w32-sshfileperm.c), read from a file's security descriptor in SDDL form (what
// PowerShell's `(Get-Acl).Sddl` prints; SIDs, so not localized as icacls's names are). Pure: text in, problems out.
//
// The rule (docs/windows.md#trust-anchors): the owner is Administrators, SYSTEM or TrustedInstaller (or a SID
// named as trusted); no other principal holds a write-class right in an ACE that applies to the object. Stricter
// than OpenSSH in one point, as keygate is on Linux: the user keygate runs as may neither own nor write an anchor
// (it could change the code that checks it), unless that user is SYSTEM or an administrator.

export const SID = {
  administrators: 'S-1-5-32-544',
  system: 'S-1-5-18',
  trustedInstaller: 'S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464',
  creatorOwner: 'S-1-3-0',
  ownerRights: 'S-1-3-4',
} as const;

// SDDL's two-letter SID aliases (MS-DTYP 2.4.2.4) that appear on files.
const ALIASES: Record<string, string> = {
  BA: SID.administrators, SY: SID.system, BU: 'S-1-5-32-545', BG: 'S-1-5-32-546', PU: 'S-1-5-32-547', BO: 'S-1-5-32-551',
  AU: 'S-1-5-11', WD: 'S-1-1-0', AN: 'S-1-5-7', IU: 'S-1-5-4', NU: 'S-1-5-2', SU: 'S-1-5-6', LS: 'S-1-5-19', NS: 'S-1-5-20',
  CO: SID.creatorOwner, CG: 'S-1-3-1', OW: SID.ownerRights, AC: 'S-1-15-2-1', RC: 'S-1-5-12', PS: 'S-1-5-10',
};

// Rights that let a principal change the file or folder, or who may (OpenSSH's list, plus the generic rights and
// FILE_DELETE_CHILD, which on a folder lets its holder delete and so replace what is in it).
const FILE_WRITE_DATA = 0x2; // FILE_ADD_FILE on a folder
const FILE_APPEND_DATA = 0x4; // FILE_ADD_SUBDIRECTORY
const FILE_WRITE_EA = 0x10;
const FILE_DELETE_CHILD = 0x40;
const FILE_WRITE_ATTRIBUTES = 0x100;
const DELETE = 0x10000;
const WRITE_DAC = 0x40000;
const WRITE_OWNER = 0x80000;
const GENERIC_ALL = 0x10000000;
const GENERIC_WRITE = 0x40000000;
export const WRITE_CLASS = FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA | FILE_DELETE_CHILD | FILE_WRITE_ATTRIBUTES | DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_ALL | GENERIC_WRITE;
// A folder above an anchor: adding files to it replaces nothing (unlike a writable folder on POSIX); what lets
// its holder swap the anchor's path is deleting or renaming entries, or taking over the folder's ACL. A drive
// root cannot be deleted, so DELETE on it is harmless (Windows gives Authenticated Users Modify on C:\ itself).
export const FOLDER_CLASS = FILE_DELETE_CHILD | DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_ALL;
export const ROOT_CLASS = FILE_DELETE_CHILD | WRITE_DAC | WRITE_OWNER | GENERIC_ALL;
// The folder an executable anchor sits in (node.exe's, the vault client's): there adding is enough. Windows loads a
// DLL that is not a KnownDLL (version.dll, dbghelp.dll, ...) from the application's own folder before System32
// (Dynamic-link library search order), and a new subfolder can hold a private side-by-side assembly or an
// `<exe>.local` redirection folder. So FILE_ADD_FILE and FILE_ADD_SUBDIRECTORY (and GENERIC_WRITE, which maps
// to both) count there as a write (review 2026-12b M2; issue 31).
export const ADD_CLASS = FILE_WRITE_DATA | FILE_APPEND_DATA | GENERIC_WRITE;
export const EXE_FOLDER_CLASS = FOLDER_CLASS | ADD_CLASS;

// SDDL right codes (MS-DTYP 2.5.1.1): generic, standard, file, and the directory-service letters that share bits.
const RIGHTS: Record<string, number> = {
  GA: GENERIC_ALL, GR: 0x80000000, GW: GENERIC_WRITE, GX: 0x20000000,
  RC: 0x20000, SD: DELETE, WD: WRITE_DAC, WO: WRITE_OWNER,
  FA: 0x1f01ff, FR: 0x120089, FW: 0x120116, FX: 0x1200a0,
  CC: 0x1, DC: 0x2, LC: 0x4, SW: 0x8, RP: 0x10, WP: 0x20, DT: 0x40, LO: 0x80, CR: 0x100,
};

export interface Ace {
  readonly type: string;
  readonly flags: string;
  readonly rights: number;
  readonly sid: string;
}

export interface SecurityDescriptor {
  readonly owner: string | undefined;
  /** undefined: no DACL at all (everyone has full access); []: a DACL that grants nothing. */
  readonly dacl: readonly Ace[] | undefined;
}

const sidOf = (s: string): string => ALIASES[s] ?? s;

/** Parses an SDDL string; throws Error naming what it could not read. */
export function parseSddl(sddl: string): SecurityDescriptor {
  const parts = splitComponents(sddl.trim());
  const owner = parts.get('O');
  const d = parts.get('D');
  let dacl: Ace[] | undefined;
  if (d !== undefined) {
    const open = d.indexOf('(');
    const control = open < 0 ? d : d.slice(0, open);
    const aces = open < 0 ? '' : d.slice(open);
    if (/NO_ACCESS_CONTROL/.test(control)) dacl = undefined;
    else {
      dacl = [];
      for (const m of aces!.matchAll(/\(([^()]*)\)/g)) {
        const parts = m[1]!.split(';');
        if (parts.length < 6) throw new Error(`malformed ACE (${m[1]})`);
        const [type, flags, rights, , , sid] = parts;
        dacl.push({ type: type!, flags: flags!, rights: parseRights(rights!), sid: sidOf(sid!) });
      }
    }
  }
  return { owner: owner === undefined ? undefined : sidOf(owner), dacl };
}

/** `O:..G:..D:..S:..` → component letter → its text; a letter starts a component only outside parentheses. */
function splitComponents(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let depth = 0;
  let key: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && text[i + 1] === ':' && 'OGDS'.includes(c) && (i === 0 || key !== undefined)) {
      if (key !== undefined) out.set(key, text.slice(start, i));
      key = c;
      start = i + 2;
      i++;
    }
  }
  if (key === undefined || depth !== 0) throw new Error(`not an SDDL security descriptor: ${JSON.stringify(text.slice(0, 60))}`);
  out.set(key, text.slice(start));
  return out;
}

function parseRights(s: string): number {
  if (/^0x[0-9a-f]+$/i.test(s)) return Number.parseInt(s.slice(2), 16);
  if (/^[0-9]+$/.test(s)) return Number(s);
  if (s.length % 2) throw new Error(`unknown access rights ${s}`);
  let bits = 0;
  for (let i = 0; i < s.length; i += 2) {
    const r = RIGHTS[s.slice(i, i + 2)];
    if (r === undefined) throw new Error(`unknown access right ${s.slice(i, i + 2)}`);
    bits |= r;
  }
  return bits >>> 0;
}

export interface WindowsRules {
  /** The SID keygate runs as. */
  readonly user: string;
  /** Whether that user is SYSTEM or in Administrators (as root on Linux: it may own anchors). */
  readonly userIsAdmin: boolean;
  /** Further SIDs trusted to own and write anchors (a deploy account). */
  readonly trusted?: readonly string[];
}

/** Why a file or folder with this security descriptor is not a sound anchor; undefined when it is. */
export function sddlProblem(sddl: string, rules: WindowsRules, mask: number = WRITE_CLASS): string | undefined {
  let sd: SecurityDescriptor;
  try {
    sd = parseSddl(sddl);
  } catch (err) {
    return `has an ACL keygate cannot read (${(err as Error).message})`;
  }
  const trusted = new Set<string>([SID.administrators, SID.system, SID.trustedInstaller, ...(rules.trusted ?? [])]);
  if (rules.userIsAdmin) trusted.add(rules.user);
  if (!sd.owner) return 'has no owner in its security descriptor';
  if (!trusted.has(sd.owner)) {
    return sd.owner === rules.user ? `is owned by ${sd.owner}, the user keygate runs as (it could change it)` : `is owned by ${sd.owner}, not Administrators, SYSTEM or TrustedInstaller`;
  }
  if (!sd.dacl) return 'has no DACL (everyone may change it)';
  for (const ace of sd.dacl) {
    if (!/^(A|OA|XA|ZA)$/.test(ace.type)) continue; // deny, audit and alarm entries grant nothing
    if (/IO/.test(ace.flags)) continue; // inherit-only: applies to children, not to this object
    const sid = ace.sid === SID.ownerRights ? sd.owner : ace.sid;
    if (trusted.has(sid) || (ace.rights & mask) === 0) continue;
    return `grants ${sid === rules.user ? `the user keygate runs as (${sid})` : sid} write access (${ace.type};${ace.flags};0x${ace.rights.toString(16)})`;
  }
  return undefined;
}
