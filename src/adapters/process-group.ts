// Ending a child's process group: the one way keygate stops what it started in a group of its own (the backend,
// an admin channel's interactive program). SIGTERM first, a grace to end on its own, then SIGKILL to the whole
// group, so nothing the program started in its group outlives it.

/** Sends `signal` to process group `pgid`; false when the group is gone already. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH
  }
}

/** True while any process of group `pgid` exists. */
export const groupAlive = (pgid: number): boolean => signalGroup(pgid, 0);

export interface Termination {
  /** SIGTERM to the leader only (a master such as gunicorn then stops its own workers gracefully), or the group. */
  readonly leaderOnly?: boolean;
  /** How long the program has to end after SIGTERM before the group gets SIGKILL. */
  readonly graceMs: number;
  /** Resolves when the program counts as ended (its exit, or its output closed). */
  readonly ended: Promise<unknown>;
}

/** SIGTERM, up to graceMs for `ended`, then SIGKILL to the group. True when it ended within the grace. */
export async function terminateGroup(pgid: number, t: Termination): Promise<boolean> {
  if (t.leaderOnly) {
    try {
      process.kill(pgid, 'SIGTERM');
    } catch {
      /* exited meanwhile */
    }
  } else signalGroup(pgid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  // unref: the grace alone must not keep a stopping keygate alive (the child's own handle does while it runs).
  const inTime = await Promise.race([t.ended.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), t.graceMs).unref()))]);
  clearTimeout(timer);
  if (!inTime) signalGroup(pgid, 'SIGKILL');
  return inTime;
}

/** What is left in the group once its leader is gone: SIGTERM, up to a second for it to go, then SIGKILL. */
export async function sweepGroup(pgid: number): Promise<void> {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGTERM');
  for (let i = 0; i < 20 && groupAlive(pgid); i++) await new Promise((r) => setTimeout(r, 50));
  signalGroup(pgid, 'SIGKILL');
}
