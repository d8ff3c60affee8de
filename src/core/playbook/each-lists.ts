import { z } from 'zod';
import type { ParserKind } from '../check-result.ts';
import { FactPath, FactUnit, FactUrl } from '../facts.ts';

/**
 * Lists a check can run once per item of (`each:` in a playbook): every log file nginx writes
 * to, every virtual host to probe. Discovery fills them; each item becomes one command, with
 * its own timeout, output cap and result, and a subject that says what it was about.
 */
export const EACH_LISTS = [
  'nginx.errorLogs',
  'nginx.accessLogs',
  'site.vhosts',
  'masters',
  'backend.listeners',
  'backend.units',
  'site.origin',
] as const;
export type EachList = (typeof EACH_LISTS)[number];

/** One item: what it is about (a log path, a virtual host) and the values of its placeholders. */
export interface EachItem {
  subject: string;
  values: Record<string, string>;
}

export type EachItems = Record<EachList, EachItem[]>;

export const emptyEachItems = (): EachItems => ({
  'nginx.errorLogs': [],
  'nginx.accessLogs': [],
  'site.vhosts': [],
  masters: [],
  'backend.listeners': [],
  'backend.units': [],
  'site.origin': [],
});

/** curl's `--resolve name:port:address`, the address always loopback: a probe never leaves the host. */
export const RESOLVE_TO_LOOPBACK = /^[A-Za-z0-9.-]{1,253}:\d{1,5}:(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/;

/**
 * A pid as text, digits only, never 0 or 1 (init): it is spliced into fixed /proc paths
 * (`/proc/{{item.pid}}/cgroup`) and `ps -p` arguments.
 */
export const FactPidText = z
  .string()
  .regex(/^[1-9]\d{0,6}$/, 'must be a pid (digits)')
  .refine((v) => Number(v) > 1, 'must not be init');

export const FactResolve = z.string().regex(RESOLVE_TO_LOOPBACK, 'must be name:port:loopback-address');

/** The placeholders each list's items fill, with the validator of each, and a harmless sample. */
export const ITEM_FIELDS: Record<EachList, Record<string, { type: z.ZodType<string>; sample: string }>> = {
  'nginx.errorLogs': { item: { type: FactPath, sample: '/var/log/nginx/error.log' } },
  'nginx.accessLogs': { item: { type: FactPath, sample: '/var/log/nginx/access.log' } },
  'site.vhosts': {
    'item.url': { type: FactUrl, sample: 'https://shop.example.com/' },
    'item.resolve': { type: FactResolve, sample: 'shop.example.com:443:127.0.0.1' },
  },
  masters: { 'item.pid': { type: FactPidText, sample: '1234' } },
  /** The processes that listen where nginx passes requests (other than php-fpm), by pid. */
  'backend.listeners': { item: { type: FactPidText, sample: '812' } },
  /** The systemd units those processes run in. */
  'backend.units': { item: { type: FactUnit, sample: 'myapp.service' } },
  // The public URL that failed, asked of this host's own nginx (at most one).
  'site.origin': {
    'item.url': { type: FactUrl, sample: 'https://shop.example.com/checkout' },
    'item.resolve': { type: FactResolve, sample: 'shop.example.com:443:127.0.0.1' },
  },
};

export const isEachList = (name: string): name is EachList => (EACH_LISTS as readonly string[]).includes(name);

/** The checks (by parser kind) a list is discovered from: a check over the list waits until they ran. */
export const LIST_SOURCES: Record<EachList, readonly ParserKind[]> = {
  'nginx.errorLogs': ['processes', 'nginx_config'],
  'nginx.accessLogs': ['processes', 'nginx_config'],
  'site.vhosts': ['processes', 'nginx_config'],
  masters: ['processes'],
  'backend.listeners': ['processes', 'nginx_config', 'sockets'],
  'backend.units': ['processes', 'nginx_config', 'sockets', 'backend_unit'],
  'site.origin': [],
};

/**
 * Checks that say where each master runs (its cgroup and mounts, and our own shell's for
 * comparison). Until they ran, discovery's masters are not vouched for: a check that uses a
 * discovered fact or list waits for them, so that a container's master is never read through
 * this host's paths, not even in the round before it is known to be one.
 */
export const MASTER_PLACE_KINDS: readonly ParserKind[] = ['cgroup', 'mountinfo'];
