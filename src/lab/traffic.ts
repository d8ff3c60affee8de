import { request } from 'node:http';
import type { Traffic } from './scenarios.ts';

/** Status codes seen, keyed by path; `error` counts requests that got no HTTP answer. */
export type TrafficReport = Record<string, Record<string, number>>;

/** One GET to the lab's nginx; resolves with the status, or `error`. Never hangs past `timeoutMs`. */
export function get(port: number, path: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false, headers: { 'user-agent': 'medic-lab' } });
    const timer = setTimeout(() => req.destroy(new Error('timeout')), timeoutMs);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => {
        clearTimeout(timer);
        resolve(String(res.statusCode));
      });
    });
    req.on('error', () => {
      clearTimeout(timer);
      resolve('error');
    });
    req.end();
  });
}

/** Sends each batch in turn, `concurrency` requests at a time; bounded by `count`. */
export async function sendTraffic(port: number, batches: readonly Traffic[]): Promise<TrafficReport> {
  const report: TrafficReport = {};
  for (const batch of batches) {
    const seen: Record<string, number> = (report[batch.path] ??= {});
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < batch.count) {
        next++;
        const status = await get(port, batch.path);
        seen[status] = (seen[status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(batch.concurrency ?? 1, batch.count) }, lane));
  }
  return report;
}
