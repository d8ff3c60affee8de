import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { MedicHttpServer } from './adapters/http/medic-http-server.ts';
import { MedicMetrics } from './adapters/http/medic-metrics.ts';
import { clusterScrape, inClusterWorker } from './cluster.ts';
import { createQueues, type MedicQueues } from './adapters/queue/medic-queues.ts';
import { startWorkers, type MedicWorkers } from './adapters/queue/medic-workers.ts';
import { ApproverDirectory } from './adapters/slack/approver-directory.ts';
import { createBoltApp, type BoltHandle } from './adapters/slack/create-bolt-app.ts';
import { DiagnosisService } from './app-service/diagnosis-service.ts';
import { AfterAcks } from './adapters/slack/after-acks.ts';
import { registerRemediationAction } from './adapters/slack/remediation-action-listener.ts';
import { SlackBudget, type SlackBudgetOptions } from './adapters/slack/slack-budget.ts';
import { SlackReporter } from './adapters/slack/slack-reporter.ts';
import { createSlackWebClient } from './adapters/slack/slack-web-client.ts';
import { slashCommandFastPath } from './adapters/slack/slash-command-fast-path.ts';
import { registerSlashCommand, SLASH_COMMAND } from './adapters/slack/slash-command-listener.ts';
import { ApprovalStore } from './adapters/store/approval-store.ts';
import { AuditTrail } from './adapters/store/audit-trail.ts';
import { DiagnosisRecords } from './adapters/store/diagnosis-records.ts';
import { FanoutRecords } from './adapters/store/fanout-records.ts';
import { createRedis, whenReady } from './adapters/store/redis-client.ts';
import { RedisKeys } from './adapters/store/redis-keys.ts';
import type { AppExtensionContext } from './adapters/app-extension.ts';
import { slackMode, type Config } from './config.ts';
import type { Inventory } from './core/inventory/inventory-schema.ts';
import type { Playbook } from './core/playbook/playbook-schema.ts';
import { createDiagnoseJob } from './jobs/diagnose-job.ts';
import type { HostConnector } from './jobs/ports.ts';
import { createRemediateJob } from './jobs/remediate-job.ts';

export type ProcessRole = 'all' | 'bot' | 'worker';

/** What alert receivers (and other HTTP extensions) get to plug themselves in. */
export interface AppDeps {
  config: Config;
  role: ProcessRole;
  logger: Logger;
  inventory: () => Inventory;
  playbooks: ReadonlyMap<string, Playbook>;
  /** How workers reach hosts (the SSH connector); required unless the role is `bot`. */
  connector?: HostConnector;
  /** @defaultValue () => new Date() */
  now?: () => Date;
  /** Called once the bot side is built, before listening: alert routes go here. */
  extensions?: ((ctx: AppExtensionContext) => void | Promise<void>)[];
  /** Worker name stored on jobs (dashboards); @defaultValue `medic-<pid>` */
  workerName?: string;
  /** The pace of Slack calls; tests run Slack's limits faster with `speedup`. @defaultValue Slack's own limits */
  slackBudget?: Pick<SlackBudgetOptions, 'speedup' | 'concurrency'>;
}

export interface MedicApp {
  http: MedicHttpServer;
  metrics: MedicMetrics;
  redis: Redis;
  queues: MedicQueues;
  /** Bot roles only. */
  service?: DiagnosisService;
  bolt?: BoltHandle;
  /** Worker roles only, once started. */
  readonly workers: MedicWorkers | undefined;
  /** Every Web API call of the reports goes through it (order, pace, 429s). */
  slackBudget: SlackBudget;
  reporter: SlackReporter;
  /** Checks Slack, starts listening (HTTP server, Socket Mode) and taking jobs. */
  start(): Promise<{ url: string; port: number }>;
  /** Stops taking requests and jobs, lets running jobs finish (or hands them back), closes everything. */
  stop(): Promise<void>;
}

/** The Redis stores of one connection. */
interface Stores {
  keys: RedisKeys;
  audit: AuditTrail;
  records: DiagnosisRecords;
  approvals: ApprovalStore;
  fanouts: FanoutRecords;
}

function buildStores(redis: Redis, keys: RedisKeys, config: Config, logger: Logger, now: () => Date): Stores {
  return {
    keys,
    audit: new AuditTrail(redis, { keys, logger, now, limit: config.MEDIC_HISTORY_LIMIT }),
    records: new DiagnosisRecords(redis, keys),
    approvals: new ApprovalStore(redis, keys),
    fanouts: new FanoutRecords(redis, keys),
  };
}

