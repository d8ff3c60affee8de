import { outputLines } from './lines.ts';

export interface FpmService {
  unit?: string;
  /** `active`, `inactive`, `failed`, `activating`, … */
  active?: string;
  /** `running`, `dead`, … */
  sub?: string;
  /** systemd's Result: `oom-kill`, `signal`, `exit-code`, `timeout`, … */
  result?: string;
  notFound: boolean;
  /** The Active:, Main PID: and killed Process: lines, for evidence. */
  lines: string[];
}

/** Reads `systemctl status --no-pager --lines=0 UNIT` (and "Unit … could not be found." on stderr). */
export function parseFpmService(stdout: string, stderr: string): FpmService | undefined {
  const service: FpmService = { notFound: false, lines: [] };
  const notFound = /Unit (\S+) could not be found/.exec(stderr);
  if (notFound !== null) {
    service.notFound = true;
    service.unit = notFound[1] as string;
    service.lines.push(notFound[0]);
    return service;
  }
  let seen = false;
  for (const line of outputLines(stdout)) {
    const t = line.trim();
    // systemd's status marks ● ○ × ↻ ✗, escaped: the command line's bundle stays ASCII.
    const head = /^[\u25cf\u25cb\u00d7*\u21bb\u2717]?\s*(\S+\.service)\b/.exec(t);
    if (head !== null && service.unit === undefined) service.unit = head[1] as string;
    const active = /^Active: (\S+)(?: \(([^)]+)\))?/.exec(t);
    if (active !== null) {
      seen = true;
      service.active = active[1] as string;
      const detail = active[2];
      const result = detail === undefined ? null : /^Result: (\S+)$/.exec(detail);
      if (result !== null) service.result = result[1] as string;
      else if (detail !== undefined) service.sub = detail;
      service.lines.push(t);
    } else if (/^Main PID: /.test(t) || (/^Process: /.test(t) && /code=(?:killed|dumped)/.test(t))) {
      service.lines.push(t);
    }
  }
  return seen ? service : undefined;
}
