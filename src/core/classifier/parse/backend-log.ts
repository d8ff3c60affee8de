import type { Dated } from '../evidence.ts';
import { ISO_STAMP, parseIsoStamp } from '../time.ts';
import { outputLines } from './lines.ts';

/** What an application server behind proxy_pass/uwsgi_pass said about the requests nginx lost. */
export type BackendEvent =
  /** gunicorn's arbiter killed a worker that ran past --timeout: nginx sees the connection close. */
  | { kind: 'worker_timeout'; server: 'gunicorn'; pid?: number }
  /** gunicorn: `Worker with pid N was terminated due to signal 9` (the OOM killer, or the timeout's SIGKILL). */
  | { kind: 'worker_killed'; server: 'gunicorn'; signal: number }
  /** uWSGI refused a request whose headers exceed buffer-size (4096 by default); its http-socket does not say by how much. */
  | { kind: 'request_too_big'; server: 'uwsgi'; size?: number; max: number }
  /** uWSGI's listen queue overflowed: connections are refused or wait. */
  | { kind: 'queue_full'; server: 'uwsgi'; socket: string }
  /** uWSGI's harakiri killed a worker that ran too long. */
  | { kind: 'harakiri'; server: 'uwsgi' };

export interface BackendLogEntry extends Dated {
  event: BackendEvent;
}

const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGTERM: 15,
};

const EVENTS: readonly [RegExp, (m: RegExpExecArray) => BackendEvent][] = [
  [/\[CRITICAL\] WORKER TIMEOUT \(pid:(\d{1,9})\)/, (m) => ({ kind: 'worker_timeout', server: 'gunicorn', pid: Number(m[1]) })],
  [
    /Worker with pid \d{1,9} was terminated due to signal (\d{1,2})/,
    (m) => ({ kind: 'worker_killed', server: 'gunicorn', signal: Number(m[1]) }),
  ],
  // Newer gunicorn names the signal: `Worker (pid:21) was sent SIGKILL! Perhaps out of memory?`
  [
    /Worker \(pid:\d{1,9}\) was sent (SIG[A-Z]{2,8})!/,
    (m) => ({ kind: 'worker_killed', server: 'gunicorn', signal: SIGNALS[m[1] as string] ?? 0 }),
  ],
  [
    /invalid request block size: (\d{1,9}) \(max (\d{1,9})\)/,
    (m) => ({ kind: 'request_too_big', server: 'uwsgi', size: Number(m[1]), max: Number(m[2]) }),
  ],
  [/invalid HTTP request size \(max (\d{1,9})\)/, (m) => ({ kind: 'request_too_big', server: 'uwsgi', max: Number(m[1]) })],
  [
    /uWSGI listen queue of socket "([^"]{0,200})" \(fd: \d+\) full/,
    (m) => ({ kind: 'queue_full', server: 'uwsgi', socket: m[1] as string }),
  ],
  [/\*\*\* HARAKIRI ON WORKER/, () => ({ kind: 'harakiri', server: 'uwsgi' })],
];

// gunicorn's own stamp: [2024-01-09 13:24:39 +0000]
const GUNICORN_STAMP = /\[(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-]\d{2})(\d{2})\]/;

/** Reads `journalctl -o short-iso -g …` output (or the servers' own log lines); lines without a known event are skipped. */
export function parseBackendLog(text: string): BackendLogEntry[] {
  const out: BackendLogEntry[] = [];
  for (const line of outputLines(text)) {
    const found = EVENTS.map(([re, make]) => {
      const m = re.exec(line);
      return m === null ? undefined : make(m);
    }).find((e) => e !== undefined);
    if (found === undefined) continue;
    const entry: BackendLogEntry = { text: line, event: found };
    const iso = ISO_STAMP.exec(line);
    const g = iso === null ? GUNICORN_STAMP.exec(line) : null;
    const at =
      iso !== null
        ? parseIsoStamp(iso)
        : g !== null
          ? Date.parse(`${g[1]}-${g[2]}-${g[3]}T${g[4]}:${g[5]}:${g[6]}${g[7]}:${g[8]}`)
          : undefined;
    if (at !== undefined && !Number.isNaN(at)) entry.at = at;
    out.push(entry);
  }
  return out;
}
