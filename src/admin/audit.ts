// The admin audit log: one JSON line per request (Teleport's audit events, OpenSSH's per-session syslog line),
// appended to a 0600 file. What it holds is fixed here: time, user, key fingerprint, source, action, a digest of
// the argument, result, request number. Never the session key, a token or a payload: whoever reads the log
// could decrypt the session (remo_serv logs the session's Fernet key at INFO).

import { appendFileSync, chmodSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';

export interface AuditEntry {
  readonly user?: string;
  /** sha256 of the user key's SPKI. */
  readonly key?: string;
  /** Peer address, or "unix" for the socket. */
  readonly source: string;
  /** info, auth, cmd:<name>, get, put, or the refused path's first segment. */
  readonly action: string;
  /** sha256 of the decrypted argument (command words, file name), so a line proves what ran without showing it. */
  readonly argSha256?: string;
  readonly status: number;
  readonly result: string;
  /** The request number, when the body authenticated. */
  readonly req?: number;
}

export function argDigest(arg: string): string {
  return createHash('sha256').update(arg, 'utf8').digest('hex');
}

export interface AuditLog {
  write(entry: AuditEntry): void;
}

/** Appends to `file` (folders made, 0600). A failing write is reported once per failure through onError. */
export function openAuditLog(file: string, onError: (message: string) => void): AuditLog {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, '', { mode: 0o600 });
  chmodSync(file, 0o600);
  return {
    write(entry) {
      const line = JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n';
      try {
        appendFileSync(file, line, { mode: 0o600 });
      } catch (err) {
        onError(`failed to write the admin audit log ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    },
  };
}
