import type { Facts } from '../facts.ts';
import type { Stack } from './pair-stacks.ts';

const DEFAULT_NGINX_CONF = '/etc/nginx/nginx.conf';

/** Options of a start command that name php-fpm's master config. */
const CONFIG_OPTIONS = new Set(['--fpm-config', '-y']);

/** The master config a start command names (`--fpm-config X`, `-y X`), if it names one. */
export function startCommandConf(argv: readonly string[] | undefined): string | undefined {
  if (argv === undefined) return undefined;
  for (let i = 1; i < argv.length - 1; i++) if (CONFIG_OPTIONS.has(argv[i] as string)) return argv[i + 1];
  return undefined;
}

/**
 * The inventory's facts as they hold for one stack of a host that runs several. A fact about
 * one nginx or one php-fpm (its binary, unit, logs, start command, the site's URL) was written
 * for the master the inventory pins; on a host with several masters and no pin it could be any
 * of them, and lent to the wrong stack it would start, reload or read somebody else's service.
 * So a side's facts hold for a stack only when the inventory pins that side's config to this
 * stack's master, or the host runs that one master alone, or (the start command and its binary)
 * when the command names this stack's running php-fpm config. Who may own a master
 * (`masterUser`), the kernel log and systemd hold for the whole host.
 */
export function stackFacts(
  inventory: Facts,
  stack: Pick<Stack, 'nginxConf' | 'fpmConf' | 'fpmPid'>,
  trusted: { nginx: number; fpm: number },
): Facts {
  const out: Facts = {};
  if (inventory.systemd !== undefined) out.systemd = inventory.systemd;
  if (inventory.kernel !== undefined) out.kernel = { ...inventory.kernel };
  const nginx = inventory.nginx ?? {};
  // An nginx started without -c reads the compiled-in default, which an inventory may pin by name.
  // A pin of another config never holds here, even for the host's only running master.
  const nginxHolds = nginx.conf !== undefined ? nginx.conf === (stack.nginxConf ?? DEFAULT_NGINX_CONF) : trusted.nginx === 1;
  if (nginxHolds) {
    out.nginx = { ...nginx };
    // The site's own URL, not the public one a request names: that is probed once, host-wide.
    if (inventory.site?.probeUrl !== undefined) out.site = { probeUrl: inventory.site.probeUrl };
  } else if (nginx.masterUser !== undefined) out.nginx = { masterUser: nginx.masterUser };

  const fpm = inventory.fpm ?? {};
  const ours = stack.fpmPid !== null;
  // A stack whose php-fpm is down has a php-fpm config only when the inventory pinned it (and the
  // stack was selected by the pools that config declares): then the pinned facts are its own.
  const fpmHolds = fpm.conf !== undefined ? fpm.conf === stack.fpmConf : ours && trusted.fpm === 1;
  if (fpmHolds) {
    out.fpm = { ...fpm };
  } else {
    const kept: NonNullable<Facts['fpm']> = {};
    if (fpm.masterUser !== undefined) kept.masterUser = fpm.masterUser;
    const named = startCommandConf(fpm.startCommand);
    if (ours && fpm.startCommand !== undefined && named !== undefined && named === stack.fpmConf) {
      kept.startCommand = [...fpm.startCommand];
      if (fpm.binary !== undefined && fpm.binary === fpm.startCommand[0]) kept.binary = fpm.binary;
    }
    if (Object.keys(kept).length > 0) out.fpm = kept;
  }
  return out;
}
