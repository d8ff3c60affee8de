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

const MEDIC_BIN = fileURLToPath(new URL('../bin/medic.js', import.meta.url));

/** CPU time (user + system) a process has used, in ms, from /proc (clock ticks of 10 ms). */
async function cpuMs(pid: number | undefined): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = (stat.split(') ')[1] ?? '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
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
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
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
      await toFindings();
      const findings: number[] = [];
      for (let i = 0; i < rounds; i++) findings.push(await toFindings());

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

      /** 3 bursts of `concurrency` simultaneous commands after a warm-up one: ack latency p50 / p99, and the bot's CPU per command. */
      const bursts = async (bot: { url: string; pids: number[] }): Promise<{ p50: number; p99: number; cpuPerCommand: number }> => {
        const acks: number[] = [];
        let botCpu = 0;
        const cpu = async (): Promise<number> => (await Promise.all(bot.pids.map(cpuMs))).reduce((a, b) => a + b, 0);
        // Round 0 warms up (connections, JIT) and is not counted: Slack's traffic is steady state.
        for (let round = 0; round < 4; round++) {
          const cpu0 = await cpu();
          const requests = Array.from({ length: concurrency }, (_, i) => {
            const body = new URLSearchParams(
              standIn.slashCommandFields({ text: 'diagnose web-01', userId: `U0B${round}X${i}`, channelId: 'C0BENCH' }).fields,
            ).toString();
            return { body, headers: signSlackRequest(SIGNING_SECRET, body, Math.floor(Date.now() / 1000)) };
          });
          const results = await sender.send(`${bot.url}/slack/events`, requests);
          if (results.some((r) => r.status !== 200)) throw new Error('a slash command was not acked with 200');
          if (round > 0) acks.push(...results.map((r) => r.ackMs));
          await settled();
          if (round > 0) botCpu += (await cpu()) - cpu0;
          if (process.env.BENCH_DEBUG)
            console.log(
              bot.pids.length,
              round,
              [1, 50, 90, 95, 99, 100]
                .map((p) =>
                  percentile(
                    results.map((r) => r.ackMs),
                    p,
                  ).toFixed(0),
                )
                .join(' '),
            );
        }
        return { p50: percentile(acks, 50), p99: percentile(acks, 99), cpuPerCommand: botCpu / (3 * concurrency) };
      };
      const one = await bursts(medic);
      await stopMedic(medic);
      // The same bursts against two bot processes sharing the port (MEDIC_HTTP_PROCESSES=2).
      const medic2 = await startMedic('bot', { ...env, MEDIC_HTTP_PROCESSES: '2' }, cwd);
      cleanup.push(() => stopMedic(medic2));
      const two = await bursts(medic2);

      const f = median(findings);
      const a = median(alone);
      return [
        {
          measure: `/502 ack latency, ${concurrency} concurrent slash commands x3, after a warm-up burst (p50 / p99), one bot process`,
          medic: `${one.p50.toFixed(1)} / ${one.p99.toFixed(1)} ms`,
          baseline: "3000 ms (Slack's ack deadline)",
          ratio: `${(3000 / one.p99).toFixed(0)}x under`,
          target: `p99 < 50 ms: ${one.p99 < 50 ? 'met' : 'MISSED'}`,
        },
        {
          measure: '  the same with MEDIC_HTTP_PROCESSES=2 (two bot processes sharing the port)',
          medic: `${two.p50.toFixed(1)} / ${two.p99.toFixed(1)} ms`,
          baseline: "3000 ms (Slack's ack deadline)",
          ratio: `${(3000 / two.p99).toFixed(0)}x under`,
          target: `p99 < 50 ms: ${two.p99 < 50 ? 'met' : 'MISSED'}`,
        },
        {
          measure: '  bot CPU per /502 diagnose in those bursts (ack, dedup, audit, answer; from /proc; 1 / 2 processes)',
          medic: `${one.cpuPerCommand.toFixed(2)} / ${two.cpuPerCommand.toFixed(2)} ms`,
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
