import { outputLines } from './lines.ts';

/** A unit a backend's journal can be read by: a system service, not a login session or a user's manager. */
const SERVICE = /^[A-Za-z0-9@._:\\-]{1,200}\.service$/;

/**
 * Reads `ps -o pid=,unit= -p N`: `  812 myapp.service` → pid → unit. A process outside any
 * service (`-`, a `session-3.scope`) or in a user's manager (`user@1000.service`, whose journal
 * is the user's) is left out: there is no unit of its own to read.
 */
export function parseBackendUnits(text: string): Map<number, string> {
  const units = new Map<number, string>();
  for (const line of outputLines(text)) {
    const m = /^\s*(\d{1,9})\s+(\S+)\s*$/.exec(line);
    if (m === null) continue;
    const unit = m[2] as string;
    if (SERVICE.test(unit) && !unit.startsWith('user@')) units.set(Number(m[1]), unit);
  }
  return units;
}
