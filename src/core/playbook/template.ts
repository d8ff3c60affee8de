import { TEMPLATE_FACTS, factValue, isTemplateFact, type Facts, type TemplateFact } from '../facts.ts';
import { ITEM_FIELDS, type EachItem, type EachList } from './each-lists.ts';

const PLACEHOLDER = /\{\{\s*([A-Za-z.]+)\s*\}\}/g;

/** Fact names used in one argument. */
export function placeholders(arg: string): string[] {
  return [...arg.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
}

/** A harmless value of each fact's type, used to check a playbook's commands when it loads. */
const SAMPLES: Record<TemplateFact, string> = {
  'nginx.binary': '/usr/sbin/nginx',
  'nginx.conf': '/etc/nginx/nginx.conf',
  'nginx.prefix': '/etc/nginx/',
  'nginx.errorLog': '/var/log/nginx/error.log',
  'nginx.accessLog': '/var/log/nginx/access.log',
  'nginx.pid': '1234',
  'nginx.unit': 'nginx.service',
  'nginx.upstreamSocket': '/run/php/php8.2-fpm.sock',
  'fpm.binary': '/usr/sbin/php-fpm8.2',
  'fpm.conf': '/etc/php/8.2/fpm/php-fpm.conf',
  'fpm.pid': '1235',
  'fpm.pidFile': '/run/php/php8.2-fpm.pid',
  'fpm.errorLog': '/var/log/php8.2-fpm.log',
  'fpm.unit': 'php8.2-fpm.service',
  'fpm.socket': '/run/php/php8.2-fpm.sock',
  'fpm.phpIni': '/etc/php/8.2/fpm/php.ini',
  'fpm.poolDir': '/etc/php/8.2/fpm/pool.d',
  'fpm.statusUrl': 'http://127.0.0.1/fpm-status?full',
  'fpm.slowlog': '/var/log/php8.2-fpm.slow.log',
  'site.probeUrl': 'http://127.0.0.1/',
  'kernel.log': '/var/log/kern.log',
};

/** The command with every placeholder replaced by a sample of its type (`each`: the list's item fields too). */
export function sampleArgv(argv: readonly string[], each?: EachList): string[] {
  const fields = each === undefined ? {} : ITEM_FIELDS[each];
  return argv.map((arg) =>
    arg.replace(PLACEHOLDER, (_, name: string) => (isTemplateFact(name) ? SAMPLES[name] : (fields[name]?.sample ?? `{{${name}}}`))),
  );
}

export type RenderResult = { ok: true; argv: string[] } | { ok: false; missing: string[] } | { ok: false; invalid: string };

/**
 * Fills the placeholders of a command from host facts. Each value is validated again against
 * its fact type here, so a value that slipped past an earlier layer still cannot shape the
 * command; `shellQuote` then quotes it.
 */
export function renderArgv(argv: readonly string[], facts: Facts, item?: { list: EachList; item: EachItem }): RenderResult {
  const missing: string[] = [];
  let invalid: string | undefined;
  const fields = item === undefined ? {} : ITEM_FIELDS[item.list];
  const out = argv.map((arg) =>
    arg.replace(PLACEHOLDER, (_, name: string) => {
      const field = fields[name];
      if (field !== undefined && item !== undefined) {
        const value = item.item.values[name];
        const parsed = value === undefined ? undefined : field.type.safeParse(value);
        if (parsed === undefined) missing.push(`${item.list} ${name}`);
        else if (!parsed.success)
          invalid ??= `${item.list} ${name} = ${JSON.stringify(value).slice(0, 200)} ${parsed.error.issues[0]?.message ?? 'is invalid'}`;
        return value ?? '';
      }
      if (!isTemplateFact(name)) {
        invalid ??= `unknown fact "${name}"`;
        return '';
      }
      const value = factValue(facts, name);
      if (value === undefined) {
        missing.push(name);
        return '';
      }
      const parsed = TEMPLATE_FACTS[name].safeParse(value);
      if (!parsed.success) {
        invalid ??= `fact ${name} = ${JSON.stringify(String(value)).slice(0, 200)} ${parsed.error.issues[0]?.message ?? 'is invalid'}`;
        return '';
      }
      return String(value);
    }),
  );
  if (invalid !== undefined) return { ok: false, invalid };
  if (missing.length > 0) return { ok: false, missing };
  return { ok: true, argv: out };
}
