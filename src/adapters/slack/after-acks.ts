export interface AfterAcksOptions {
  /** Start waiting work once no request has come in for this long. @defaultValue 3 */
  quietMs?: number;
  /** …or once the oldest waiting work has waited this long, whichever comes first. @defaultValue 250 */
  maxDelayMs?: number;
  /** Pieces of work under way at once. @defaultValue 4 */
  concurrency?: number;
  /** A piece of work still running after this long (waiting on Slack, a rate limit) frees its place. @defaultValue 50 */
  slotMs?: number;
}

/**
 * Ack first, work after, across requests. Slack allows 3 s for an ack and shows the user an error
 * past it; what follows an ack (Redis, the queue, response_url) has no such deadline. Under a
 * burst of commands (an outage: everyone types `/502 diagnose`) the work of the first ones would
 * otherwise run between the acks of the others, and 100 pieces of work started at once would
 * fill every turn of the event loop with their Redis and Slack replies while the next burst
 * waits unread. So work waits here until the requests have stopped coming (no new one for
 * `quietMs`, or `maxDelayMs` after the oldest waited, so a steady stream still makes progress),
 * and then runs at most `concurrency` pieces at once, each turn of the loop short enough for a
 * new request to be read and acked between them. A new request holds back the start of further
 * work (work under way goes on). A piece that takes longer than `slotMs` is waiting on the
 * network, not using the CPU: it frees its place, so a slow Slack never holds the others up.
 */
export class AfterAcks {
  private readonly waiting: Array<{ at: number; start: () => void }> = [];
  private running = 0;
  private lastArrival = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private readonly quietMs: number;
  private readonly maxDelayMs: number;
  private readonly concurrency: number;
  private readonly slotMs: number;

  constructor(o: AfterAcksOptions = {}) {
    this.quietMs = o.quietMs ?? 3;
    this.maxDelayMs = o.maxDelayMs ?? 250;
    this.concurrency = o.concurrency ?? 4;
    this.slotMs = o.slotMs ?? 50;
  }

  /** A request came in (before it is read): work not started yet waits for the burst to be acked. */
  arrived(): void {
    this.lastArrival = performance.now();
  }

  /** Runs `work` once the burst has been acked and a place is free; resolves or rejects as it does. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    this.arrived();
    await new Promise<void>((start) => {
      this.waiting.push({ at: performance.now(), start });
      this.arm();
    });
    let held = true;
    const free = (): void => {
      if (!held) return;
      held = false;
      clearTimeout(slot);
      this.running -= 1;
      this.check();
    };
    const slot = setTimeout(free, this.slotMs);
    try {
      return await work();
    } finally {
      free();
    }
  }

  /**
   * Checks again when the quiet period or the oldest work's delay will be over. A timer already
   * set stays: later arrivals only put the end of the quiet later, and the check re-arms (one
   * timer per burst, not one per request).
   */
  private arm(): void {
    const first = this.waiting[0];
    if (first === undefined || this.timer !== undefined) return;
    const now = performance.now();
    const quietIn = this.lastArrival + this.quietMs - now;
    const overdueIn = first.at + this.maxDelayMs - now;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.check();
      },
      Math.max(0, Math.min(quietIn, overdueIn)),
    );
  }

  /**
   * Timers run before the event loop reads sockets, and a freed place may come in the middle of
   * reading them: requests may be waiting unread. They are read first (setImmediate runs after
   * the poll phase); if any came in, the burst goes on.
   */
  private check(): void {
    if (this.checking) return;
    this.checking = true;
    setImmediate(() => {
      this.checking = false;
      const first = this.waiting[0];
      if (first === undefined) return;
      const now = performance.now();
      const quiet = now - this.lastArrival >= this.quietMs;
      const overdue = now - first.at >= this.maxDelayMs;
      if (!quiet && !overdue) return this.arm();
      clearTimeout(this.timer);
      this.timer = undefined;
      while (this.running < this.concurrency) {
        const next = this.waiting.shift();
        if (next === undefined) break;
        this.running += 1;
        next.start();
      }
    });
  }
}
