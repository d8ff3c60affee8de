import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Requester } from '../../core/diagnosis-request.ts';
import { parseStoredJson, RequesterSchema } from '../../core/stored-schemas.ts';
import type { RedisKeys } from './redis-keys.ts';

/** One `/502 diagnose <group|pattern>`: the summary message and the diagnosis of each host. */
export interface FanoutRecord {
  id: string;
  target: string;
  channel: string;
  ts?: string;
  requestedBy: Requester;
  requestedAt: string;
  /** host → diagnosis id, in the order the hosts were listed. */
  hosts: { host: string; diagnosisId?: string; joined?: boolean }[];
}

const TTL_MS = 14 * 24 * 3600 * 1000;

/** What `setHost` stores for one host of a fan-out. */
const FanoutHostSchema = z.object({ diagnosisId: z.string(), joined: z.boolean() });

export const newFanoutId = (): string => `f-${randomBytes(8).toString('hex')}`;

export class FanoutRecords {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async create(record: FanoutRecord): Promise<void> {
    const key = this.keys.fanout(record.id);
    await this.redis
      .multi()
      .hset(key, {
        id: record.id,
        target: record.target,
        channel: record.channel,
        requestedBy: JSON.stringify(record.requestedBy),
        requestedAt: record.requestedAt,
        order: JSON.stringify(record.hosts.map((h) => h.host)),
      })
      .pexpire(key, TTL_MS)
      .exec();
  }

  async setTs(id: string, ts: string): Promise<void> {
    await this.redis.hset(this.keys.fanout(id), 'ts', ts);
  }

  async setHost(id: string, host: string, diagnosisId: string, joined: boolean): Promise<void> {
    const key = this.keys.fanoutHosts(id);
    await this.redis.multi().hset(key, host, JSON.stringify({ diagnosisId, joined })).pexpire(key, TTL_MS).exec();
  }

  async get(id: string): Promise<FanoutRecord | undefined> {
    const [h, hosts] = await Promise.all([this.redis.hgetall(this.keys.fanout(id)), this.redis.hgetall(this.keys.fanoutHosts(id))]);
    if (h.id === undefined) return undefined;
    const order = parseStoredJson(z.array(z.string()), h.order ?? '[]') ?? [];
    const requestedBy = parseStoredJson(RequesterSchema, h.requestedBy ?? '');
    if (requestedBy === undefined) throw new Error(`fan-out ${id} in Redis names no requester it can read`);
    return {
      id: h.id,
      target: h.target ?? '',
      channel: h.channel ?? '',
      ...(h.ts !== undefined ? { ts: h.ts } : {}),
      requestedBy,
      requestedAt: h.requestedAt ?? '',
      hosts: order.map((host) => {
        const v = hosts[host] === undefined ? undefined : parseStoredJson(FanoutHostSchema, hosts[host]);
        return v === undefined ? { host } : { host, diagnosisId: v.diagnosisId, joined: v.joined };
      }),
    };
  }
}
