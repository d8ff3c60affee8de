import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';

/** Linux reports process times in clock ticks of USER_HZ, which is 100 on every architecture Node runs on. */
const TICK_MS = 10;

async function statFields(pid: number | 'self'): Promise<string[]> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses; fields resume after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU time (user + system, ms) of every descendant of `pid` that has exited and been waited for:
 * the kernel adds a reaped child's own and its children's times to the parent's cutime/cstime.
 * For sshd's listener that is the whole session tree of a finished connection: the
 * per-connection sshd processes, the shells, sudo and the commands they ran.
 */
export async function reapedChildrenCpuMs(pid: number | 'self'): Promise<number> {
  const f = await statFields(pid);
  // Fields 16 and 17 of proc(5) (cutime, cstime); the slice starts at field 3.
  return (Number(f[13]) + Number(f[14])) * TICK_MS;
}

/** The pids of `pid`'s child processes (Linux's /proc/<pid>/task/<pid>/children). */
export async function childPids(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text
    .split(' ')
    .filter((s) => s.trim() !== '')
    .map(Number);
}

/**
 * Waits until `pid` has no child processes left (a closed SSH connection's sshd process exits
 * a moment after the client sees the close), so that its CPU time has been added to the parent's.
 */
export async function waitForNoChildren(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await childPids(pid)).length > 0) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still has children after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * CPU spent by `pid`'s descendants while `fn` ran (ms), once everything `fn` started there has
 * exited. `fn` must close its connections before it returns.
 */
export async function descendantsCpuMs(pid: number, fn: () => Promise<unknown>): Promise<number> {
  await waitForNoChildren(pid);
  const before = await reapedChildrenCpuMs(pid);
  await fn();
  await waitForNoChildren(pid);
  return (await reapedChildrenCpuMs(pid)) - before;
}

/** Reads the CPU time (ms) of every process in a cgroup, living or gone. */
export interface CpuMeter {
  /** What it measures, for the row's text. */
  how: string;
  ms(): Promise<number>;
  /** Moves what is left back to the parent group and removes the group. */
  close(): Promise<void>;
}

/**
 * The CPU of `pid` and of every process it starts from now on, through a cpu-accounting cgroup
 * of its own (cgroup v1 `cpuacct`, else v2 `cpu.stat`): sshd's session processes are not all
 * reaped through the listener, so its cutime/cstime miss most of what a session ran (20 runs
 * of `php-fpm -i` over one ssh session: 40 ms there, 680 ms in the cgroup). Needs root; falls
 * back to the listener's reaped children (undercounting, and saying so) when no cgroup can be made.
 */
export async function cgroupCpuMeter(pid: number): Promise<CpuMeter> {
  const name = `medic-bench-${process.pid}-${pid}`;
  const layouts = [
    {
      root: '/sys/fs/cgroup/cpuacct',
      how: 'cgroup v1 cpuacct',
      usage: async (dir: string) => Number(await readFile(`${dir}/cpuacct.usage`, 'utf8')) / 1e6,
    },
    ...['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].map((root) => ({
      root,
      how: 'cgroup v2 cpu.stat',
      usage: async (dir: string) => Number(/^usage_usec (\d+)$/m.exec(await readFile(`${dir}/cpu.stat`, 'utf8'))?.[1]) / 1e3,
    })),
  ];
  for (const layout of layouts) {
    const dir = `${layout.root}/${name}`;
    try {
      await access(`${layout.root}/cgroup.procs`);
      await mkdir(dir);
      await writeFile(`${dir}/cgroup.procs`, String(pid));
      if (!Number.isFinite(await layout.usage(dir))) throw new Error('no usage figure');
    } catch {
      await rmdir(dir).catch(() => undefined);
      continue;
    }
    return {
      how: layout.how,
      ms: () => layout.usage(dir),
      close: async () => {
        const left = (await readFile(`${dir}/cgroup.procs`, 'utf8').catch(() => '')).split('\n').filter((s) => s !== '');
        for (const p of left) await writeFile(`${layout.root}/cgroup.procs`, p).catch(() => undefined);
        await rmdir(dir).catch(() => undefined);
      },
    };
  }
  return {
    how: "the listener's reaped children (no cgroup could be made: undercounts)",
    ms: () => reapedChildrenCpuMs(pid),
    close: async () => {},
  };
}
