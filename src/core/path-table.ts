// A set of paths kept as UTF-8 bytes outside V8's heap, in insertion order, with an index per path.
//
// Why: verify and generate hold every path of the tree for the whole run. As JS strings in a Map or a Set
// they survive V8's young-generation collections, which makes V8 grow its young generation to the maximum
// (RSS well beyond the data itself: docs/performance.md, "peak RSS"). Here a path costs its bytes, two
// int32 offsets and a slot in an open-addressing table, all in ArrayBuffers; a JS string is made only when
// a caller asks for one (and dies young).
//
// Byte order of UTF-8 is the order `LC_ALL=C sort` and comparePaths give, so paths compare without decoding.

/** A read-only list of paths: what the hasher walks (arrays qualify). */
export interface PathList {
  readonly length: number;
  at(i: number): string | undefined;
}

const EMPTY = 0; // table slot: 0 = empty, k = path k-1

function fnv1a(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** fnv1a of the bytes with ASCII A-Z read as a-z: equal for paths that differ only in case (Windows). */
function fnv1aFolded(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    h = Math.imul(h ^ (b >= 65 && b <= 90 ? b + 32 : b), 0x01000193);
  }
  return h >>> 0;
}

/** Whether bytes [a0, a1) and [b0, b1) are equal with ASCII case ignored. */
function equalFolded(x: Buffer, a0: number, a1: number, y: Buffer, b0: number, b1: number): boolean {
  if (a1 - a0 !== b1 - b0) return false;
  for (let k = 0; k < a1 - a0; k++) {
    let p = x[a0 + k]!;
    let q = y[b0 + k]!;
    if (p === q) continue;
    if (p >= 65 && p <= 90) p += 32;
    if (q >= 65 && q <= 90) q += 32;
    if (p !== q) return false;
  }
  return true;
}

/**
 * Byte order of bytes[a0..a1) and bytes[b0..b1). A JS loop, four bytes at a time (big-endian words compare
 * like their bytes): a sort calls it n log n times, and Buffer.compare's native call costs more than the
 * comparison itself.
 */
export function compareSpans(bytes: Buffer, a0: number, a1: number, b0: number, b1: number): number {
  const n = Math.min(a1 - a0, b1 - b0);
  let k = 0;
  if (n >= 4) {
    const view = viewOf(bytes);
    const o = bytes.byteOffset;
    for (; k + 4 <= n; k += 4) {
      const x = view.getUint32(o + a0 + k);
      const y = view.getUint32(o + b0 + k);
      if (x !== y) return x < y ? -1 : 1;
    }
  }
  for (; k < n; k++) {
    const x = bytes[a0 + k]!;
    const y = bytes[b0 + k]!;
    if (x !== y) return x - y;
  }
  return a1 - a0 - (b1 - b0);
}

let lastView: DataView | undefined;
function viewOf(bytes: Buffer): DataView {
  if (lastView?.buffer !== bytes.buffer) lastView = new DataView(bytes.buffer);
  return lastView;
}

export class PathTable implements PathList {
  #bytes: Buffer;
  #used: number;
  #starts: Int32Array = new Int32Array(1024);
  #ends: Int32Array = new Int32Array(1024);
  #size = 0;
  #slots = new Int32Array(2048);
  #scratch = Buffer.allocUnsafe(1024);

  /**
   * An empty table; or one whose store starts as `adopt` (not copied), so that paths already in those bytes
   * (a manifest's names) are added by position with addSpan.
   */
  readonly #fold: boolean;
  readonly #hash: (bytes: Uint8Array, start: number, end: number) => number;
  constructor(adopt?: Buffer, options: { readonly foldCase?: boolean } = {}) {
    this.#bytes = adopt ?? Buffer.allocUnsafe(1 << 16);
    this.#used = adopt ? adopt.length : 0;
    // foldCase: paths equal but for ASCII case are one path (Windows; docs/windows.md). Order stays byte order.
    this.#fold = options.foldCase === true;
    this.#hash = this.#fold ? fnv1aFolded : fnv1a;
  }

  /** Adds the path at bytes [start, end) of the adopted store (no copy). */
  addSpan(start: number, end: number): { index: number; added: boolean } {
    return this.#commit(start, end, false);
  }

