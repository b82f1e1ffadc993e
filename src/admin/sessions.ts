// Admin sessions and the /auth rate limits: pure state machines with the clock passed in (seconds), so the
// unit tests need no timers. remo_serv's holes this closes (notes/seed-peers-findings.md §1.9): any first
// request number accepted and a 20 s window that re-opens replays (here: 1, 2, 3… strictly, on every request);
// a session key overwritten by whoever holds the cookie (here: each login gets a new session id); no cap.

import { randomBytes } from 'node:crypto';
import type { Fernet } from './crypto.js';
import { ProtocolError } from './crypto.js';
import { MAX_REQUEST_NO } from './framing.js';

export interface Session {
  readonly id: string;
  readonly user: string;
  readonly fingerprint: string;
  readonly fernet: Fernet;
  readonly source: string;
  /** The last request number accepted; the next must be exactly one more (the Python client starts at 1). */
  lastReq: number;
  lastSeenS: number;
}

export class SessionTable {
  readonly #byId = new Map<string, Session>();
  readonly #max: number;
  readonly #idleS: number;
  readonly #onEnd: (s: Session) => void;

  /** `onEnd` is called for every session that ends, however (idle, end, clear): what it owns is ended with it. */
  constructor(options: { maxSessions: number; idleSeconds: number; onEnd?: (s: Session) => void }) {
    this.#max = options.maxSessions;
    this.#idleS = options.idleSeconds;
    this.#onEnd = options.onEnd ?? (() => {});
  }

  #remove(s: Session): void {
    if (this.#byId.get(s.id) !== s) return;
    this.#byId.delete(s.id);
    this.#onEnd(s);
  }

  get size(): number {
    return this.#byId.size;
  }

  #sweep(nowS: number): void {
    for (const s of [...this.#byId.values()]) if (s.lastSeenS + this.#idleS <= nowS) this.#remove(s);
  }

  /** A new session with a fresh random id, or undefined when the cap is reached (the caller answers 503). */
  create(fields: { user: string; fingerprint: string; fernet: Fernet; source: string }, nowS: number): Session | undefined {
    this.#sweep(nowS);
    if (this.#byId.size >= this.#max) return undefined;
    const session: Session = { ...fields, id: randomBytes(16).toString('base64url'), lastReq: 0, lastSeenS: nowS };
    this.#byId.set(session.id, session);
    return session;
  }

  /** The live session for a cookie value, or undefined (unknown or idle too long). */
  get(id: string | undefined, nowS: number): Session | undefined {
    if (!id) return undefined;
    const s = this.#byId.get(id);
    if (!s) return undefined;
    if (s.lastSeenS + this.#idleS <= nowS) {
      this.#remove(s);
      return undefined;
    }
    return s;
  }

  /**
   * Accepts request number `req` for the session: exactly lastReq + 1, else a ProtocolError (a replay, a skip
   * or a reorder). Called only for bodies that authenticated; a refused number leaves the session as it was, so
   * a stranger replaying an old request cannot end the operator's session.
   */
  accept(session: Session, req: number, nowS: number): void {
    if (session.lastReq >= MAX_REQUEST_NO) throw new ProtocolError('this session has used every request number: log in again');
    if (req !== session.lastReq + 1) throw new ProtocolError(`request number ${req} is not the next one (${session.lastReq + 1}): a replay or a lost request`);
    session.lastReq = req;
    session.lastSeenS = nowS;
  }

  end(id: string): void {
    const s = this.#byId.get(id);
    if (s) this.#remove(s);
  }

  clear(): void {
    for (const s of [...this.#byId.values()]) this.#remove(s);
  }
}

/** Token buckets by key: `burst` attempts at once, refilled at `perMinute`. Bounded: the keys come from peers. */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; atS: number }>();
  readonly #burst: number;
  readonly #perS: number;
  readonly #maxKeys: number;

  constructor(options: { burst: number; perMinute: number; maxKeys?: number }) {
    this.#burst = options.burst;
    this.#perS = options.perMinute / 60;
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  /** Takes one token for key: 0 when allowed, else the seconds until one is available (Retry-After). */
  take(key: string, nowS: number): number {
    let b = this.#buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.#burst, b.tokens + (nowS - b.atS) * this.#perS);
      b.atS = nowS;
    } else {
      if (this.#buckets.size >= this.#maxKeys) this.#prune(nowS);
      b = { tokens: this.#burst, atS: nowS };
      this.#buckets.set(key, b);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.#perS));
  }

  /** Drops buckets that have refilled (they hold no memory of anything); if none, the oldest. */
  #prune(nowS: number): void {
    for (const [k, b] of this.#buckets) if (b.tokens + (nowS - b.atS) * this.#perS >= this.#burst) this.#buckets.delete(k);
    if (this.#buckets.size >= this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}
