import { clean } from './wording.ts';
import { isCurrent, type ClassifierContext } from './context.ts';
import type { BackendEvent } from './parse/backend-log.ts';

/** What the application servers' own lines add to nginx's: the evidence, why, and what to change. */
export interface BackendStory {
  lines: string[];
  why: string[];
  steps: string[];
}

const ADVICE: Record<BackendEvent['kind'], { why: string; step: string }> = {
  worker_timeout: {
    why: 'gunicorn killed workers that ran past its --timeout (30 s by default), so nginx saw the connection close mid-request',
    step: 'Make the slow requests faster, or raise gunicorn --timeout for them (and keep proxy_read_timeout above it)',
  },
  worker_killed: {
    why: 'gunicorn workers were terminated by a signal (9 is SIGKILL: the timeout, or the kernel OOM killer)',
    step: "Check the kernel log for the OOM killer (sudo journalctl -k | grep -i 'killed process') and the workers' memory",
  },
  request_too_big: {
    why: 'uWSGI refused requests whose headers exceed its buffer-size (4096 bytes by default: big cookies, long URLs) and closed the connection',
    step: 'Raise uWSGI buffer-size = 32768 (in the [uwsgi] section), then restart the application',
  },
  queue_full: {
    why: "uWSGI's listen queue is full (listen = 100 by default): every worker is busy and new connections are refused",
    step: 'Raise uWSGI listen (with net.core.somaxconn) and the number of workers, or make requests faster',
  },
  harakiri: {
    why: "uWSGI's harakiri killed workers that ran longer than allowed",
    step: 'Find the slow requests (uWSGI logs the request of each harakiri) or raise harakiri for them',
  },
};

/**
 * The current events of the backends' journal, when there are any. With `unit` (the unit of the
 * backend nginx failed on), another unit's lines are left out: they are another backend's story.
 */
export function backendStory(ctx: ClassifierContext, kinds?: readonly BackendEvent['kind'][], unit?: string): BackendStory {
  const recent = ctx.backendLog.filter(
    (l) =>
      isCurrent(ctx, l) &&
      (kinds === undefined || kinds.includes(l.event.kind)) &&
      (unit === undefined || l.unit === undefined || l.unit === unit),
  );
  const seen = [...new Set(recent.map((l) => l.event.kind))];
  const units = [...new Set(recent.flatMap((l) => (l.unit === undefined ? [] : [l.unit])))];
  return {
    lines: recent.map((l) => l.text).reverse(),
    why: seen.map((k) => ADVICE[k].why),
    steps: [
      ...seen.map((k) => ADVICE[k].step),
      ...units.map(
        (u) => `Read the rest of its journal around those times: sudo journalctl -u ${clean(u, 120)} --since "1 hour ago" --no-pager`,
      ),
    ],
  };
}