/** Slack as the app reaches it: Bolt (bot roles) or a bare Web API client (workers), every report call through one budget. */
interface SlackSide {
  bolt: BoltHandle | undefined;
  client: WebClient;
  slackBudget: SlackBudget;
  /** The workspace's URL, asked once per process (auth.test). */
  workspaceUrl: () => Promise<string | undefined>;
}

function buildSlack(deps: AppDeps, token: string, wantsBot: boolean): SlackSide {
  const { config, logger } = deps;
  let bolt: BoltHandle | undefined;
  let client: WebClient;
  if (wantsBot) {
    const mode = slackMode(config);
    bolt =
      mode === 'socket'
        ? createBoltApp({
            mode: 'socket',
            botToken: token,
            appToken: config.SLACK_APP_TOKEN as string,
            apiUrl: config.SLACK_API_URL,
            logger,
          })
        : createBoltApp({
            mode: 'http',
            botToken: token,
            signingSecret: config.SLACK_SIGNING_SECRET as string,
            apiUrl: config.SLACK_API_URL,
            logger,
          });
    client = bolt.app.client;
  } else {
    client = createSlackWebClient({ token, apiUrl: config.SLACK_API_URL, logger });
  }
  const webClient = client;
  const slackBudget = new SlackBudget({
    send: (method, args) => webClient.apiCall(method, args),
    logger: logger.child({ component: 'slack-budget' }),
    ...deps.slackBudget,
  });
  let workspace: Promise<string | undefined> | undefined;
  // The workspace URL never changes: one auth.test per process builds every message link.
  const workspaceUrl = (): Promise<string | undefined> => {
    workspace ??= slackBudget.call<{ url?: string }>('auth.test', {}, 'normal').then(
      (r) => (typeof r.url === 'string' && /^https?:\/\//.test(r.url) ? r.url : undefined),
      (e: unknown) => {
        workspace = undefined;
        logger.warn({ err: e }, 'auth.test failed: the fan-out summary links no report for now');
        return undefined;
      },
    );
    return workspace;
  };
  return { bolt, client, slackBudget, workspaceUrl };
}

function buildReporter(slack: SlackSide, redis: Redis, stores: Stores, deps: AppDeps, now: () => Date): SlackReporter {
  const { keys, records, approvals, fanouts } = stores;
  return new SlackReporter({
    slack: (p) => slack.slackBudget.chat(p),
    workspaceUrl: slack.workspaceUrl,
    redis,
    keys,
    records,
    approvals,
    fanouts,
    logger: deps.logger,
    now,
    approvalTtlMs: deps.config.MEDIC_APPROVAL_TTL,
  });
}

function buildHttp(deps: AppDeps, metrics: MedicMetrics, redis: Redis, client: WebClient): MedicHttpServer {
  let slackOk: { at: number; ok: boolean } | undefined;
  return new MedicHttpServer({
    logger: deps.logger,
    metrics,
    // One of several processes sharing the port: a scrape shows the sum over all of them.
    ...(inClusterWorker() ? { scrape: clusterScrape(metrics.registry) } : {}),
    readiness: {
      // A connection that is not up answers at once: a probe must not wait out the reconnection.
      redis: async () => redis.status === 'ready' && (await redis.ping()) === 'PONG',
      // auth.test at most every 30 s: a probe every few seconds must not spend Slack's rate limit.
      slack: async () => {
        if (slackOk !== undefined && Date.now() - slackOk.at < 30_000) return slackOk.ok;
        const ok = await client.auth
          .test()
          .then((r) => r.ok === true)
          .catch(() => false);
        slackOk = { at: Date.now(), ok };
        return ok;
      },
    },
  });
}

/** The bot side: the diagnosis service, the slash command and button listeners, the extensions (alert routes). */
async function wireBot(
  deps: AppDeps,
  bolt: BoltHandle,
  parts: {
    stores: Stores;
    reporter: SlackReporter;
    slackBudget: SlackBudget;
    queues: MedicQueues;
    http: MedicHttpServer;
    metrics: MedicMetrics;
    redis: Redis;
    now: () => Date;
  },
): Promise<DiagnosisService> {
  const { config, logger } = deps;
  const { stores, reporter, slackBudget, queues, http, metrics, redis, now } = parts;
  const { records, fanouts, audit, approvals } = stores;
  // The service's own calls are alert notices and replies: they may trail what people wait for.
  const service = new DiagnosisService({
    records,
    fanouts,
    audit,
    reporter,
    client: slackBudget.chat('bulk'),
    queues,
    inventory: deps.inventory,
    logger,
    now,
  });
  const approvers = new ApproverDirectory({
    // Through the budget too: a click waits for this answer, and a 429 is waited out, not a refusal.
    client: { usergroups: { users: { list: (args) => slackBudget.call('usergroups.users.list', args, 'urgent') } } },
    users: config.MEDIC_APPROVERS.users,
    groups: config.MEDIC_APPROVERS.groups,
    cacheMs: config.MEDIC_USERGROUP_CACHE,
    now,
    logger,
  });
  if (!approvers.configured) logger.warn('MEDIC_APPROVERS is empty: nobody can approve remediations');
  // One for both listeners: a burst of commands and clicks is acked before any of its work starts.
  const afterAcks = new AfterAcks();
  const handleCommand = registerSlashCommand(bolt.app, {
    service,
    audit,
    inventory: deps.inventory,
    logger,
    afterAcks,
    onCommand: (s) => metrics.commands.inc({ subcommand: s }),
  });
  registerRemediationAction(bolt.app, {
    afterAcks,
    approvals,
    records,
    approvers,
    audit,
    reporter,
    queues,
    logger,
    now,
    twoPersonRule: config.MEDIC_TWO_PERSON_RULE,
    onRefusal: (reason) => metrics.refusals.inc({ reason }),
    onApproval: (remediation) => metrics.approvals.inc({ remediation }),
  });
  bolt.app.error(async (error) => {
    logger.error({ err: error }, 'Slack listener failed');
  });
  if (bolt.requestListener !== undefined) {
    http.mountSlack(
      slashCommandFastPath({
        bolt: bolt.requestListener,
        signingSecret: config.SLACK_SIGNING_SECRET as string,
        command: SLASH_COMMAND,
        handle: handleCommand,
        logger,
      }),
    );
    // Node accepts one connection per turn of its event loop: a burst of Slack's requests, each on
    // a connection of its own, comes in one turn at a time. Work after earlier acks holds back
    // from the first accepted connection on, before any request on it is read.
    http.onConnection(() => afterAcks.arrived());
  }
  for (const extend of deps.extensions ?? []) await extend({ http, service, config, logger, redis, metrics, inventory: deps.inventory });
  return service;
}

/** The worker side, on connections of its own: the job handlers over the stores, the reporter and the SSH connector. */
function startWorkerSide(
  deps: AppDeps,
  slack: SlackSide,
  keys: RedisKeys,
  metrics: MedicMetrics,
  now: () => Date,
): { workers: MedicWorkers; redis: Redis; reporter: SlackReporter } {
  const { config, logger } = deps;
  const connector = deps.connector as HostConnector;
  // Jobs wait out a Redis restart instead of failing (BullMQ's advice for workers): a diagnosis
  // that ran keeps its result and posts it once Redis is back, rather than being lost or re-run.
  const jr = createRedis(config.REDIS_URL, { kind: 'blocking', name: `medic-jobs-${process.pid}` });
  jr.on('error', (err) => logger.warn({ err }, 'redis connection error (jobs)'));
  const stores = buildStores(jr, keys, config, logger, now);
  const jobReporter = buildReporter(slack, jr, stores, deps, now);
  // What both job handlers need from the app; each adds its own hooks.
  const shared = {
    records: stores.records,
    audit: stores.audit,
    reporter: jobReporter,
    inventory: deps.inventory,
    playbooks: deps.playbooks,
    connector,
    logger,
    now,
  };
  const diagnose = createDiagnoseJob({
    ...shared,
    dedupWindowMs: config.MEDIC_DEDUP_WINDOW,
    timeoutMs: config.MEDIC_DIAGNOSIS_TIMEOUT,
    onDiagnosis: (d) => metrics.diagnosisDuration.observe({ cause: d.verdict.cause }, d.durationMs / 1000),
    onError: (code) => {
      if (code.startsWith('SSH_')) metrics.sshErrors.inc({ code });
    },
  });
  const remediate = createRemediateJob({
    ...shared,
    approvals: stores.approvals,
    onRemediation: (remediation, outcome) => metrics.remediations.inc({ remediation, outcome }),
  });
  const workers = startWorkers({
    connect: () => createRedis(config.REDIS_URL, { kind: 'blocking', name: `medic-worker-${process.pid}` }),
    prefix: config.MEDIC_QUEUE_PREFIX,
    concurrency: config.MEDIC_WORKER_CONCURRENCY,
    lockMs: config.MEDIC_JOB_LOCK,
    name: deps.workerName ?? `medic-${process.pid}`,
    logger,
    handlers: { diagnose: (job) => diagnose(job), remediate: (job) => remediate(job) },
    // A diagnosis BullMQ gave up on (stalled too often, or failed outside the handler) still
    // gets a final message instead of "Diagnosing…" for ever.
    onGaveUp: (queue, data, reason) => {
      if (queue !== 'diagnose') return;
      const id = (data as { diagnosisId?: unknown }).diagnosisId;
      if (typeof id !== 'string') return;
      void (async () => {
        const record = await stores.records.get(id);
        if (record === undefined) return;
        if (
          await stores.records.fail(
            record,
            { message: `the diagnosis job stopped: ${reason.slice(0, 300)}. Diagnose again.` },
            config.MEDIC_DEDUP_WINDOW,
          )
        )
          await jobReporter.publish(id);
      })().catch((e: unknown) => logger.warn({ err: e, diagnosisId: id }, 'could not mark the abandoned diagnosis'));
    },
    onJobDone: (queue, outcome) => metrics.jobs.inc({ queue, outcome }),
  });
  return { workers, redis: jr, reporter: jobReporter };
}

/**
 * Wires adapters to the jobs and the core. No process.env, no signals: main.ts does those.
 * The bot side only talks to Slack and Redis; the worker side does the SSH work.
 */
export async function buildApp(deps: AppDeps): Promise<MedicApp> {
  const { config, logger, role } = deps;
  const now = deps.now ?? (() => new Date());
  const wantsBot = role !== 'worker';
  const wantsWorker = role !== 'bot';
  const token = config.SLACK_BOT_TOKEN;
  if (token === undefined) throw new Error('SLACK_BOT_TOKEN is required (requireSlack should have said so)');
  if (wantsWorker && deps.connector === undefined) throw new Error('a worker needs a host connector');

  const redis = createRedis(config.REDIS_URL, { name: `medic-${role}` });
  redis.on('error', (err) => logger.warn({ err }, 'redis connection error'));
  const keys = new RedisKeys(config.MEDIC_QUEUE_PREFIX);
  const queues = createQueues(redis, config.MEDIC_QUEUE_PREFIX, (err, queue) => logger.warn({ err, queue }, 'queue connection error'));
  const metrics = new MedicMetrics({
    queueDepth: async () => ({
      diagnose: await queues.diagnose.getJobCounts('waiting', 'active', 'delayed', 'failed'),
      remediate: await queues.remediate.getJobCounts('waiting', 'active', 'delayed', 'failed'),
    }),
  });
  const stores = buildStores(redis, keys, config, logger, now);
  const slack = buildSlack(deps, token, wantsBot);
  const { bolt, slackBudget } = slack;
  const reporter = buildReporter(slack, redis, stores, deps, now);
  const http = buildHttp(deps, metrics, redis, slack.client);
  const service =
    wantsBot && bolt !== undefined
      ? await wireBot(deps, bolt, { stores, reporter, slackBudget, queues, http, metrics, redis, now })
      : undefined;

  let workerSide: ReturnType<typeof startWorkerSide> | undefined;
  let stopped = false;
  return {
    http,
    metrics,
    redis,
    queues,
    slackBudget,
    reporter,
    ...(service !== undefined ? { service } : {}),
    ...(bolt !== undefined ? { bolt } : {}),
    get workers() {
      return workerSide?.workers;
    },
    async start() {
      // The bot's connection has no offline queue: its first requests must find it connected.
      // Redis down at start-up is no reason not to start (/readyz says 503 until it is back).
      if (!(await whenReady(redis, 10_000))) logger.warn('Redis is not answering yet; requests are refused until it does');
      if (bolt !== undefined) await bolt.start();
      if (wantsWorker) workerSide = startWorkerSide(deps, slack, keys, metrics, now);
      const where = await http.listen(config.PORT, config.MEDIC_LISTEN_HOST);
      logger.info(
        { role, port: where.port, slack: wantsBot ? slackMode(config) : 'client-only', prefix: config.MEDIC_QUEUE_PREFIX },
        'gateway-medic started',
      );
      return where;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      http.drain();
      // Stop taking Slack requests first, then let workers finish (or hand back) what they run.
      await bolt?.stop().catch((e: unknown) => logger.warn({ err: e }, 'stopping Socket Mode failed'));
      await http.close();
      await workerSide?.workers.close(config.MEDIC_SHUTDOWN_GRACE);
      // Reports and summaries still on their way to Slack are sent before Redis goes.
      await reporter.idle().catch((e: unknown) => logger.warn({ err: e }, 'reports were left unposted'));
      await workerSide?.reporter.idle().catch((e: unknown) => logger.warn({ err: e }, 'reports were left unposted'));
      await slackBudget.idle();
      await queues.close();
      const jobRedis = workerSide?.redis;
      await jobRedis?.quit().catch(() => jobRedis.disconnect());
      await redis.quit().catch(() => redis.disconnect());
      logger.info({ role }, 'gateway-medic stopped');
    },
  };
}
