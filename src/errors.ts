/**
 * Every error the product raises on purpose carries one of these codes. Each code says what
 * the operator should do; `test/unit/errors.test.ts` checks that each is documented.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'The environment or .env is invalid: fix the variable named in the message.',
  INVENTORY_INVALID: 'The inventory file is invalid: fix the file, host and field named in the message.',
  INVENTORY_NOT_FOUND: 'The inventory file does not exist: pass --inventory FILE or set MEDIC_INVENTORY.',
  HOST_UNKNOWN: 'No such host in the inventory: run `medic hosts` for the list.',
  HOST_PATTERN_REFUSED: 'The host pattern has too many wildcards: name the hosts or a group, or use a pattern such as web-*.',
  PLAYBOOK_INVALID: 'The playbook is invalid or not read-only: fix the check named in the message.',
  PLAYBOOK_UNKNOWN: 'No such playbook: run `medic playbooks` for the list.',
  FACT_INVALID: 'A discovered or configured fact has characters that are not allowed: fix the inventory facts or the host config.',
  SSH_CONNECTION_REFUSED: 'Nothing listens on the SSH port: check the address and port, and that sshd runs.',
  SSH_UNREACHABLE: 'The host cannot be reached: check the address, DNS and the network path.',
  SSH_CONNECT_TIMEOUT: 'The TCP connection to the SSH port timed out: check firewalls and that the host is up.',
  SSH_NOT_ANSWERING:
    'The host accepted the connection but its SSH server stopped answering (a hung host or sshd): check the host from its console or provider, then diagnose again.',
  SSH_AUTH_FAILED: 'SSH authentication failed: check the user and privateKeyPath in the inventory.',
  SSH_HOST_KEY_UNKNOWN: 'The host key is not in known_hosts: verify its fingerprint out of band, then add it.',
  SSH_HOST_KEY_CHANGED: 'The host key differs from known_hosts: possible interception; verify before updating known_hosts.',
  SSH_HANDSHAKE_FAILED:
    'The SSH server and medic share no key exchange, host key or cipher algorithm: update sshd or its algorithm settings.',
  SSH_KEY_UNREADABLE: 'The private key or known_hosts file cannot be read: check the paths in the inventory.',
  SSH_LOST: 'The SSH connection dropped during the diagnosis: retry; if it recurs, check the host.',
  DIAGNOSIS_TIMEOUT:
    'The diagnosis did not finish within MEDIC_DIAGNOSIS_TIMEOUT: the host is overloaded or stopped answering; check it, then diagnose again.',
  REDIS_UNAVAILABLE:
    "Redis (the queue and the bot's memory) did not answer, so nothing was queued: check that Redis runs (`/readyz` says), then ask again.",
  REMEDIATION_UNKNOWN: 'No such remediation: use one of reload_php_fpm, start_php_fpm, reload_nginx, restart_php_fpm.',
  REMEDIATION_NOT_APPLICABLE: 'The remediation does not apply to the host as it is now: diagnose again.',
  REMEDIATION_FAILED: 'The remediation command failed: read its output in the message and the audit trail.',
  NOT_CONFIRMED: 'The remediation needs confirmation: answer the prompt or pass --yes.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes whose cause will not go away by retrying; jobs fail at once on these. */
const UNRECOVERABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CONFIG_INVALID',
  'INVENTORY_INVALID',
  'INVENTORY_NOT_FOUND',
  'HOST_UNKNOWN',
  'HOST_PATTERN_REFUSED',
  'PLAYBOOK_INVALID',
  'PLAYBOOK_UNKNOWN',
  'FACT_INVALID',
  'SSH_AUTH_FAILED',
  'SSH_HOST_KEY_UNKNOWN',
  'SSH_HOST_KEY_CHANGED',
  'SSH_HANDSHAKE_FAILED',
  'SSH_KEY_UNREADABLE',
  'REMEDIATION_UNKNOWN',
  'REMEDIATION_NOT_APPLICABLE',
  // These already waited their whole bound: a retry would double the time before people hear.
  'SSH_NOT_ANSWERING',
  'DIAGNOSIS_TIMEOUT',
]);

export class MedicError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MedicError';
    this.code = code;
  }
  /** What to do about it, for people. */
  get hint(): string {
    return ERROR_CODES[this.code];
  }
  get retryable(): boolean {
    return !UNRECOVERABLE.has(this.code);
  }
}

export const isMedicError = (e: unknown): e is MedicError => e instanceof MedicError;

/** Anything thrown, in words: an Error's message, any other value as a string. */
export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Host-level SSH failures: the host could not be reached or would not let us in (CLI exit 3). */
export const isConnectionError = (e: unknown): boolean => isMedicError(e) && e.code.startsWith('SSH_');

/** What ioredis (and BullMQ through it) throws when Redis is down or restarting. */
const REDIS_DOWN =
  /max retries per request|Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Stream isn't writeable|LOADING|READONLY|MISCONF/i;

/**
 * A Redis outage as a MedicError people can act on, instead of ioredis's own words
 * ("Reached the max retries per request limit…"). Other errors are returned unchanged.
 */
export function asRedisError(e: unknown, what: string): unknown {
  if (isMedicError(e)) return e;
  const message = errorMessage(e);
  const code = (e as { code?: unknown } | null)?.code;
  if (!REDIS_DOWN.test(message) && !(typeof code === 'string' && REDIS_DOWN.test(code))) return e;
  return new MedicError(
    'REDIS_UNAVAILABLE',
    `Redis did not answer, so ${what}. Nothing is lost: ask again once Redis is back (the bot reconnects by itself).`,
    { cause: e },
  );
}
