// The systemd units keygate init writes, checked by systemd's own parser (systemd-analyze verify): an option
// it does not know or cannot parse is a warning on stderr, which fails the test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemdUnit, type ProjectFacts } from '../src/core/init-plan.js';
import { tempDir } from './helpers/project.js';

const ANALYZE = '/usr/bin/systemd-analyze';
const skip = existsSync(ANALYZE) ? undefined : `${ANALYZE} is missing: apt-get install systemd`;
const facts: ProjectFacts = { name: 'shop', sourceDirs: [], hasNodeModules: false, lockfiles: [] };

function verify(unit: string): string {
  const dir = tempDir('kg-unit-');
  const file = join(dir, 'shop.service');
  writeFileSync(file, unit);
  const r = spawnSync(ANALYZE, ['verify', file], { encoding: 'utf8', timeout: 60_000 });
  return `${r.stdout}${r.stderr}`.trim();
}

for (const separated of [false, true]) {
  test(`systemd-analyze verify accepts the ${separated ? 'privilege-separated (backend)' : 'single-user'} unit without a warning`, { skip }, () => {
    const unit = systemdUnit(facts, { projectDir: '/srv/shop', entryAbs: '/srv/shop/keygate/main.cjs', nodePath: process.execPath, separated });
    assert.equal(verify(unit), '');
    // the parser is the judge: a misspelt option is reported (the check can fail)
    assert.match(verify(unit.replace('KillMode=', 'KilMode=').replace('Restart=on-failure', 'Restart=sometimes')), /Unknown key|Failed to parse|Invalid/i);
  });
}
