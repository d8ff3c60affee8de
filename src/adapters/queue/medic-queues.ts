import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { diagnoseJobId, JOBS, remediateJobId, type DiagnoseJobData, type RemediateJobData } from '../../jobs/job-names.ts';

export interface MedicQueues {
  diagnose: Queue<DiagnoseJobData>;
  remediate: Queue<RemediateJobData>;
  close(): Promise<void>;
}

/**
 * The producer side of the two queues. Job ids come from the diagnosis and approval ids, so
 * adding the same work twice is a no-op in BullMQ: part of the "runs once" guarantee.
 */
export function createQueues(connection: Redis, prefix: string, onError: (err: Error, queue: string) => void = () => {}): MedicQueues {
  const diagnose = new Queue<DiagnoseJobData>(JOBS.diagnose.queue, {
    connection,
    prefix,
    defaultJobOptions: {
      // One more try for transient SSH failures (connection reset); unrecoverable ones fail at once.
      attempts: 2,
      backoff: { type: 'fixed', delay: 1000 },
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
    },
  });
  const remediate = new Queue<RemediateJobData>(JOBS.remediate.queue, {
    connection,
    prefix,
    defaultJobOptions: {
      // A remediation is never retried: a second run could act on a host that already changed.
      attempts: 1,
      removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
    },
  });
  // Without a listener, a queue's connection errors (Redis restarting) surface as raw stack
  // traces on stderr; with one, they are logged and ioredis reconnects.
  diagnose.on('error', (err) => onError(err, JOBS.diagnose.queue));
  remediate.on('error', (err) => onError(err, JOBS.remediate.queue));
  return {
    diagnose,
    remediate,
    close: async () => {
      await Promise.all([diagnose.close(), remediate.close()]);
    },
  };
}

export async function enqueueDiagnose(queues: MedicQueues, data: DiagnoseJobData): Promise<void> {
  await queues.diagnose.add(JOBS.diagnose.name, JOBS.diagnose.data.parse(data), { jobId: diagnoseJobId(data.diagnosisId) });
}

export async function enqueueRemediate(queues: MedicQueues, data: RemediateJobData): Promise<void> {
  await queues.remediate.add(JOBS.remediate.name, JOBS.remediate.data.parse(data), { jobId: remediateJobId(data.approvalId) });
}
