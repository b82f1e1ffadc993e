// Logging to the injected stderr stream: text for people, `--log-format json` for machines, and with
// `--log-file` the JSON lines appended to a file as well (winston's File transport, loaded only then: the gate
// path does no winston work, docs/performance.md). The lines are exactly what winston's printf and json formats
// write (keys sorted as safe-stable-stringify sorts them), so a line reads the same whichever wrote it;
// logger.test.ts holds both side by side.
// Secrets never reach here: callers pass only messages and secret-free fields (test/secret-hygiene.test.ts).

import type Winston from 'winston';
import { lateLibrary } from '../late-runtime.js';
import type { OutStream } from './out-stream.js';

export type LogFormat = 'text' | 'json';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  close(): Promise<void>;
}

export interface LoggerOptions {
  readonly stream: OutStream;
  readonly format: LogFormat;
  readonly level?: 'error' | 'warn' | 'info' | 'debug';
  /** Extra file to append JSON lines to (`--log-file`). */
  readonly file?: string;
}

/** npm's levels, as winston numbers them: a line is written when its number is at most the logger's. */
const LEVELS = { error: 0, warn: 1, info: 2, debug: 5 } as const;
type Level = keyof typeof LEVELS;

/** Creates the process logger writing to `stream` (stderr). */
export function createLogger(options: LoggerOptions): Logger {
  const max = LEVELS[options.level ?? 'info'];
  const file = options.file ? fileLogger(options.file, options.level ?? 'info') : undefined;
  const log = (level: Level) => (message: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] > max) return;
    options.stream.write(`${options.format === 'json' ? jsonLine(level, message, fields) : textLine(level, message, fields)}\n`);
    file?.log(level, message, fields ?? {});
  };
  return {
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    debug: log('debug'),
    close: () =>
      new Promise<void>((resolve) => {
        if (!file) return resolve();
        file.on('finish', () => resolve());
        file.end();
      }),
  };
}

/** `keygate: [level: ]message k=v …`, fields in the order given. */
export function textLine(level: Level, message: string, fields?: Record<string, unknown>): string {
  const extras = fields ? Object.keys(fields).filter((k) => k !== 'level' && k !== 'message' && k !== 'timestamp') : [];
  const tail = extras.length ? ' ' + extras.map((k) => `${k}=${formatValue(fields![k])}`).join(' ') : '';
  return `keygate: ${level === 'info' ? '' : `${level}: `}${escapeControls(message)}${tail}`;
}

// C0 (but tab), DEL and C1: what a terminal or the journal would act on (ESC sequences, a bare \r, the 8-bit CSI
// \x9b). Backend output and file names reach messages verbatim, so they must be escaped here.
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;
const HAS_CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/; // no /g: .test() must not keep a lastIndex

/** Controls as JSON writes them (\n, \r, \u001b, and \u009b, which JSON.stringify leaves raw). */
function escapeControls(s: string): string {
  return s.replace(CONTROLS, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** One JSON object: the fields, level, message and an ISO timestamp, keys sorted at every depth. */
export function jsonLine(level: Level, message: string, fields?: Record<string, unknown>, now = new Date()): string {
  return stableJson({ ...fields, level, message, timestamp: now.toISOString() });
}

/** JSON.stringify with object keys sorted (what safe-stable-stringify writes for plain data). */
function stableJson(value: unknown): string {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') value = (value as { toJSON(): unknown }).toJSON();
  if (typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined || typeof v === 'function' || typeof v === 'symbol' ? 'null' : stableJson(v))).join(',')}]`;
  if (typeof value === 'string') return escapeControls(JSON.stringify(value));
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined && typeof obj[k] !== 'function' && typeof obj[k] !== 'symbol')
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(obj[k])}`).join(',')}}`;
}

function fileLogger(filename: string, level: Level): Winston.Logger {
  const winston = lateLibrary<typeof Winston>('winston');
  const json = winston.format.combine(winston.format.timestamp(), winston.format.json());
  return winston.createLogger({ level, transports: [new winston.transports.File({ filename, format: json })], exitOnError: false });
}

function formatValue(v: unknown): string {
  // quoted when it holds a space or a control (ESC is no \s, so /\s/ alone would pass it raw)
  if (typeof v === 'string') return /\s/.test(v) || HAS_CONTROL.test(v) ? escapeControls(JSON.stringify(v)) : v;
  return escapeControls(JSON.stringify(v) ?? 'undefined');
}

/** A progress line on stderr, only when stderr is a TTY and the work lasts more than a moment. */
export function createProgress(stream: OutStream, label: string): (done: number, total: number) => void {
  const start = Date.now();
  let shown = false;
  let tty: boolean | undefined;
  return (done, total) => {
    if (!shown && Date.now() - start < 500) return;
    // asked only once the work has lasted: a quick run never loads node:tty (src/adapters/direct-stream.ts)
    if (!(tty ??= stream.isTTY === true)) return;
    shown = true;
    stream.write(`\r${label} ${done}/${total}${done === total ? '\n' : ''}`);
  };
}
