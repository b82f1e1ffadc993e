// A real systemd (Debian's 252, PID 1 of its own container) for tests of the units keygate init writes: booted
// with systemd-nspawn over a copy of the host's /etc and the host's /usr read-only, so node, python3-flask,
// gunicorn, openssl and curl are the host's (docs/../shared/notes/systemd-in-a-container.md). Everything a unit
// sets is then enforced by systemd itself (CapabilityBoundingSet=, RestrictSUIDSGID=, ProtectProc=,
// ProtectSystem=, StateDirectory=, Restart= with RestartPreventExitStatus=, ExecReload=). Commands run inside
// through nsenter into the container's namespaces, as root with a clean environment.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';

const NSPAWN = '/usr/bin/systemd-nspawn';
const NSENTER = '/usr/bin/nsenter';
const SYSTEMD = '/usr/lib/systemd/systemd';

/** Why a real systemd cannot be booted here (a skip reason naming the install), or undefined. */
export function containerSkip(): string | undefined {
  if (process.getuid?.() !== 0) return 'booting a systemd container needs root (CI runs as root)';
  if (!existsSync(NSPAWN)) return `${NSPAWN} is missing: apt-get install systemd-container`;
  if (!existsSync(SYSTEMD)) return `${SYSTEMD} is missing: apt-get install systemd`;
  if (!existsSync(NSENTER)) return `${NSENTER} is missing: apt-get install util-linux`;
  return undefined;
}

export interface Ran {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class Container {
  private constructor(
    /** The container's / on the host. */
    readonly root: string,
    private readonly base: string,
    private readonly nspawn: ChildProcess,
    private readonly leader: number,
  ) {}

  /** A fresh root (the host's /etc copied, no service of the host's enabled), booted to multi-user. */
  static async boot(prepare: (root: string) => void, extraArgs: readonly string[] = []): Promise<Container> {
    const base = mkdtempSync('/var/tmp/keygate-systemd-');
    chmodSync(base, 0o755);
    const root = join(base, 'root');
    for (const d of ['dev', 'proc', 'sys', 'run', 'tmp', 'var/lib', 'var/log', 'var/tmp', 'root', 'srv', 'opt', 'usr']) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    chmodSync(join(root, 'var/tmp'), 0o1777);
    for (const d of ['bin', 'sbin', 'lib', 'lib64']) if (existsSync(`/usr/${d}`)) symlinkSync(`usr/${d}`, join(root, d));
    cpSync('/etc', join(root, 'etc'), { recursive: true, verbatimSymlinks: true });
    rmSync(join(root, 'etc/os-release'), { force: true });
    copyFileSync('/usr/lib/os-release', join(root, 'etc/os-release'));
    writeFileSync(join(root, 'etc/machine-id'), '');
    // The host's own services (postgresql, nginx, ...) stay off: the container runs the units under test only.
    for (const wants of ['multi-user.target.wants', 'timers.target.wants']) {
      const dir = join(root, 'etc/systemd/system', wants);
      if (existsSync(dir)) for (const f of readdirSync(dir)) rmSync(join(dir, f), { force: true });
    }
    prepare(root);
    let out = '';
    const nspawn = spawn(NSPAWN, ['--quiet', '--register=no', '--keep-unit', '-D', root, '--bind-ro=/usr', '--private-network', ...extraArgs, '-b'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    nspawn.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    nspawn.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    const deadline = Date.now() + 60_000;
    let leader: number | undefined;
    while (Date.now() < deadline && nspawn.exitCode === null) {
      const r = spawnSync('/usr/bin/pgrep', ['-P', String(nspawn.pid), '-x', 'systemd'], { encoding: 'utf8' });
      leader = Number(r.stdout.trim().split('\n')[0]) || undefined;
      if (leader) {
        const up = spawnSync(NSENTER, ['-t', String(leader), '-a', '/usr/bin/systemctl', 'is-system-running', '--wait'], { encoding: 'utf8', timeout: 60_000 });
        if (/running|degraded/.test(up.stdout)) break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    if (!leader || nspawn.exitCode !== null) {
      nspawn.kill('SIGKILL');
      throw new Error(`the container did not boot:\n${out}`);
    }
    return new Container(root, base, nspawn, leader);
  }

  /** A bash script inside the container, as root, with a clean environment (what an admin's root shell has). */
  sh(script: string, timeoutMs = 120_000): Ran {
    const r = spawnSync(NSENTER, ['-t', String(this.leader), '-a', '/usr/bin/env', '-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'LANG=C.UTF-8', '/bin/bash', '-c', script], {
      encoding: 'utf8',
      timeout: timeoutMs,
      cwd: '/',
    });
    return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  }

  /** Like sh, but a non-zero exit throws with what it printed. */
  ok(script: string, timeoutMs?: number): string {
    const r = this.sh(script, timeoutMs);
    if (r.status !== 0) throw new Error(`in the container, exit ${r.status}:\n$ ${script}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** `systemctl show -p <names>` as an object. */
  show(unit: string, ...props: string[]): Record<string, string> {
    const out = this.ok(`systemctl show ${unit} ${props.map((p) => `-p ${p}`).join(' ')}`);
    return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  /** The unit's journal (message text only), all of it or what came after a cursor(). */
  journal(unit: string, after?: string): string {
    return this.sh(`journalctl -u ${unit} --no-pager -o cat${after ? ` --after-cursor='${after}'` : ''}`).stdout;
  }

  /** Where the journal is now: journal(unit, cursor) then shows only what comes later. */
  cursor(): string {
    return /-- cursor: (\S+)/.exec(this.sh('journalctl --show-cursor -n 0 --no-pager').stdout)?.[1] ?? '';
  }

  /** Power off (the units are stopped as systemd stops them), then remove the root. */
  async stop(): Promise<void> {
    const exited = new Promise<void>((r) => (this.nspawn.exitCode !== null ? r() : this.nspawn.once('exit', () => r())));
    this.sh('systemctl poweroff --no-block', 20_000);
    const timer = setTimeout(() => this.nspawn.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
    rmSync(this.base, { recursive: true, force: true });
  }
}
