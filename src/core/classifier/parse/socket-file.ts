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
    const m = /cannot stat(?:x)? '(.*)': (.*)$/.exec(line);
    if (m === null) continue;
    const missing = /No such file or directory/.test(m[2] as string);
    const f: SocketFile = { path: normalPath(m[1] as string), missing, line };
    if (!missing) f.error = m[2] as string;
    out.push(f);
  }
  return out;
}
