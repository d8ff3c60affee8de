/**
 * Starts a test's servers side by side, as `Promise.all` would; but when one fails, the ones
 * that did start are stopped before the error is thrown. With `Promise.all` a failed `beforeAll`
 * assigned none of them, so `afterAll` could stop none, and a redis-server outlived the run.
 */
export async function startTogether<T extends readonly unknown[]>(...starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (failed === undefined) return started as unknown as T;
  await Promise.all(
    started.map(async (value) => {
      const stop = (value as { stop?: unknown }).stop;
      if (typeof stop === 'function') await (stop as () => Promise<unknown>).call(value).catch(() => undefined);
    }),
  );
  throw failed.reason;
}
