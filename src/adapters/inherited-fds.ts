// Descriptors keygate inherited from whatever started it (a shell's `3<file`, a supervisor's pipe) are open in
// this process without close-on-exec, so every child (the vault client, the backend) would get them too.
// Everything Node and libuv open is O_CLOEXEC, so an fd above 2 without that flag is inherited: closed here.

import { closeSync, readFileSync, readdirSync } from 'node:fs';

const O_CLOEXEC = 0o2000000;

/** The fds above 2 without O_CLOEXEC, from /proc/self/fdinfo (Linux); [] where /proc is not there. */
export function inheritedFds(keep: ReadonlySet<number> = new Set()): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of names) {
    const fd = Number(name);
    if (!(fd > 2) || keep.has(fd)) continue;
    try {
      const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      if (flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) === 0) out.push(fd);
    } catch {
      /* the fd of the readdir itself, closed meanwhile */
    }
  }
  return out;
}

/**
 * Closes them. The one exception is the control channel privilege separation hands its serving half
 * (KG_CONTROL_FD, src/backend/separation.ts), which Node re-opens close-on-exec when it adopts it.
 */
export function closeInheritedFds(env: Readonly<Record<string, string | undefined>>): number[] {
  const control = Number(env['KG_CONTROL_FD']);
  const fds = inheritedFds(new Set(Number.isInteger(control) ? [control] : []));
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
  return fds;
}
