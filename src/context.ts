// What every command gets: the injected I/O (streams, environment, the running entry, signals) and the logger.
// Its own module so that commands do not import the CLI that lists them (no import cycle).

import type { ExitStatus } from './errors.js';
import type { LogFormat, Logger } from './adapters/logger.js';

export type { OutStream } from './adapters/out-stream.js';
import type { OutStream } from './adapters/out-stream.js';

export interface Io {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** The node executable running keygate (`${NODE}`). */
  readonly nodePath: string;
  /** Absolute path of the running main entry (dist/main.js), its realpath. */
  readonly entry: string;
  /** process.argv[1] as given (not a realpath): how the entry was started, e.g. node_modules/.bin/keygate. */
  readonly invokedAs?: string;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); serve drains on it. */
  readonly signal?: AbortSignal;
  /** serve: from now on SIGINT/SIGTERM abort `signal` instead of ending the process. */
  readonly holdSignals?: () => void;
  /** SIGHUP: re-fetch the password and swap the TLS context. */
  readonly onReload?: (listener: () => void) => void;
  /** node's own flags (process.execArgv), checked by serve for code-loading options. */
  readonly execArgv?: readonly string[];
  /** The command line after the entry (process.argv.slice(2)): privilege separation starts the serving half with it. */
  readonly argv?: readonly string[];
}

export interface Context {
  readonly io: Io;
  readonly log: Logger;
  readonly debug: boolean;
  readonly format: LogFormat;
  /** How this user runs keygate (`npx keygate`, `node keygate/main.cjs`): hints are rendered with it. */
  readonly invocation?: string;
}

/** A command's action: options parsed by yargs in, exit status out (errors are thrown as KeygateError). */
export type Handler = (ctx: Context, args: Record<string, unknown>) => Promise<ExitStatus>;
