/**
 * Runs a refresh per key at most once at a time, and folds the requests that arrive meanwhile
 * into one more run: a fan-out summary asked to refresh 100 times while one refresh is in
 * flight is rendered and sent twice, not 100 times. A caller's promise settles after a run
 * that started after its call, so it has seen everything written before it asked.
 */
export class LatestRun {
  private readonly runs = new Map<string, { current: Promise<void> | undefined; next: Promise<void> | undefined }>();

  run(key: string, fn: () => Promise<void>): Promise<void> {
    let s = this.runs.get(key);
    if (s === undefined) {
      s = { current: undefined, next: undefined };
      this.runs.set(key, s);
    }
    if (s.next !== undefined) return s.next;
    const state = s;
    const previous = state.current;
    const self: { run: Promise<void> | undefined } = { run: undefined };
    self.run = (async () => {
      await previous?.catch(() => undefined);
      // From here on, a new caller is folded into the run after this one.
      state.next = undefined;
      state.current = self.run;
      try {
        await fn();
      } finally {
        if (state.current === self.run) {
          state.current = undefined;
          if (state.next === undefined) this.runs.delete(key);
        }
      }
    })();
    const run = self.run;
    state.next = run;
    return run;
  }
}
