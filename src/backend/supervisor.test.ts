import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineSplitter } from './supervisor.js';
import { parseControlLine } from './separation.js';
import { parseGetent } from './identity.js';

test('backend output: lines split while read; a line without end is cut at the limit and never held beyond it', () => {
  const lines: string[] = [];
  const split = lineSplitter(8, (l) => lines.push(l));
  split.push(Buffer.from('one\ntw'));
  split.push(Buffer.from('o\r\n'));
  // 1 MiB with no newline: the splitter must pass on 8 bytes and drop the rest as it arrives.
  for (let i = 0; i < 16; i++) {
    split.push(Buffer.alloc(64 * 1024, 0x41));
    assert.ok(split.held() <= 8, `held ${split.held()} bytes`);
  }
  split.push(Buffer.from('AAAA\nafter\nexactly8\nlast'));
  split.end();
  assert.deepEqual(lines, ['one', 'two', 'AAAAAAAA…', 'after', 'exactly8', 'last']);
});

test('the control channel takes only its three messages; getent lines give numeric ids', () => {
  assert.deepEqual(parseControlLine('{"backend":"up","pid":42}'), { backend: 'up', pid: 42 });
  assert.deepEqual(parseControlLine('{"backend":"down"}'), { backend: 'down' });
  assert.deepEqual(parseControlLine('{"restart":true}'), { restart: true });
  for (const bad of ['{"backend":"up","pid":"42"}', '{"restart":1}', 'not json', '[]']) assert.equal(parseControlLine(bad), undefined, bad);
  assert.deepEqual(parseGetent('svc:x:998:997:svc:/nonexistent:/usr/sbin/nologin', 'passwd'), { id: 998, gid: 997 });
  assert.deepEqual(parseGetent('svc:x:997:', 'group'), { id: 997 });
  assert.equal(parseGetent('svc:x:abc:1::/:/bin/sh', 'passwd'), undefined);
});
