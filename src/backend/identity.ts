// The two identities of privilege separation (docs/backend.md#privilege-separation): server.user, which serves
// and asks the vault, and server.backend.user, which runs the app. Names go through NSS (getent), so LDAP and
// sssd users resolve as they do for login; a numeric id is taken as it is.

import { spawnSync } from 'node:child_process';
import { KeygateError } from '../errors.js';

/** glibc's getent: NSS lookups without a native addon. Absolute: keygate does no PATH lookup. */
const GETENT = '/usr/bin/getent';

export interface Identity {
  readonly uid: number;
  readonly gid: number;
  /** As configured, for messages. */
  readonly name: string;
  /** Known to NSS by its uid: its supplementary groups can be set from the group database. */
  readonly hasPasswdEntry: boolean;
}

/** `name:x:uid:gid:...` (passwd) or `name:x:gid:...` (group): the numeric fields, or undefined. */
export function parseGetent(line: string, db: 'passwd' | 'group'): { id: number; gid?: number } | undefined {
  const f = line.trim().split(':');
  const id = Number(f[2]);
  if (f.length < (db === 'passwd' ? 7 : 3) || !Number.isInteger(id) || id < 0) return undefined;
  if (db === 'group') return { id };
  const gid = Number(f[3]);
  return Number.isInteger(gid) && gid >= 0 ? { id, gid } : undefined;
}

function lookup(db: 'passwd' | 'group', key: string): { id: number; gid?: number } | undefined {
  const r = spawnSync(GETENT, [db, key], { encoding: 'utf8', timeout: 10_000, env: {} });
  if (r.error) {
    throw new KeygateError('BACKEND_USER_INVALID', `failed to look up ${db === 'passwd' ? 'user' : 'group'} ${key}: ${GETENT} could not run (${r.error.message})`, {
      hint: 'give server.user and server.backend.user as numeric ids (uid) instead',
    });
  }
  return r.status === 0 ? parseGetent(r.stdout.split('\n')[0] ?? '', db) : undefined;
}

/** A configured user (and optional group) as numeric ids; a name NSS does not know stops the start. */
export function resolveIdentity(user: string, group: string | undefined, setting: string): Identity {
  let uid: number;
  let gid: number | undefined;
  let hasPasswdEntry = true;
  if (/^\d+$/.test(user)) {
    uid = Number(user);
    gid = lookup('passwd', user)?.gid;
    hasPasswdEntry = gid !== undefined;
  } else {
    const pw = lookup('passwd', user);
    if (!pw) throw new KeygateError('BACKEND_USER_INVALID', `failed to find the user ${user} (${setting}.user): no such user on this host`, { hint: `useradd --system --no-create-home --shell /usr/sbin/nologin ${user}` });
    uid = pw.id;
    gid = pw.gid;
  }
  if (group !== undefined) {
    if (/^\d+$/.test(group)) gid = Number(group);
    else {
      const gr = lookup('group', group);
      if (!gr) throw new KeygateError('BACKEND_USER_INVALID', `failed to find the group ${group} (${setting}.group): no such group on this host`, { hint: `groupadd --system ${group}` });
      gid = gr.id;
    }
  }
  // A numeric uid without a passwd entry and without a group: its own number, as systemd's DynamicUser does.
  gid ??= uid;
  if (uid === 0 || gid === 0) throw new KeygateError('BACKEND_USER_INVALID', `failed to use ${setting}.user ${user}: it is root (uid or gid 0), which is what separation leaves`, { hint: `name a user of its own in ${setting}.user` });
  return { uid, gid, name: group !== undefined ? `${user}:${group}` : user, hasPasswdEntry };
}

/** The two identities, checked against each other: different uids and groups, or the backend could reach keygate. */
export function separationIdentities(server: { user?: string; group?: string }, backend: { user?: string; group?: string }): { server: Identity; backend: Identity } {
  const s = resolveIdentity(server.user!, server.group, 'server');
  const b = resolveIdentity(backend.user!, backend.group, 'server.backend');
  if (s.uid === b.uid) throw new KeygateError('BACKEND_USER_INVALID', `failed to separate: server.user ${s.name} and server.backend.user ${b.name} are the same uid ${s.uid}`, { hint: 'give the backend a user of its own: useradd --system <name>-app' });
  if (s.gid === b.gid) throw new KeygateError('BACKEND_USER_INVALID', `failed to separate: server.user ${s.name} and server.backend.user ${b.name} share the group ${s.gid}, which reaches the backend's socket folder and keygate's files`, { hint: 'set server.backend.group to a group of the backend\'s own' });
  return { server: s, backend: b };
}
