import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as tlsRequest } from 'node:https';
import { SHOP_NAME, type Traffic } from './scenarios.ts';

/** Status codes seen, keyed by path; `error` counts requests that got no HTTP answer. */
export type TrafficReport = Record<string, Record<string, number>>;

/** Where the lab's nginx listens: its first vhost over HTTP, the shop vhost over TLS. */
export interface TrafficPorts {
  http: number;
  shopTls?: number;
}

/** How the report keys a batch: its path, or for the shop vhost its URL. */
export const trafficKey = (batch: Traffic): string => (batch.vhost === 'shop' ? `https://${SHOP_NAME}${batch.path}` : batch.path);

/**
 * One GET to the lab's nginx; resolves with the status, or `error`. Never hangs past `timeoutMs`.
 * `shop`: over TLS to 127.0.0.1 with the shop's name as SNI and Host; its certificate is the
 * lab's own self-signed one, so it is not verified.
 */
export function get(port: number, path: string, timeoutMs = 15_000, vhost?: 'shop'): Promise<string> {
  return new Promise((resolve) => {
    const options = { host: '127.0.0.1', port, path, method: 'GET', agent: false, headers: { 'user-agent': 'medic-lab' } };
    const req: ClientRequest =
      vhost === 'shop'
        ? tlsRequest({ ...options, servername: SHOP_NAME, rejectUnauthorized: false, headers: { ...options.headers, host: SHOP_NAME } })
        : request(options);
    const timer = setTimeout(() => req.destroy(new Error('timeout')), timeoutMs);
    req.on('response', (res: IncomingMessage) => {
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
export async function sendTraffic(to: number | TrafficPorts, batches: readonly Traffic[]): Promise<TrafficReport> {
  const ports: TrafficPorts = typeof to === 'number' ? { http: to } : to;
  const report: TrafficReport = {};
  for (const batch of batches) {
    const seen: Record<string, number> = (report[trafficKey(batch)] ??= {});
    const port = batch.vhost === 'shop' ? ports.shopTls : ports.http;
    if (port === undefined) throw new Error(`traffic to the ${batch.vhost ?? 'first'} vhost, which this lab does not have`);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < batch.count) {
        next++;
        const status = await get(port, batch.path, undefined, batch.vhost);
        seen[status] = (seen[status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(batch.concurrency ?? 1, batch.count) }, lane));
  }
  return report;
}
