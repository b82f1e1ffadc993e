// Windows trust-anchor rule on SDDL strings. The fixtures are in the format Get-Acl's .Sddl prints, written from
// Windows 10/Server defaults as documented (MS-DTYP, the default ACLs of C:\, Program Files, a folder an admin
// made under C:\): RECORDED FORMAT, NOT CAPTURED FROM A REAL HOST (Wine has no Get-Acl; docs/windows.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FOLDER_CLASS, ROOT_CLASS, SID, parseSddl, sddlProblem } from './sddl.js';
import { parseAclOutput } from '../adapters/windows-acl.js';
import { findWindowsAnchorProblems } from '../gate/trust-anchors.js';

const TI = SID.trustedInstaller;
const SVC = 'S-1-5-80-3141592653-1111111111-2222222222-3333333333-4444444444'; // a virtual service account (NT SERVICE\keygate)
const ALICE = 'S-1-5-21-1004336348-1177238915-682003330-1001';
const svc = { user: SVC, userIsAdmin: false };

const FIXTURES = {
  driveRoot: `O:${TI}G:${TI}D:PAI(A;OICIIO;SDGXGWGR;;;AU)(A;;0x1301bf;;;AU)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)`,
  programFiles: `O:${TI}G:${TI}D:PAI(A;;FA;;;${TI})(A;CIIO;GA;;;${TI})(A;;0x1301bf;;;SY)(A;OICIIO;GA;;;SY)(A;;0x1301bf;;;BA)(A;OICIIO;GA;;;BA)(A;;0x1200a9;;;BU)(A;OICIIO;GXGR;;;BU)(A;OICIIO;GA;;;CO)(A;;0x1200a9;;;AC)(A;OICIIO;GXGR;;;AC)`,
  nodeExe: 'O:BAG:SYD:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;0x1200a9;;;BU)(A;ID;0x1200a9;;;AC)(A;ID;0x1200a9;;;S-1-15-2-2)',
  // C:\opt made by an elevated admin: it inherits Authenticated Users' Modify from C:\ (the seed's folder)
  optInherited: 'O:BAG:S-1-5-21-1004336348-1177238915-682003330-513D:AI(A;ID;FA;;;BA)(A;OICIIOID;GA;;;BA)(A;ID;FA;;;SY)(A;OICIIOID;GA;;;SY)(A;OICIID;0x1200a9;;;BU)(A;ID;0x1301bf;;;AU)(A;OICIIOID;SDGXGWGR;;;AU)',
  // the same after `icacls C:\opt /inheritance:r /grant:r *S-1-5-32-544:(OI)(CI)F *S-1-5-18:(OI)(CI)F *S-1-5-32-545:(OI)(CI)RX`
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
  assert.equal(parseSddl(FIXTURES.driveRoot).dacl?.[0]?.rights, (0x10000 | 0x20000000 | 0x40000000 | 0x80000000) >>> 0);
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
  assert.match(sddlProblem(FIXTURES.driveRoot, svc, FOLDER_CLASS) ?? '', /grants S-1-5-11/);
  assert.match(sddlProblem(FIXTURES.optInherited, svc, FOLDER_CLASS) ?? '', /grants S-1-5-11 write access/);
  assert.equal(sddlProblem('O:BAD:P(A;;FA;;;SY)(A;;0x6;;;BU)', svc, FOLDER_CLASS), undefined, 'add file / add folder only');
  assert.match(sddlProblem('O:BAD:P(A;;FA;;;SY)(A;;0x40;;;BU)', svc, FOLDER_CLASS) ?? '', /S-1-5-32-545 write access/, 'delete child');
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
