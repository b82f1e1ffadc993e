// Secret hygiene: the keystore password (the sentinel in tests) must appear in no output, log, file, child argv
// or child environment. The check must run while the evidence exists: test/helpers/project.ts deletes every
// temp project in a root after() hook, which runs before any root after() registered later (FIFO), so a check
// there walked nothing (issue 9 point 2). Run checkSecretHygiene() from an afterEach or inside the test; it
// fails when a project it was given is already gone, so it cannot pass vacuously again.

import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { vaultCalls, type DemoProject } from './project.js';

export interface HygieneEvidence {
  /** Whatever the test saw: stdout, stderr, log files read into memory. */
  readonly transcripts: readonly { readonly name: string; readonly text: string }[];
  /** Projects whose files and vault call log are searched. */
  readonly projects: readonly DemoProject[];
}

/** Files that hold the password by design: the vault emulator's store and the keystore itself (encrypted). */
const EXPECTED_HOLDERS = [/[\\/]a2a-store\.json$/, /\.p12$/];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const f = join(dir, n);
    const st = lstatSync(f); // a symlink is not followed out of the project (it could point at the store)
    return st.isDirectory() ? walk(f) : st.isFile() ? [f] : [];
  });
}

/**
 * Every place the secret was found, as readable lines, plus any missing evidence ("project … is gone").
 * Empty means clean. Checks: transcripts; every file under each project except the expected holders; the argv
 * and environment the emulator recorded for every vault client call (its a2a-calls.log).
 */
export function findSecretLeaks(secret: string, evidence: HygieneEvidence): string[] {
  const leaks: string[] = [];
  for (const t of evidence.transcripts) if (t.text.includes(secret)) leaks.push(`output of ${t.name}`);
  for (const p of evidence.projects) {
    if (!existsSync(p.dir)) {
      leaks.push(`project ${p.dir} is gone: its files and vault calls cannot be checked (run the check before cleanup)`);
      continue;
    }
    for (const [i, call] of vaultCalls(p).entries()) {
      if (JSON.stringify(call.argv).includes(secret)) leaks.push(`argv of vault call ${i + 1} in ${p.callLog}`);
      if (JSON.stringify(call.env).includes(secret)) leaks.push(`environment of vault call ${i + 1} in ${p.callLog}`);
    }
    for (const f of walk(p.dir)) {
      if (EXPECTED_HOLDERS.some((re) => re.test(f))) continue;
      if (readFileSync(f).includes(secret)) leaks.push(`file ${f}`);
    }
  }
  return leaks;
}

/** Throws (an assertion failure listing every place) when the secret leaked or evidence is missing. */
export function checkSecretHygiene(secret: string, evidence: HygieneEvidence): void {
  const leaks = findSecretLeaks(secret, evidence);
  if (leaks.length) throw new Error(`secret hygiene failed:\n  ${leaks.join('\n  ')}`);
}
