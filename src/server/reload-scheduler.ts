// When TLS reloads run (SIGHUP, a rewritten keystore). Each reload asks the vault with bypassCache=true, so it is
// rate-limited: anyone who can touch the keystore file must not be able to make keygate call PAM every second.
// And none is lost: a request while one runs, or while one waits out the rate limit, is coalesced into the next
// run, so a keystore change that lands during a reload is still applied. A run is time-bound: a hung one
// (a vault client that never answers, a worker that never returns) releases the scheduler after timeoutMs, and
// its late result is ignored, so it cannot block every later reload or overwrite a newer context.

export interface ReloadLog {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

export interface ReloadOptions {
  /** At most one run started per this many ms. */
  readonly minIntervalMs: number;
  /** A run still going after this is abandoned (its result ignored). */
  readonly timeoutMs: number;
  readonly log: ReloadLog;
  readonly now?: () => number;
}

/** A run gets `current()`: false once it was abandoned; it must not apply its result then. */
export type ReloadRun = (why: string, current: () => boolean) => Promise<void>;

export class ReloadScheduler {
  readonly #run: ReloadRun;
  readonly #opts: ReloadOptions;
  #running = false;
  /** Why the next run is wanted (each reason once); empty when none waits. */
  readonly #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #lastStart = Number.NEGATIVE_INFINITY;
  #generation = 0;
  #stopped = false;

  constructor(run: ReloadRun, options: ReloadOptions) {
    this.#run = run;
    this.#opts = options;
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  /** Asks for a reload; it runs now, after the current one, or when the rate limit allows. */
  request(why: string): void {
    if (this.#stopped) return;
    const { log, minIntervalMs } = this.#opts;
    if (this.#running || this.#timer) {
      log.info(`reload requested (${why}) while ${this.#running ? 'one runs' : 'one waits'}: coalesced into the next run`, { gate: 'reload' });
      this.#pending.add(why);
      return;
    }
    const wait = this.#lastStart + minIntervalMs - this.#now();
    if (wait > 0) {
      log.warn(`reload (${why}) deferred ${Math.ceil(wait)} ms: at most one vault call per ${minIntervalMs} ms`, { gate: 'reload' });
      this.#pending.add(why);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        const next = this.#takePending();
        if (next) void this.#start(next);
      }, wait);
      this.#timer.unref();
      return;
    }
    void this.#start(why);
  }

  async #start(why: string): Promise<void> {
    if (this.#stopped) return;
    this.#running = true;
    this.#lastStart = this.#now();
    const generation = ++this.#generation;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#opts.timeoutMs);
      timer.unref();
    });
    try {
      const r = await Promise.race([this.#run(why, () => generation === this.#generation && !this.#stopped).then(() => 'done' as const), timedOut]);
      if (r === 'timeout') {
        this.#generation++; // the abandoned run's result must not be applied
        this.#opts.log.error(`reload (${why}) did not finish in ${this.#opts.timeoutMs} ms: abandoned, still serving the previous certificate`, { gate: 'reload' });
      }
    } catch {
      /* the run logs its own failure */
    } finally {
      clearTimeout(timer);
      this.#running = false;
      const next = this.#takePending();
      if (next) this.request(next);
    }
  }

  /** No more runs (shutdown). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
  }

  /** The waiting reasons as one ("SIGHUP, keystore file changed"), emptied; undefined when none waits. */
  #takePending(): string | undefined {
    if (this.#pending.size === 0) return undefined;
    const why = [...this.#pending].join(', ');
    this.#pending.clear();
    return why;
  }
}
