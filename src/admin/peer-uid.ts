// Who is on the other end of an admin connection, for the /auth rate limit: per address, every local
// user shares 127.0.0.1 and could lock the operators out. Node has no SO_PEERCRED, but for a loopback TCP peer the
// kernel lists its socket's owner uid in /proc/net/tcp{,6} (world-readable), found by the two endpoints.

import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { isIPv4, isIPv6 } from 'node:net';

export interface Endpoints {
  /** The client's address and port (the peer). */
  readonly peerAddress: string;
  readonly peerPort: number;
  /** keygate's side of the connection. */
  readonly localAddress: string;
  readonly localPort: number;
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return (isIPv4(v4) && v4.startsWith('127.')) || address === '::1';
}

/** An address as /proc/net/tcp{,6} prints it: 32-bit words in host byte order, in hex. */
export function procHex(address: string, littleEndian = endianness() === 'LE'): string | undefined {
  let bytes: number[];
  if (isIPv4(address)) bytes = address.split('.').map(Number);
  else if (isIPv6(address)) bytes = ipv6Bytes(address);
  else return undefined;
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    const word = bytes.slice(i, i + 4);
    for (const b of littleEndian ? word.reverse() : word) out += b.toString(16).padStart(2, '0');
  }
  return out.toUpperCase();
}

function ipv6Bytes(address: string): number[] {
  let text = address;
  let tail: number[] = [];
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    tail = dotted[1]!.split('.').map(Number);
    text = `${text.slice(0, dotted.index)}:0:0`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest === undefined ? [] : rest ? rest.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  const bytes = groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/**
 * The uid column of the line whose local end is the peer and whose remote end is keygate (the client's own
 * socket); undefined when no such line (or only a TIME_WAIT one, whose uid the kernel no longer keeps).
 */
export function uidFromProcNet(table: string, e: Endpoints, littleEndian?: boolean): number | undefined {
  const peer = procHex(e.peerAddress, littleEndian);
  const local = procHex(e.localAddress, littleEndian);
  if (!peer || !local) return undefined;
  const want = `${peer}:${e.peerPort.toString(16).toUpperCase().padStart(4, '0')} ${local}:${e.localPort.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || `${f[1]} ${f[2]}` !== want || f[3] === '06') continue;
    const uid = Number(f[7]);
    return Number.isInteger(uid) ? uid : undefined;
  }
  return undefined;
}

/** The owner uid of a loopback TCP peer's socket, read from /proc; undefined when it cannot be told. */
export function loopbackPeerUid(e: Endpoints): number | undefined {
  // An IPv4-mapped peer sits in tcp6 with the mapped form; a plain IPv4 one in tcp.
  const files = isIPv4(e.peerAddress) ? ['/proc/net/tcp'] : ['/proc/net/tcp6'];
  for (const file of files) {
    try {
      const uid = uidFromProcNet(readFileSync(file, 'latin1'), e);
      if (uid !== undefined) return uid;
    } catch {
      /* not Linux, or /proc not mounted */
    }
  }
  return undefined;
}
