// Interactive admin actions (/icm, /idt, /edt): at most one program per session and a cap overall, each a fixed
// argv from the config (no shell, no user words), in its own process group so that ending it ends everything it
// started. remo_serv leaked these children (its cleanup called a close() that IProcess never defined: notes
// §1.3); here every way one ends — /edt, logout, the session's idle timeout, the program's own idle timeout,
// keygate's shutdown — goes through end(), which closes its stdin, then SIGTERM, a grace, SIGKILL to the group.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { signalGroup, terminateGroup } from '../adapters/process-group.js';
import type { AdminInteractive } from './config.js';

/** Between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 2000;
/** Once output has started, a reply goes out when the program has been quiet this long (remo_serv: 0.1 s). */
const QUIET_MS = 50;
/** Input written but not yet read by the program: beyond this, /idt is refused rather than buffered. */
const MAX_PENDING_INPUT = 1024 * 1024;
/** The environment interactive programs get, as operator actions (actions.ts): nothing of keygate's own. */
const INTERACTIVE_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

/** A refusal with its HTTP status (the server answers it as a one-line 4xx/5xx). */
export class InteractiveRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface InteractiveReply {
  /** Output (stdout and stderr merged) produced since the previous reply, plus a last line once it ended. */
  readonly output: Buffer;
  /** For the audit line: ok, or how the program ended. */
  readonly result: string;
}

class InteractiveProcess {
  readonly pid: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #dropped = 0;
  /** Set when the program (the group's leader) exited: "exit status N" or "killed by SIGTERM". */
  #exit: string | undefined;
  /** Its stdout and stderr are closed: no more output can come. */
  #closed = false;
  readonly #closedP: Promise<void>;
  #onChange: (() => void) | undefined;
  #busy = false;
  #idle: NodeJS.Timeout | undefined;
  /** Ending: output is no longer paused for, what does not fit is counted as dropped. */
  #ending = false;

  constructor(
    readonly name: string,
    readonly action: AdminInteractive,
    readonly child: ChildProcessWithoutNullStreams,
    readonly idleMs: number,
    readonly onIdle: () => void,
  ) {
    this.pid = child.pid!;
    const take = (d: Buffer): void => {
      if (this.#ending && this.#size >= this.action.maxOutputBytes) {
        this.#dropped += d.length;
      } else {
        this.#chunks.push(d);
        this.#size += d.length;
        // Full: stop reading, so the program blocks on its pipe instead of keygate holding unbounded output.
        if (!this.#ending && this.#size >= this.action.maxOutputBytes) this.#pause(true);
      }
      this.#onChange?.();
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    // A program that exited before reading its input: the write fails with EPIPE, which is not keygate's error.
    child.stdin.on('error', () => {});
    child.on('exit', (code, signal) => {
      this.#exit = signal ? `killed by ${signal}` : `exit status ${code}`;
      // What it left running in its group (a background job) ends with it: no leaked child.
      this.#killGroup('SIGKILL');
      this.#onChange?.();
    });
    this.#closedP = new Promise((done) =>
      child.on('close', () => {
        this.#closed = true;
        this.#onChange?.();
        done();
      }),
    );
    this.touch();
  }

  #pause(on: boolean): void {
    for (const s of [this.child.stdout, this.child.stderr]) on ? s.pause() : s.resume();
  }

