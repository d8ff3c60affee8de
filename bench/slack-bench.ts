import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadInventory } from '../src/adapters/files/load-inventory.ts';
import { getPlaybook, loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { signSlackRequest } from '../src/dev/slack-signing.ts';
import { SlackStandIn } from '../src/dev/slack-stand-in.ts';
import { diagnoseHost } from '../src/jobs/diagnose-host.ts';
import type { Lab } from '../src/lab/lab.ts';
import { freshPrefix, startRedis } from '../test/helpers/redis.ts';
import { BOT_TOKEN, loopbackEnv, SIGNING_SECRET } from '../test/helpers/slack.ts';
import { type Row, median, ms } from './bench-table.ts';
import { SlashBurstSender } from './slash-burst.ts';

// BENCH_MEDIC_BIN=path/to/bin/medic.js measures another build (an A/B comparison in one run's conditions).
const MEDIC_BIN = process.env.BENCH_MEDIC_BIN ?? fileURLToPath(new URL('../bin/medic.js', import.meta.url));

/** CPU time (user + system) a process has used, in ms, from /proc (clock ticks of 10 ms). */
async function cpuMs(pid: number | undefined): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = (stat.split(') ')[1] ?? '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Time the main threads of processes have run on a CPU, and waited for one while runnable, in
 * ms (/proc/PID/schedstat: the kernel's accounting): on a shared machine, how much of a latency
 * was the bot's own work and how much its turn for a core.
 */
async function schedMs(pids: readonly number[]): Promise<{ run: number; wait: number }> {
  let run = 0;
  let wait = 0;
  for (const pid of pids) {
    const [r, w] = (await readFile(`/proc/${pid}/schedstat`, 'utf8')).split(' ').map(Number);
    run += (r ?? 0) / 1e6;
    wait += (w ?? 0) / 1e6;
  }
  return { run, wait };
}

const percentile = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
};

/** Starts `medic <role>` as its own process, the way it runs in production; resolves with its URL. */
async function startMedic(
  role: 'bot' | 'worker',
  env: Record<string, string>,
  cwd: string,
): Promise<{ child: ChildProcess; url: string; pids: number[] }> {
  // BENCH_PROFILE=DIR: each process writes a V8 CPU profile there when it stops (node --cpu-prof).
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, MEDIC_BIN, role], {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const collect = (c: Buffer): void => {
    out += c.toString();
  };
  child.stdout?.on('data', collect);
  const processes = Number(env.MEDIC_HTTP_PROCESSES ?? 1);
  const started = await new Promise<{ port: number; pids?: number[] }>((resolve, reject) => {
    const timer = setInterval(() => {
      // With MEDIC_HTTP_PROCESSES > 1, the primary's line (once all processes listen) names their pids.
      const line = out
        .split('\n')
        .find((l) => l.includes('gateway-medic started') && (processes === 1 || l.includes('"cluster":"primary"')));
      if (line === undefined) return;
      clearInterval(timer);
      resolve(JSON.parse(line) as { port: number; pids?: number[] });
    }, 50);
    setTimeout(() => {
      clearInterval(timer);
      child.kill('SIGKILL');
      reject(new Error(`medic ${role} did not start: ${out}`));
    }, 120_000).unref();
    child.once('exit', (code) => reject(new Error(`medic ${role} exited (${code}): ${out}`)));
  });
  // From here on its log lines are drained, not kept: the benchmark must not pay for them.
  child.stdout?.off('data', collect);
  child.stdout?.resume();
  return { child, url: `http://127.0.0.1:${started.port}`, pids: started.pids ?? [child.pid as number] };
}

async function stopMedic(p: { child: ChildProcess }): Promise<void> {
  // Gone already (an exit status, or killed by a signal): there is no 'exit' left to wait for.
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  await new Promise((r) => p.child.once('exit', r));
}

/**
 * The Slack front end's figures, in the production layout: `medic bot` and `medic worker` as
 * processes of their own, a real redis-server, the lab host over SSH, and Slack played by the
 * stand-in in this process:
 *  - ack latency of 100 concurrent `/502 diagnose` commands, as Slack would measure it
 *    (Slack allows 3 s; target p99 < 50 ms);
 *  - time from the slash command to the findings in the thread (target < 1.5 s), beside the
 *    diagnosis alone, to show what the queue, Redis and the Slack calls add.
 */
export async function benchSlack(lab: Lab, options: { rounds?: number; concurrency?: number } = {}): Promise<Row[]> {
  const rounds = options.rounds ?? 5;
  const concurrency = options.concurrency ?? 100;
  // Whatever was started is stopped, in reverse order, even when a later step fails.
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    // These figures are the bot's own latency; Slack's pace has its own benchmark (fanout-bench.ts).
    const standIn = await new SlackStandIn({ botToken: BOT_TOKEN, rateLimits: false }).start();
    cleanup.push(() => standIn.stop());
    const cwd = await mkdtemp(join(tmpdir(), 'medic-bench-'));
    cleanup.push(() => rm(cwd, { recursive: true, force: true }));
    const prefix = freshPrefix('bench');
    const env = {
      ...loopbackEnv(redis.url, standIn),
      MEDIC_QUEUE_PREFIX: prefix,
      MEDIC_INVENTORY: lab.inventoryPath,
      MEDIC_DEDUP_WINDOW: '1ms',
      LOG_LEVEL: 'info',
    };
    const medic = await startMedic('bot', env, cwd);
    cleanup.push(() => stopMedic(medic));
    const worker = await startMedic('worker', env, cwd);
    cleanup.push(() => stopMedic(worker));
    const send = { url: `${medic.url}/slack/events`, signingSecret: SIGNING_SECRET };
    // Slack's senders are not the stand-in's event loop: bursts go out from a thread of their own.
    const sender = new SlashBurstSender();
    const previous = lab.current;
    try {
      await lab.applyScenario('php_fpm_down');
      /** All reports finished (every root shows a verdict) and Slack quiet for 300 ms: the next burst starts from rest. */
      const settled = async (): Promise<void> => {
        await standIn.waitFor(
          () =>
            standIn.messages({ rootsOnly: true }).every((m) => m.visibleTo !== undefined || !/^(Queued|Diagnosing) /.test(m.text)) ||
            undefined,
          30_000,
          'the reports to settle',
        );
        for (let seen = -1; seen !== standIn.calls.length;) {
          seen = standIn.calls.length;
          await new Promise((r) => setTimeout(r, 300));
        }
      };

      /** Slash command → first finding posted in the report's thread. */
      const toFindings = async (): Promise<number> => {
        const before = standIn.calls.length;
        const t0 = performance.now();
        await standIn.sendSlashCommand({ text: 'diagnose web-01', userId: 'U0BENCH', channelId: 'C0BENCH' }, send);
        await standIn.waitFor(
          () =>
            standIn.calls
              .slice(before)
              .find(
                (c) => c.method === 'chat.postMessage' && typeof c.args.thread_ts === 'string' && String(c.args.text).includes('finding'),
              ),
          30_000,
          'the findings',
        );
        const elapsed = performance.now() - t0;
        await settled();
        return elapsed;
      };
      // A report is three or four Web API calls. The bot keeps under Slack's limits: about one
      // message a second per channel, and chat.update is a tier-3 method (about 50 a minute):
      // back to back, the third round on would wait for the budget, which is not what one
      // command in a quiet workspace meets. Each round starts with the budget full again.
      const refill = (): Promise<void> => new Promise((r) => setTimeout(r, 4000));
      await toFindings();
      const findings: number[] = [];
      for (let i = 0; i < rounds; i++) {
        await refill();
        findings.push(await toFindings());
      }

      const inventory = await loadInventory(lab.inventoryPath);
      const host = { ...(inventory.hosts['web-01'] as NonNullable<(typeof inventory.hosts)[string]>), name: 'web-01' };
      const playbook = getPlaybook(await loadPlaybooks(), 'nginx-502');
      const deps = { connector: new SshConnector(), logger: pino({ level: 'silent' }), now: () => new Date() };
      const alone: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const t0 = performance.now();
        await diagnoseHost({ host, playbook }, deps);
        alone.push(performance.now() - t0);
      }

      /** Every command of a burst has had its answer through its response_url (queued, or shared). */
      const answered = (ids: readonly string[]): Promise<true> =>
        standIn.waitFor(
          () => {
            const seen = new Set(standIn.responseUrlPosts.map((p) => p.id));
            return ids.every((id) => seen.has(id)) || undefined;
          },
          60_000,
          'every command of the burst to be answered',
        );

      /**
       * 3 bursts of `concurrency` simultaneous commands after a warm-up one: ack latency p50 / p99,
       * and the bot's CPU per command (its ack and all the work after it). Each burst starts from
       * rest: the commands before it all answered through their response_url, the reports settled
       * and Slack quiet for 300 ms. With `during`, each measured burst is sent as soon as another
       * burst has been acked, while that one's work (Redis, the queue, 100 response_url answers)
       * runs in the same process.
       */
      const bursts = async (
        bot: { url: string; pids: number[] },
        o: { text?: string; during?: boolean } = {},
      ): Promise<{ p50: number; p99: number; cpuPerCommand: number; waitMs: number }> => {
        const text = o.text ?? 'diagnose web-01';
        // `diagnose` is answered through response_url after the ack; `hosts` in the ack itself.
        const answers = text.startsWith('diagnose');
        const acks: number[] = [];
        const ids: string[] = [];
        const cpu = async (): Promise<number> => (await Promise.all(bot.pids.map(cpuMs))).reduce((a, b) => a + b, 0);
        let cpu0 = 0;
        let counted = 0;
        // The bot's main thread(s) while the last burst was being acked: on a CPU, and waiting for one.
        let lastRun = 0;
        let lastWait = 0;
        const waits: number[] = [];
        const burst = async (tag: string): Promise<number[]> => {
          const commands = Array.from({ length: concurrency }, (_, i) =>
            standIn.slashCommandFields({ text, userId: `U0B${tag}X${i}`, channelId: 'C0BENCH' }),
          );
          const requests = commands.map(({ fields }) => {
            const body = new URLSearchParams(fields).toString();
            return { body, headers: signSlackRequest(SIGNING_SECRET, body, Math.floor(Date.now() / 1000)) };
          });
          const s0 = await schedMs(bot.pids);
          const results = await sender.send(`${bot.url}/slack/events`, requests);
          const s1 = await schedMs(bot.pids);
          lastWait = s1.wait - s0.wait;
          lastRun = s1.run - s0.run;
          if (results.some((r) => r.status !== 200)) throw new Error('a slash command was not acked with 200');
          ids.push(...commands.map((c) => c.responseUrlId));
          counted += commands.length;
          return results.map((r) => r.ackMs);
        };
        // Round 0 warms up (connections, JIT) and is not counted: Slack's traffic is steady state.
        for (let round = 0; round < 4; round++) {
          if (round === 1) [cpu0, counted] = [await cpu(), 0];
          if (o.during) await burst(`${round}P`);
          const ms = await burst(String(round));
          if (round > 0) acks.push(...ms);
          if (round > 0) waits.push(lastWait);
          if (answers) await answered(ids);
          await settled();
          if (process.env.BENCH_DEBUG)
            console.log(
              `${bot.pids.length} process(es), ${text}${o.during ? ', during another burst' : ''}, round ${round}: ack ms at p1 p50 p90 p99 p100:`,
              [1, 50, 90, 99, 100].map((p) => percentile(ms, p).toFixed(0)).join(' '),
              `; bot main thread on a CPU ${lastRun.toFixed(0)} ms, waiting for one ${lastWait.toFixed(0)} ms`,
            );
        }
        return {
          p50: percentile(acks, 50),
          p99: percentile(acks, 99),
          cpuPerCommand: ((await cpu()) - cpu0) / counted,
          waitMs: median(waits),
        };
      };
      const one = await bursts(medic);
      const during = await bursts(medic, { during: true });
      const inAck = await bursts(medic, { text: 'hosts' });
      await stopMedic(medic);
      // The same bursts against two bot processes sharing the port (MEDIC_HTTP_PROCESSES=2).
      const medic2 = await startMedic('bot', { ...env, MEDIC_HTTP_PROCESSES: '2' }, cwd);
      cleanup.push(() => stopMedic(medic2));
      const two = await bursts(medic2);

      const f = median(findings);
      const a = median(alone);
      // Beside each figure: how long the bot's main thread waited for a core while a burst was acked
      // (median over the bursts): time other processes on the machine had the CPUs.
      const ackRow = (measure: string, r: { p50: number; p99: number; waitMs: number }): Row => ({
        measure,
        medic: `${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} ms (waited ${r.waitMs.toFixed(0)} ms for a core)`,
        baseline: "3000 ms (Slack's ack deadline)",
        ratio: `${(3000 / r.p99).toFixed(0)}x under`,
        target: `p99 < 50 ms: ${r.p99 < 50 ? 'met' : 'MISSED'}`,
      });
      return [
        ackRow(
          `/502 diagnose ack latency, ${concurrency} concurrent slash commands x3 after a warm-up burst (p50 / p99), one bot process doing nothing else (each burst from rest; the worker is a process of its own)`,
          one,
        ),
        ackRow(
          "  the same, each burst sent as soon as another burst is acked, while that one's work (Redis, queue, 100 response_url answers) runs in the same process and its diagnosis in the worker",
          during,
        ),
        ackRow(
          '  `/502 hosts` instead, answered in the ack itself: no work after it (the receiver, signature check and Bolt alone)',
          inAck,
        ),
        ackRow('  the first, with MEDIC_HTTP_PROCESSES=2 (two bot processes sharing the port)', two),
        {
          measure: '  bot CPU per command in those bursts (ack and all the work after it; from /proc): diagnose, 1 / 2 processes; hosts',
          medic: `${one.cpuPerCommand.toFixed(2)} / ${two.cpuPerCommand.toFixed(2)}; ${inAck.cpuPerCommand.toFixed(2)} ms`,
          baseline: '',
          ratio: '',
          target: '',
        },
        {
          measure: `/502 diagnose web-01 → findings in the thread (median of ${rounds})`,
          medic: ms(f),
          baseline: `${ms(a)} (the diagnosis alone)`,
          ratio: `+${ms(f - a)} for queue, Redis and Slack`,
          target: `< 1500 ms: ${f < 1500 ? 'met' : 'MISSED'}`,
        },
      ];
    } finally {
      await sender.close();
      await lab.applyScenario(previous).catch(() => undefined);
    }
  } finally {
    for (const stop of cleanup.reverse()) await stop().catch(() => undefined);
  }
}
