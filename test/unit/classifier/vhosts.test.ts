import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../src/core/check-result.ts';
import type { HostPicture, NginxServer } from '../../../src/core/discovery/host-picture.ts';
import { renderJson } from '../../../src/core/report/render-json.ts';
import { baseResults, log, output, picture, result, run } from './fixtures.ts';

// Two virtual hosts: the capture's site (its own logs), and a TLS shop with its own error log
// whose proxy_pass backend is down. Real nginx lines from the capture, read as the shop's.
const SHOP_ERROR = '/var/log/nginx/shop.error.log';
const SHOP_ACCESS = '/var/log/nginx/shop.access.log';

function twoVhosts(): HostPicture {
  const p = picture();
  const site: NginxServer = {
    names: ['medic.test'],
    listens: [{ port: 80, ssl: false, defaultServer: false }],
    errorLogs: ['/var/log/nginx/error.log'],
    accessLogs: ['/var/log/nginx/access.log'],
  };
  const shop: NginxServer = {
    names: ['shop.example.com'],
    listens: [{ port: 443, ssl: true, defaultServer: false }],
    errorLogs: [SHOP_ERROR],
    accessLogs: [SHOP_ACCESS],
  };
  p.nginx = {
    ...p.nginx,
    servers: [site, shop],
    vhostProbes: [
      { server: 'medic.test', url: 'http://medic.test/' },
      { server: 'shop.example.com', url: 'https://shop.example.com/' },
    ],
  };
  return p;
}

const probe = (server: string, stdout: string, stderr = ''): CheckResult => ({
  ...result('http_probe', stdout, { stderr }),
  id: 'vhost_probe',
  subject: server,
});
const errorLog = (path: string, text: string): CheckResult => ({ ...result('nginx_error_log', text), subject: path });
const accessLog = (path: string, text: string): CheckResult => ({ ...result('nginx_access_log', text), subject: path });

/** The shop's log says server: shop.example.com, as nginx writes it for that vhost's requests. */
const asShop = (text: string): string => text.replaceAll('server: medic.test', 'server: shop.example.com');

describe('several virtual hosts', () => {
  const base = baseResults('none');

  it("a 502 in the second vhost's own log is the verdict, and the report names that vhost", () => {
    const c = run({
      picture: twoVhosts(),
      results: [
        ...base,
        errorLog('/var/log/nginx/error.log', ''),
        errorLog(SHOP_ERROR, asShop(log('proxy-refused.error.log'))),
        accessLog(SHOP_ACCESS, log('proxy-refused.access.log')),
        probe('medic.test', 'http_code=200 time_total=0.001'),
        probe('shop.example.com', 'http_code=502 time_total=0.002'),
      ],
    });
    const verdict = c.findings[0];
    expect(verdict?.cause).toBe('proxy_upstream_down');
    expect(verdict?.title).toMatch(/\(vhost shop\.example\.com\)$/);
    expect(verdict?.vhosts).toEqual(['shop.example.com']);
    expect(verdict?.evidence[0]).toMatch(/^\[vhost shop\.example\.com\] 2026\/11\/23 .*connect\(\) failed \(111: Connection refused\)/);
    expect(c.findings).not.toContainEqual(expect.objectContaining({ cause: 'healthy' }));
    const json = JSON.parse(
      renderJson({
        host: 'web-01',
        playbook: 'nginx-502',
        startedAt: '',
        durationMs: 1,
        verdict: { cause: verdict?.cause ?? 'unknown_502', title: verdict?.title ?? '' },
        findings: c.findings,
        incomplete: false,
        gaps: [],
        facts: {},
        checks: [],
      }),
    ) as { verdict: { title: string }; findings: { vhosts?: string[] }[] };
    expect(json.verdict.title).toContain('shop.example.com');
    expect(json.findings[0]?.vhosts).toEqual(['shop.example.com']);
  });

  it('a failing probe of one vhost is never healthy, even with clean logs and the other vhost answering 200', () => {
    const c = run({
      picture: twoVhosts(),
      results: [
        ...base,
        errorLog('/var/log/nginx/error.log', ''),
        errorLog(SHOP_ERROR, ''),
        probe('medic.test', 'http_code=200 time_total=0.001'),
        probe('shop.example.com', output('http-probe-refused.stdout'), output('http-probe-refused.stderr')),
      ],
    });
    expect(c.findings[0]?.cause).toBe('unknown_502');
    expect(c.findings[0]?.severity).toBe('critical');
    expect(c.findings[0]?.title).toMatch(/does not answer.*\(vhost shop\.example\.com\)$/);
    expect(c.findings[0]?.evidence).toContain('[vhost shop.example.com] https://shop.example.com/ http_code=000 time_total=0.000072');
    expect(c.findings).not.toContainEqual(expect.objectContaining({ cause: 'healthy' }));
  });

  it('a 502 answered by one vhost, in its access log only, is not healthy and names it', () => {
    const c = run({
      picture: twoVhosts(),
      results: [
        ...base,
        errorLog('/var/log/nginx/error.log', ''),
        accessLog(SHOP_ACCESS, log('proxy-refused.access.log')),
        probe('medic.test', 'http_code=200 time_total=0.001'),
        probe('shop.example.com', 'http_code=200 time_total=0.001'),
      ],
    });
    expect(c.findings[0]?.cause).toBe('unknown_502');
    expect(c.findings[0]?.title).toMatch(/\(vhost shop\.example\.com\)$/);
  });

  it('is healthy only when every vhost answers, and says so with each probe', () => {
    const c = run({
      picture: twoVhosts(),
      results: [
        ...base,
        errorLog('/var/log/nginx/error.log', ''),
        errorLog(SHOP_ERROR, ''),
        probe('medic.test', 'http_code=200 time_total=0.001'),
        probe('shop.example.com', 'http_code=301 time_total=0.001'),
      ],
    });
    expect(c.findings[0]?.cause).toBe('healthy');
    expect(c.findings[0]?.title).toMatch(/^The site answers \(2 probes, 200, 301\)/);
    expect(c.findings[0]?.evidence).toEqual([
      '[vhost medic.test] http://medic.test/ http_code=200 time_total=0.001',
      '[vhost shop.example.com] https://shop.example.com/ http_code=301 time_total=0.001',
    ]);
  });

  it('a line in a log that several vhosts share goes to the vhost nginx names in it', () => {
    const p = twoVhosts();
    for (const s of p.nginx.servers) s.errorLogs = ['/var/log/nginx/error.log'];
    const c = run({
      picture: p,
      results: [
        ...base,
        errorLog('/var/log/nginx/error.log', asShop(log('proxy-refused.error.log'))),
        probe('medic.test', 'http_code=200 time_total=0.001'),
      ],
    });
    expect(c.findings[0]?.vhosts).toEqual(['shop.example.com']);
  });

  it('with one vhost, lines and titles stay as they were', () => {
    const c = run({ results: [...baseResults('ok'), result('nginx_error_log', log('proxy-refused.error.log'))] });
    expect(c.findings[0]?.cause).toBe('proxy_upstream_down');
    expect(c.findings[0]?.title).not.toMatch(/vhost/);
    expect(c.findings[0]?.vhosts).toBeUndefined();
  });
});
