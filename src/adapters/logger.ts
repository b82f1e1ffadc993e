// Logging: winston to the injected stderr stream. Text for people, `--log-format json` for machines.
// Secrets never reach here: callers pass only messages and secret-free fields (test/secret-hygiene.test.ts).

import winston from 'winston';
import { Writable } from 'node:stream';

export type LogFormat = 'text' | 'json';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  close(): Promise<void>;
}

export interface LoggerOptions {
  readonly stream: NodeJS.WritableStream;
  readonly format: LogFormat;
  readonly level?: 'error' | 'warn' | 'info' | 'debug';
  /** Extra file to append JSON lines to (`--log-file`). */
  readonly file?: string;
}

/** Creates the process logger writing to `stream` (stderr). */
export function createLogger(options: LoggerOptions): Logger {
  const target = new Writable({
    write(chunk: Buffer, _enc, cb) {
      options.stream.write(chunk);
      cb();
    },
  });
  const text = winston.format.printf((info) => {
    const { level, message, timestamp: _t, ...rest } = info as Record<string, unknown>;
    const extras = Object.keys(rest).filter((k) => typeof k === 'string');
    const tail = extras.length ? ' ' + extras.map((k) => `${k}=${formatValue(rest[k])}`).join(' ') : '';
    return `keygate: ${level === 'info' ? '' : `${String(level)}: `}${String(message)}${tail}`;
  });
  const json = winston.format.combine(winston.format.timestamp(), winston.format.json());
  const transports: winston.transport[] = [
    new winston.transports.Stream({ stream: target, format: options.format === 'json' ? json : text }),
  ];
  if (options.file) transports.push(new winston.transports.File({ filename: options.file, format: json }));
  const w = winston.createLogger({ level: options.level ?? 'info', transports, exitOnError: false });
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => w.log(level, message, fields ?? {});
  return {
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    debug: log('debug'),
    close: () =>
      new Promise<void>((resolve) => {
        if (!options.file) return resolve();
        w.on('finish', () => resolve());
        w.end();
      }),
  };
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /\s/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** A progress line on stderr, only when stderr is a TTY and the work lasts more than a moment. */
export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, label: string): (done: number, total: number) => void {
  if (!stream.isTTY) return () => {};
  const start = Date.now();
  let shown = false;
  return (done, total) => {
    if (!shown && Date.now() - start < 500 && done < total) return;
    shown = true;
    stream.write(`\r${label} ${done}/${total}${done === total ? '\n' : ''}`);
  };
}
