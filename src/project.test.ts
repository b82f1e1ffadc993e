import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invocationOf, isPackageCopy, projectOfEntry, renderHint, shellWord } from './project.js';

test('the package copy: inside node_modules/keygate, or started through node_modules (a shim, a linked checkout)', () => {
  assert.equal(isPackageCopy('/srv/app/node_modules/keygate/dist/main.js'), true);
  assert.equal(isPackageCopy('/srv/app/keygate/main.cjs'), false);
  assert.equal(isPackageCopy('/work/keygate/dist/main.js'), false);
  // npm link / a folder install: the realpath is a checkout, argv[1] the link
  assert.equal(isPackageCopy('/work/keygate/dist/main.js', '/srv/app/node_modules/keygate/dist/main.js'), true);
  assert.equal(isPackageCopy('/work/keygate/dist/main.js', '/srv/app/node_modules/.bin/keygate'), true);
  assert.equal(isPackageCopy('/srv/app/node_modules/other/keygate/main.js'), false);
});

test('a project is the entry\'s folder or the one above holding the template or the manifest; never further up', () => {
  const has = (...files: string[]) => (p: string) => files.includes(p);
  assert.equal(projectOfEntry('/srv/app/keygate/main.cjs', undefined, has('/srv/app/filelist.template')), '/srv/app');
  assert.equal(projectOfEntry('/srv/app/dist/main.js', undefined, has('/srv/app/filelist.sha256')), '/srv/app');
  assert.equal(projectOfEntry('/srv/app/main.cjs', undefined, has('/srv/app/filelist.template')), '/srv/app');
  // the nearer wins
  assert.equal(projectOfEntry('/srv/app/keygate/main.cjs', undefined, has('/srv/app/filelist.template', '/srv/app/keygate/filelist.template')), '/srv/app/keygate');
  // two levels up is not looked at
  assert.equal(projectOfEntry('/srv/app/a/b/main.cjs', undefined, has('/srv/app/filelist.template')), undefined);
  assert.equal(projectOfEntry('/srv/app/node_modules/keygate/dist/main.js', undefined, has('/srv/app/node_modules/keygate/filelist.template')), undefined);
});

test('hints name keygate as it was run; prose that says keygate stays prose', () => {
  assert.equal(renderHint('keygate generate-filelist && keygate pin', 'npx keygate'), 'npx keygate generate-filelist && npx keygate pin');
  assert.equal(renderHint('fix it, then keygate pin', 'node keygate/main.cjs'), 'fix it, then node keygate/main.cjs pin');
  assert.equal(renderHint("load modules with the require keygate hands the app", 'npx keygate'), 'load modules with the require keygate hands the app');
  assert.equal(renderHint('run keygate --help', 'node dist/main.js'), 'run node dist/main.js --help');
  assert.equal(invocationOf('/srv/app/keygate/main.cjs', '/srv/app'), 'node keygate/main.cjs');
  assert.equal(invocationOf('/srv/app/keygate/main.cjs', '/'), 'node /srv/app/keygate/main.cjs');
  assert.equal(invocationOf('/srv/my app/keygate/main.cjs', '/tmp'), "node '/srv/my app/keygate/main.cjs'");
  assert.equal(invocationOf('/srv/app/node_modules/keygate/dist/main.js', '/srv/app'), 'npx keygate');
  assert.equal(shellWord("it's $HOME"), "'it'\\''s $HOME'");
});
