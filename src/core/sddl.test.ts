// Windows trust-anchor rule on SDDL strings, in the format Get-Acl's .Sddl prints. NOT CAPTURED BY US FROM A REAL
// HOST (Wine has no Get-Acl; docs/windows.md). The stock ones are transcribed from public listings of Windows'
// defaults, each named at its fixture: DISA's Windows 10 and Server 2012/2016 STIGs (the `icacls C:\` and
// `icacls "C:\Program Files"` listings they require), and Get-Acl output of such folders published in examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EXE_FOLDER_CLASS, FOLDER_CLASS, ROOT_CLASS, SID, WRITE_CLASS, parseSddl, sddlProblem } from './sddl.js';
import { parseAclOutput } from '../adapters/windows-acl.js';
import { findWindowsAnchorProblems } from '../gate/trust-anchors.js';

const TI = SID.trustedInstaller;
const SVC = 'S-1-5-80-3141592653-1111111111-2222222222-3333333333-4444444444'; // a virtual service account (NT SERVICE\keygate)
const ALICE = 'S-1-5-21-1004336348-1177238915-682003330-1001';
const svc = { user: SVC, userIsAdmin: false };

const FIXTURES = {
  // C:\ on Windows 10/11: Authenticated Users may add a subfolder to C:\ itself (`(A;;LC;;;AU)`, icacls "(AD)") and
  // get Modify on what is made under it (the inherit-only ACE). Transcribed from the Windows 10 STIG's `icacls c:\`
  // listing (BA/SY (OI)(CI)(F), Users (OI)(CI)(RX), Authenticated Users (OI)(CI)(IO)(M) and (AD)); the same SDDL is
  // published as "restore Windows 10 default permissions on the C:\ root directory".
  driveRoot: `O:${TI}G:${TI}D:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;BU)(A;OICIIO;SDGXGWGR;;;AU)(A;;LC;;;AU)`,
  // C:\ on Windows Server 2012/2016 (STIG WN12-GE-000006 / WN16 `icacls c:\`): Users:(CI)(AD) and Users:(CI)(IO)(WD).
  driveRootServer: `O:${TI}G:${TI}D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;CI;LC;;;BU)(A;CIIO;DC;;;BU)(A;OICIIO;GA;;;CO)`,
  // C:\Program Files (Windows 10; the STIG's `icacls "c:\program files"` listing, and the DACL installers copy for it)
  programFiles: `O:${TI}G:${TI}D:PAI(A;;FA;;;${TI})(A;CIIO;GA;;;${TI})(A;;0x1301bf;;;SY)(A;OICIIO;GA;;;SY)(A;;0x1301bf;;;BA)(A;OICIIO;GA;;;BA)(A;;0x1200a9;;;BU)(A;OICIIO;GXGR;;;BU)(A;OICIIO;GA;;;CO)(A;;0x1200a9;;;AC)(A;OICIIO;GXGR;;;AC)`,
  // C:\Program Files\nodejs as an installer makes it: what Program Files passes on (derived by the inheritance rules:
  // each inheritable ACE becomes an inherited effective one plus an inherit-only copy), TrustedInstaller-owned or BA.
  programFilesChild: `O:BAG:SYD:AI(A;ID;FA;;;${TI})(A;CIIOID;GA;;;${TI})(A;ID;FA;;;SY)(A;OICIIOID;GA;;;SY)(A;ID;FA;;;BA)(A;OICIIOID;GA;;;BA)(A;ID;0x1200a9;;;BU)(A;OICIIOID;GXGR;;;BU)(A;OICIIOID;GA;;;CO)(A;ID;0x1200a9;;;AC)(A;OICIIOID;GXGR;;;AC)`,
  nodeExe: 'O:BAG:SYD:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;0x1200a9;;;BU)(A;ID;0x1200a9;;;AC)(A;ID;0x1200a9;;;S-1-15-2-2)',
  // C:\opt made by an elevated admin on Windows 10: it inherits Authenticated Users' Modify from C:\ (icacls of such a
  // folder: Authenticated Users:(I)(M) and (I)(OI)(CI)(IO)(M)) — the seed's folder
  optInherited: 'O:BAG:S-1-5-21-1004336348-1177238915-682003330-513D:AI(A;ID;FA;;;BA)(A;OICIIOID;GA;;;BA)(A;ID;FA;;;SY)(A;OICIIOID;GA;;;SY)(A;OICIID;0x1200a9;;;BU)(A;ID;0x1301bf;;;AU)(A;OICIIOID;SDGXGWGR;;;AU)',
  // C:\opt (or C:\opt\Python313, C:\opt\nodejs below it) made by an admin on Windows Server: Users may add files
  // and folders, nothing more (Get-Acl of such a folder as published: "BUILTIN\Users Allow AppendData", "CreateFiles").
  optServer: 'O:BAG:DUD:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;0x1200a9;;;BU)(A;CIID;LC;;;BU)(A;CIID;DC;;;BU)(A;OICIIOID;GA;;;CO)',
  optLocked: 'O:BAG:S-1-5-21-1004336348-1177238915-682003330-513D:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;BU)',
  userOwned: `O:${ALICE}G:${ALICE}-513D:PAI(A;;FA;;;${ALICE})(A;;FA;;;SY)(A;;FA;;;BA)`,
  serviceOwned: `O:${SVC}D:PAI(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x1200a9;;;${SVC})`,
  serviceWrites: `O:BAD:PAI(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x1201bf;;;${SVC})`,
  everyoneAppends: 'O:BAD:PAI(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x120089;;;WD)(A;;0x4;;;WD)',
  denyAndAudit: 'O:SYD:P(D;;FA;;;WD)(A;;FA;;;SY)(A;;FR;;;BU)S:AI(AU;SAFA;FA;;;WD)',
  noDacl: 'O:BAG:SYD:NO_ACCESS_CONTROL',
  emptyDacl: 'O:SYG:SYD:P',
  ownerRightsWrite: 'O:BAD:PAI(A;;FA;;;SY)(A;;FW;;;OW)(A;;FR;;;BU)',
} as const;

