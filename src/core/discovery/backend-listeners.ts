import type { CheckResult } from '../check-result.ts';
import { parseBackendUnits } from '../classifier/parse/backend-units.ts';
import { parseSockets } from '../classifier/parse/sockets.ts';
import { parseNginxTarget, sameEndpoint } from '../classifier/upstream-address.ts';
import type { EachItem } from '../playbook/each-lists.ts';
import type { NginxUpstreamRef } from './host-picture.ts';

/** At most this many backends have their unit looked up and their journal read. */
export const MAX_BACKENDS = 8;

const usable = (r: CheckResult): boolean => r.status === 'ok' || (r.status === 'failed' && r.stdout.trim() !== '');

/**
 * The processes that listen where nginx passes requests, other than php-fpm (whose log is read
 * on its own): `gunicorn (pid 812) at 127.0.0.1:8000`, each by pid for `ps -o unit=`. From the
 * listening sockets `ss -p` named and the passes of nginx's config.
 */
export function backendListeners(upstreams: readonly NginxUpstreamRef[], results: readonly CheckResult[]): EachItem[] {
  const sockets = results.filter((r) => r.parse === 'sockets' && usable(r)).flatMap((r) => parseSockets(r.stdout));
  const items: EachItem[] = [];
  for (const u of upstreams) {
    const target = parseNginxTarget(u.target);
    if (target === undefined || target.kind === 'name') continue;
    const socket = sockets.find((x) => x.endpoint !== undefined && x.process !== undefined && sameEndpoint(target, x.endpoint));
    const holder = socket?.process;
    if (socket === undefined || holder === undefined || /^php-fpm/.test(holder.name)) continue;
    const pid = String(holder.pid);
    if (items.some((i) => i.values.item === pid)) continue;
    // The subject is shown in reports: a process title is the host's text, kept to plain characters.
    const plain = (t: string): string => t.replace(/[^A-Za-z0-9@._:[\]/-]/g, '?').slice(0, 200);
    items.push({ subject: `${plain(holder.name)} (pid ${pid}) at ${plain(socket.local)}`, values: { item: pid } });
  }
  return items.slice(0, MAX_BACKENDS);
}

/** The systemd units of those backends, each once, for its journal: `myapp.service`. */
export function backendUnits(listeners: readonly EachItem[], results: readonly CheckResult[]): EachItem[] {
  const units = new Map<number, string>();
  for (const r of results.filter((x) => x.parse === 'backend_unit' && usable(x)))
    for (const [pid, unit] of parseBackendUnits(r.stdout)) units.set(pid, unit);
  const items: EachItem[] = [];
  for (const l of listeners) {
    const unit = units.get(Number(l.values.item));
    if (unit !== undefined && !items.some((i) => i.values.item === unit)) items.push({ subject: unit, values: { item: unit } });
  }
  return items;
}
