// Process signals, and nothing else. Until a command holds them, SIGINT/SIGTERM/SIGHUP keep Node's default
// action: Ctrl-C ends a long verify or generate at once, even inside a synchronous hash loop (a JS handler could
// only run after it). serve holds them from its first step: SIGINT/SIGTERM then abort a signal that serve checks
// between its gates and drains on, SIGHUP calls the reload listeners. Once held, the handlers stay until the
// process exits: a second signal while keygate is finishing must not fall back to the default action, which
// would exit 143 after "stopped".

export interface Signals {
  readonly signal: AbortSignal;
  /** From now on SIGINT/SIGTERM abort `signal` and SIGHUP reloads, instead of ending the process. */
  hold(): void;
  onReload(listener: () => void): void;
  dispose(): void;
}

/** Wires the process's signals on hold(); dispose() removes the handlers again (tests). */
export function installSignals(proc: NodeJS.Process = process): Signals {
  const controller = new AbortController();
  const reloaders: (() => void)[] = [];
  let held = false;
  const stop = (sig: NodeJS.Signals): void => controller.abort(sig);
  const hup = (): void => reloaders.forEach((r) => r());
  return {
    signal: controller.signal,
    hold: () => {
      if (held) return;
      held = true;
      proc.on('SIGINT', stop);
      proc.on('SIGTERM', stop);
      proc.on('SIGHUP', hup);
    },
    onReload: (l) => reloaders.push(l),
    dispose: () => {
      proc.off('SIGINT', stop);
      proc.off('SIGTERM', stop);
      proc.off('SIGHUP', hup);
    },
  };
}
