import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AlertInstance, AlertSource } from '../../core/alerts/alert-instance.ts';
import { parseAlertPayload } from '../../core/alerts/parse-alert-payload.ts';
import type { IntakeSummary } from './alert-intake.ts';
import type { AlertMetrics, AlertRequestOutcome } from './alert-metrics.ts';
import { readLimitedBody } from './read-limited-body.ts';
import { MemorySignatureLedger, type SignatureLedger } from './signature-ledger.ts';
import { signatureWindowMs, verifyAlertRequest, verifyBearer, type AlertAuthOptions } from './verify-alert-request.ts';
import { errorMessage } from '../../errors.ts';

/** The contract's alert endpoints and the payload each expects. */
export const ALERT_PATHS: Readonly<Record<string, AlertSource>> = {
  '/alerts/alertmanager': 'alertmanager',
  '/alerts/grafana': 'grafana',
  '/alerts/generic': 'generic',
};

export const DEFAULT_MAX_ALERT_BODY_BYTES = 1024 * 1024;

export interface AlertWebhookOptions {
  auth: AlertAuthOptions;
  /** Where accepted alerts go; only called for authenticated, well-formed, bounded requests. */
  intake: { ingest(alerts: readonly AlertInstance[]): Promise<IntakeSummary> };
  logger: Logger;
  metrics?: AlertMetrics;
  /** Bodies above this are refused with 413, and no more of them is read. @defaultValue 1 MiB */
  maxBodyBytes?: number;
  /** @defaultValue Date.now */
  now?: () => number;
  /**
   * Where accepted signatures are remembered, to refuse a replay within the window. Share it
   * between processes that serve the same webhooks (Redis). @defaultValue in this process' memory
   */
  signatures?: SignatureLedger;
}

type Reply = { status: number; outcome: AlertRequestOutcome; body: Record<string, unknown>; close?: boolean };

function send(res: ServerResponse, reply: Reply): void {
  const payload = JSON.stringify(reply.body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  };
  if (reply.close === true) headers['connection'] = 'close';
  if (reply.status === 405) headers['allow'] = 'POST';
  res.writeHead(reply.status, headers);
  res.end(payload);
}

const refuse = (status: number, outcome: AlertRequestOutcome, error: string, message: string, close = false): Reply => ({
  status,
  outcome,
  body: { ok: false, error, message },
  close,
});

const isJson = (contentType: string | undefined): boolean =>
  contentType !== undefined && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType.trim());

/**
 * Handles one alert webhook call end to end: method, media type, bearer token (before the
 * body is read), size cap, signature, JSON, schema, then the intake. Every refusal is a JSON
 * `{ ok: false, error, message }` with a status that says what to fix, is counted, and
 * reaches nothing beyond this function.
 */
export function createAlertWebhookHandler(
  options: AlertWebhookOptions,
): (source: AlertSource, req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_ALERT_BODY_BYTES;
  const now = options.now ?? Date.now;
  const signatures = options.signatures ?? new MemorySignatureLedger(now);

  /** The signature a request was accepted with, released again if handling it fails. */
  const signatureOf = (req: IncomingMessage): string | undefined => {
    const v = req.headers['x-medic-signature'] ?? req.headers['x-grafana-alerting-signature'];
    return Array.isArray(v) ? v[0] : v;
  };

  const decide = async (source: AlertSource, req: IncomingMessage): Promise<Reply> => {
    if (req.method !== 'POST') return refuse(405, 'method_not_allowed', 'method_not_allowed', 'alert webhooks take POST');
    if (options.auth.token === undefined && options.auth.hmacSecret === undefined) {
      return refuse(
        503,
        'not_configured',
        'not_configured',
        'alert webhooks are disabled: set MEDIC_ALERT_TOKEN or MEDIC_ALERT_HMAC_SECRET',
      );
    }
    if (!isJson(req.headers['content-type'])) {
      return refuse(415, 'unsupported_media_type', 'unsupported_media_type', 'send the alert as Content-Type: application/json');
    }
    const bearer = verifyBearer(req.headers, options.auth);
    if (bearer !== undefined && !bearer.ok) return refuse(401, 'unauthorized', bearer.reason, bearer.message, true);

    const read = await readLimitedBody(req, maxBytes);
    if (!read.ok) {
      return read.reason === 'too_large'
        ? refuse(413, 'too_large', 'too_large', `the body is larger than ${maxBytes} bytes`, true)
        : refuse(400, 'aborted', 'aborted', 'the request body was cut off');
    }
    const auth = bearer ?? verifyAlertRequest(req.headers, read.body, options.auth, now());
    if (!auth.ok) return refuse(401, 'unauthorized', auth.reason, auth.message);
    if (auth.method !== 'bearer') {
      const signature = signatureOf(req) as string;
      if (!(await signatures.claim(signature, signatureWindowMs(options.auth)))) {
        return refuse(
          409,
          'unauthorized',
          'replayed',
          'this signature was already accepted: a signed request is taken once; sign each delivery anew',
        );
      }
      claimed.set(req, signature);
    }

    let json: unknown;
    try {
      json = JSON.parse(read.body.toString('utf8'));
    } catch (e) {
      return refuse(400, 'bad_request', 'malformed_json', `the body is not JSON: ${errorMessage(e).slice(0, 200)}`);
    }
    const parsed = parseAlertPayload(source, json);
    if (!parsed.ok) return refuse(400, 'bad_request', 'invalid_payload', `not a ${source} alert payload: ${parsed.error}`);

    const summary = await options.intake.ingest(parsed.alerts);
    return { status: 202, outcome: 'accepted', body: { ok: true, truncatedAlerts: parsed.truncatedAlerts, ...summary } };
  };

  const claimed = new WeakMap<IncomingMessage, string>();

  return async (source, req, res) => {
    const log = options.logger.child({ webhook: source });
    let reply: Reply;
    try {
      reply = await decide(source, req);
    } catch (e) {
      log.error({ err: e }, 'alert webhook failed');
      reply = refuse(503, 'failed', 'failed', 'the alert could not be handled now; deliver it again');
      // The sender will deliver it again, maybe with the same signature: let that one in.
      const signature = claimed.get(req);
      if (signature !== undefined)
        await signatures.release(signature).catch((err: unknown) => log.warn({ err }, 'could not forget an alert signature'));
    }
    options.metrics?.request(source, reply.outcome);
    if (reply.outcome === 'accepted') log.info({ alerts: reply.body['alerts'] }, 'alert webhook accepted');
    else log.warn({ status: reply.status, error: reply.body['error'] }, 'alert webhook refused');
    send(res, reply);
    // A refused body may still be arriving; do not let it hold the socket open.
    if (reply.close === true) res.once('finish', () => req.socket.destroySoon?.() ?? req.destroy());
  };
}

/**
 * A request listener for the three alert paths; answers `false` (and nothing else) for other
 * paths, so the HTTP server can chain it before its own routes.
 */
export function createAlertRoutes(options: AlertWebhookOptions): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const handle = createAlertWebhookHandler(options);
  return async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const source = Object.hasOwn(ALERT_PATHS, path) ? ALERT_PATHS[path] : undefined;
    if (source === undefined) return false;
    await handle(source, req, res);
    return true;
  };
}
