// The admin user registry (admin/users.json by default): who may log in, with which public key, until when,
// and which actions. It is listed in the manifest and read from verified bytes, so adding a user is a manifest
// change (generate-filelist + pin), like OpenSSH's authorized_keys under StrictModes but hashed as well.
// Pure: bytes in, users out (parseUsers), registry in, bytes out (serializeUsers).

import { createPublicKey, type KeyObject } from 'node:crypto';
import { keyFingerprint, userKeyType } from './crypto.js';

/** What a user may do besides /cmd actions: `get` (download) and `put` (upload into the drop folder). */
export const FILE_OPERATIONS = ['get', 'put'] as const;
export const USER_NAME = /^[A-Za-z0-9._@-]{1,64}$/;

export interface AdminUser {
  readonly name: string;
  readonly key: KeyObject;
  readonly fingerprint: string;
  /** Seconds since the epoch after which the key no longer logs in; undefined: no expiry. */
  readonly expiresS?: number;
  /** Action names, `get`, `put`, or `*` for all. */
  readonly actions: readonly string[];
}

/** The registry as it is stored: name → { key (SPKI PEM), expires (ISO date), actions }. */
export interface RegistryEntry {
  key: string;
  expires?: string;
  actions: string[];
}

export type Registry = { users: Record<string, RegistryEntry> };

export interface ParsedUsers {
  readonly users: ReadonlyMap<string, AdminUser>;
  readonly problems: readonly string[];
}

/** A public key from PEM, if it is one a login can use (Ed448, or RSA ≥ 2048 as remo_serv's smart cards). */
export function parseUserKey(pem: string): KeyObject | string {
  // createPublicKey would derive the public half of a private key: a private key must never be handed over here.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) return 'is a private key';
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    return 'is not a PEM public key (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY")';
  }
  return userKeyType(key) ? key : `is a ${key.asymmetricKeyType} key; an admin key is Ed448 (or RSA of 2048 bits or more)`;
}

/** Parses registry bytes; `known` is every action name the config offers. Problems are `<user>: <message>`. */
export function parseUsers(bytes: Uint8Array, known: readonly string[]): ParsedUsers {
  const problems: string[] = [];
  const users = new Map<string, AdminUser>();
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    return { users, problems: [`not JSON: ${(err as Error).message}`] };
  }
  const list = (raw as Registry | null)?.users;
  if (typeof list !== 'object' || list === null || Array.isArray(list)) return { users, problems: ['must be {"users": {"<name>": {"key": "<PEM>", "actions": [...]}}}'] };
  const allowed = new Set([...known, ...FILE_OPERATIONS, '*']);
  for (const [name, e] of Object.entries(list)) {
    if (!USER_NAME.test(name)) problems.push(`${JSON.stringify(name)}: a user name is 1 to 64 of A-Z a-z 0-9 . _ @ -`);
    if (typeof e !== 'object' || e === null) {
      problems.push(`${name}: must be an object with key and actions`);
      continue;
    }
    for (const k of Object.keys(e)) if (!['key', 'expires', 'actions', '$comment'].includes(k)) problems.push(`${name}.${k}: unknown setting`);
    const key = typeof e.key === 'string' ? parseUserKey(e.key) : 'is missing';
    if (typeof key === 'string') problems.push(`${name}.key: ${key}`);
    let expiresS: number | undefined;
    if (e.expires !== undefined) {
      expiresS = typeof e.expires === 'string' && /^\d{4}-\d{2}-\d{2}/.test(e.expires) ? Date.parse(e.expires) / 1000 : NaN;
      if (!Number.isFinite(expiresS)) problems.push(`${name}.expires: must be an ISO date, e.g. 2027-01-31 or 2027-01-31T12:00:00Z`);
    }
    if (!Array.isArray(e.actions) || e.actions.length === 0 || !e.actions.every((a) => typeof a === 'string')) {
      problems.push(`${name}.actions: must list what the user may run, e.g. ["status", "tail-log", "get"] or ["*"]`);
    } else {
      for (const a of e.actions) if (!allowed.has(a)) problems.push(`${name}.actions: ${JSON.stringify(a)} is no action of this config (known: ${[...allowed].join(', ')})`);
    }
    if (typeof key !== 'string' && Array.isArray(e.actions)) users.set(name, { name, key, fingerprint: keyFingerprint(key), expiresS, actions: e.actions });
  }
  return { users, problems };
}

/** Whether the user may run `action` (an action name, `get` or `put`). */
export function mayRun(user: AdminUser, action: string): boolean {
  return user.actions.includes('*') || user.actions.includes(action);
}

/** Stable, reviewable registry bytes: users sorted by name, two-space JSON, a final newline. */
export function serializeUsers(registry: Registry): string {
  const users: Record<string, RegistryEntry> = {};
  for (const name of Object.keys(registry.users).sort()) users[name] = registry.users[name]!;
  return JSON.stringify({ users }, null, 2) + '\n';
}
