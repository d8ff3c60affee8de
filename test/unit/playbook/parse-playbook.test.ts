import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PARSER_KINDS } from '../../../src/core/check-result.ts';
import { playbookJsonSchema } from '../../../src/core/playbook/playbook-json-schema.ts';
import { parsePlaybook } from '../../../src/core/playbook/parse-playbook.ts';
import { renderArgv } from '../../../src/core/playbook/template.ts';

const shipped = readFileSync(new URL('../../../playbooks/nginx-502.yaml', import.meta.url), 'utf8');

const withCheck = (check: string): string => `name: evil\ntitle: Evil\nchecks:\n${check}`;

describe('parsePlaybook', () => {
  it('loads the shipped nginx-502 playbook with the seed checks', () => {
    const p = parsePlaybook(shipped, 'nginx-502.yaml');
    const ids = p.checks.map((c) => c.id);
    for (const id of [
      'nginx_error_log',
      'nginx_config',
      'fpm_config',
      'fpm_pools',
      'sockets',
      'fpm_socket_file',
      'fpm_log',
      'kernel_log',
      'memory',
      'fpm_status',
      'http_probe',
      'processes',
    ]) {
      expect(ids).toContain(id);
    }
    expect(p.window).toBe('15m');
    expect(p.checks.filter((c) => !PARSER_KINDS.includes(c.parse))).toEqual([]);
  });

  it.each([
    [
      'a write command',
      withCheck('  - { id: wipe, title: x, parse: raw, run: [rm, -rf, /var/log/nginx] }'),
      /check "wipe" is not read-only: program "rm"/,
    ],
    ['a shell', withCheck("  - { id: sh, title: x, parse: raw, run: [sh, -c, 'tail /var/log/x'] }"), /check "sh" is not read-only/],
    [
      'a pipe smuggled as an argument',
      withCheck("  - { id: pp, title: x, parse: raw, run: [tail, '/var/log/x | sh'] }"),
      /not read-only: tail: operand/,
    ],
    ['follow mode', withCheck("  - { id: ff, title: x, parse: raw, run: [tail, -f, '{{nginx.errorLog}}'] }"), /flag "-f"/],
    [
      'an unknown fact',
      withCheck("  - { id: uu, title: x, parse: raw, run: [cat, '{{nginx.secret}}'] }"),
      /unknown fact \{\{nginx.secret\}\}/,
    ],
    ['a typo in a key', withCheck('  - { id: tt, title: x, parse: raw, run: [free], tiemout: 5s }'), /tiemout/],
    ['a bad duration', withCheck('  - { id: dd, title: x, parse: raw, run: [free], timeout: soon }'), /duration/],
    ['an unknown parser', withCheck('  - { id: kk, title: x, parse: magic, run: [free] }'), /parse/],
    [
      'a duplicate id',
      withCheck('  - { id: aa, title: x, parse: raw, run: [free] }\n  - { id: aa, title: y, parse: raw, run: [free] }'),
      /appears twice/,
    ],
    ['not YAML', 'checks: [', /not valid YAML/],
    [
      'an item field the list does not have',
      withCheck("  - { id: ii, title: x, parse: raw, each: nginx.errorLogs, run: [curl, '{{item.url}}'] }"),
      /unknown fact \{\{item.url\}\}/,
    ],
    ['an item outside `each`', withCheck("  - { id: io, title: x, parse: raw, run: [tail, '{{item}}'] }"), /unknown fact \{\{item\}\}/],
    ['an unknown list', withCheck("  - { id: ul, title: x, parse: raw, each: nginx.everything, run: [tail, '{{item}}'] }"), /each/],
    [
      'a probe writing a file',
      withCheck(
        "  - { id: pw, title: x, parse: raw, each: site.vhosts, run: [curl, -o, /tmp/x, --resolve, '{{item.resolve}}', '{{item.url}}'] }",
      ),
      /value of "-o"/,
    ],
  ])('refuses %s with a clear message', (_name, text, message) => {
    expect(() => parsePlaybook(text, 'evil.yaml')).toThrow(message);
  });

  it('names the file in every error', () => {
    expect(() => parsePlaybook('name: 1', '/etc/medic/x.yaml')).toThrow(/^\/etc\/medic\/x\.yaml: /);
  });

  it('ships a JSON Schema that matches the zod schema (run `npm run schema` after changing it)', () => {
    const onDisk = JSON.parse(readFileSync(new URL('../../../playbooks/playbook.schema.json', import.meta.url), 'utf8'));
    expect(onDisk).toEqual(playbookJsonSchema());
  });
});

describe('renderArgv with an each item', () => {
  const vhost = (values: Record<string, string>) => ({ list: 'site.vhosts' as const, item: { subject: 'shop', values } });
  it('fills the item fields', () => {
    const r = renderArgv(
      ['curl', '--resolve', '{{item.resolve}}', '{{item.url}}'],
      {},
      vhost({ 'item.url': 'https://shop.example.com/', 'item.resolve': 'shop.example.com:443:127.0.0.1' }),
    );
    expect(r).toEqual({ ok: true, argv: ['curl', '--resolve', 'shop.example.com:443:127.0.0.1', 'https://shop.example.com/'] });
  });
  it.each([
    [{ 'item.url': 'https://shop.example.com/', 'item.resolve': 'shop.example.com:443:10.0.0.5' }, /item.resolve/],
    [{ 'item.url': 'https://shop.example.com/$(id)', 'item.resolve': 'shop.example.com:443:127.0.0.1' }, /item.url/],
  ])('refuses a hostile item %j', (values, why) => {
    const r = renderArgv(['curl', '--resolve', '{{item.resolve}}', '{{item.url}}'], {}, vhost(values));
    expect(r.ok).toBe(false);
    expect('invalid' in r ? r.invalid : '').toMatch(why);
  });
});

describe('renderArgv with hostile facts', () => {
  it.each([
    '/var/log/nginx/error.log; rm -rf /',
    '/var/log/$(id)',
    '/var/log/`id`',
    '/var/log/a\nb',
    '/var/log/a b',
    'relative/error.log',
    '/var/log/../../etc/shadow',
    "/var/log/it's",
  ])('refuses the path %j before anything runs', (errorLog) => {
    const r = renderArgv(['tail', '-n', '10', '{{nginx.errorLog}}'], { nginx: { errorLog } });
    expect(r.ok).toBe(false);
    expect(r).toHaveProperty('invalid', expect.stringMatching(/^fact nginx\.errorLog = /));
  });

  it('refuses a hostile URL fact', () => {
    const r = renderArgv(['curl', '{{site.probeUrl}}'], { site: { probeUrl: 'http://x/$(id)' } });
    expect(r.ok).toBe(false);
  });

  it('reports missing facts by name', () => {
    expect(renderArgv(['tail', '{{fpm.errorLog}}'], {})).toEqual({ ok: false, missing: ['fpm.errorLog'] });
  });

  it('fills good facts', () => {
    expect(renderArgv(['tail', '-n', '5', '{{fpm.errorLog}}'], { fpm: { errorLog: '/var/log/php8.2-fpm.log' } })).toEqual({
      ok: true,
      argv: ['tail', '-n', '5', '/var/log/php8.2-fpm.log'],
    });
  });
});
