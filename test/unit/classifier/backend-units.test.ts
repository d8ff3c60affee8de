import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../src/core/check-result.ts';
import { parseBackendUnits } from '../../../src/core/classifier/parse/backend-units.ts';
import { backendListeners, backendUnits } from '../../../src/core/discovery/backend-listeners.ts';
import { discover } from '../../../src/core/discovery/discover.ts';
import { checkReadOnly } from '../../../src/core/playbook/allowlist.ts';
import { parsePlaybook } from '../../../src/core/playbook/parse-playbook.ts';
import { renderArgv } from '../../../src/core/playbook/template.ts';
import { readFileSync } from 'node:fs';
import { asCurrentLine } from './field-cases.ts';
import { baseResults, NOW, picture, readFixture, result, run } from './fixtures.ts';

/**
 * The application server behind a pass, named by the unit systemd runs it in: `ss -p` names the
 * process at the upstream's address, `ps -o pid=,unit=` its unit, and that unit's journal is read.
 */

const SS = [
  'tcp   LISTEN 0      2048       127.0.0.1:8501       0.0.0.0:*    users:(("gunicorn",pid=812,fd=5),("gunicorn",pid=813,fd=5))',
  'u_str LISTEN 0      100    /run/uwsgi/app.sock 41412 * 0    users:(("uwsgi",pid=920,fd=3))',
  'u_str LISTEN 0      4096   /run/php/php8.2-fpm.sock 68335 * 0    users:(("php-fpm8.2",pid=700,fd=8))',
  'tcp   LISTEN 0      511        127.0.0.1:3000       0.0.0.0:*    users:(("node",pid=1500,fd=21))',
].join('\n');

const pass = (kind: 'proxy' | 'uwsgi' | 'fastcgi', target: string) => ({
  kind,
  target,
  file: '/etc/nginx/sites-enabled/app',
  line: `${kind}_pass ${target};`,
});
const UPSTREAMS = [
  pass('proxy', 'http://127.0.0.1:8501'),
  pass('uwsgi', 'unix:/run/uwsgi/app.sock'),
  pass('fastcgi', 'unix:/run/php/php8.2-fpm.sock'),
  pass('proxy', 'http://10.0.0.9:3000'),
];

