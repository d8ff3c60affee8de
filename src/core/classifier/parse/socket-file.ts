import { normalPath } from '../upstream-address.ts';
import { outputLines } from './lines.ts';

export interface SocketFile {
  path: string;
  /** stat's %F: `socket`, `regular file`, … */
  type?: string;
  owner?: string;
  group?: string;
  /** Octal, as stat's %a writes it: `660`. */
  mode?: string;
  missing: boolean;
  /** stat's error other than "No such file", e.g. Permission denied. */
  error?: string;
  line: string;
}

/** Reads `stat -c '%n|%F|%U|%G|%a' PATH` (stdout) and its "cannot stat" errors (stderr). */
export function parseSocketFile(stdout: string, stderr: string): SocketFile[] {
  const out: SocketFile[] = [];
  for (const line of outputLines(stdout)) {
    const parts = line.split('|');
    if (parts.length < 5) continue;
    // The path itself may contain `|`: the last four fields are fixed.
    const [type, owner, group, mode] = parts.slice(-4) as [string, string, string, string];
    out.push({ path: normalPath(parts.slice(0, -4).join('|')), type, owner, group, mode, missing: false, line });
  }
  for (const line of outputLines(stderr)) {
    const m = cannotStat(line);
    if (m === undefined) continue;
    const missing = m.reason.includes('No such file or directory');
    const f: SocketFile = { path: normalPath(m.path), missing, line };
    if (!missing) f.error = m.reason;
    out.push(f);
  }
  return out;
}

/**
 * `stat: cannot statx '/run/php/x.sock': No such file or directory` → path and reason; the path
 * runs to the last `': `, as it may contain quotes. Searched, not matched with `'(.*)': (.*)$`,
 * which backtracks over every `': ` of a long line.
 */
function cannotStat(line: string): { path: string; reason: string } | undefined {
  const at = line.indexOf('cannot stat');
  if (at === -1) return undefined;
  let rest = line.slice(at + 'cannot stat'.length);
  if (rest.startsWith('x')) rest = rest.slice(1);
  if (!rest.startsWith(" '")) return undefined;
  const end = rest.lastIndexOf("': ");
  if (end < 2) return undefined;
  return { path: rest.slice(2, end), reason: rest.slice(end + 3) };
}
