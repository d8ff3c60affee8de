import { outputLines } from './lines.ts';

export interface HttpProbe {
  /** 0 when curl got no HTTP answer (`http_code=000`). */
  code: number;
  timeTotal?: number;
  /** curl's own complaint, e.g. `curl: (7) Failed to connect to … Couldn't connect to server`. */
  error?: string;
  line: string;
  /** The virtual host probed, for a probe of one. */
  server?: string;
}

/** Reads `curl -w 'http_code=%{http_code} time_total=%{time_total}'` output and curl's stderr. */
export function parseHttpProbe(stdout: string, stderr: string): HttpProbe | undefined {
  const m = /http_code=(\d{3})(?: time_total=([\d.]+))?/.exec(stdout);
  if (m === null) return undefined;
  const probe: HttpProbe = { code: Number(m[1]), line: m[0] };
  if (m[2] !== undefined) probe.timeTotal = Number(m[2]);
  const error = outputLines(stderr).find((l) => l.startsWith('curl:'));
  if (error !== undefined) probe.error = error;
  return probe;
}

/** The site answered, which a 502/504 (or no answer at all) is not. */
export const probeAnswered = (code: number): boolean => code >= 200 && code < 500;
