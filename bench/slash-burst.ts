import { Worker } from 'node:worker_threads';

export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

export interface BurstResult {
  status: number;
  ackMs: number;
}

// Plain JavaScript, so the thread needs no TypeScript loader. Slack's senders are not the event
// loop that serves Slack's Web API (the stand-in, in the main thread), so the burst goes out from
// a thread of its own, and as raw bytes on kept-alive sockets (as load generators like wrk do):
// building 100 http.ClientRequest objects in one loop would itself take tens of milliseconds and
// be counted as the bot's latency. Each request is timed from its write to the end of the answer.
const SENDER = `
const { parentPort } = require('node:worker_threads');
const net = require('node:net');
const pool = [];
const connect = (port) => new Promise((resolve, reject) => {
  const s = net.connect(port, '127.0.0.1', () => resolve(s));
  // An error after the connect (a reset) ends that request as status 0 through 'close'.
  s.on('error', reject);
  s.setNoDelay(true);
});
/** Status of a complete HTTP/1.1 answer in buf, or undefined while more is due. */
function complete(buf) {
  const end = buf.indexOf('\\r\\n\\r\\n');
  if (end < 0) return undefined;
  const head = buf.slice(0, end).toLowerCase();
  const status = Number(head.slice(9, 12));
  const length = /content-length: *(\\d+)/.exec(head);
  if (length) return buf.length >= end + 4 + Number(length[1]) ? status : undefined;
  if (head.includes('transfer-encoding: chunked')) return buf.endsWith('0\\r\\n\\r\\n') ? status : undefined;
  return status;
}
parentPort.on('message', async ({ port, path, requests }) => {
  // Fresh connections for every burst, opened before the clock starts: a kept-alive socket the
  // bot closed while the last burst settled (its keep-alive timeout) would reset mid-burst.
  for (const s of pool.splice(0)) s.destroy();
  while (pool.length < requests.length) pool.push(await connect(port));
  const raw = requests.map((r) => {
    const head = Object.entries(r.headers).map(([k, v]) => k + ': ' + v).join('\\r\\n');
    return Buffer.from('POST ' + path + ' HTTP/1.1\\r\\nhost: 127.0.0.1:' + port + '\\r\\n' + head + '\\r\\ncontent-length: ' + Buffer.byteLength(r.body) + '\\r\\n\\r\\n' + r.body);
  });
  const results = new Array(requests.length);
  let left = requests.length;
  const done = (i, value) => {
    if (results[i] !== undefined) return;
    results[i] = value;
    if (--left === 0) parentPort.postMessage(results);
  };
  raw.forEach((bytes, i) => {
    const socket = pool[i];
    let buf = '';
    const onData = (chunk) => {
      buf += chunk.toString('latin1');
      const status = complete(buf);
      if (status === undefined) return;
      socket.off('data', onData);
      done(i, { status, ackMs: performance.now() - t0 });
    };
    socket.on('data', onData);
    socket.once('close', () => done(i, { status: 0, ackMs: performance.now() - t0 }));
    const t0 = performance.now();
    socket.write(bytes);
  });
});
`;

/**
 * Sends bursts of pre-signed requests from a thread of their own over kept-alive sockets (one per
 * request in flight, as Slack's many senders), timing each from its write to the bot's answer.
 */
export class SlashBurstSender {
  private readonly worker = new Worker(SENDER, { eval: true });

  send(url: string, requests: readonly SignedRequest[]): Promise<BurstResult[]> {
    const { port, pathname } = new URL(url);
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.worker.once('error', onError);
      this.worker.once('message', (results: BurstResult[]) => {
        this.worker.off('error', onError);
        resolve(results);
      });
      this.worker.postMessage({ port: Number(port), path: pathname, requests });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
