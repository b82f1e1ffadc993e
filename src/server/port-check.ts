// Finds a taken port before the vault is asked: each systemd restart of a unit whose port is taken would
// otherwise ask the vault and unlock the keystore, then fail at listen. A probe bind, closed at once: the port
// can still be taken in the moment between this and the real listen, which then fails as it would anyway.

import { KeygateError, describeCause } from '../errors.js';

/** Resolves when host:port can be bound now (port 0 always can); throws SERVER_LISTEN_FAILED otherwise. */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = process.getBuiltinModule('node:net').createServer(); // loaded here, so only serve pays for node:net
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new KeygateError('SERVER_LISTEN_FAILED', `failed to listen on ${host}:${port}: ${describeCause(err)} (checked before asking the vault)`, {
          hint: err.code === 'EADDRINUSE' ? `another process uses the port (ss -ltnp 'sport = :${port}'): stop it or pass --port` : 'check --host and --port (ports below 1024 need privileges)',
        }),
      ),
    );
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
