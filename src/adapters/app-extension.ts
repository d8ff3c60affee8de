import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Inventory } from '../core/inventory/inventory-schema.ts';
import type { MedicHttpServer } from './http/medic-http-server.ts';
import type { MedicMetrics } from './http/medic-metrics.ts';
import type { DiagnosisService } from '../app-service/diagnosis-service.ts';

/**
 * What the app hands each extension (the alert webhooks are one) once it is built: its HTTP
 * server to add routes to, the diagnosis service, Redis, metrics, the configuration and the
 * inventory. It lives beside the adapters so that they never import the app that wires them.
 */
export interface AppExtensionContext {
  http: MedicHttpServer;
  service: DiagnosisService;
  config: Config;
  logger: Logger;
  redis: Redis;
  metrics: MedicMetrics;
  inventory: () => Inventory;
}
