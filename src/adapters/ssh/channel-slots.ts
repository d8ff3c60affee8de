/** A counting semaphore for SSH channels, first come first served, that can fail every waiter at once. */
export class ChannelSlots {
  private free: number;
  private readonly waiting: { grant: (release: () => void) => void; fail: (e: Error) => void }[] = [];
  private failed: Error | undefined;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`maxChannels must be a positive integer, got ${size}`);
    this.free = size;
  }

  /** Resolves with a release function (safe to call more than once) when a slot is free. */
  acquire(): Promise<() => void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((grant, fail) => this.waiting.push({ grant, fail }));
  }

  /** Rejects every waiter and every later acquire with `error`. */
  fail(error: Error): void {
    this.failed = error;
    for (const w of this.waiting.splice(0)) w.fail(error);
  }

  /** Slots free right now. */
  get available(): number {
    return this.free;
  }

  get queued(): number {
    return this.waiting.length;
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next) next.grant(this.releaser());
      else this.free++;
    };
  }
}
