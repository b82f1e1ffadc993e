// The admin channel added to a test project as an operator would: the config's `admin`, the server key and one
// user by the CLI, the admin folder listed, the manifest and pin redone and the new entry hash registered with
// the dev emulator. Used by the admin and privilege-separation e2e tests.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { keygate, tempDir, type DemoProject } from './project.js';

/** Adds the channel (admin.port 0) with `user` allowed `actions`; the user's private key. */
export function addAdminChannel(p: DemoProject, user: string, actions: string): KeyObject {
  const config = JSON.parse(readFileSync(join(p.dir, 'keygate.config.json'), 'utf8')) as Record<string, unknown>;
  config['admin'] = { port: 0 };
  writeFileSync(join(p.dir, 'keygate.config.json'), JSON.stringify(config, null, 2) + '\n');
  const ok = (r: { code: number; stderr: string }, what: string): void => assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  ok(keygate(p.dir, ['admin', 'keygen', '--server']), 'keygen --server');
  const { privateKey, publicKey } = generateKeyPairSync('ed448');
  const pub = join(tempDir('kg-admin-client-'), `${user}.pem`);
  writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  ok(keygate(p.dir, ['admin', 'add-user', user, pub, '--actions', actions]), 'add-user');
  writeFileSync(join(p.dir, 'filelist.template'), readFileSync(join(p.dir, 'filelist.template'), 'utf8') + 'admin\n');
  ok(keygate(p.dir, ['generate-filelist']), 'generate-filelist');
  const pin = keygate(p.dir, ['pin']);
  ok(pin, 'pin');
  const store = JSON.parse(readFileSync(p.store, 'utf8')) as { scripts: { sha256: string }[] };
  store.scripts[0]!.sha256 = pin.stdout.trim().split('\n').pop()!;
  writeFileSync(p.store, JSON.stringify(store));
  return privateKey;
}
