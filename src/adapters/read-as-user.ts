// What another user can read and run, found by trying it as that user: `keygate doctor` asks it for the user a
// production start reads as (server.user, or the unit's User=). Permission bits alone would miss ACLs,
// supplementary groups and root-squashed mounts; a real open() by that uid misses none of them. As root the
// attempt runs in a short child process under that uid (setpriv, as the backend's start does); as that user
// itself, in a plain child (the same probe). Only open and access: nothing is read, a FIFO is opened non-blocking.

import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** util-linux setpriv, by absolute path: keygate does no PATH lookup. */
const SETPRIV = '/usr/bin/setpriv';

export interface AsUser {
  readonly uid: number;
  readonly gid: number;
  /** Known to NSS: its supplementary groups are set from the group database (--init-groups), as systemd does. */
  readonly hasPasswdEntry: boolean;
}

export interface Denied {
  readonly path: string;
  /** What was tried: open for reading, or run. */
  readonly want: 'read' | 'run';
  /** EACCES, EPERM, … */
  readonly code: string;
  /** The first folder on the way this user cannot enter, or the path itself. */
  readonly blocker: string;
}

export interface Probe {
  readonly read: readonly string[];
  readonly run: readonly string[];
}

/**
 * The probe, in plain JavaScript that the child runs from `node -e` (it loads no file but Node's built-ins). Only
 * permission errors are reported: a missing file is another check's finding.
 */
const PROBE_SOURCE = String.raw`
const fs = require('node:fs');
const path = require('node:path');
function blocker(p) {
  const parts = [];
  for (let d = path.dirname(p); ; d = path.dirname(d)) { parts.unshift(d); if (path.dirname(d) === d) break; }
  for (const d of parts) { try { fs.accessSync(d, fs.constants.X_OK); } catch { return d; } }
  return p;
}
function probe(job) {
  const out = [];
  const tryOne = (p, want) => {
    try {
      if (want === 'read') fs.closeSync(fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK));
      else fs.accessSync(p, fs.constants.X_OK);
    } catch (err) {
      if (err.code === 'EACCES' || err.code === 'EPERM') out.push({ path: p, want, code: err.code, blocker: blocker(p) });
    }
  };
  for (const p of job.read) tryOne(p, 'read');
  for (const p of job.run) tryOne(p, 'run');
  return out;
}
`;

export type AsUserResult = { readonly ok: true; readonly denied: Denied[] } | { readonly ok: false; readonly why: string };

/**
 * Tries every open and run of `job` as `user`, in a child process: a plain one when this process already runs as
 * that uid, else (root only) one under setpriv with that uid, gid and groups. `{ok: false}` says why it could not
 * be tried.
 */
export function probeAsUser(user: AsUser, job: Probe, nodePath: string): AsUserResult {
  const me = process.getuid?.();
  const self = me === user.uid;
  if (!self && me !== 0) return { ok: false, why: `doctor runs as uid ${me}, and only root can try it as uid ${user.uid}` };
  if (!self && !existsSync(SETPRIV)) return { ok: false, why: `${SETPRIV} is missing (apt-get install util-linux)` };
  const groups = user.hasPasswdEntry ? '--init-groups' : '--clear-groups';
  const as = [`--reuid=${user.uid}`, `--regid=${user.gid}`, groups, '--'];
  // setpriv keeps its capabilities until the exec, so node starts even from a folder the user cannot enter; the
  // probe's own access(X_OK) on node, run as the user, is what says whether a start as that user could run it.
  // as this user already: the same probe in a child too, so that both ways run the same code
  const [file, args] = self ? [nodePath, []] : [SETPRIV, [...as, nodePath]];
  const script = `${PROBE_SOURCE}
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => process.stdout.write(JSON.stringify(probe(JSON.parse(input)))));`;
  const r = spawnSync(file, [...args, '-e', script], {
    input: JSON.stringify(job),
    encoding: 'utf8',
    env: {},
    cwd: '/',
    timeout: 120_000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}`;
    return { ok: false, why: `the check as uid ${user.uid} could not run (${file}: ${why})` };
  }
  try {
    return { ok: true, denied: JSON.parse(r.stdout) as Denied[] };
  } catch {
    return { ok: false, why: `the check as uid ${user.uid} printed no answer` };
  }
}
