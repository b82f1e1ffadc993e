// terminateGroup / sweepGroup against real process groups (sh and sleep). Linux: members are read from /proc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { sweepGroup, terminateGroup } from './process-group.js';

/**
 * Live (non-zombie) processes of a group, from /proc: a killed child whose parent died too waits for PID 1 to reap
 * it, which a container's PID 1 may never do, and kill(-pgid, 0) still counts such a zombie.
 */
function liveMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(pgrp) === pgid && state !== 'Z' ? [Number(d)] : [];
      } catch {
        return [];
      }
    });
}

function group(script: string) {
  const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  return { pid: child.pid!, exited: new Promise<void>((r) => child.once('exit', () => r())) };
}

test('a program that ignores SIGTERM gets SIGKILL after the grace, with what it started in its group', async () => {
  const g = group('trap "" TERM; sleep 30 & sleep 30; wait');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await terminateGroup(g.pid, { graceMs: 300, ended: g.exited }), false);
  const gone = await Promise.race([g.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]);
  assert.ok(gone, 'the program outlived the stop');
  for (let i = 0; i < 40 && liveMembers(g.pid).length; i++) await new Promise((r) => setTimeout(r, 25));
  assert.deepEqual(liveMembers(g.pid), [], 'a sleep of the group outlived the stop');
});

test('leaderOnly: the leader ends on SIGTERM within the grace; sweepGroup ends the child it left behind', async () => {
  const g = group('trap "exit 0" TERM; sleep 30 & while :; do sleep 0.05; done');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await terminateGroup(g.pid, { leaderOnly: true, graceMs: 5000, ended: g.exited }), true);
  assert.equal(liveMembers(g.pid).length, 1, 'the background sleep is still in the group');
  await sweepGroup(g.pid);
  for (let i = 0; i < 40 && liveMembers(g.pid).length; i++) await new Promise((r) => setTimeout(r, 25));
  assert.deepEqual(liveMembers(g.pid), []);
});