describe('which backend listens where nginx passes, and its unit', () => {
  it('ss -p → the listeners of the passes, php-fpm left out (its log is read on its own), another machine left out', () => {
    expect(backendListeners(UPSTREAMS, [result('sockets', SS)])).toEqual([
      { subject: 'gunicorn (pid 812) at 127.0.0.1:8501', values: { item: '812' } },
      { subject: 'uwsgi (pid 920) at /run/uwsgi/app.sock', values: { item: '920' } },
    ]);
  });

  it('ps -o pid=,unit= → a system service only: not "-", a login session or a user manager', () => {
    expect([
      ...parseBackendUnits('  812 myapp.service\n  920 uwsgi-app.service\n 1500 -\n 1600 session-3.scope\n 1700 user@1000.service\n'),
    ]).toEqual([
      [812, 'myapp.service'],
      [920, 'uwsgi-app.service'],
    ]);
  });

  it('the units, each once, become the list whose journals are read', () => {
    const listeners = backendListeners(UPSTREAMS, [result('sockets', SS)]);
    const [first] = listeners;
    if (first === undefined) expect.unreachable('no listener found in the sockets output');
    const units = backendUnits(listeners, [
      result('backend_unit', '  812 myapp.service\n', { subject: first.subject }),
      result('backend_unit', '  920 myapp.service\n'),
    ]);
    expect(units).toEqual([{ subject: 'myapp.service', values: { item: 'myapp.service' } }]);
  });

  it('the playbook renders the two checks from the discovered items, and the allowlist takes them', () => {
    const playbook = parsePlaybook(readFileSync('playbooks/nginx-502.yaml', 'utf8'), 'playbooks/nginx-502.yaml');
    const unitCheck = playbook.checks.find((c) => c.id === 'backend_units');
    const journalCheck = playbook.checks.find((c) => c.id === 'backend_unit_journal');
    const r1 = renderArgv(unitCheck?.run ?? [], {}, { list: 'backend.listeners', item: { subject: 'gunicorn', values: { item: '812' } } });
    const r2 = renderArgv(
      journalCheck?.run ?? [],
      {},
      { list: 'backend.units', item: { subject: 'myapp.service', values: { item: 'myapp.service' } } },
    );
    expect(r1).toEqual({ ok: true, argv: ['ps', '-o', 'pid=,unit=', '-p', '812'] });
    expect(r2).toEqual({
      ok: true,
      argv: ['journalctl', '-u', 'myapp.service', '--no-pager', '-o', 'short-iso', '--since', '-1h', '-n', '500'],
    });
    expect(journalCheck?.sudo).toBe(true);
    for (const r of [r1, r2]) expect(r.ok && checkReadOnly(r.argv)).toBeNull();
    // A value that is not a pid or a unit name never reaches a command line.
    expect(
      renderArgv(unitCheck?.run ?? [], {}, { list: 'backend.listeners', item: { subject: 'x', values: { item: '812;id' } } }),
    ).toMatchObject({ ok: false });
    expect(
      renderArgv(unitCheck?.run ?? [], {}, { list: 'backend.listeners', item: { subject: 'x', values: { item: '1' } } }),
    ).toMatchObject({ ok: false });
    expect(
      renderArgv(journalCheck?.run ?? [], {}, { list: 'backend.units', item: { subject: 'x', values: { item: '--file=/etc/shadow' } } }),
    ).toMatchObject({ ok: false });
  });

  it.each([
    [['ps', '-o', 'pid=,unit=', '-p', '812;id'], /value of "-p"/],
    [['ps', '-o', 'pid=,unit=', '-p', '812', '--forest', 'x'], /flag "--forest"|operand/],
    [['journalctl', '-u', 'myapp.service', '-f'], /flag "-f"/],
    [['journalctl', '-u', 'myapp.service', '--file', '/etc/shadow'], /option "--file"|flag "--file"/],
    [['journalctl', '-u', 'myapp.service', '--vacuum-size=1'], /option "--vacuum-size"/],
    [['journalctl', '-u', 'myapp.service', '--rotate'], /flag "--rotate"/],
    [['journalctl', '-u', '--flush'], /value of "-u"/],
    [['journalctl', '-u', 'myapp.service', '-o', 'export'], /value of "-o"/],
  ])('refuses %j', (argv, why) => {
    expect(checkReadOnly(argv)).toMatch(why);
  });

  it('discovery runs it all: sockets and nginx -T give the listeners, the unit check gives the units', () => {
    const base: CheckResult[] = [
      result('processes', '29570 1 0 root 3000 4026531836 4026531841 nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf\n', {
        command: "ps -eo 'pid=,ppid=,uid=,user:64=,rss=,pidns=,mntns=,args=' -ww",
      }),
    ];
    const withConfig = [
      ...base,
      result(
        'nginx_config',
        '# configuration file /etc/nginx/nginx.conf:\nhttp { server { listen 80; location / { proxy_pass http://127.0.0.1:8501; } } }\n',
      ),
      result('sockets', SS),
    ];
    const d1 = discover(withConfig, {});
    expect(d1.items['backend.listeners'].map((i) => i.values.item)).toEqual(['812']);
    expect(d1.items['backend.units']).toEqual([]);
    const d2 = discover([...withConfig, result('backend_unit', '  812 myapp.service\n')], {});
    expect(d2.items['backend.units'].map((i) => i.values.item)).toEqual(['myapp.service']);
  });
});

/** gunicorn's own lines as the journal shows them (`journalctl -o short-iso`), from the field fixture, moved into the window. */
const GUNICORN = readFixture('field/gunicorn.log')
  .split('\n')
  .filter((l) => /WORKER TIMEOUT/.test(l))
  .slice(0, 1)
  .map((l) => `${new Date(NOW.getTime() - 90_000).toISOString().slice(0, 19)}+0000 web-01 gunicorn[812]: ${l.replace(/^\[[^\]]*\] /, '')}`);

