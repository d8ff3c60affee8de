import type { CauseId } from '../causes.ts';
import type { Finding } from '../finding.ts';
import { clean, plural } from './advice.ts';
import { isCurrent, type ClassifierContext } from './context.ts';
import { span } from './time.ts';
import { statusPageSteps } from './rules/pool-tuning.ts';

/** The slowest scripts shown, and the innermost frames of each one's stack. */
export const MAX_SLOW_SCRIPTS = 3;
export const MAX_STACK_FRAMES = 5;

/** Findings about busy or slow workers, which the slow log explains. */
const SLOW_CAUSES: ReadonlySet<CauseId> = new Set<CauseId>(['upstream_timeout', 'max_children_exhausted', 'pool_tuning', 'upstream_reset']);

interface SlowScript {
  script: string;
  requests: number;
  /** The longest php-fpm logged ("executing too slow (3.0012 sec)"), when it logged one. */
  seconds?: number;
  /** The stack of its latest slow-log entry. */
  frames: string[];
  header?: string;
}

/**
 * The scripts of the window's slow requests, slowest first: php-fpm's log gives each one's time
 * ("executing too slow (N sec)"), the slow log its stack. The slow log itself has no durations,
 * so a script only in the slow log ranks by how often it is there.
 */
export function slowScripts(ctx: ClassifierContext): SlowScript[] {
  const by = new Map<string, SlowScript>();
  const get = (script: string): SlowScript => {
    let s = by.get(script);
    if (s === undefined) {
      s = { script, requests: 0, frames: [] };
      by.set(script, s);
    }
    return s;
  };
  for (const l of ctx.fpmLog) {
    if (l.event.kind !== 'slow' || !isCurrent(ctx, l)) continue;
    const s = get(l.event.script);
    s.requests++;
    s.seconds = Math.max(s.seconds ?? 0, l.event.seconds);
  }
  const entries = ctx.slowlog.filter((e) => isCurrent(ctx, e) && e.script !== undefined).sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
  for (const e of entries) {
    const s = get(e.script as string);
    if (!ctx.fpmLog.some((l) => l.event.kind === 'slow' && l.event.script === e.script && isCurrent(ctx, l))) s.requests++;
    if (e.frames.length > 0) {
      s.frames = e.frames;
      s.header = e.text;
    }
  }
  return [...by.values()].sort(
    (a, b) => (b.seconds ?? 0) - (a.seconds ?? 0) || b.requests - a.requests || a.script.localeCompare(b.script),
  );
}

/** One line per script: its time and count, then its stack innermost first (addresses dropped), bounded. */
export function slowScriptLines(ctx: ClassifierContext): string[] {
  const scripts = slowScripts(ctx);
  const lines = scripts.slice(0, MAX_SLOW_SCRIPTS).map((s) => {
    const time = s.seconds === undefined ? '' : `, up to ${s.seconds.toFixed(1)} s`;
    const frames = s.frames.slice(0, MAX_STACK_FRAMES).map((f) => f.replace(/^\[0x[0-9a-f]+\] /, ''));
    const more = s.frames.length > MAX_STACK_FRAMES ? ` ← … ${s.frames.length - MAX_STACK_FRAMES} more` : '';
    const stack = frames.length === 0 ? '' : `; stack: ${frames.join(' ← ')}${more}`;
    return clean(`slow log: ${s.script} (${plural(s.requests, 'slow request')} in the last ${span(ctx.windowMs)}${time})${stack}`, 900);
  });
  if (scripts.length > MAX_SLOW_SCRIPTS) lines.push(`slow log: … and ${plural(scripts.length - MAX_SLOW_SCRIPTS, 'other script')}`);
  return lines;
}

/** Most evidence lines a finding shows, the slow log's included. */
const MAX_EVIDENCE = 16;

/** Adds the slowest scripts' stacks to the current findings about slow or busy workers. */
export function withSlowScripts(ctx: ClassifierContext, findings: readonly Finding[]): Finding[] {
  const lines = slowScriptLines(ctx);
  // Busy or slow workers are what the status page shows: say how to turn it on where it is off.
  const status = statusPageSteps(ctx);
  return findings.map((f) => {
    if (!f.current || !SLOW_CAUSES.has(f.cause) || f.severity === 'info') return f;
    const steps = [
      ...f.nextSteps,
      ...(lines.length === 0
        ? []
        : ['Start with the slowest script of the slow log: its innermost frames (first lines of its stack) are where the time goes']),
      ...status.filter((s) => !f.nextSteps.includes(s)),
    ];
    return {
      ...f,
      evidence: lines.length === 0 ? f.evidence : [...f.evidence.slice(0, MAX_EVIDENCE - lines.length), ...lines],
      nextSteps: steps,
    };
  });
}
