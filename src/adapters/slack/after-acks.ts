export interface AfterAcksOptions {
  /** Start the waiting work once no request has come in for this long. @defaultValue 3 */
  quietMs?: number;
  /** …or this long after the first of them waited, whichever comes first. @defaultValue 100 */
  maxDelayMs?: number;
}

/**
 * Ack first, work after, across requests. Slack allows 3 s for an ack and shows the user an error
 * past it; what follows an ack (Redis, the queue, response_url) has no such deadline. Under a
 * burst of commands (an outage: everyone types `/502 diagnose`), the work of the first ones
 * would otherwise run between the acks of the others. Work waits here until the burst has been
 * acked: it starts together once no new request has come in for `quietMs`, or `maxDelayMs` after
 * the first one waited, so a steady stream still makes progress.
 */
export class AfterAcks {
  private waiting: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private firstAt = 0;
  private readonly quietMs: number;
  private readonly maxDelayMs: number;

  constructor(o: AfterAcksOptions = {}) {
    this.quietMs = o.quietMs ?? 3;
    this.maxDelayMs = o.maxDelayMs ?? 100;
  }

  /** Resolves when the work that follows an ack may start. */
  wait(): Promise<void> {
    return new Promise((resolve) => {
      if (this.waiting.length === 0) this.firstAt = performance.now();
      this.waiting.push(resolve);
      this.arm();
    });
  }

  private arm(): void {
    clearTimeout(this.timer);
    const left = this.maxDelayMs - (performance.now() - this.firstAt);
    this.timer = setTimeout(() => this.check(), Math.max(0, Math.min(this.quietMs, left)));
  }

  /**
   * Timers run before the event loop reads sockets: after a pause (a GC, a slow request), the
   * timer may be due while requests wait unread. They are read first (setImmediate runs after
   * the poll phase); if any of them came to wait, the burst goes on.
   */
  private check(): void {
    const before = this.waiting.length;
    setImmediate(() => {
      const overdue = performance.now() - this.firstAt >= this.maxDelayMs;
      if (this.waiting.length > before && !overdue) return this.arm();
      this.release();
    });
  }

  private release(): void {
    const ready = this.waiting;
    this.waiting = [];
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const resolve of ready) resolve();
  }
}
