import { describe, expect, it } from 'vitest';
import { asCurrentLine } from './field-cases.ts';
import { baseResults, picture, result, run } from './fixtures.ts';

/**
 * Real nginx lines from public reports, one per kind of pass (the source above each), moved into
 * the diagnosis window: each timeout is explained with the directive of its own module.
 */
const TIMEOUT_LINES = {
  // https://github.com/unbit/uwsgi/issues/1647
  uwsgi: '2017/09/22 18:02:02 [error] 6536#0: *56531 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.10.2.171, server: communication-api.harri.com, request: "GET /health_check HTTP/1.1", upstream: "uwsgi://unix:///var/sockets/harri.sock", host: "10.10.2.171"',
  // https://github.com/tsurdilo/my-temporal-dockercompose/issues/1
  grpc: '2023/05/03 14:24:53 [error] 29#29: *7440 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 172.23.0.3, server: , request: "POST /temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue HTTP/2.0", upstream: "grpc://172.23.0.11:7237", host: "temporal-nginx:7233"',
  // https://github.com/fossar/selfoss/issues/1427 (quoted without nginx's date)
  fastcgi: '[error] 1046#1046: *2094 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 192.168.17.1, server: localhost, request: "GET /update HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "192.168.17.128"',
} as const;

const directive = (name: string, value: string) => ({ name, value, file: '/etc/nginx/conf.d/app.conf', line: `${name} ${value};` });

describe('upstream_timeout names the directive of the pass that timed out', () => {
  it.each([
    ['uwsgi', 'uwsgi_read_timeout', /proxy_read_timeout|fastcgi_read_timeout/],
    ['grpc', 'grpc_read_timeout', /proxy_read_timeout|fastcgi_read_timeout/],
    ['fastcgi', 'fastcgi_read_timeout', /proxy_read_timeout|uwsgi_read_timeout/],
  ] as const)('%s_pass → %s', (kind, wanted, never) => {
    const directives = [directive('proxy_read_timeout', '30s'), directive(wanted, '20s')];
    const { findings } = run({
      picture: picture({ directives }),
      results: [...baseResults('timeout'), result('nginx_error_log', `${asCurrentLine(TIMEOUT_LINES[kind])}\n`)],
    });
    const v = findings[0];
    expect(v?.cause).toBe('upstream_timeout');
    expect(v?.explanation).toContain(`did not answer within ${wanted}`);
    expect(v?.nextSteps.join('\n')).toContain(`Raise ${wanted} only`);
    expect(`${v?.explanation}\n${v?.nextSteps.join('\n')}`).not.toMatch(never);
    // The evidence quotes the directive that governs this pass, not another module's.
    expect(v?.evidence).toContain(`/etc/nginx/conf.d/app.conf: ${wanted} 20s;`);
    expect(v?.evidence).not.toContain('/etc/nginx/conf.d/app.conf: proxy_read_timeout 30s;');
  });
});
