import { readFile } from 'node:fs/promises';

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

async function childPids(pid: number): Promise<number[]> {
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
