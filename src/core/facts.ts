import { z } from 'zod';

/**
 * Host facts: where things live on one host. Discovered from the running nginx and php-fpm
 * master processes and their configs; an inventory's `facts` override what discovery finds.
 *
 * Every value that can reach a command line is typed here, and the types are narrow on
 * purpose: a path is an absolute path of ordinary characters, never something a shell could
 * read as syntax. The command builder quotes anyway; this is the first of two walls.
 */

/**
 * Characters allowed in a path fact: no whitespace, quotes, `;`, `$`, backticks, `|`, `&`, `<`, `>`, `*`, newlines.
 * One character class under one star, so it runs in linear time on any input (paths come from
 * `ps`, `nginx -T` and pool files, i.e. from the host); the shape of the path is checked by
 * {@link pathProblem}, without a regular expression.
 */
export const SAFE_PATH = /^\/[A-Za-z0-9._@%+=:,~/-]*$/;

/** Pseudo-filesystems: reading a "log" there can block forever (/dev/zero, /dev/kmsg) or leak secrets (/proc/self/environ). */
const PSEUDO_FS = ['/dev', '/proc', '/sys'] as const;

/**
 * Why a path may not be used as a file to read, or null when it may: it must be absolute, of
 * ordinary characters, normalised (no empty, `.` or `..` segments) and outside /dev, /proc and /sys.
 */
export function pathProblem(p: string): string | null {
  if (p.length > 4096) return 'is longer than 4096 characters';
  if (!SAFE_PATH.test(p)) return 'must be an absolute path of letters, digits and ._@%+=:,~- (no spaces, quotes or shell syntax)';
  const segments = p.slice(1).split('/');
  // A trailing slash names a folder (a pool.d/ include); every other segment must be a name.
  if (segments.at(-1) === '' && segments.length > 1) segments.pop();
  if (p !== '/' && segments.some((s) => s === '' || s === '.' || s === '..')) return 'must be normalised (no "//", "." or ".." segments)';
  const under = PSEUDO_FS.find((root) => p === root || p.startsWith(`${root}/`));
  if (under !== undefined) return `must not be under ${under}`;
  return null;
}

/** True when {@link pathProblem} finds nothing wrong. */
export const isSafePath = (p: string | undefined): p is string => p !== undefined && pathProblem(p) === null;

export const FactPath = z.string().superRefine((p, ctx) => {
  const problem = pathProblem(p);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

export const FactUnit = z.string().regex(/^[A-Za-z0-9@._:\\-]{1,200}$/, 'must be a systemd unit name such as php8.2-fpm.service');

export const FactUrl = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[A-Za-z0-9.[\]:-]+(?::\d{1,5})?(?:\/[A-Za-z0-9._~%/?=&+,:@-]*)?$/, 'must be an http(s) URL of ordinary characters')
  .refine((u) => URL.canParse(u), 'must be a valid URL');

export const FactPid = z.number().int().min(2).max(4_194_304);

/** A Unix user name, e.g. the user a master runs as when it is not root. */
export const FactUser = z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/i, 'must be a Unix user name');

/** A program and its arguments, run without a shell. Only used by `start_php_fpm` where there is no systemd. */
export const FactArgv = z.array(z.string().min(1).max(4096)).min(1).max(16);

export const Facts = z.strictObject({
  systemd: z.boolean().optional(),
  nginx: z
    .strictObject({
      binary: FactPath.optional(),
      conf: FactPath.optional(),
      prefix: FactPath.optional(),
      errorLog: FactPath.optional(),
      accessLog: FactPath.optional(),
      pid: FactPid.optional(),
      pidFile: FactPath.optional(),
      unit: FactUnit.optional(),
      /** Who the master runs as when not root (inventory only): a master owned by anyone else is not trusted. */
      masterUser: FactUser.optional(),
      /** The unix socket of the first `fastcgi_pass unix:…`, to compare with php-fpm's `listen`. */
      upstreamSocket: FactPath.optional(),
    })
    .optional(),
  fpm: z
    .strictObject({
      binary: FactPath.optional(),
      conf: FactPath.optional(),
      pid: FactPid.optional(),
      pidFile: FactPath.optional(),
      errorLog: FactPath.optional(),
      unit: FactUnit.optional(),
      /** Who the master runs as when not root (inventory only): a master owned by anyone else is not trusted. */
      masterUser: FactUser.optional(),
      socket: FactPath.optional(),
      phpIni: FactPath.optional(),
      /** The folder of the pool files included by the master config (Debian: pool.d). */
      poolDir: FactPath.optional(),
      statusUrl: FactUrl.optional(),
      /** The slow log of the pool nginx uses, when request_slowlog_timeout is set (discovered). */
      slowlog: FactPath.optional(),
      startCommand: FactArgv.optional(),
    })
    .optional(),
  site: z
    .strictObject({
      probeUrl: FactUrl.optional(),
      /**
       * The public URL that failed (given with a diagnosis, or set here for a host that serves one
       * site): probed on the host itself with its name, scheme and port, never over the network.
       */
      publicUrl: FactUrl.optional(),
    })
    .optional(),
  kernel: z.strictObject({ log: FactPath.optional() }).optional(),
});

export type Facts = z.infer<typeof Facts>;

/** The dotted names a playbook template may use, with the validator of each. */
export const TEMPLATE_FACTS = {
  'nginx.binary': FactPath,
  'nginx.conf': FactPath,
  'nginx.prefix': FactPath,
  'nginx.errorLog': FactPath,
  'nginx.accessLog': FactPath,
  'nginx.pid': FactPid,
  'nginx.unit': FactUnit,
  'nginx.upstreamSocket': FactPath,
  'fpm.binary': FactPath,
  'fpm.conf': FactPath,
  'fpm.pid': FactPid,
  'fpm.pidFile': FactPath,
  'fpm.errorLog': FactPath,
  'fpm.unit': FactUnit,
  'fpm.socket': FactPath,
  'fpm.phpIni': FactPath,
  'fpm.poolDir': FactPath,
  'fpm.statusUrl': FactUrl,
  'fpm.slowlog': FactPath,
  'site.probeUrl': FactUrl,
  'kernel.log': FactPath,
} as const;

export type TemplateFact = keyof typeof TEMPLATE_FACTS;

export const isTemplateFact = (name: string): name is TemplateFact => Object.hasOwn(TEMPLATE_FACTS, name);

/** Reads a dotted fact; undefined when unknown. */
export function factValue(facts: Facts, name: TemplateFact): string | number | undefined {
  const [group, key] = name.split('.') as [keyof Facts, string];
  const section = facts[group];
  if (section === undefined || typeof section !== 'object' || section === null) return undefined;
  const value = (section as Record<string, unknown>)[key];
  return typeof value === 'string' || typeof value === 'number' ? value : undefined;
}

/**
 * Overlays facts: `override` wins key by key (inventory over discovery).
 */
export function mergeFacts(base: Facts, override: Facts): Facts {
  const out: Facts = { ...base };
  if (override.systemd !== undefined) out.systemd = override.systemd;
  for (const group of ['nginx', 'fpm', 'site', 'kernel'] as const) {
    const o = override[group];
    if (o !== undefined) {
      (out as Record<string, unknown>)[group] = { ...(base[group] ?? {}), ...o };
    }
  }
  return out;
}
