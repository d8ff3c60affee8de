import type { Dated } from '../evidence.ts';
import { localToEpoch, monthIndex, parseOffset } from '../time.ts';
import { outputLines } from './lines.ts';

export interface AccessEntry extends Dated {
  status: number;
  request: string;
}

// combined: $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent ...
const COMBINED = /\[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\] "([^"]*)" (\d{3}) /;

/**
 * Reads nginx access log lines in the combined format (and formats that start like it);
 * `statuses`: only the lines with one of these statuses (the others are skipped before the
 * line is parsed, as most lines of a busy log are 200s).
 */
export function parseNginxAccessLog(text: string, statuses?: readonly number[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  const marks = statuses?.map((s) => `" ${s} `);
  for (const line of outputLines(text)) {
    if (marks !== undefined && !marks.some((m) => line.includes(m))) continue;
    const m = COMBINED.exec(line);
    if (m === null) continue;
    const month = monthIndex(m[2] as string);
    const offset = parseOffset(m[7] as string);
    const status = Number(m[9]);
    if (statuses !== undefined && !statuses.includes(status)) continue;
    const entry: AccessEntry = { text: line, status, request: m[8] as string };
    if (month !== undefined && offset !== undefined) {
      const at = localToEpoch(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]), offset);
      if (at !== undefined) entry.at = at;
    }
    out.push(entry);
  }
  return out;
}

/** The statuses nginx gives when the upstream fails: 502 Bad Gateway, 504 Gateway Timeout. */
export const GATEWAY_ERRORS: readonly number[] = [502, 504];
export const isGatewayError = (status: number): boolean => GATEWAY_ERRORS.includes(status);
