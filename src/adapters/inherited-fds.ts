// Descriptors keygate inherited from whatever started it (a shell's `3<file`, a supervisor's pipe) are open in
// this process without close-on-exec, so every child (the vault client, the backend) would get them too.
// Everything Node and libuv open is O_CLOEXEC, so an fd above 2 without that flag is inherited: closed here.

import { closeSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';

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

let spared: number | undefined;

function isSocket(fd: number): boolean {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
  } catch {
    return false;
  }
}

/** The control fd main.ts left open because it was inherited and named; undefined when there is none. */
export function sparedControlFd(): number | undefined {
  return spared;
}

/** Closes the spared control fd (a process that is not privilege separation's serving half has no use for it). */
export function closeSparedControlFd(): void {
  if (spared === undefined) return;
  try {
    closeSync(spared);
  } catch {
    /* closed already */
  }
  spared = undefined;
}

/**
 * Closes them. The one exception is the control channel privilege separation hands its serving half
 * (KG_CONTROL_FD, src/backend/separation.ts), which Node re-opens close-on-exec when it adopts it.
 */
export function closeInheritedFds(env: Readonly<Record<string, string | undefined>>): number[] {
  const control = Number(env['KG_CONTROL_FD']);
  const fds = inheritedFds();
  // Node marks the lowest fds close-on-exec itself, so the channel (fd 3) may not look inherited: it is taken
  // when it is a socket, which none of Node's own early fds (epoll, eventfd, pipes) is.
  if (Number.isInteger(control) && control > 2 && isSocket(control)) {
    spared = control;
    if (fds.includes(control)) fds.splice(fds.indexOf(control), 1);
  }
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
  return fds;
}
