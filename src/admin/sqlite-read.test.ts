// The SQLite reader against databases written by the real SQLite (Python's sqlite3 module, Debian python3):
// remo_serv's exact users schema, small pages so the table spans interior pages and a long PEM overflows.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteFormatError, columnsOf, readRemoServUsers } from './sqlite-read.js';

const PYTHON = '/usr/bin/python3';
const noPython = { skip: existsSync(PYTHON) ? undefined : `${PYTHON} is missing: apt-get install python3` };

function makeDb(script: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'kg-sqlite-'));
  try {
    const file = join(dir, 'users_db.sqlite');
    const r = spawnSync(PYTHON, ['-c', `import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\n${script}\ndb.commit()\ndb.close()`, file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('reads remo_serv users: many rows over interior pages, BLOB and TEXT pubs, an overflowing one', noPython, () => {
  const bytes = makeDb(`
db.execute("PRAGMA page_size=512")
db.execute("CREATE TABLE users(id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT UNIQUE, key TEXT, pub TEXT)")
for i in range(300):
    db.execute("INSERT INTO users(user, pub) VALUES (?, ?)", ("user%03d" % i, ("-----BEGIN PUBLIC KEY-----\\nKEY%03d\\n-----END PUBLIC KEY-----\\n" % i).encode()))
db.execute("INSERT INTO users(user, key, pub) VALUES (?, ?, ?)", ("long", "secret-private-key", "P" * 3000))
db.execute("DELETE FROM users WHERE user = 'user007'")`);
  const users = readRemoServUsers(bytes);
  assert.equal(users.length, 300);
  assert.deepEqual(users[0], { user: 'user000', pub: '-----BEGIN PUBLIC KEY-----\nKEY000\n-----END PUBLIC KEY-----\n' });
  assert.equal(users.some((u) => u.user === 'user007'), false);
  assert.deepEqual(users.at(-1), { user: 'long', pub: 'P'.repeat(3000) });
});

test('refuses what it cannot read, with a SqliteFormatError', noPython, () => {
  assert.throws(() => readRemoServUsers(Buffer.from('not a database'.padEnd(600))), SqliteFormatError);
  const noUsers = makeDb('db.execute("CREATE TABLE people(name TEXT)")');
  assert.throws(() => readRemoServUsers(noUsers), /no table users/);
  const noPub = makeDb('db.execute("CREATE TABLE users(user TEXT, key TEXT)")');
  assert.throws(() => readRemoServUsers(noPub), /no user and pub columns/);
  const good = makeDb('db.execute("CREATE TABLE users(user TEXT, pub TEXT)")\ndb.execute("INSERT INTO users VALUES (\'a\', \'b\')")');
  assert.throws(() => readRemoServUsers(good.subarray(0, 600)), SqliteFormatError, 'truncated');
  const loop = Buffer.from(good);
  loop.writeUInt32BE(0xffff, 100 + 8); // a bogus child pointer would be read only on an interior page: make page 1 interior
  loop[100] = 0x05;
  assert.throws(() => readRemoServUsers(loop), SqliteFormatError);
});

test('columnsOf: names, quotes, table constraints', () => {
  assert.deepEqual(columnsOf('CREATE TABLE users(id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT UNIQUE, key TEXT, pub TEXT)'), ['id', 'user', 'key', 'pub']);
  assert.deepEqual(columnsOf('CREATE TABLE "u"("user" TEXT, [pub] BLOB, CHECK(length(user) > 0), PRIMARY KEY(user))'), ['user', 'pub']);
});
