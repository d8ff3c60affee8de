import { describe, expect, it } from 'vitest';
import { checkReadOnly } from '../../../src/core/playbook/allowlist.ts';

describe('read-only allowlist', () => {
  it.each([
    [['tail', '-n', '3000', '/var/log/nginx/error.log']],
    [['ps', '-eo', 'pid=,ppid=,user=,rss=,args=', '-ww']],
    [['ss', '-H', '-l', '-n', '-x', '-t']],
    [['ss', '-tlnp']],
    [['/usr/sbin/nginx', '-T', '-c', '/etc/nginx/nginx.conf']],
    [['systemctl', 'status', '--no-pager', 'php8.2-fpm.service']],
    [['journalctl', '-k', '-o', 'short-iso', '--no-pager', '-n', '3000']],
    [['dmesg', '--time-format', 'iso']],
    [['curl', '-sS', '-o', '/dev/null', '-m', '5', '-w', 'http_code=%{http_code}', 'http://127.0.0.1:8080/']],
    [['stat', '-c', '%n|%F|%U|%G|%a', '/run/php/php8.2-fpm.sock']],
    [['grep', '-r', '-H', '--include=*.conf', '-v', '-e', '^\\s*;', '/etc/php/8.2/fpm/pool.d']],
    [['free', '-b']],
    [['date', '+%Y-%m-%dT%H:%M:%S%z']],
  ])('accepts %j', (argv) => {
    expect(checkReadOnly(argv)).toBeNull();
  });

  it.each([
    [['rm', '-rf', '/'], /not on the read-only allowlist/],
    [['sh', '-c', 'id'], /"sh" is not on/],
    [['bash', '-c', 'cat /etc/passwd'], /"bash" is not on/],
    [['sudo', 'cat', '/etc/shadow'], /"sudo" is not on/],
    [['tail', '-f', '/var/log/nginx/error.log'], /flag "-f"/],
    [['dmesg', '-c'], /flag "-c"/],
    [['dmesg', '--clear'], /flag "--clear"/],
    [['find', '/tmp', '-delete'], /not allowed|flag/],
    [['find', '/tmp', '-exec', 'rm', '{}', ';'], /not allowed|flag/],
    [['systemctl', 'restart', 'nginx'], /not read-only/],
    [['systemctl', 'stop', 'php8.2-fpm'], /not read-only/],
    [['nginx', '-s', 'reload'], /flag "-s"/],
    [['nginx', '-t'], /flag "-t"/],
    [['curl', '-d', 'x=1', 'http://127.0.0.1/'], /flag "-d"/],
    [['curl', '-X', 'DELETE', 'http://127.0.0.1/'], /flag "-X"/],
    [['curl', '-o', '/etc/passwd', 'http://127.0.0.1/'], /value of "-o"/],
    [['curl', 'file:///etc/shadow'], /operand/],
    [['journalctl', '--vacuum-size=1M'], /option "--vacuum-size"/],
    [['journalctl', '--rotate'], /flag "--rotate"/],
    [['cat', '/etc/passwd;id'], /operand/],
    [['cat', '$(id)'], /operand/],
    [['cat', '/var/log/../../etc/shadow'], /operand/],
    [['tail', '-n', '10', 'relative/path'], /operand/],
    [['cat', '/tmp/a\nb'], /newline/],
    [['/tmp/evil/nginx-wrapper', '-T'], /not on the read-only allowlist/],
    [['date', '-s', '2020-01-01'], /flag "-s"/],
    [['ls', '-R', '/'], /flag "-R"/],
  ])('refuses %j', (argv, why) => {
    expect(checkReadOnly(argv)).toMatch(why);
  });
});
