import { pino } from 'pino';
import { loadInventory } from '../src/adapters/files/load-inventory.ts';
import { getPlaybook, loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { SlackStandIn } from '../src/dev/slack-stand-in.ts';
import { diagnoseHost } from '../src/jobs/diagnose-host.ts';
import type { Lab } from '../src/lab/lab.ts';
import { freshPrefix, startRedis } from '../test/helpers/redis.ts';
import { type Row, median, ms } from './bench-table.ts';

const SECRET = 'bench-signing-secret-0123456789';
const TOKEN = 'xoxb-bench';

const percentile = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
};

/**
 * The Slack front end's figures, on the real Bolt app, a real BullMQ worker, a real redis-server
 * and the lab host over SSH, with Slack's side played by the stand-in:
 *  - ack latency of 100 concurrent `/502 diagnose` commands (Slack allows 3 s; target p99 < 50 ms);
 *  - time from the slash command to the findings in the thread (target < 1.5 s), beside the
 *    diagnosis alone (what the queue, Redis and Slack calls add).
 */
export async function benchSlack(lab: Lab, options: { rounds?: number; concurrency?: number } = {}): Promise<Row[]> {
  const rounds = options.rounds ?? 5;
  const concurrency = options.concurrency ?? 100;
  const redis = await startRedis();
  const standIn = await new SlackStandIn({ botToken: TOKEN }).start();
  const inventory = await loadInventory(lab.inventoryPath);
  const playbooks = await loadPlaybooks();
  const config = loadConfig(
    {
      REDIS_URL: redis.url,
      SLACK_BOT_TOKEN: TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: standIn.apiUrl,
      PORT: '0',
      MEDIC_LISTEN_HOST: '127.0.0.1',
      MEDIC_QUEUE_PREFIX: freshPrefix('bench'),
      MEDIC_DEDUP_WINDOW: '1ms',
      LOG_LEVEL: 'silent',
    },
    { envFile: false },
  );
  const logger = pino({ level: 'silent' });
  const connector = new SshConnector();
  const app = await buildApp({ config, role: 'all', logger, inventory: () => inventory, playbooks, connector });
  const { url } = await app.start();
  const send = { url: `${url}/slack/events`, signingSecret: SECRET };
  const previous = lab.current;
  try {
    await lab.applyScenario('php_fpm_down');
    const idle = async (): Promise<void> => {
      for (;;) {
        const c = await app.queues.diagnose.getJobCounts('waiting', 'active');
        if ((c.waiting ?? 0) + (c.active ?? 0) === 0) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    /** Slash command → first finding posted in the report's thread. */
    const toFindings = async (): Promise<number> => {
      const before = standIn.calls.length;
      const t0 = performance.now();
      await standIn.sendSlashCommand({ text: 'diagnose web-01', userId: 'U0BENCH', channelId: 'C0BENCH' }, send);
      await standIn.waitFor(() => standIn.calls.slice(before).find((c) => c.method === 'chat.postMessage' && typeof c.args.thread_ts === 'string' && String(c.args.text).includes('finding')), 30_000, 'the findings');
      const elapsed = performance.now() - t0;
      await idle();
      return elapsed;
    };
    await toFindings();
    const findings: number[] = [];
    for (let i = 0; i < rounds; i++) findings.push(await toFindings());

    const host = { ...(inventory.hosts['web-01'] as NonNullable<(typeof inventory.hosts)[string]>), name: 'web-01' };
    const alone: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      await diagnoseHost({ host, playbook: getPlaybook(playbooks, 'nginx-502') }, { connector, logger, now: () => new Date() });
      alone.push(performance.now() - t0);
    }

    const acks: number[] = [];
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(
        Array.from({ length: concurrency }, (_, i) => standIn.sendSlashCommand({ text: 'diagnose web-01', userId: `U0B${round}X${i}`, channelId: 'C0BENCH' }, send)),
      );
      if (results.some((r) => r.status !== 200)) throw new Error('a slash command was not acked with 200');
      acks.push(...results.map((r) => r.ackMs));
      await idle();
    }

    const p50 = percentile(acks, 50);
    const p99 = percentile(acks, 99);
    const f = median(findings);
    const a = median(alone);
    return [
      {
        measure: `/502 ack latency, ${concurrency} concurrent slash commands x3 (p50 / p99)`,
        medic: `${p50.toFixed(1)} / ${p99.toFixed(1)} ms`,
        baseline: "3000 ms (Slack's ack deadline)",
        ratio: `${(3000 / p99).toFixed(0)}x under`,
        target: `p99 < 50 ms: ${p99 < 50 ? 'met' : 'MISSED'}`,
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
    await lab.applyScenario(previous).catch(() => undefined);
    await app.stop();
    await standIn.stop();
    await redis.stop();
  }
}
