import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from './config.js';
import { configObject, safeName, systemdUnit, systemdWord, templateText, type InitChoices, type ProjectFacts } from './init-plan.js';

const facts: ProjectFacts = { name: 'shop-api', main: 'server.js', sourceDirs: ['routes', 'views'], hasNodeModules: true, lockfiles: ['package-lock.json'], rootFiles: ['app.js', 'server.js', 'settings.json'] };
const choices: InitChoices = { entry: 'keygate/main.cjs', mode: 'in-process', dev: false, port: 8443, keystore: 'keystore/shop-api.p12' };

test('the template lists the app (main, root files, app folders), node_modules without keygate and caches, node and the vault client', () => {
  const lines = templateText(facts, choices).split('\n').filter((l) => l && !l.startsWith('#'));
  assert.deepEqual(lines, [
    'package.json', 'package-lock.json', 'server.js', 'app.js', 'settings.json', 'routes', 'views', 'keygate.config.json',
    'node_modules', '!node_modules/keygate', '!node_modules/.cache', '!node_modules/.bin/keygate', '!node_modules/.bin/generate-filelist',
    '${NODE}', '${VAULT_CLIENT}',
  ]);
  assert.ok(!templateText(facts, choices).split('\n').includes('keygate/main.cjs'), 'the entry is never listed');
  assert.ok(templateText(facts, { ...choices, mode: 'backend' }).includes('\n${BACKEND}\n'));
});

test('the config: in-process handler or a backend on ${SOCKET}; dev uses the emulator and only warns on anchors', () => {
  const prod = configObject(facts, choices) as { server: Record<string, unknown>; trust?: unknown; vault: Record<string, unknown> };
  assert.equal(prod.server['handler'], 'server.js');
  assert.equal(prod.trust, undefined, 'production keeps the default: refuse');
  assert.equal(prod.vault['clientPath'], undefined);
  const backend = configObject(facts, { ...choices, mode: 'backend' }) as { server: { backend: { command: string[] } } };
  assert.deepEqual(backend.server.backend.command, ['${NODE}', 'server.js', '${SOCKET}']);
  const dev = configObject(facts, { ...choices, dev: true, devClient: 'keygate/dev-cspm/x' }) as { trust: { anchors: string }; vault: Record<string, unknown> };
  assert.equal(dev.trust.anchors, 'warn');
  assert.equal(dev.vault['clientPath'], 'keygate/dev-cspm/x');
});

test('names and unit words are safe', () => {
  assert.equal(safeName('@acme/Shop API!'), 'shop-api');
  assert.equal(safeName(undefined), 'service');
  assert.equal(systemdWord('/srv/app/keygate/main.cjs'), '/srv/app/keygate/main.cjs');
  assert.equal(systemdWord('/srv/my app/100%/main.cjs'), '"/srv/my app/100%%/main.cjs"');
  const unit = systemdUnit(facts, { projectDir: '/srv/shop', entryAbs: '/srv/shop/keygate/main.cjs', nodePath: '/usr/bin/node' });
  assert.match(unit, /^ExecStart=\/usr\/bin\/node \/srv\/shop\/keygate\/main\.cjs serve$/m);
  assert.match(unit, /^RestartPreventExitStatus=2 3 4 5 7$/m);
});

test('backend mode in production: the two users in the config (which validates), a unit that starts as root with the split\'s capabilities only', () => {
  const prod = configObject(facts, { ...choices, mode: 'backend' });
  const r = validateConfig(prod);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.equal(r.config.server.user, facts.name);
  assert.equal(r.config.server.backend!.user, `${facts.name}-app`);
  const dev = validateConfig(configObject(facts, { ...choices, mode: 'backend', dev: true, devClient: 'keygate/dev-cspm/x' }));
  assert.ok(dev.ok && dev.config.server.backend!.user === undefined, 'the dev loop runs under one user (trust.anchors warn)');
  const unit = systemdUnit(facts, { projectDir: '/srv/shop', entryAbs: '/srv/shop/keygate/main.cjs', nodePath: '/usr/bin/node', separated: true });
  assert.doesNotMatch(unit, /^User=/m);
  assert.match(unit, /^CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_CHOWN CAP_KILL$/m); // each one needed: test/systemd-boot.e2e.test.ts
  assert.match(unit, /^NoNewPrivileges=yes$/m);
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(unit, /^KillMode=mixed$/m);
  assert.match(unit, /^ProtectProc=invisible$/m);
  assert.match(unit, new RegExp(`useradd --system --no-create-home --shell /usr/sbin/nologin ${facts.name}-app`));
});
