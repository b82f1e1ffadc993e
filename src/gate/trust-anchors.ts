// Trust anchors: what runs before keygate's own code, or receives the password, cannot be protected by a hash
// keygate computes — the code doing the check is the code being checked (a wrapper script in place of a listed
// node passes its own verification; an entry can put its registered bytes back before the vault hashes it; a
// fake vault client keeps the password). These files are protected by ownership, as sshd's StrictModes
// protects authorized_keys (auth.c secure_filename): the file and every folder above it must be owned by root
// (or a trusted owner named in trust.owners) and not writable by group or other; and, when keygate does not run
// as root, not owned by the user keygate runs as (who could chmod them). The anchors: the node executable, the
// main entry and the package.json files Node reads to load it, and the vault client.
// Production refuses the start (trust.anchors "refuse", the default); the demo warns ("warn").

import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { KeygateError } from '../errors.js';
import type { Context } from '../context.js';
import type { Config } from '../core/config.js';
import { vaultClientPath } from '../core/vault-client.js';
import { ADD_CLASS, EXE_FOLDER_CLASS, FOLDER_CLASS, ROOT_CLASS, WRITE_CLASS, sddlProblem } from '../core/sddl.js';
import { HOST_PATH_STYLE } from '../core/path-style.js';
import { readAclsWithPowerShell, type AclReader } from '../adapters/windows-acl.js';

export interface Anchor {
  /** What it is, for the message ("the vault client"). */
  readonly what: string;
  readonly path: string;
  /** A program Windows starts (node.exe, the vault client): its own folder must not let others add files. */
  readonly executable?: boolean;
}

export interface OwnershipRules {
  /** The uid keygate runs as. */
  readonly uid: number;
  /** uids besides root that may own anchors (a deploy user); never the uid keygate runs as, unless that is root. */
  readonly trustedUids: readonly number[];
}

/** One line per problem: "<what> <path>: <why>". Empty when every anchor and folder above it is sound. */
export function findAnchorProblems(anchors: readonly Anchor[], rules: OwnershipRules, stat: (p: string) => Stats = lstatSync): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const anchor of anchors) {
    let real: string;
    try {
      real = realpathSync(anchor.path);
    } catch (err) {
      problems.push(`${anchor.what} ${anchor.path}: cannot be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      continue;
    }
    // The file itself, then each folder up to /: whoever can write a folder can replace what is in it.
    for (let p = real, first = true; ; first = false) {
      if (!seen.has(p)) {
        seen.add(p);
        const why = unsound(stat(p), rules);
        if (why) problems.push(`${anchor.what} ${anchor.path}: ${first ? 'it' : `the folder ${p}`} ${why}`);
      }
      const up = dirname(p);
      if (up === p) break;
      p = up;
    }
  }
  return problems;
}

function unsound(st: Stats, rules: OwnershipRules): string | undefined {
  const w = st.mode & 0o022;
  if (w !== 0) return `is writable by ${w === 0o022 ? 'its group and others' : w === 0o020 ? 'its group' : 'others'} (mode ${(st.mode & 0o7777).toString(8)})`;
  if (st.uid === 0) return undefined;
  if (st.uid === rules.uid) return `is owned by uid ${st.uid}, the user keygate runs as (it could change it)`;
  if (!rules.trustedUids.includes(st.uid)) return `is owned by uid ${st.uid}, not root or a trust.owners uid`;
  return undefined;
}

/**
 * Windows: the same walk (each anchor and every folder above it), judged by its ACL (src/core/sddl.ts, Win32-OpenSSH's
 * rule) instead of mode bits, which on Windows say nothing (docs/windows.md#trust-anchors). An ACL that cannot be
 * read is a problem: production refuses, as for any anchor it cannot vouch for.
 *
 * Each path is judged once, by the strictest rule any anchor puts on it: the file itself by WRITE_CLASS; the folder
 * an executable anchor sits in by EXE_FOLDER_CLASS (adding a file there plants a DLL: review 2026-12b M2); other
 * folders by FOLDER_CLASS; the drive root by ROOT_CLASS.
 */
export function findWindowsAnchorProblems(anchors: readonly Anchor[], read: AclReader = readAclsWithPowerShell, trusted: readonly string[] = []): string[] {
  const problems: string[] = [];
  const show = (p: string): string => (HOST_PATH_STYLE === 'win32' ? p.replace(/\//g, '\\') : p);
  // path -> the strictest mask asked for it, and the first anchor (and its role) that asked for that mask
  const judged = new Map<string, { mask: number; anchor: Anchor; role: 'file' | 'exe-folder' | 'folder' }>();
  const order: string[] = [];
  const ask = (p: string, mask: number, anchor: Anchor, role: 'file' | 'exe-folder' | 'folder'): void => {
    const had = judged.get(p);
    if (!had) {
      order.push(p);
      judged.set(p, { mask, anchor, role });
    } else if ((mask & ~had.mask) !== 0) judged.set(p, { mask: had.mask | mask, anchor, role });
  };
  for (const anchor of anchors) {
    let real: string;
    try {
      real = realpathSync(anchor.path);
    } catch (err) {
      problems.push(`${anchor.what} ${show(anchor.path)}: cannot be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      continue;
    }
    for (let p = real, i = 0; ; i++) {
      const up = dirname(p);
      const root = up === p;
      const mask = i === 0 ? WRITE_CLASS : i === 1 && anchor.executable ? EXE_FOLDER_CLASS : root ? ROOT_CLASS : FOLDER_CLASS;
      ask(p, mask, anchor, i === 0 ? 'file' : i === 1 && anchor.executable ? 'exe-folder' : 'folder');
      if (root) break;
      p = up;
    }
  }
  if (order.length === 0) return problems;
  let reading;
  try {
    reading = read(order);
  } catch (err) {
    const told = new Set<Anchor>();
    for (const p of order) {
      const { anchor } = judged.get(p)!;
      if (told.has(anchor)) continue;
      told.add(anchor);
      problems.push(`${anchor.what} ${show(anchor.path)}: its ACL cannot be read (${(err as Error).message})`);
    }
    return problems;
  }
  // The account keygate runs as may not be trusted by name either (as server.user may not be in trust.owners):
  // an owner can rewrite the ACL, so the service could replace the code that checks it.
  if (trusted.includes(reading.user) && !reading.userIsAdmin) {
    problems.push(`trust.owners names ${reading.user}, the account keygate runs as: it could then own and rewrite its own trust anchors`);
  }
  const rules = { user: reading.user, userIsAdmin: reading.userIsAdmin, trusted: trusted.filter((sid) => sid !== reading.user) };
  for (const p of order) {
    const { mask, anchor, role } = judged.get(p)!;
    const sddl = reading.sddl.get(p);
    let why = sddl === undefined || sddl instanceof Error ? `has an ACL that cannot be read (${sddl?.message ?? 'no answer'})` : sddlProblem(sddl, rules, mask);
    // Say why a folder that only lets others add files is refused: it is the executable's own folder.
    if (why && role === 'exe-folder' && typeof sddl === 'string' && !sddlProblem(sddl, rules, mask & ~ADD_CLASS)) {
      why += ": it may add files beside the executable, and Windows loads DLLs from an executable's own folder first (DLL planting)";
    }
    if (why) problems.push(`${anchor.what} ${show(anchor.path)}: ${role === 'file' ? 'it' : `the folder ${show(p)}`} ${why}`);
  }
  return problems;
}

