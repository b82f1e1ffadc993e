// keygate pki: a dev PKI (docs/pki.md), one file per sub-command in commands/pki/: `ca create`, `issue
// server|client`, `sign-csr`, `p12`, `crl`, `inspect`. Profiles and policy: src/pki/policy.ts (pure). Crypto:
// src/pki/engine.ts, a late part loaded only by these (and keystore create --ca-cert), so verify and serve never
// parse @peculiar/x509. Passwords come from files (or a prompt on a terminal), never argv; keys are written 0600
// through a temp file and a rename; nothing is overwritten without --force (the CRL is the one file updated in
// place: it is cumulative, and each update keeps the earlier revocations).

import type { CommandModule } from 'yargs';
import { EXIT_EPILOGUE, type Choose } from './common.js';
import { caCommand } from './pki/ca.js';
import { issueCommand } from './pki/issue.js';
import { signCsrCommand } from './pki/sign-csr.js';
import { p12Command } from './pki/p12.js';
import { crlCommand } from './pki/crl.js';
import { inspectCommand } from './pki/inspect.js';

/** yargs adapter: `keygate pki <command>`. */
export function pkiCommand(choose: Choose): CommandModule {
  return {
    command: 'pki',
    describe: 'a dev PKI: CA, server and client certificates, CSR signing, PKCS#12, CRL (docs/pki.md)',
    builder: (y) =>
      y
        .command(caCommand(choose))
        .command(issueCommand(choose))
        .command(signCsrCommand(choose))
        .command(p12Command(choose))
        .command(crlCommand(choose))
        .command(inspectCommand(choose))
        .demandCommand(1, 'name a pki command: ca create, issue, sign-csr, p12, crl, inspect')
        .epilogue(EXIT_EPILOGUE),
    handler: () => undefined,
  };
}
