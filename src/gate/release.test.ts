// Where the host's release floor may live (src/gate/release.ts stateChainProblem): the file and every folder above
// it root's and writable by no one else; a root-owned sticky folder (/tmp) may be passed through. The walk is
// checked on a real temp path with the ownership and modes given by a stand-in stat.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stateChainProblem } from './release.js';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'kg-state-')));
mkdirSync(join(base, 'lib'));
const file = join(base, 'lib', 'shop.version');
writeFileSync(file, '3\n');

/** root:root 0755 folders and a 0644 file, except what `over` says. */
function statWith(over: Record<string, { uid?: number; mode?: number; link?: boolean }>): (p: string) => Stats {
  return (p) => {
    const dir = p !== file;
    const o = over[p] ?? {};
    if (o.link) return { uid: o.uid ?? 0, mode: 0o120777, isDirectory: () => false, isSymbolicLink: () => true } as unknown as Stats;
    return { uid: o.uid ?? 0, mode: (dir ? 0o40000 : 0o100000) | (o.mode ?? (dir ? 0o755 : 0o644)), isDirectory: () => dir, isSymbolicLink: () => false } as unknown as Stats;
  };
}

test('sound: root\'s all the way up', () => {
  assert.equal(stateChainProblem(file, statWith({})), undefined);
});

test('a folder anyone else can write, or owned by another user, anywhere above it, is named', () => {
  assert.match(stateChainProblem(file, statWith({ [join(base, 'lib')]: { mode: 0o775 } }))!.message, new RegExp(`^${join(base, 'lib')} is owned by uid 0 with mode 775`));
  assert.match(stateChainProblem(file, statWith({ [base]: { uid: 1000, mode: 0o700 } }))!.message, new RegExp(`^${base} is owned by uid 1000`));
  assert.match(stateChainProblem(file, statWith({ '/': { mode: 0o777 } }))!.message, /^\/ is owned by uid 0 with mode 777/);
  assert.match(stateChainProblem(file, statWith({ [file]: { uid: 64101 } }))!.message, /is owned by uid 64101 with mode 644/);
});

test('a root-owned sticky folder may be passed through; the file itself is never excused', () => {
  assert.equal(stateChainProblem(file, statWith({ [dirname(base)]: { mode: 0o1777 } })), undefined);
  assert.match(stateChainProblem(file, statWith({ [dirname(base)]: { uid: 1000, mode: 0o1777 } }))!.message, /is owned by uid 1000/);
  assert.match(stateChainProblem(file, statWith({ [file]: { mode: 0o1666 } }))!.message, /mode 1666/);
});

test('a state file not made yet is judged by its nearest folder that exists', () => {
  const later = join(base, 'lib', 'new', 'deeper', 'shop.version');
  assert.equal(stateChainProblem(later, statWith({})), undefined);
  assert.match(stateChainProblem(later, statWith({ [join(base, 'lib')]: { mode: 0o777 } }))!.message, /lib is owned by uid 0 with mode 777/);
});

test('a symlink on the path as written that another user owns is refused, wherever it leads; root\'s may stay', () => {
  const later = join(base, 'kg', 'shop.version'); // base/kg does not exist: a link planted there before install
  assert.match(stateChainProblem(later, statWith({ [join(base, 'kg')]: { link: true, uid: 1000 } }))!.message, new RegExp(`^${join(base, 'kg')} is a symlink owned by uid 1000`));
  assert.equal(stateChainProblem(later, statWith({ [join(base, 'kg')]: { link: true, uid: 0 } })), undefined);
  // Each problem carries the fix for its own kind: the planted link is replaced, an owner is changed.
  assert.equal(stateChainProblem(later, statWith({ [join(base, 'kg')]: { link: true, uid: 1000 } }))!.fix, `rm ${join(base, 'kg')} && install -d -m 0755 -o root ${join(base, 'kg')}`);
  assert.equal(stateChainProblem(file, statWith({ [base]: { uid: 1000, mode: 0o700 } }))!.fix, `chown root:root ${base} && chmod go-w ${base}`);
});

test('folderOnly: the folders a new state file would go in, as for a file not made yet; the file itself is not judged', () => {
  assert.equal(stateChainProblem(file, statWith({ [file]: { uid: 64101, mode: 0o666 } }), { folderOnly: true }), undefined);
  assert.equal(stateChainProblem(file, statWith({ [file]: { link: true, uid: 64101 } }), { folderOnly: true }), undefined);
  assert.match(stateChainProblem(file, statWith({ [join(base, 'lib')]: { uid: 64101 } }), { folderOnly: true })!.message, /lib is owned by uid 64101/);
  // a root-owned sticky folder holds root's file safely, so it passes as the folder of a new one too
  assert.equal(stateChainProblem(join(dirname(base), 'shop.version'), statWith({ [dirname(base)]: { mode: 0o1777 } }), { folderOnly: true }), undefined);
});
