import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The Prometheus metrics of one process, on its own registry (tests build several apps in one
 * process). Names follow Prometheus conventions: `_total` counters, `_seconds` histograms.
 */
export class MedicMetrics {
  readonly registry = new Registry();
  readonly jobs = new Counter({
    name: 'medic_jobs_total',
    help: 'Jobs finished by queue and outcome (completed, failed, retried).',
    labelNames: ['queue', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly diagnosisDuration = new Histogram({
    name: 'medic_diagnosis_duration_seconds',
    help: 'Time a diagnosis took on the worker, by verdict cause.',
    labelNames: ['cause'] as const,
    buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60],
    registers: [this.registry],
  });
  // Every process reads the same Redis: summed over processes sharing a port, it would count N times.
  readonly queueDepth = new Gauge({
    name: 'medic_queue_depth',
    help: 'Jobs per queue and state, read from Redis at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
    aggregator: 'max',
  });
  readonly remediations = new Counter({
    name: 'medic_remediations_total',
    help: 'Remediations run, by id and outcome (recovered, not_recovered, failed).',
    labelNames: ['remediation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly approvals = new Counter({
    name: 'medic_approvals_total',
    help: 'Remediation clicks accepted, by remediation id.',
    labelNames: ['remediation'] as const,
    registers: [this.registry],
  });
  readonly refusals = new Counter({
    name: 'medic_refusals_total',
    help: 'Clicks and requests refused, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly sshErrors = new Counter({
    name: 'medic_ssh_errors_total',
    help: 'Diagnoses that could not run, by error code (SSH_*).',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly commands = new Counter({
    name: 'medic_slash_commands_total',
    help: 'Slash commands received, by subcommand.',
    labelNames: ['subcommand'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean; queueDepth?: () => Promise<Record<string, Record<string, number>>> } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'medic_process_' });
    const read = options.queueDepth;
    if (read !== undefined) {
      // prom-client calls collect() on every scrape; a failing Redis leaves the last values.
      (this.queueDepth as unknown as { collect: () => Promise<void> }).collect = async () => {
        try {
          for (const [queue, counts] of Object.entries(await read())) {
            for (const [state, n] of Object.entries(counts)) this.queueDepth.set({ queue, state }, n);
          }
        } catch {
          // scraped again soon
        }
      };
    }
  }
}
