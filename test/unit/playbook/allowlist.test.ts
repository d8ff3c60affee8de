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
    [['nginx', '-t']],
    [['/usr/sbin/nginx', '-t', '-q', '-c', '/etc/nginx/nginx.conf']],
    [['/usr/local/sbin/nginx', '-V']],
    [['/usr/sbin/php-fpm8.2', '-i']],
    [['php-fpm', '-i']],
    [['cat', '/proc/meminfo']],
    // Where a master runs (a container's cgroup, another root), compared with our own shell's.
    [['cat', '/proc/4242/cgroup']],
    [['cat', '/proc/4242/mountinfo']],
    [['cat', '/proc/self/cgroup']],
    [['cat', '/proc/self/mountinfo']],
    [['curl', '-sS', '-o', '/dev/null', '-w', 'http_code=%{http_code} time_total=%{time_total}\\n', 'http://127.0.0.1/']],
    // A virtual host probed by its name over TLS, pinned to loopback.
    [
      [
        'curl',
        '-sS',
        '-k',
        '-o',
        '/dev/null',
        '-m',
        '5',
        '--resolve',
        'shop.example.com:443:127.0.0.1',
        '-w',
        'http_code=%{http_code}',
        'https://shop.example.com/',
      ],
    ],
    [['curl', '-sS', '--resolve=shop.example.com:8443:[::1]', 'https://shop.example.com:8443/']],
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
    [['/tmp/evil/nginx-wrapper', '-T'], /neither in a system folder/],
    [['date', '-s', '2020-01-01'], /flag "-s"/],
    [['ls', '-R', '/'], /flag "-R"/],
    // --resolve only ever points a name at this host's loopback.
    [['curl', '--resolve', 'shop.example.com:443:10.0.0.5', 'https://shop.example.com/'], /value of "--resolve"/],
    [['curl', '--resolve', 'shop.example.com:443:203.0.113.7', 'https://shop.example.com/'], /value of "--resolve"/],
    [['curl', '--resolve=shop.example.com:443:example.org', 'https://shop.example.com/'], /value of "--resolve"/],
    [['curl', '--resolve', '*:443:127.0.0.1', 'https://shop.example.com/'], /value of "--resolve"/],
    [['curl', '--resolve', 'shop.example.com:443:127.0.0.1,10.0.0.5', 'https://shop.example.com/'], /value of "--resolve"/],
    [
      ['curl', '--connect-to', 'shop.example.com:443:evil.example:443', 'https://shop.example.com/'],
      /option "--connect-to"|flag "--connect-to"/,
    ],
    [['curl', '-k', '-o', '/tmp/page.html', 'https://shop.example.com/'], /value of "-o"/],
    [['curl', '--output=/tmp/page.html', 'https://shop.example.com/'], /value of "--output"/],
    [['curl', '-K', '/tmp/curlrc', 'https://shop.example.com/'], /flag "-K"/],
    [['curl', '--config', '/tmp/curlrc', 'https://shop.example.com/'], /flag "--config"/],
    [['curl', '-k', '--cacert', '/etc/ssl/x.pem', 'https://shop.example.com/'], /flag "--cacert"/],
  ])('refuses %j', (argv, why) => {
    expect(checkReadOnly(argv)).toMatch(why);
  });

  describe('a program path is a system folder or the inventory', () => {
    it.each([
      '/tmp/x/nginx',
      '/home/mallory/nginx',
      '/usr/sbin/../../tmp/nginx',
      '/usr/sbin//nginx',
      '/opt/nginx/sbin/nginx',
      '/usr/sbin/x/nginx',
    ])('refuses %s -T', (program) => {
      expect(checkReadOnly([program, '-T', '-c', '/etc/nginx/nginx.conf'])).toMatch(/system folder|plain absolute path/);
    });

    it('accepts a path outside the system folders only when the inventory names it', () => {
      const argv = ['/opt/nginx/sbin/nginx', '-T', '-c', '/opt/nginx/conf/nginx.conf'];
      expect(checkReadOnly(argv, { trustedPrograms: ['/opt/nginx/sbin/nginx'] })).toBeNull();
      expect(checkReadOnly(argv, { trustedPrograms: ['/opt/other/nginx'] })).toMatch(/system folder/);
    });
  });

  describe('nginx runs only to dump, test or print its version', () => {
    it.each([
      [['nginx'], /exactly one of -T, -t, -V/],
      [['/usr/sbin/nginx', '-c', '/etc/nginx/nginx.conf'], /exactly one of/],
      [['nginx', '-q'], /exactly one of/],
      [['nginx', '-p', '/etc/nginx/'], /exactly one of/],
      [['nginx', '-T', '-t'], /exactly one of/],
      [['nginx', '-V', '-c', '/etc/nginx/nginx.conf'], /-V takes no other/],
      [['nginx', '-g', 'daemon off;'], /flag "-g"/],
      [['nginx', '-T', '-e', '/tmp/x'], /flag "-e"/],
    ])('refuses %j', (argv, why) => {
      expect(checkReadOnly(argv)).toMatch(why);
    });
  });

  describe('php-fpm only reports about itself', () => {
    it.each([
      [['php-fpm8.2']],
      [['/usr/sbin/php-fpm8.2', '-t']],
      [['php-fpm8.2', '-y', '/etc/x.conf', '-i']],
      [['php-fpm8.2', '-i', '-i']],
      [['php-fpm8.2', '-D']],
    ])('refuses %j', (argv) => {
      expect(checkReadOnly(argv)).not.toBeNull();
    });
  });

  describe("curl's write-out is a fixed set of variables", () => {
    it.each([
      '@/etc/shadow',
      '@-',
      '%output{/tmp/pwned}%{http_code}',
      '%output{>>/tmp/pwned}',
      '%{stderr}%{http_code}',
      '%{json}',
      '%header{set-cookie}',
      '%{http_code}%',
      '100%',
      '%%{http_code}',
      '%{HTTP_CODE}',
      '%{url_effective}\t',
      '',
    ])('refuses -w %j', (format) => {
      expect(checkReadOnly(['curl', '-sS', '-w', format, 'http://127.0.0.1/'])).toMatch(/value of "-w"/);
      expect(checkReadOnly(['curl', '-sS', `--write-out=${format}`, 'http://127.0.0.1/'])).toMatch(/value of "--write-out"/);
    });
  });

  describe('paths are absolute, normalised and outside /dev, /proc and /sys', () => {
    it.each([
      ['tail', '/dev/zero'],
      ['tail', '/dev/kmsg'],
      ['cat', '/proc/self/environ'],
      ['cat', '/proc/1/environ'],
      ['cat', '/proc/self/cmdline'],
      ['cat', '/proc/0/cgroup'],
      ['cat', '/proc/-1/cgroup'],
      ['cat', '/proc/1/../1/cgroup'],
      ['cat', '/proc/thread-self/mountinfo'],
      ['cat', '/proc/1/task/1/cgroup'],
      ['cat', '/proc/1/root/etc/shadow'],
      ['tail', '/proc/1/cgroup'],
      ['tail', '/proc/meminfo'],
      ['cat', '/sys/kernel/debug/x'],
      ['cat', '/proc'],
      ['tail', '//var/log/nginx/error.log'],
      ['tail', '/var/log/./nginx/error.log'],
      ['tail', '/var/log/nginx/..'],
      ['stat', 'var/log/nginx/error.log'],
    ])('%s %s is refused', (program, path) => {
      expect(checkReadOnly([program, path])).toMatch(/operand/);
    });

    it('a folder with a trailing slash and names that merely start like /dev are fine', () => {
      expect(checkReadOnly(['ls', '-d', '/etc/php/8.2/fpm/pool.d/'])).toBeNull();
      expect(checkReadOnly(['tail', '/devops/error.log'])).toBeNull();
      expect(checkReadOnly(['cat', '/system/x'])).toBeNull();
    });
  });
});
