// keygate admin add-user NAME KEY.pem: a user's public key into the registry, with its actions and optional expiry.

import { resolve } from 'node:path';
import { EXIT, describeCause } from '../../errors.js';
import type { Context } from '../../context.js';
import { readWhole } from '../../adapters/files.js';
import { keyFingerprint } from '../../admin/crypto.js';
import { USER_NAME, parseUserKey } from '../../admin/users.js';
import { REGISTRY_FLAGS, knownActions, parseActions, parseExpires, readRegistry, registryArgs, usage, writeRegistry, type AdminAction } from './registry.js';

/** add-user: one public key into the registry. */
export function addUser(ctx: Context, a: { name: string; keyFile: string; users: string; actions: string; expires?: string; force: boolean }): { file: string; fingerprint: string } {
  if (!USER_NAME.test(a.name)) throw usage(`failed to add user ${JSON.stringify(a.name)}: a user name is 1 to 64 of A-Z a-z 0-9 . _ @ -`);
  const actions = parseActions(a.actions, knownActions(ctx.io.cwd));
  const expires = parseExpires(a.expires);
  let pem: string;
  try {
    pem = readWhole(resolve(ctx.io.cwd, a.keyFile)).toString('utf8');
  } catch (err) {
    throw usage(`failed to read ${a.keyFile}: ${describeCause(err)}`);
  }
  const key = parseUserKey(pem);
  if (typeof key === 'string') throw usage(`failed to add user ${a.name}: ${a.keyFile} ${key}`, 'pass the public key (NAME.pem from keygate admin keygen or remo_serv build_key_pair), not the private one');
  const file = resolve(ctx.io.cwd, a.users);
  const registry = readRegistry(file);
  if (registry.users[a.name] && !a.force) throw usage(`failed to add user ${a.name}: ${file} has that user already`, 'pass --force to replace the key and actions');
  registry.users[a.name] = { key: key.export({ type: 'spki', format: 'pem' }).toString(), ...(expires ? { expires } : {}), actions };
  writeRegistry(ctx, file, registry, `added ${a.name}`);
  return { file, fingerprint: keyFingerprint(key) };
}

/** `keygate admin add-user NAME KEY.pem`. */
export const addUserAction: AdminAction = {
  flags: REGISTRY_FLAGS,
  async run(ctx, words, args) {
    if (words.length !== 2) throw usage('add-user takes NAME KEY.pem');
    const r = addUser(ctx, { ...registryArgs(args), name: words[0]!, keyFile: words[1]! });
    ctx.io.stdout.write(`${r.fingerprint}\n`);
    return EXIT.OK;
  },
};
