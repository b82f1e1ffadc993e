// PathTable: a set of paths as UTF-8 bytes; must behave like a Set<string> plus insertion-order indices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PathTable } from './path-table.js';
import { comparePaths } from './manifest.js';

test('PathTable behaves like an insertion-ordered Set of strings (property, through growth and rehashes)', () => {
  const unit = fc.constantFrom('a', 'b', '/', '.', 'é', '漢', '😀', ' ', '\\', '\n');
  fc.assert(
    fc.property(fc.array(fc.string({ minLength: 1, maxLength: 6, unit }), { maxLength: 3000 }), (paths) => {
      const table = new PathTable();
      const set = new Map<string, number>();
      for (const p of paths) {
        const r = table.add(p);
        const added = !set.has(p);
        if (added) set.set(p, set.size);
        assert.deepEqual(r, { index: set.get(p), added });
      }
      assert.equal(table.length, set.size);
      for (const [p, i] of set) {
        assert.equal(table.indexOf(p), i);
        assert.equal(table.at(i), p);
      }
      assert.equal(table.indexOf('never-added'), -1);
      assert.equal(table.at(set.size), undefined);
      const order = [...table.sorted()].map((i) => table.at(i)!);
      assert.deepEqual(order, [...set.keys()].sort(comparePaths));
    }),
    { numRuns: 60 },
  );
});

test('PathTable adopts a buffer and indexes spans of it without copying; toShared gives the same paths', () => {
  const bytes = Buffer.from('x\nalpha\nbeta\n');
  const table = new PathTable(bytes);
  assert.deepEqual(table.addSpan(2, 7), { index: 0, added: true });
  assert.deepEqual(table.addSpan(8, 12), { index: 1, added: true });
  assert.deepEqual(table.add('beta'), { index: 1, added: false });
  assert.deepEqual(table.add('gamma/é'), { index: 2, added: true });
  assert.equal(bytes.toString(), 'x\nalpha\nbeta\n', 'the adopted buffer is never written');
  const shared = table.toShared();
  const b = Buffer.from(shared.bytes);
  const [s, e] = [new Int32Array(shared.starts), new Int32Array(shared.ends)];
  assert.equal(shared.count, 3);
  assert.deepEqual([0, 1, 2].map((i) => b.toString('utf8', s[i], e[i])), ['alpha', 'beta', 'gamma/é']);
});