  #killGroup(signal: NodeJS.Signals): void {
    signalGroup(this.pid, signal);
  }

  /** Restarts the idle timer (each /icm and /idt). */
  touch(): void {
    clearTimeout(this.#idle);
    this.#idle = setTimeout(this.onIdle, this.idleMs);
    this.#idle.unref();
  }

  get ended(): boolean {
    return this.#closed;
  }

  /** The output held so far, and room for more. */
  #take(): Buffer {
    const out = Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.#size = 0;
    if (!this.#ending) this.#pause(false);
    return out;
  }

  /** Waits up to `ms` for output (answering once it goes quiet), for the end of the output, or for a full buffer. */
  #settle(ms: number): Promise<void> {
    return new Promise((done) => {
      let quiet: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(total);
        clearTimeout(quiet);
        this.#onChange = undefined;
        done();
      };
      const total = setTimeout(finish, ms);
      this.#onChange = () => {
        if (this.#closed || this.#size >= this.action.maxOutputBytes) return finish();
        if (this.#size > 0) {
          clearTimeout(quiet);
          quiet = setTimeout(finish, QUIET_MS);
        }
      };
      this.#onChange();
    });
  }

  #ended(): string {
    return `${this.name} ${this.#exit ?? 'ended'}`;
  }

  /** Writes `input` to its stdin and answers with the output since the last reply. */
  async exchange(input: Buffer): Promise<InteractiveReply> {
    if (this.#busy) throw new InteractiveRefusal(409, `${this.name} is answering another request of this session`);
    if (this.child.stdin.writableLength + input.length > MAX_PENDING_INPUT) throw new InteractiveRefusal(409, `${this.name} is not reading its input (over ${MAX_PENDING_INPUT} bytes waiting)`);
    this.#busy = true;
    try {
      this.touch();
      if (input.length && !this.#closed && this.child.stdin.writable) this.child.stdin.write(input);
      await this.#settle(this.action.replyWaitMs);
      const out = this.#take();
      if (!this.#closed) return { output: out, result: `ok: ${input.length} bytes in, ${out.length} out` };
      return { output: Buffer.concat([out, Buffer.from(`[keygate: ${this.#ended()}]\n`)]), result: this.#ended() };
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Ends it: stdin closed (a program that stops at end of input ends on its own, its last output kept), then
   * SIGTERM to its group, then SIGKILL after the grace. Resolves once its output is closed (bounded).
   */
  async end(): Promise<InteractiveReply> {
    clearTimeout(this.#idle);
    this.#ending = true;
    this.#pause(false);
    this.child.stdin.end();
    const closedWithin = (ms: number): Promise<boolean> =>
      this.#closed ? Promise.resolve(true) : Promise.race([this.#closedP.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    if (!(await closedWithin(this.action.replyWaitMs))) {
      if (!(await terminateGroup(this.pid, { graceMs: KILL_GRACE_MS, ended: this.#closedP }))) {
        // A process that left the group (setsid) may still hold the pipes: stop reading them after a while.
        if (!(await closedWithin(KILL_GRACE_MS))) {
          this.child.stdout.destroy();
          this.child.stderr.destroy();
        }
      }
    }
    // The leader's exit event can trail its pipes' close by a moment: wait for it (SIGKILL was sent if need be).
    if (this.#exit === undefined && this.child.exitCode === null && this.child.signalCode === null) {
      await new Promise<void>((r) => {
        this.child.once('exit', () => r());
        setTimeout(r, KILL_GRACE_MS).unref();
      });
    }
    this.#killGroup('SIGKILL');
    const out = this.#take();
    const cut = this.#dropped ? `[keygate: ${this.#dropped} bytes of output dropped past maxOutputBytes]\n` : '';
    return { output: Buffer.concat([out, Buffer.from(`${cut}[keygate: ${this.#ended()}]\n`)]), result: this.#ended() };
  }
}

/** The interactive programs of every session, by session id. */
export class InteractiveTable {
  readonly #bySession = new Map<string, InteractiveProcess>();
  readonly #ending = new Set<Promise<unknown>>();

  constructor(
    readonly options: { max: number; cwd: string; sessionIdleSeconds: number; log: (message: string) => void },
  ) {}

  get size(): number {
    return this.#bySession.size;
  }

  /** The running program's name for a session, if any. */
  nameOf(sessionId: string): string | undefined {
    return this.#bySession.get(sessionId)?.name;
  }

  /** The program's pid (tests check that it is gone). */
  pidOf(sessionId: string): number | undefined {
    return this.#bySession.get(sessionId)?.pid;
  }

  /** Starts `name` for the session (409 if it runs one, 503 at the cap, 502 if it cannot start), then exchanges `input`. */
  async start(sessionId: string, label: string, name: string, action: AdminInteractive, input: Buffer): Promise<InteractiveReply> {
    const running = this.#bySession.get(sessionId);
    if (running) throw new InteractiveRefusal(409, `this session already runs ${running.name}: end it first (/edt)`);
    if (this.#bySession.size >= this.options.max) throw new InteractiveRefusal(503, `${this.options.max} interactive programs are running (admin.maxInteractive): retry when one ends`);
    const child = spawn(action.argv[0]!, action.argv.slice(1), {
      cwd: this.options.cwd,
      env: INTERACTIVE_ENV,
      shell: false,
      detached: true, // its own process group, so that the whole group can be ended
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (child.pid === undefined) {
      child.on('error', () => {}); // ENOENT and the like, reported here and not as an unhandled error
      throw new InteractiveRefusal(502, `${name}: could not start ${action.argv[0]}`);
    }
    // Its idle timeout never outlasts the session's, so a session that expires without another request cannot
    // leave its program running.
    const idleMs = Math.min(action.idleSeconds, this.options.sessionIdleSeconds) * 1000;
    const p: InteractiveProcess = new InteractiveProcess(name, action, child, idleMs, () => {
      if (this.#bySession.get(sessionId) === p) void this.end(sessionId, `${label}: idle for ${idleMs / 1000} s`);
    });
    this.#bySession.set(sessionId, p);
    const reply = await p.exchange(input);
    if (p.ended) this.#forget(sessionId, p);
    return reply;
  }

  /** Sends `input` to the session's program and returns its output (400 when it runs none). */
  async exchange(sessionId: string, input: Buffer): Promise<InteractiveReply> {
    const p = this.#bySession.get(sessionId);
    if (!p) throw new InteractiveRefusal(400, 'no interactive program runs in this session (start one with /icm)');
    const reply = await p.exchange(input);
    if (p.ended) this.#forget(sessionId, p); // it ended on its own: its last output and status were just sent
    return reply;
  }

  #forget(sessionId: string, p: InteractiveProcess): void {
    if (this.#bySession.get(sessionId) === p) this.#bySession.delete(sessionId);
  }

  /** Ends the session's program (undefined when it runs none); `why` is logged when it is not the client's /edt. */
  end(sessionId: string, why?: string): Promise<InteractiveReply | undefined> {
    const p = this.#bySession.get(sessionId);
    if (!p) return Promise.resolve(undefined);
    this.#bySession.delete(sessionId); // at once: a concurrent /idt finds no program
    const ending = p.end().then((r) => {
      if (why) this.options.log(`admin: interactive ${p.name} (pid ${p.pid}) ended: ${why}; ${r.result}`);
      return r;
    });
    this.#ending.add(ending);
    void ending.finally(() => this.#ending.delete(ending));
    return ending;
  }

  /** Ends every program (keygate's shutdown) and waits until they are gone. */
  async closeAll(why: string): Promise<void> {
    for (const id of [...this.#bySession.keys()]) void this.end(id, why);
    await Promise.allSettled([...this.#ending]);
  }
}
