import type { Facts } from '../facts.ts';
import type { FpmPool, MasterProcess } from './host-picture.ts';
import { listensAt, type Stack } from './pair-stacks.ts';
import { pickMaster } from './trust-masters.ts';

/**
 * The stacks a diagnosis is about: all of them, or, when the inventory pins one side's config,
 * those holding that master (`nginx.conf` alone: that nginx and the php-fpm it reaches;
 * `fpm.conf` alone: that php-fpm and the nginx that reaches it). A pinned php-fpm that is down
 * selects the nginx passing requests to `pinnedPools`, the pools its config file declares; that
 * config is then the stack's php-fpm (`fpmConf`), the one to start. None selected (a pin that
 * matches nothing): every stack, so that nothing is hidden.
 */
export function selectStacks(
  stacks: readonly Stack[],
  trusted: { nginx: readonly MasterProcess[]; fpm: readonly MasterProcess[] },
  inventory: Facts,
  pinnedPools: readonly FpmPool[] = [],
): Stack[] {
  const nginxConf = inventory.nginx?.conf;
  const fpmConf = inventory.fpm?.conf;
  let out = [...stacks];
  if (nginxConf !== undefined) {
    const master = pickMaster(trusted.nginx, nginxConf, '/etc/nginx/nginx.conf');
    out = out.filter((s) => s.nginxPid === master?.pid);
  }
  if (fpmConf !== undefined) {
    const master = pickMaster(trusted.fpm, fpmConf);
    if (master !== undefined) out = out.filter((s) => s.fpmPids.includes(master.pid));
    else {
      const reaches = (s: Stack): boolean =>
        s.backends.some((b) => b.kind === 'fastcgi' && pinnedPools.some((p) => p.listen !== undefined && listensAt(p.listen, b.target)));
      out = out
        .filter((s) => s.fpmPids.length === 0 && reaches(s))
        .map((s) => ({ ...s, fpmConf, label: `${s.label} + php-fpm ${fpmConf} (not running)` }));
    }
  }
  return out.length > 0 ? out : [...stacks];
}
