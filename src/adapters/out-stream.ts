// The one thing the logger and the commands need of stdout/stderr (a leaf: context.ts and the logger both import it,
// neither imports the other for it).

/** Where commands write: direct writes to fd 1 and 2 (src/adapters/direct-stream.ts), or a test's stream. */
export interface OutStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}
