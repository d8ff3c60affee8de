import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SlackStandIn, type StoredMessage } from '../src/dev/slack-stand-in.ts';
import type { Lab } from '../src/lab/lab.ts';
import { freshPrefix, startPersistentRedis } from '../test/helpers/redis.ts';
import { BOT_TOKEN, loopbackEnv, SIGNING_SECRET } from '../test/helpers/slack.ts';
import { type Row, median } from './bench-table.ts';

const CHANNEL = 'C0FAULTS';
const MEDIC_BIN = fileURLToPath(new URL('../bin/medic.js', import.meta.url));
/** A worker whose first command on a host never returns: the one that dies holding a job. */
const DOOMED_WORKER = fileURLToPath(new URL('../test/helpers/slack-worker-process.ts', import.meta.url));

const s = (x: number): string => `${(x / 1000).toFixed(1)} s`;
const isFinal = (m: StoredMessage): boolean => !/^(Queued|Diagnosing) /.test(m.text);

/** A child process and everything it printed so far; `printed(text)` resolves with the first line containing `text`. */
function watch(child: ChildProcess): { printed(text: string, timeoutMs?: number): Promise<string>; exited: Promise<void> } {
  let out = '';
  const waiters: { text: string; resolve: (line: string) => void }[] = [];
  const lineWith = (text: string): string | undefined => out.split('\n').find((l) => l.includes(text));
  child.stdout?.on('data', (c: Buffer) => {
    // Only the start-up lines are of interest; later ones are drained, not kept.
    if (out.length < 200_000) out += c.toString();
    for (const w of [...waiters]) {
      const line = lineWith(w.text);
      if (line !== undefined) w.resolve(line);
    }
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    exited,
    printed: (text, timeoutMs = 120_000) =>
      new Promise<string>((resolve, reject) => {
        const now = lineWith(text);
        if (now !== undefined) return resolve(now);
        const timer = setTimeout(() => reject(new Error(`no "${text}" within ${timeoutMs} ms: ${out.slice(-2000)}`)), timeoutMs);
        waiters.push({ text, resolve: (line) => (clearTimeout(timer), resolve(line)) });
        void exited.then(() => reject(new Error(`exited before printing "${text}": ${out.slice(-2000)}`)));
      }),
  };
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await gone;
}

/**
 * What an operator meets when things break, in the production layout (`medic bot` and
 * `medic worker` processes, redis-server with appendonly yes, the lab host over SSH, the
 * default MEDIC_JOB_LOCK and SSH timeouts):
 *  - a worker SIGKILLed mid-diagnosis: time from the kill to the report, by another worker;
 *  - a hung host (its sshd SIGSTOPped): time to "not answering" on the report, and to the error;
 *  - Redis down: time to the requester's refusal, and /readyz's answer;
 *  - Redis restarted during a stream of requests: how many ended neither reported nor refused.
 */
export async function benchFaults(lab: Lab, options: { rounds?: number; requests?: number } = {}): Promise<Row[]> {
  const rounds = options.rounds ?? 3;
  const requests = options.requests ?? 30;
  const cleanup: (() => Promise<unknown>)[] = [];
  const previous = lab.current;
  try {
    const redis = await startPersistentRedis();
    cleanup.push(() => redis.destroy());
    const standIn = await new SlackStandIn({ botToken: BOT_TOKEN }).start();
    cleanup.push(() => standIn.stop());
    const cwd = await mkdtemp(join(tmpdir(), 'medic-faults-bench-'));
    cleanup.push(() => rm(cwd, { recursive: true, force: true }));
    const env = {
      ...loopbackEnv(redis.url, standIn),
      MEDIC_QUEUE_PREFIX: freshPrefix('faults'),
      MEDIC_INVENTORY: lab.inventoryPath,
      MEDIC_DEDUP_WINDOW: '1ms',
      LOG_LEVEL: 'info',
    };
    const medic = (role: 'bot' | 'worker'): { child: ChildProcess; w: ReturnType<typeof watch> } => {
      const child = spawn(process.execPath, [MEDIC_BIN, role], {
        cwd,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      cleanup.push(() => stop(child, 'SIGKILL'));
      return { child, w: watch(child) };
    };
    const bot = medic('bot');
    const botUrl = `http://127.0.0.1:${(JSON.parse(await bot.w.printed('gateway-medic started')) as { port: number }).port}`;
    const botEvents = `${botUrl}/slack/events`;
    await lab.applyScenario('php_fpm_down');

    const send = async (userId = 'U0BENCH'): Promise<string | undefined> =>
      (
        await standIn.sendSlashCommand(
          { text: 'diagnose web-01', userId, channelId: CHANNEL },
          { url: botEvents, signingSecret: SIGNING_SECRET },
        )
      ).responseUrlId;
    const answer = (id: string | undefined, timeoutMs = 30_000): Promise<string> =>
      standIn.waitFor(() => standIn.responseUrlPosts.find((p) => p.id === id), timeoutMs, 'the answer').then((p) => String(p.body.text));
    const roots = (): StoredMessage[] => standIn.messages({ channel: CHANNEL, rootsOnly: true }).filter((m) => m.visibleTo === undefined);
    const finalOf = (root: StoredMessage, timeoutMs = 60_000): Promise<StoredMessage> =>
      standIn.waitFor(
        () => {
          const m = standIn.message(root.channel, root.ts);
          return m !== undefined && isFinal(m) ? m : undefined;
        },
        timeoutMs,
        'the report in its final state',
      );

    // --- a worker SIGKILLed mid-diagnosis
    const handovers: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const doomed = spawn(
        process.execPath,
        ['--import', 'tsx', DOOMED_WORKER, JSON.stringify({ ...env, INVENTORY_PATH: lab.inventoryPath })],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      cleanup.push(() => stop(doomed, 'SIGKILL'));
      const dw = watch(doomed);
      await dw.printed('READY');
      const before = roots().length;
      await send();
      await dw.printed('HANGING');
      // Another worker already runs, as in production; it cannot take the job while its lock holds.
      const rescuer = medic('worker');
      await rescuer.w.printed('gateway-medic started');
      const root = await standIn.waitFor(() => roots()[before], 10_000, 'the report');
      const killed = performance.now();
      await stop(doomed, 'SIGKILL');
      const done = await finalOf(root);
      if (!done.text.includes('php_fpm_down')) throw new Error(`unexpected report: ${done.text}`);
      handovers.push(performance.now() - killed);
      await stop(rescuer.child);
    }

    const worker = medic('worker');
    await worker.w.printed('gateway-medic started');

    // --- a hung host: sshd stopped
    const sshd = (await lab.status()).sshd;
    if (sshd === undefined) throw new Error('the lab has no sshd');
    const noticed: number[] = [];
    const cleared: number[] = [];
    for (let i = 0; i < 2; i++) {
      const before = roots().length;
      process.kill(sshd, 'SIGSTOP');
      try {
        const t0 = performance.now();
        await send();
        const root = await standIn.waitFor(() => roots()[before], 10_000, 'the report');
        await standIn.waitFor(
          () => {
            const m = standIn.message(root.channel, root.ts);
            return m !== undefined && JSON.stringify(m.blocks).includes('is not answering SSH');
          },
          30_000,
          'the note',
        );
        noticed.push(performance.now() - t0);
        const done = await finalOf(root);
        if (!JSON.stringify(done.blocks).includes('SSH_NOT_ANSWERING')) throw new Error(`unexpected report: ${done.text}`);
        cleared.push(performance.now() - t0);
      } finally {
        process.kill(sshd, 'SIGCONT');
      }
    }

    // --- Redis down: the refusal, and /readyz (the slowest of 3 probes, as a prober sees them)
    const probe = async (): Promise<{ ms: number; status: number }> => {
      const t0 = performance.now();
      const res = await fetch(`${botUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      return { ms: performance.now() - t0, status: res.status };
    };
    // This process's first fetch loads its HTTP client: not the bot's time.
    await probe();
    await redis.stop();
    let refusal: number;
    let readyz = 0;
    let readyStatus = 0;
    try {
      for (let i = 0; i < 3; i++) {
        const p = await probe();
        readyz = Math.max(readyz, p.ms);
        readyStatus = Math.max(readyStatus, p.status);
      }
      const t0 = performance.now();
      const text = await answer(await send());
      refusal = performance.now() - t0;
      if (!text.includes('REDIS_UNAVAILABLE')) throw new Error(`unexpected answer: ${text}`);
    } finally {
      await redis.start();
    }
    // Back: the bot reconnects within a second.
    while ((await fetch(`${botUrl}/readyz`).then((r) => r.status)) !== 200) await new Promise((r) => setTimeout(r, 100));

    // --- Redis restarted in the middle of a stream of requests
    const before = roots().length;
    const sent: Promise<string>[] = [];
    for (let i = 0; i < requests; i++) {
      if (i === Math.floor(requests / 3)) await redis.stop();
      if (i === Math.floor((2 * requests) / 3)) await redis.start();
      sent.push(
        send(`U0REQ${i}`)
          .then((id) => answer(id, 60_000))
          .catch(() => ''),
      );
      await new Promise((r) => setTimeout(r, 150));
    }
    const answers = await Promise.all(sent);
    const refused = answers.filter((a) => a.includes('REDIS_UNAVAILABLE')).length;
    const accepted = answers.filter((a) => a.includes('diagnosis queued') || a.includes('you share that diagnosis')).length;
    const unanswered = answers.filter((a) => a === '').length;
    const reports = roots().slice(before);
    const settled = await Promise.all(
      reports.map((r) =>
        finalOf(r, 60_000).then(
          () => true,
          () => false,
        ),
      ),
    );
    const stuck = settled.filter((x) => !x).length;

    const range = (xs: number[]): string => (xs.length === 1 ? s(xs[0] as number) : `${s(Math.min(...xs))}–${s(Math.max(...xs))}`);
    return [
      {
        measure: `worker SIGKILLed mid-diagnosis → report by another worker (default MEDIC_JOB_LOCK; ${rounds} runs, median, range)`,
        medic: `${s(median(handovers))} (${range(handovers)})`,
        baseline: '45–60 s (lock 30 s, stalled check every 30 s)',
        ratio: '',
        target: `~10 s: ${Math.max(...handovers) <= 10_500 ? 'met' : 'MISSED'}`,
      },
      {
        measure: 'hung host (sshd SIGSTOPped): "not answering" on the report / the error (SSH_NOT_ANSWERING)',
        medic: `${range(noticed)} / ${range(cleared)}`,
        baseline: '72 s, then SSH_CONNECT_TIMEOUT',
        ratio: '',
        target: '',
      },
      {
        measure: 'Redis down: /readyz answers (slowest of 3) / the requester is told (REDIS_UNAVAILABLE)',
        medic: `${readyStatus} in ${readyz.toFixed(0)} ms / ${refusal.toFixed(0)} ms`,
        baseline: '/readyz 503 after 2 s; the raw ioredis error after 1–20 s',
        ratio: '',
        target: `/readyz < 1 s: ${readyz < 1000 && readyStatus === 503 ? 'met' : 'MISSED'}`,
      },
      {
        measure: `Redis stopped and restarted during ${requests} requests, one every 150 ms: lost (no answer, or a report never final)`,
        medic: `${unanswered + stuck} (${accepted} accepted, ${refused} refused in words; ${reports.length} reports, all final: ${stuck === 0 ? 'yes' : 'no'})`,
        baseline: '',
        ratio: '',
        target: `0: ${unanswered + stuck === 0 ? 'met' : 'MISSED'}`,
      },
    ];
  } finally {
    await lab.applyScenario(previous).catch(() => undefined);
    for (const stopIt of cleanup.reverse()) await stopIt().catch(() => undefined);
  }
}
