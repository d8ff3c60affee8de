/**
 * Every Redis key the bot uses outside BullMQ, in one place. All start with the deployment's
 * prefix (MEDIC_QUEUE_PREFIX) so several deployments can share one Redis.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}
  /** Audit stream of one host (or `_` for requests that named no known host). */
  audit = (host: string): string => `${this.prefix}:audit:${host}`;
  /** Hash: one diagnosis request and its state. */
  diagnosis = (id: string): string => `${this.prefix}:diag:${id}`;
  /** Lists of the people and alerts who joined a diagnosis, and notes shown on its root message. */
  joiners = (id: string): string => `${this.prefix}:diag:${id}:joiners`;
  notes = (id: string): string => `${this.prefix}:diag:${id}:notes`;
  /** Hash: finding index → ts of the thread reply already posted (the once-only guard). */
  posted = (id: string): string => `${this.prefix}:diag:${id}:posted`;
  /** Set of fan-out ids whose summary lists this diagnosis. */
  fanoutsOf = (id: string): string => `${this.prefix}:diag:${id}:fanouts`;
  /** The diagnosis running, or finished within the dedup window, for a host. */
  dedup = (host: string): string => `${this.prefix}:dedup:${host}`;
  /** The host's latest finished diagnosis: only its buttons are current. */
  latest = (host: string): string => `${this.prefix}:latest:${host}`;
  approval = (id: string): string => `${this.prefix}:appr:${id}`;
  /** Set once a remediation job started running, so a re-delivered job cannot run it twice. */
  remediationStarted = (approvalId: string): string => `${this.prefix}:appr:${approvalId}:started`;
  fanout = (id: string): string => `${this.prefix}:fanout:${id}`;
  fanoutHosts = (id: string): string => `${this.prefix}:fanout:${id}:hosts`;
  lock = (name: string): string => `${this.prefix}:lock:${name}`;
}