/** The package.json files Node reads to load an entry: the nearest one up from its folder. */
export function entryPackageJsons(entry: string): string[] {
  const out: string[] = [];
  for (let d = dirname(entry); ; ) {
    const pj = join(d, 'package.json');
    try {
      lstatSync(pj);
      out.push(pj);
      break; // Node stops at the nearest package.json
    } catch {
      /* none here */
    }
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return out;
}

/**
 * Ownership of what cannot be hashed (src/gate/trust-anchors.ts): refuse, or warn loudly in the dev demo.
 * `vaultClient: false`: the root half of privilege separation, which never runs the vault client; the serving
 * half checks it as the user that runs it (root without DAC override may not even reach its folder).
 */
export function checkTrustAnchors(ctx: Context, config: Config, base: string, which: { vaultClient?: boolean } = {}): void {
  const { io, log } = ctx;
  const anchors = [
    { what: 'the node executable', path: io.nodePath, executable: true },
    { what: 'the main entry', path: io.entry },
    ...entryPackageJsons(io.entry).map((path) => ({ what: "the entry's package.json", path })),
    ...(which.vaultClient === false ? [] : [{ what: 'the vault client', path: vaultClientPath(config.vault, base, io.env), executable: true }]),
  ];
  const problems = process.platform === 'win32' ? findWindowsAnchorProblems(anchors, undefined, config.trust.ownerSids) : findAnchorProblems(anchors, { uid: process.getuid?.() ?? 0, trustedUids: config.trust.owners });
  if (problems.length === 0) return;
  if (config.trust.anchors === 'warn') {
    for (const p of problems) log.warn(`TRUST ANCHOR NOT PROTECTED (dev: trust.anchors is "warn", production refuses): ${p}`, { gate: 'anchors' });
    return;
  }
  const win = process.platform === 'win32';
  throw new KeygateError('UNTRUSTED_ANCHOR', `refused to start: ${problems.length} trust anchor problem${problems.length > 1 ? 's' : ''} (what runs before the gate or receives the password must be ${win ? 'owned and writable only by Administrators, SYSTEM or TrustedInstaller' : "root's"})\n${problems.join('\n')}`, {
    hint: win
      ? 'icacls <file and each folder above it> /setowner *S-1-5-32-544 and remove write rights of every other principal; if PowerShell is missing, install it (docs/windows.md#trust-anchors)'
      : 'chown root:root <file and each folder above it> && chmod go-w <same>, or name the deploy user\'s uid in trust.owners (docs/security.md#trust-anchors)',
  });
}
