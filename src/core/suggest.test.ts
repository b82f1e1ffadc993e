import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest, didYouMean, editDistance } from './suggest.js';

test('editDistance: substitutions, insertions, deletions, one swap', () => {
  for (const [a, b, d] of [['port', 'port', 0], ['prot', 'port', 1], ['port', 'ports', 1], ['host', 'hst', 1], ['abc', 'xyz', 3], ['', 'ab', 2]] as const) {
    assert.equal(editDistance(a, b), d, `${a} → ${b}`);
  }
});

test('closest: a near name, never a far or short guess', () => {
  const keys = ['host', 'port', 'handler', 'staticDir', 'backend', 'clientAuth'];
  assert.equal(closest('prot', keys), 'port');
  assert.equal(closest('clientauth', keys), 'clientAuth');
  assert.equal(closest('backnd', keys), 'backend');
  assert.equal(closest('zz', keys), undefined);
  assert.equal(closest('po', ['pin']), undefined);
  assert.equal(closest('timeoutMS', ['timeoutMs']), 'timeoutMs');
  assert.equal(didYouMean('prot', keys), ' (did you mean "port"?)');
  assert.equal(didYouMean('nothing-like', keys), '');
});