test('parseSddl reads owner, aliases, hex and letter rights, flags; refuses what is not SDDL', () => {
  const sd = parseSddl(FIXTURES.nodeExe);
  assert.equal(sd.owner, SID.administrators);
  assert.deepEqual(sd.dacl?.[2], { type: 'A', flags: 'ID', rights: 0x1200a9, sid: 'S-1-5-32-545' });
  assert.equal(parseSddl(FIXTURES.driveRoot).dacl?.[3]?.rights, (0x10000 | 0x20000000 | 0x40000000 | 0x80000000) >>> 0);
  assert.equal(parseSddl(FIXTURES.driveRoot).dacl?.[4]?.rights, 0x4, "LC on a file object is FILE_ADD_SUBDIRECTORY");
  assert.equal(parseSddl(FIXTURES.noDacl).dacl, undefined);
  assert.deepEqual(parseSddl(FIXTURES.emptyDacl).dacl, []);
  for (const bad of ['', 'Access denied', 'O:BAD:(A;;QQ;;;WD)', 'O:BAD:(A;;FA)']) assert.equal(/cannot read/.test(sddlProblem(bad, svc) ?? ''), true, bad);
});

test('Win32-OpenSSH rule: trusted owners, no foreign write-class ACE on the anchor', () => {
  const cases: [keyof typeof FIXTURES, RegExp | undefined][] = [
    ['nodeExe', undefined],
    ['optLocked', undefined],
    ['emptyDacl', undefined],
    ['denyAndAudit', undefined],
    ['optInherited', /grants S-1-5-11 write access/],
    ['userOwned', /is owned by S-1-5-21-.*-1001, not Administrators, SYSTEM or TrustedInstaller/],
    ['serviceOwned', /owned by S-1-5-80-3141592653.*, the user keygate runs as \(it could change it\)/],
    ['serviceWrites', /grants the user keygate runs as \(S-1-5-80-3141592653.*\) write access/],
    ['everyoneAppends', /grants S-1-1-0 write access \(A;;0x4\)/],
    ['noDacl', /has no DACL/],
    ['ownerRightsWrite', undefined], // OWNER RIGHTS = the owner, Administrators here
  ];
  for (const [name, expected] of cases) {
    const got = sddlProblem(FIXTURES[name], svc);
    if (expected) assert.match(got ?? 'no problem', expected, name);
    else assert.equal(got, undefined, name);
  }
  // SYSTEM (or an elevated admin) may own what it runs, as root on Linux
  assert.equal(sddlProblem(`O:${SVC}D:P(A;;FA;;;${SVC})`, { user: SVC, userIsAdmin: true }), undefined);
});

