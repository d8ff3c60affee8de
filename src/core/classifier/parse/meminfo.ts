import { outputLines } from './lines.ts';

export interface MemInfo {
  totalBytes?: number;
  availableBytes?: number;
  /** `MemTotal:  24684096 kB` and the like, for evidence. */
  lines: Record<string, string>;
}

/** Reads /proc/meminfo. */
export function parseMeminfo(text: string): MemInfo {
  const info: MemInfo = { lines: {} };
  for (const line of outputLines(text)) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?: kB)?$/.exec(line.trim());
    if (m === null) continue;
    info.lines[m[1] as string] = line.trim();
    if (m[1] === 'MemTotal') info.totalBytes = Number(m[2]) * 1024;
    if (m[1] === 'MemAvailable') info.availableBytes = Number(m[2]) * 1024;
  }
  return info;
}
