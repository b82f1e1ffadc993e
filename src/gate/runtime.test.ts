import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSafeRuntime, splitNodeOptions } from './runtime.js';

const ok = (env: Record<string, string>, argv: string[] = []) => assertSafeRuntime(env, argv, 'node dist/main.js serve');
const refused = (env: Record<string, string>, argv: string[] = []) => assert.throws(() => ok(env, argv), { code: 'UNSAFE_RUNTIME' } as never);

test('NODE_OPTIONS is split as Node splits it (quotes group, backslash escapes)', () => {
  assert.deepEqual(splitNodeOptions('  "--require" x  --max-old-space-size=64 "a b\\"c"'), ['--require', 'x', '--max-old-space-size=64', 'a b"c']);
  assert.deepEqual(splitNodeOptions('--req"uire"=x'), ['--require=x']);
});

test('only limits and diagnostics pass; anything that loads code or trust settings is refused', () => {
  ok({});
  ok({ NODE_OPTIONS: '--max-old-space-size=256 --no-warnings', NODE_EXTRA_CA_CERTS: '/etc/ssl/x.pem' }, ['--enable-source-maps']);
  for (const opts of ['--require x', '"--require" x', '-r x', '--import=x', '--loader x', '--experimental-loader=x', '--snapshot-blob x', '--openssl-config=x', '--inspect', '--env-file=.env', '--max-old-space-size 64', '--experimental-default-type=module']) {
    refused({ NODE_OPTIONS: opts });
  }
  for (const name of ['LD_PRELOAD', 'OPENSSL_CONF', 'NODE_PATH', 'LD_LIBRARY_PATH']) refused({ [name]: '/tmp/x' });
  refused({}, ['--require', 'x']);
  refused({}, ['--inspect-brk']);
});
