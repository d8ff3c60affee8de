import type { AppExtensionContext } from '../app-extension.ts';
import { MedicError } from '../../errors.ts';
import { AlertIncidentStore } from './alert-incident-store.ts';
import { AlertIntake } from './alert-intake.ts';
import { createAlertMetrics } from './alert-metrics.ts';
import { ALERT_PATHS, createAlertWebhookHandler } from './alert-webhook-handler.ts';
import { RedisSignatureLedger } from './signature-ledger.ts';

export interface AlertWebhooksOptions {
  /** The clock of the storm window and the signature window. @defaultValue Date.now */
  now?: () => number;
  /** Bodies above this are refused with 413. @defaultValue 1 MiB */
  maxBodyBytes?: number;
}

/**
 * The app extension that serves POST /alerts/alertmanager, /alerts/grafana and
 * /alerts/generic on the bot's HTTP server, reporting through the DiagnosisService. The routes
 * always exist; without MEDIC_ALERT_TOKEN or MEDIC_ALERT_HMAC_SECRET they answer 503.
 */
export function alertWebhooks(options: AlertWebhooksOptions = {}): (ctx: AppExtensionContext) => void {
  return (ctx) => {
    const { config } = ctx;
    const enabled = config.MEDIC_ALERT_TOKEN !== undefined || config.MEDIC_ALERT_HMAC_SECRET !== undefined;
    if (enabled && config.MEDIC_ALERT_CHANNEL === undefined) {
      throw new MedicError(
        'CONFIG_INVALID',
        'Alert webhooks are enabled (MEDIC_ALERT_TOKEN or MEDIC_ALERT_HMAC_SECRET is set) but MEDIC_ALERT_CHANNEL is not: set the channel for alert reports.',
      );
    }
    if (!enabled) ctx.logger.warn('alert webhooks refuse everything: set MEDIC_ALERT_TOKEN or MEDIC_ALERT_HMAC_SECRET to enable them');
    const metrics = createAlertMetrics(ctx.metrics.registry);
    const intake = new AlertIntake({
      store: new AlertIncidentStore({ redis: ctx.redis, prefix: config.MEDIC_QUEUE_PREFIX }),
      reporter: ctx.service,
      inventory: ctx.inventory,
      defaultChannel: config.MEDIC_ALERT_CHANNEL ?? '',
      routes: config.MEDIC_ALERT_ROUTES,
      hostLabels: config.MEDIC_ALERT_HOST_LABELS,
      windowMs: config.MEDIC_ALERT_WINDOW,
      updateIntervalMs: config.MEDIC_ALERT_UPDATE_INTERVAL,
      logger: ctx.logger.child({ component: 'alerts' }),
      metrics,
      ...(options.now !== undefined ? { now: options.now } : {}),
    });
    const handle = createAlertWebhookHandler({
      auth: { token: config.MEDIC_ALERT_TOKEN, hmacSecret: config.MEDIC_ALERT_HMAC_SECRET },
      intake,
      logger: ctx.logger,
      metrics,
      // In Redis: every bot process serving the webhooks must refuse a signature any of them took.
      signatures: new RedisSignatureLedger({ redis: ctx.redis, prefix: config.MEDIC_QUEUE_PREFIX }),
      ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
      ...(options.now !== undefined ? { now: options.now } : {}),
    });
    for (const [path, source] of Object.entries(ALERT_PATHS)) {
      ctx.http.route('POST', path, (req, res) => handle(source, req, res));
    }
  };
}