test('folders above an anchor: deleting or re-ACLing entries counts, adding files does not; DELETE on a drive root is harmless', () => {
  assert.equal(sddlProblem(FIXTURES.driveRoot, svc, ROOT_CLASS), undefined);
  assert.equal(sddlProblem(FIXTURES.programFiles, svc, FOLDER_CLASS), undefined);
  assert.equal(sddlProblem(FIXTURES.driveRootServer, svc, ROOT_CLASS), undefined);
  assert.equal(sddlProblem(FIXTURES.driveRoot, svc, FOLDER_CLASS), undefined, 'AU may only add a folder to C:\\');
  assert.match(sddlProblem(FIXTURES.driveRoot, svc, WRITE_CLASS) ?? '', /grants S-1-5-11 write access \(A;;0x4\)/);
  assert.equal(sddlProblem(FIXTURES.optServer, svc, FOLDER_CLASS), undefined, "Server: Users may add to C:\\opt, which replaces nothing above an anchor");
  assert.match(sddlProblem(FIXTURES.optInherited, svc, FOLDER_CLASS) ?? '', /grants S-1-5-11 write access/);
  assert.equal(sddlProblem('O:BAD:P(A;;FA;;;SY)(A;;0x6;;;BU)', svc, FOLDER_CLASS), undefined, 'add file / add folder only');
  assert.match(sddlProblem('O:BAD:P(A;;FA;;;SY)(A;;0x40;;;BU)', svc, FOLDER_CLASS) ?? '', /S-1-5-32-545 write access/, 'delete child');
});

test("an executable's own folder: adding a file or a folder there counts (DLL planting), elsewhere it does not", () => {
  // stock and locked-down folders pass as node.exe's folder
  for (const name of ['programFiles', 'programFilesChild', 'optLocked'] as const) assert.equal(sddlProblem(FIXTURES[name], svc, EXE_FOLDER_CLASS), undefined, name);
  // C:\opt\nodejs on Windows Server: Users may add files (DC) and folders (LC) beside node.exe
  assert.match(sddlProblem(FIXTURES.optServer, svc, EXE_FOLDER_CLASS) ?? 'passed', /grants S-1-5-32-545 write access \(A;CIID;0x4\)/);
  assert.match(sddlProblem(FIXTURES.optServer.replace('(A;CIID;LC;;;BU)', ''), svc, EXE_FOLDER_CLASS) ?? 'passed', /grants S-1-5-32-545 write access \(A;CIID;0x2\)/);
  assert.match(sddlProblem(FIXTURES.optInherited, svc, EXE_FOLDER_CLASS) ?? 'passed', /grants S-1-5-11 write access/);
  // the review's example: read + add file + add subfolder for Users; and GENERIC_WRITE
  assert.match(sddlProblem('O:BAD:P(A;;FA;;;SY)(A;;0x1200a6;;;BU)', svc, EXE_FOLDER_CLASS) ?? 'passed', /S-1-5-32-545 write access/);
  assert.match(sddlProblem('O:BAD:P(A;;FA;;;SY)(A;;GW;;;BU)', svc, EXE_FOLDER_CLASS) ?? 'passed', /S-1-5-32-545 write access/);
  // inherit-only add rights apply to subfolders, not to this one
  assert.equal(sddlProblem('O:BAD:P(A;;FA;;;SY)(A;CIIO;DC;;;BU)', svc, EXE_FOLDER_CLASS), undefined);
});

