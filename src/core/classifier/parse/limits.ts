import { outputLines } from './lines.ts';

/** One limit line worth quoting: nginx's `Max open files` from /proc/<pid>/limits, or the ephemeral port range. */
export interface LimitLine {
  kind: 'open_files' | 'port_range';
  line: string;
  soft?: number;
}

/** Reads `cat /proc/<nginx master>/limits` and `cat /proc/sys/net/ipv4/ip_local_port_range`. */
export function parseLimits(text: string): LimitLine[] {
  const out: LimitLine[] = [];
  for (const line of outputLines(text)) {
    const files = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)\s+files/.exec(line);
    if (files !== null) {
      out.push({
        kind: 'open_files',
        line: line.replace(/\s+/g, ' ').trim(),
        ...(files[1] === 'unlimited' ? {} : { soft: Number(files[1]) }),
      });
      continue;
    }
    if (/^\d{1,5}\s+\d{1,5}$/.test(line.trim()))
      out.push({ kind: 'port_range', line: `ip_local_port_range: ${line.trim().replace(/\s+/, ' ')}` });
  }
  return out;
}
