import type { Logger } from 'pino';

/** The child logger of one job: every line says which job, host and playbook it is about. */
export function jobLogger(root: Logger, fields: { jobId: string | undefined; host: string; playbook?: string; queue?: string }): Logger {
  return root.child({ jobId: fields.jobId, host: fields.host, playbook: fields.playbook, queue: fields.queue });
}