test('findWindowsAnchorProblems walks each anchor and its folders once, and refuses when no ACL can be read', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'kg-acl-')));
  try {
    const node = join(root, 'nodejs', 'node.exe');
    const entry = join(root, 'app', 'dist', 'main.js');
    for (const f of [node, entry]) {
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, 'x');
    }
    const asked: string[][] = [];
    const anchors = [
      { what: 'the node executable', path: node },
      { what: 'the main entry', path: entry },
    ];
    const reader = (bad: Record<string, string>) => (paths: readonly string[]) => {
      asked.push([...paths]);
      return { user: SVC, userIsAdmin: false, sddl: new Map(paths.map((p) => [p, bad[p] ?? (p === node || p === entry ? FIXTURES.nodeExe : p === '/' ? FIXTURES.driveRoot : FIXTURES.optLocked)])) };
    };
    assert.deepEqual(findWindowsAnchorProblems(anchors, reader({})), []);
    assert.equal(asked[0]!.length, new Set(asked[0]).size, 'each path asked once');
    assert.ok(asked[0]!.includes(root) && asked[0]!.includes('/'));
    const problems = findWindowsAnchorProblems(anchors, reader({ [join(root, 'app')]: FIXTURES.optInherited, [entry]: FIXTURES.userOwned }));
    assert.deepEqual(problems.map((p) => p.replaceAll(root, '<root>')), [
      'the main entry <root>/app/dist/main.js: it is owned by S-1-5-21-1004336348-1177238915-682003330-1001, not Administrators, SYSTEM or TrustedInstaller',
      'the main entry <root>/app/dist/main.js: the folder <root>/app grants S-1-5-11 write access (A;ID;0x1301bf)',
    ]);
    const unread = findWindowsAnchorProblems(anchors, () => {
      throw new Error('PowerShell Get-Acl could not run (ENOENT)');
    });
    assert.equal(unread.length, 2);
    assert.match(unread[0]!, /node.exe: its ACL cannot be read \(PowerShell Get-Acl could not run \(ENOENT\)\)/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("the PowerShell script's output is read per path; an ERR line or a missing one is an unreadable ACL", () => {
  const r = parseAclOutput(`USER\t${SVC}\tFalse\r\nACL\t${FIXTURES.nodeExe}\r\nERR\tAttempted to perform an unauthorized operation.\r\n`, ['a', 'b', 'c']);
  assert.equal(r.user, SVC);
  assert.equal(r.userIsAdmin, false);
  assert.equal(r.sddl.get('a'), FIXTURES.nodeExe);
  assert.match(String(r.sddl.get('b')), /unauthorized/);
  assert.ok(r.sddl.get('c') instanceof Error);
  assert.equal(parseAclOutput(`USER\t${SID.system}\tFalse\n`, []).userIsAdmin, true, 'SYSTEM counts as admin');
  assert.throws(() => parseAclOutput('', ['a']), /no user line/);
});

test("findWindowsAnchorProblems judges an executable's folder by the stricter rule, whichever anchor reaches it first", () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'kg-acl-')));
  try {
    const node = join(root, 'opt', 'nodejs', 'node.exe');
    const entry = join(root, 'app', 'dist', 'main.js');
    const client = join(root, 'app', 'cspmclient64.exe'); // the vault client in a folder the entry's walk passes first
    for (const f of [node, entry, client]) {
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, 'x');
    }
    const acl = (server: readonly string[]) => (paths: readonly string[]) => ({
      user: SVC,
      userIsAdmin: false,
      sddl: new Map(paths.map((p) => [p, [node, entry, client].includes(p) ? FIXTURES.nodeExe : p === '/' ? FIXTURES.driveRootServer : server.includes(p) ? FIXTURES.optServer : FIXTURES.optLocked])),
    });
    const anchors = [
      { what: 'the main entry', path: entry },
      { what: 'the node executable', path: node, executable: true },
      { what: 'the vault client', path: client, executable: true },
    ];
    // Server-style folders everywhere but where nothing runs from: no problem
    assert.deepEqual(findWindowsAnchorProblems(anchors, acl([join(root, 'opt'), join(root, 'app', 'dist')])), []);
    const got = findWindowsAnchorProblems(anchors, acl([join(root, 'opt', 'nodejs'), join(root, 'app')])).map((p) => p.replaceAll(root, '<root>'));
    assert.deepEqual(got, [
      "the vault client <root>/app/cspmclient64.exe: the folder <root>/app grants S-1-5-32-545 write access (A;CIID;0x4): it may add files beside the executable, and Windows loads DLLs from an executable's own folder first (DLL planting)",
      "the node executable <root>/opt/nodejs/node.exe: the folder <root>/opt/nodejs grants S-1-5-32-545 write access (A;CIID;0x4): it may add files beside the executable, and Windows loads DLLs from an executable's own folder first (DLL planting)",
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('trust.owners SIDs (a deploy account) may own and write anchors on Windows; the account keygate runs as may not', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'kg-acl-sid-')));
  try {
    const entry = join(root, 'app', 'dist', 'main.js');
    mkdirSync(dirname(entry), { recursive: true });
    writeFileSync(entry, 'x');
    const anchors = [{ what: 'the main entry', path: entry }];
    // the entry owned by ALICE (a deploy account), the rest as an administrator locked it down
    const reader = (user: string) => (paths: readonly string[]) => ({
      user,
      userIsAdmin: false,
      sddl: new Map(paths.map((p) => [p, p === entry ? FIXTURES.userOwned : p === '/' ? FIXTURES.driveRoot : FIXTURES.optLocked])),
    });
    assert.match(findWindowsAnchorProblems(anchors, reader(SVC)).join('\n'), new RegExp(`owned by ${ALICE}, not Administrators`));
    assert.deepEqual(findWindowsAnchorProblems(anchors, reader(SVC), [ALICE]), []);
    // keygate itself running as ALICE: naming it in trust.owners is refused, and its own file stays refused
    const self = findWindowsAnchorProblems(anchors, reader(ALICE), [ALICE]).join('\n');
    assert.match(self, new RegExp(`trust.owners names ${ALICE}, the account keygate runs as`));
    assert.match(self, /the user keygate runs as/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
