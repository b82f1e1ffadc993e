// Process signals, and nothing else: SIGINT/SIGTERM → an AbortSignal (drain and exit 0), SIGHUP → reload.

export interface Signals {
  readonly signal: AbortSignal;
  onReload(listener: () => void): void;
  dispose(): void;
}

/** Wires the process's signals; dispose() removes the handlers again. */
export function installSignals(proc: NodeJS.Process = process): Signals {
  const controller = new AbortController();
  const reloaders: (() => void)[] = [];
  const stop = (): void => controller.abort();
  const hup = (): void => reloaders.forEach((r) => r());
  proc.on('SIGINT', stop);
  proc.on('SIGTERM', stop);
  proc.on('SIGHUP', hup);
  return {
    signal: controller.signal,
    onReload: (l) => reloaders.push(l),
    dispose: () => {
      proc.off('SIGINT', stop);
      proc.off('SIGTERM', stop);
      proc.off('SIGHUP', hup);
    },
  };
}