describe('findings name the backend and its unit, with its own journal as evidence', () => {
  const p = () => {
    const pic = picture({ upstreams: [pass('proxy', 'http://127.0.0.1:8501')] });
    pic.systemd = true;
    return pic;
  };
  // https://github.com/matyhtf/framework/issues/44 (also in field/nginx-error.lines)
  const timeout = `${asCurrentLine('2015/03/31 23:24:26 [error] 31214#0: *29020 upstream prematurely closed connection while reading response header from upstream, client: 117.136.39.216, server: m.ssiipp.com, request: "GET /guimi/me/ HTTP/1.1", upstream: "http://127.0.0.1:8501/guimi/me/", host: "m.ssiipp.com"')}\n`;

  it('upstream_reset: "gunicorn (myapp.service, pid 812)", the WORKER TIMEOUT line from myapp.service\'s journal, and how to read the rest of it', () => {
    const { findings } = run({
      picture: p(),
      results: [
        ...baseResults('fpm-down'),
        result('nginx_error_log', timeout),
        result('sockets', SS),
        result('backend_unit', '  812 myapp.service\n'),
        result('backend_log', `${GUNICORN.join('\n')}\n`, { subject: 'myapp.service' }),
      ],
    });
    const v = findings[0];
    expect(v?.cause).toBe('upstream_reset');
    expect(v?.title).toMatch(/^The backend gunicorn \(myapp\.service, pid 812\) at 127\.0\.0\.1:8501 closed connections mid-request/);
    expect(v?.title).not.toMatch(/PHP-FPM/);
    expect(v?.evidence).toContain(GUNICORN[0]);
    expect(v?.explanation).toMatch(/gunicorn killed workers that ran past its --timeout/);
    expect(v?.nextSteps).toContain(
      'Read the rest of its journal around those times: sudo journalctl -u myapp.service --since "1 hour ago" --no-pager',
    );
  });

  it("another unit's lines are that backend's story, not this one's", () => {
    const { findings } = run({
      picture: p(),
      results: [
        ...baseResults('fpm-down'),
        result('nginx_error_log', timeout),
        result('sockets', SS),
        result('backend_unit', '  812 myapp.service\n'),
        result('backend_log', `${GUNICORN.join('\n')}\n`, { subject: 'otherapp.service' }),
      ],
    });
    expect(findings[0]?.evidence).not.toContain(GUNICORN[0]);
  });

  it('the host-wide grep and the unit journal find the same line: it is shown once, with its unit', () => {
    const { findings } = run({
      picture: p(),
      results: [
        ...baseResults('fpm-down'),
        result('nginx_error_log', timeout),
        result('sockets', SS),
        result('backend_unit', '  812 myapp.service\n'),
        result('backend_log', `${GUNICORN.join('\n')}\n`),
        result('backend_log', `${GUNICORN.join('\n')}\n`, { subject: 'myapp.service' }),
      ],
    });
    expect(findings[0]?.evidence.filter((e) => e === GUNICORN[0])).toHaveLength(1);
  });
});

describe("a full uWSGI listen queue is the named backend's, with its own journal line", () => {
  // https://github.com/unbit/uwsgi/issues/1647: nginx's EAGAIN on the uWSGI socket…
  const eagain =
    '2017/09/22 18:04:52 [error] 6536#0: *56841 connect() to unix:///var/sockets/harri.sock failed (11: Resource temporarily unavailable) while connecting to upstream, client: 10.10.6.22, server: communication-api.harri.com, request: "GET /api/v1/brands/68809/notifications/counts HTTP/1.1", upstream: "uwsgi://unix:///var/sockets/harri.sock:", host: "communication-api.harri.com", referrer: "https://harri.com/team"';
  // uWSGI's own line for a full queue (field/uwsgi.log, from another report), as the unit's journal would show it.
  const full =
    readFixture('field/uwsgi.log')
      .split('\n')
      .find((l) => /listen queue of socket/.test(l)) ?? '';
  const journalLine = `${new Date(NOW.getTime() - 60_000).toISOString().slice(0, 19)}+0000 web-01 uwsgi[920]: ${full.replace(/^.*?(\*\*\* uWSGI listen queue|uWSGI listen queue)/, '$1')}`;

  it('resource_limits names uwsgi (harri.service, pid 920) and quotes its listen-queue line', () => {
    const pic = picture({ upstreams: [pass('uwsgi', 'unix:///var/sockets/harri.sock')] });
    pic.systemd = true;
    const { findings } = run({
      picture: pic,
      results: [
        ...baseResults('fpm-down'),
        result('nginx_error_log', `${asCurrentLine(eagain)}\n`),
        result('sockets', 'u_str LISTEN 101    100    /var/sockets/harri.sock 41412 * 0    users:(("uwsgi",pid=920,fd=3))\n'),
        result('backend_unit', '  920 harri.service\n'),
        result('backend_log', `${journalLine}\n`, { subject: 'harri.service' }),
      ],
    });
    const v = findings[0];
    expect(full).not.toBe('');
    expect(v?.cause).toBe('resource_limits');
    expect(v?.title).toMatch(
      /^the backend's listen queue is full \(11: Resource temporarily unavailable\) connecting to uwsgi \(harri\.service, pid 920\) at unix:\/var\/sockets\/harri\.sock/,
    );
    expect(v?.evidence).toContain(journalLine);
  });
});
