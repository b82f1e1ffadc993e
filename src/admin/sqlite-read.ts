// A minimal read-only SQLite reader, enough to list one rowid table of a database file's bytes
// (https://www.sqlite.org/fileformat2.html: header, table b-tree pages, overflow chains, records).
// Why not a library: node:sqlite needs Node 22.5+, better-sqlite3 is a native addon to compile or download,
// sql.js puts a wasm SQLite in the bundle; `keygate admin import-sqlite` only reads remo_serv's `users(user, pub)` once.
// Pure: bytes in, rows out; every malformed input is a SqliteFormatError (bounds, loops and sizes checked).

export class SqliteFormatError extends Error {}

export type SqliteValue = null | number | bigint | string | Buffer;

const MAGIC = 'SQLite format 3\0';

function fail(message: string): never {
  throw new SqliteFormatError(message);
}

export class SqliteFile {
  readonly #b: Buffer;
  readonly pageSize: number;
  readonly #usable: number;
  readonly #pages: number;
  readonly #encoding: BufferEncoding;

  constructor(bytes: Buffer) {
    if (bytes.length < 512 || bytes.toString('latin1', 0, 16) !== MAGIC) fail('not an SQLite 3 database (no "SQLite format 3" header)');
    this.#b = bytes;
    const ps = bytes.readUInt16BE(16);
    this.pageSize = ps === 1 ? 65536 : ps;
    if (this.pageSize < 512 || (this.pageSize & (this.pageSize - 1)) !== 0) fail(`page size ${this.pageSize} is not a power of two from 512`);
    this.#usable = this.pageSize - bytes[20]!;
    if (this.#usable < 480) fail('reserved space leaves too little of each page');
    this.#pages = Math.floor(bytes.length / this.pageSize);
    const enc = bytes.readUInt32BE(56);
    this.#encoding = enc === 2 ? 'utf16le' : enc === 3 ? fail('UTF-16BE databases are not supported') : 'utf8';
  }

  #page(n: number): { off: number } {
    if (!Number.isInteger(n) || n < 1 || n > this.#pages) fail(`page ${n} is outside the file (${this.#pages} pages)`);
    return { off: (n - 1) * this.pageSize };
  }

  #varint(at: number): [bigint, number] {
    let v = 0n;
    for (let i = 0; i < 9; i++) {
      if (at + i >= this.#b.length) fail('a varint runs past the end of the file');
      const byte = this.#b[at + i]!;
      if (i === 8) return [(v << 8n) | BigInt(byte), 9];
      v = (v << 7n) | BigInt(byte & 0x7f);
      if ((byte & 0x80) === 0) return [v, i + 1];
    }
    return fail('unreachable');
  }

  /** The payload of a table leaf cell: its local part plus the overflow chain. */
  #payload(cell: number): { rowid: bigint; payload: Buffer } {
    const [size, n1] = this.#varint(cell);
    const [rowid, n2] = this.#varint(cell + n1);
    const p = Number(size);
    if (p > 64 * 1024 * 1024) fail('a record is larger than 64 MiB');
    const start = cell + n1 + n2;
    const u = this.#usable;
    const x = u - 35;
    let local = p;
    if (p > x) {
      const m = Math.floor(((u - 12) * 32) / 255) - 23;
      const k = m + ((p - m) % (u - 4));
      local = k <= x ? k : m;
    }
    if (start + local > this.#b.length) fail('a cell runs past the end of the file');
    const parts = [this.#b.subarray(start, start + local)];
    let got = local;
    let next = local < p ? this.#b.readUInt32BE(start + local) : 0;
    const seen = new Set<number>();
    while (got < p) {
      if (seen.has(next)) fail('an overflow chain loops');
      seen.add(next);
      const { off } = this.#page(next);
      const take = Math.min(u - 4, p - got);
      parts.push(this.#b.subarray(off + 4, off + 4 + take));
      got += take;
      next = this.#b.readUInt32BE(off);
    }
    return { rowid, payload: Buffer.concat(parts) };
  }

  #record(payload: Buffer): SqliteValue[] {
    const sub = new SqliteFile.#Cursor(payload);
    const headerSize = Number(sub.varint());
    const types: bigint[] = [];
    while (sub.at < headerSize) types.push(sub.varint());
    let at = headerSize;
    const values: SqliteValue[] = [];
    for (const t of types) {
      const st = Number(t);
      const need = st === 0 || st === 8 || st === 9 ? 0 : st <= 4 ? st : st === 5 ? 6 : st <= 7 ? 8 : st >= 12 ? Math.floor((st - 12) / 2) : fail(`serial type ${st} is reserved`);
      if (at + need > payload.length) fail('a record runs past its payload');
      const v = payload.subarray(at, at + need);
      at += need;
      if (st === 0) values.push(null);
      else if (st === 8 || st === 9) values.push(st - 8);
      else if (st <= 6) values.push(st === 6 ? v.readBigInt64BE(0) : v.readIntBE(0, need));
      else if (st === 7) values.push(v.readDoubleBE(0));
      else if (st % 2 === 0) values.push(Buffer.from(v));
      else values.push(v.toString(this.#encoding));
    }
    return values;
  }

  static #Cursor = class {
    at = 0;
    constructor(readonly b: Buffer) {}
    varint(): bigint {
      let v = 0n;
      for (let i = 0; i < 9; i++) {
        if (this.at >= this.b.length) throw new SqliteFormatError('a record header runs past its payload');
        const byte = this.b[this.at++]!;
        if (i === 8) return (v << 8n) | BigInt(byte);
        v = (v << 7n) | BigInt(byte & 0x7f);
        if ((byte & 0x80) === 0) return v;
      }
      return v;
    }
  };

  /** Every row of the table b-tree rooted at `root`, in rowid order. */
  rows(root: number): { rowid: bigint; values: SqliteValue[] }[] {
    const out: { rowid: bigint; values: SqliteValue[] }[] = [];
    const seen = new Set<number>();
    const walk = (n: number): void => {
      if (seen.has(n)) fail('the b-tree loops');
      seen.add(n);
      const { off } = this.#page(n);
      const h = n === 1 ? off + 100 : off;
      const type = this.#b[h];
      const cells = this.#b.readUInt16BE(h + 3);
      const headerLen = type === 0x05 ? 12 : type === 0x0d ? 8 : fail(`page ${n} is not a table b-tree page (type ${type}); WITHOUT ROWID tables are not supported`);
      for (let i = 0; i < cells; i++) {
        const ptr = off + this.#b.readUInt16BE(h + headerLen + 2 * i);
        if (ptr >= off + this.pageSize) fail(`page ${n}: a cell pointer is outside the page`);
        if (type === 0x05) walk(this.#b.readUInt32BE(ptr));
        else {
          const { rowid, payload } = this.#payload(ptr);
          out.push({ rowid, values: this.#record(payload) });
        }
      }
      if (type === 0x05) walk(this.#b.readUInt32BE(h + 8));
    };
    walk(root);
    return out;
  }

  /** A table's root page and column names, from sqlite_schema (page 1). */
  table(name: string): { root: number; columns: string[] } {
    for (const { values } of this.rows(1)) {
      const [type, tname, , root, sql] = values;
      if (type === 'table' && typeof tname === 'string' && tname.toLowerCase() === name.toLowerCase() && typeof root === 'number' && typeof sql === 'string') {
        if (/\)\s*WITHOUT\s+ROWID\s*;?\s*$/i.test(sql)) fail(`table ${name} is WITHOUT ROWID: not supported`);
        return { root, columns: columnsOf(sql) };
      }
    }
    return fail(`no table ${name}`);
  }
}

/** Column names from a CREATE TABLE statement (table constraints skipped, quotes removed). */
export function columnsOf(sql: string): string[] {
  const body = sql.slice(sql.indexOf('(') + 1, sql.lastIndexOf(')'));
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of body) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts
    .map((p) => p.trim())
    .filter((p) => p && !/^(CONSTRAINT|PRIMARY|UNIQUE|CHECK|FOREIGN)\b/i.test(p))
    .map((p) => (/^("([^"]+)"|`([^`]+)`|\[([^\]]+)\]|(\S+))/.exec(p)!.slice(2).find((x) => x !== undefined) ?? ''));
}

/** remo_serv's users: (user, pub) pairs, pub being the PEM bytes (BLOB) or text. */
export function readRemoServUsers(bytes: Buffer): { user: string; pub: string }[] {
  const db = new SqliteFile(bytes);
  const { root, columns } = db.table('users');
  const iu = columns.findIndex((c) => c.toLowerCase() === 'user');
  const ip = columns.findIndex((c) => c.toLowerCase() === 'pub');
  if (iu < 0 || ip < 0) fail(`table users has no user and pub columns (it has ${columns.join(', ')})`);
  return db.rows(root).map(({ values }) => {
    const user = values[iu];
    const pub = values[ip];
    if (typeof user !== 'string') fail('a users row has no user name');
    return { user, pub: Buffer.isBuffer(pub) ? pub.toString('utf8') : typeof pub === 'string' ? pub : '' };
  });
}
