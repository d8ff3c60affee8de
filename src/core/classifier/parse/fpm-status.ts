import { outputLines } from './lines.ts';

export interface FpmStatus {
  pool: string;
  listenQueue?: number;
  maxListenQueue?: number;
  maxChildrenReached?: number;
  activeProcesses?: number;
  idleProcesses?: number;
  totalProcesses?: number;
  /** Seconds since the pool started: `max children reached` counts since then. */
  startSince?: number;
  /** The page's lines by field name, for evidence. */
  lines: Record<string, string>;
}

const NUMBERS: Record<string, keyof FpmStatus> = {
  'listen queue': 'listenQueue',
  'max listen queue': 'maxListenQueue',
  'max children reached': 'maxChildrenReached',
  'active processes': 'activeProcesses',
  'idle processes': 'idleProcesses',
  'total processes': 'totalProcesses',
  'start since': 'startSince',
};

/** `?full` lists each process after a line of asterisks, with fields of its own (`start since`, `pid`, …). */
const PROCESS_BLOCK = /^\*{3,}$/;

/**
 * Reads php-fpm's status page, plain text (`pool: www`, `listen queue: 0`, …) or `?json`: the
 * pool's fields only, not those of the processes that `?full` lists after them.
 * Anything else (nginx's 404 page, "File not found.", a curl error) gives undefined.
 */
export function parseFpmStatus(text: string): FpmStatus | undefined {
  const fields = new Map<string, { value: string; line: string }>();
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const json = JSON.parse(trimmed) as Record<string, unknown>;
      for (const [k, v] of Object.entries(json)) {
        if (typeof v === 'string' || typeof v === 'number') fields.set(k, { value: String(v), line: `${k}: ${v}` });
      }
    } catch {
      return undefined;
    }
  } else {
    for (const line of outputLines(text)) {
      if (PROCESS_BLOCK.test(line.trim())) break;
      const m = /^([a-z][a-z ]*[a-z]):\s+(\S.*)?$/.exec(line.trim());
      if (m !== null) fields.set(m[1] as string, { value: (m[2] ?? '').trim(), line: line.trim() });
    }
  }
  const pool = fields.get('pool');
  if (pool === undefined) return undefined;
  const status: FpmStatus = { pool: pool.value, lines: {} };
  for (const [name, { value, line }] of fields) {
    status.lines[name] = line;
    const key = NUMBERS[name];
    if (key !== undefined && /^\d+$/.test(value)) (status as unknown as Record<string, number>)[key] = Number(value);
  }
  return status;
}