  /**
   * The table as shared memory for another thread: the store, and where each path starts and ends in it.
   * One bulk copy each, no string per path.
   */
  toShared(): { count: number; bytes: SharedArrayBuffer; starts: SharedArrayBuffer; ends: SharedArrayBuffer } {
    const share = (src: Uint8Array): SharedArrayBuffer => {
      const sab = new SharedArrayBuffer(Math.max(4, src.byteLength));
      new Uint8Array(sab).set(src);
      return sab;
    };
    return {
      count: this.#size,
      bytes: share(this.#bytes.subarray(0, this.#used)),
      starts: share(new Uint8Array(this.#starts.buffer, 0, this.#size * 4)),
      ends: share(new Uint8Array(this.#ends.buffer, 0, this.#size * 4)),
    };
  }

  get length(): number {
    return this.#size;
  }

  /** The path at index i (a fresh string), or undefined past the end. */
  at(i: number): string | undefined {
    if (i < 0 || i >= this.#size) return undefined;
    return this.#bytes.toString('utf8', this.#starts[i], this.#ends[i]);
  }

  /** Index of path, or -1. Allocates nothing but (rarely) a bigger scratch buffer. */
  indexOf(path: string): number {
    if (path.length * 3 > this.#scratch.length) this.#scratch = Buffer.allocUnsafe(path.length * 3);
    const n = this.#scratch.write(path, 0, 'utf8');
    return this.#find(this.#scratch, 0, n) - 1;
  }

  has(path: string): boolean {
    return this.indexOf(path) >= 0;
  }

  /** Adds a path; returns its index, and whether it was new. */
  add(path: string): { index: number; added: boolean } {
    this.#reserve(path.length * 3);
    const start = this.#used;
    const n = this.#bytes.write(path, start, 'utf8');
    return this.#commit(start, start + n, true);
  }

  /** Byte order (= comparePaths order) of paths i and j. */
  compare(i: number, j: number): number {
    return compareSpans(this.#bytes, this.#starts[i]!, this.#ends[i]!, this.#starts[j]!, this.#ends[j]!);
  }

  /** Indices in byte order. */
  sorted(): Int32Array {
    const order = new Int32Array(this.#size);
    for (let i = 0; i < order.length; i++) order[i] = i;
    const [bytes, starts, ends] = [this.#bytes, this.#starts, this.#ends];
    return order.sort((a, b) => compareSpans(bytes, starts[a]!, ends[a]!, starts[b]!, ends[b]!));
  }

  /** The store and where path i lies in it (valid until the next add). */
  span(i: number): { bytes: Buffer; start: number; end: number } {
    return { bytes: this.#bytes, start: this.#starts[i]!, end: this.#ends[i]! };
  }

  *[Symbol.iterator](): IterableIterator<string> {
    for (let i = 0; i < this.#size; i++) yield this.at(i)!;
  }

  #reserve(extra: number): void {
    if (this.#used + extra <= this.#bytes.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, this.#used + extra));
    this.#bytes.copy(bigger, 0, 0, this.#used);
    this.#bytes = bigger;
  }

  /** Slot+1 of the path equal to src[start..end), or 0; sets #probe to the slot where it would go. */
  #probe = 0;
  #find(src: Buffer, start: number, end: number): number {
    const mask = this.#slots.length - 1;
    let slot = this.#hash(src, start, end) & mask;
    for (;;) {
      const k = this.#slots[slot]!;
      if (k === EMPTY) {
        this.#probe = slot;
        return 0;
      }
      const s = this.#starts[k - 1]!;
      const e = this.#ends[k - 1]!;
      if (e - s === end - start && (this.#fold ? equalFolded(src, start, end, this.#bytes, s, e) : this.#bytes.compare(src, start, end, s, e) === 0)) return k;
      slot = (slot + 1) & mask;
    }
  }

  /** Registers bytes [start, end) as a path unless present; `appended`: they were just written at #used. */
  #commit(start: number, end: number, appended: boolean): { index: number; added: boolean } {
    const found = this.#find(this.#bytes, start, end);
    if (found) return { index: found - 1, added: false }; // appended bytes past #used are simply reused
    if (this.#size === this.#starts.length) {
      const grow = (a: Int32Array): Int32Array => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.#starts = grow(this.#starts);
      this.#ends = grow(this.#ends);
    }
    const index = this.#size++;
    this.#starts[index] = start;
    this.#ends[index] = end;
    if (appended) this.#used = end;
    this.#slots[this.#probe] = index + 1;
    if (this.#size * 2 > this.#slots.length) this.#rehash();
    return { index, added: true };
  }

  #rehash(): void {
    const slots = new Int32Array(this.#slots.length * 2);
    const mask = slots.length - 1;
    for (let i = 0; i < this.#size; i++) {
      let slot = this.#hash(this.#bytes, this.#starts[i]!, this.#ends[i]!) & mask;
      while (slots[slot] !== EMPTY) slot = (slot + 1) & mask;
      slots[slot] = i + 1;
    }
    this.#slots = slots;
  }
}
