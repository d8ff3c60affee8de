import { hostFromLabelValue } from '../../src/core/alerts/map-alert-host.ts';
import { parseFpmLog } from '../../src/core/classifier/parse/fpm-log.ts';
import { parseFpmStatus } from '../../src/core/classifier/parse/fpm-status.ts';
import { parseFpmSlowlog } from '../../src/core/classifier/parse/fpm-slowlog.ts';
import { parsePublicUrl } from '../../src/core/public-url.ts';
import { parseKernelLog } from '../../src/core/classifier/parse/kernel-log.ts';
import { parseNginxAccessLog } from '../../src/core/classifier/parse/nginx-access-log.ts';
import { parseNginxErrorLog } from '../../src/core/classifier/parse/nginx-error-log.ts';
import { parseSocketFile } from '../../src/core/classifier/parse/socket-file.ts';
import { parseSize } from '../../src/core/classifier/rules/memory-overcommit.ts';
import { gapSummary } from '../../src/core/classifier/rules/unknown-502.ts';
import { parseNginxTarget } from '../../src/core/classifier/upstream-address.ts';
import { parseUnits } from '../../src/core/discovery/discover.ts';
import { isFpmUnitName } from '../../src/core/discovery/host-picture.ts';
import { parseFpmConfig } from '../../src/core/discovery/parse-fpm-config.ts';
import { parseNginxDump, summarizeNginxConfig } from '../../src/core/discovery/parse-nginx-config.ts';
import { parseProcesses } from '../../src/core/discovery/parse-processes.ts';
import { sortMasters } from '../../src/core/discovery/trust-masters.ts';
import { containersOf, parseCgroup, parseMountinfo } from '../../src/core/discovery/container-context.ts';
import { resolveHosts } from '../../src/core/inventory/resolve-hosts.ts';
import type { Inventory } from '../../src/core/inventory/inventory-schema.ts';
import { defuseBroadcasts, escapeCode } from '../../src/core/report/escape-mrkdwn.ts';
import { redactSecrets, stripControls } from '../../src/core/report/sanitize.ts';
import { parseSlashCommand } from '../../src/adapters/slack/parse-slash-command.ts';
import { verifyBearer } from '../../src/adapters/alerts/verify-alert-request.ts';
import { runCommand } from '../../src/jobs/run-command.ts';
import type { CommandRunner } from '../../src/jobs/ports.ts';

/** How long each hostile input is: the size of a long log line or a big label, well under the 1 MiB output cap. */
export const NEAR_MISS_BYTES = 100 * 1024;

/** `unit` repeated to `bytes` characters, then `tail`: the shape that makes a backtracking regex retry. */
export const fill = (unit: string, tail = '', bytes = NEAR_MISS_BYTES): string =>
  unit.repeat(Math.ceil((bytes - tail.length) / unit.length)) + tail;

/**
 * One parser or regex fed by a host, Slack or an alert, with a near miss (the input that made its
 * old regex backtrack: almost a match, failing at the end) and an ordinary input of the same size.
 */
export interface NearMissCase {
  name: string;
  nearMiss: string;
  ordinary: string;
  run(input: string): unknown;
}

const NOW = Date.UTC(2026, 10, 23, 23, 0, 0);

const inventory: Inventory = {
  hosts: Object.fromEntries(
    ['web-01', 'web-02', 'db-01', 'shop-web-zz-01'].map((h) => [
      h,
      {
        address: '127.0.0.1',
        port: 22,
        user: 'u',
        privateKeyPath: 'k',
        knownHostsPath: 'kh',
        sudo: false,
        playbook: 'nginx-502',
        facts: {},
      },
    ]),
  ),
  groups: {},
};

/** A CommandRunner that answers every command with the given stderr: runCommand's own reading of it is what is timed. */
const stderrRunner = (stderr: string): CommandRunner => ({
  run: async () => ({ exitCode: 1, stdout: '', stderr, truncated: false, timedOut: false, durationMs: 1 }),
  close: async () => undefined,
});

const errorLine =
  '2026/11/23 22:54:01 [error] 1234#1234: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "localhost"\n';
const accessLine = '127.0.0.1 - - [23/Nov/2026:22:54:01 +0000] "GET /index.php HTTP/1.1" 502 157 "-" "curl/8.0"\n';

export const NEAR_MISS_CASES: readonly NearMissCase[] = [
  {
    name: 'ps: a blank run before a line separator',
    nearMiss: `1 1 root 1${fill(' ', '\u2028x')}`,
    ordinary: fill('  123     1 www-data  5120 php-fpm: pool www\n'),
    run: (t) => parseProcesses(t),
  },
  {
    name: 'ps: a php-fpm title with "(/" again and again',
    nearMiss: fill('(/', '', NEAR_MISS_BYTES - 40),
    ordinary: fill('x', '', NEAR_MISS_BYTES - 40),
    run: (t) => sortMasters([{ pid: 2, ppid: 1, user: 'root', uid: 0, rssKb: 1, args: `php-fpm: master process ${t}` }]),
  },
  {
    name: 'systemctl list-units: a blank run',
    nearMiss: fill(' ', '\t.\ts\te'),
    ordinary: fill('php8.2-fpm.service loaded active running The PHP FastCGI Process Manager\n'),
    run: (t) => parseUnits(t),
  },
  { name: 'a unit name of "php" again and again', nearMiss: fill('php'), ordinary: fill('x'), run: (t) => isFpmUnitName(t) },
  {
    name: 'php-fpm config: a blank run after "="',
    nearMiss: `/etc/php/8.2/fpm/pool.d/www.conf:pm =${fill(' ', '\u2028x', NEAR_MISS_BYTES - 40)}`,
    ordinary: fill('/etc/php/8.2/fpm/pool.d/www.conf:pm.max_children = 5\n'),
    run: (t) => parseFpmConfig(t),
  },
  {
    name: 'nginx -T: a proxy_pass host that never ends, a prefix of slashes',
    nearMiss: `http { upstream u { server 127.0.0.1:1; } server { proxy_pass http://${fill('s', '\u2028', NEAR_MISS_BYTES - 80)}; root x; } }`,
    ordinary: `http { server { ${fill('proxy_pass http://127.0.0.1:3000/; ', '', NEAR_MISS_BYTES - 40)} } }`,
    run: (t) => summarizeNginxConfig(parseNginxDump(t), fill('/', '\u0000/', NEAR_MISS_BYTES / 2)),
  },
  {
    name: 'nginx error log: "(0: " again and again',
    nearMiss: `2026/11/23 22:54:01 [error] 1#1: ${fill('(0: ')}`,
    ordinary: fill(errorLine),
    run: (t) => parseNginxErrorLog(t, 0),
  },
  {
    name: 'nginx error log: one entry and thousands of continuation lines',
    nearMiss: errorLine + fill('FastCGI stderr\n'),
    ordinary: fill(errorLine),
    run: (t) => parseNginxErrorLog(t, 0),
  },
  {
    name: 'nginx access log: a request that never closes its quote',
    nearMiss: `127.0.0.1 - - [23/Nov/2026:22:54:01 +0000] "${fill('GET " ')}`,
    ordinary: fill(accessLine),
    run: (t) => parseNginxAccessLog(t),
  },
  { name: 'an upstream target of slashes', nearMiss: fill('/', '\n/'), ordinary: fill('a'), run: (t) => parseNginxTarget(t) },
  {
    name: 'fpm status: a blank run in a field',
    nearMiss: `pool: www\naa: ${fill(' ', 'a\u2028', NEAR_MISS_BYTES - 20)}`,
    ordinary: fill('active processes: 3\n'),
    run: (t) => parseFpmStatus(t),
  },
  {
    name: 'fpm log: "[pool y" again and again',
    nearMiss: `[23-Nov-2026 22:54:01] WARNING: ${fill('[pool y')}`,
    ordinary: fill('[23-Nov-2026 22:54:01] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it\n'),
    run: (t) => parseFpmLog(t, 0, NOW),
  },
  {
    name: 'fpm log: an execution-timed-out line that never ends its script',
    nearMiss: `[23-Nov-2026 22:54:01] WARNING: ${fill("[pool a] child 1, script '")}`,
    ordinary: fill('[23-Nov-2026 22:54:01] NOTICE: ready to handle connections\n'),
    run: (t) => parseFpmLog(t, 0, NOW),
  },
  {
    name: 'kernel log: "Kill process 0 (0" again and again',
    nearMiss: `Nov 23 22:41:07 web-01 kernel: ${fill('\u0000Kill process 0 (0')}`,
    ordinary: fill('Nov 23 22:41:07 web-01 kernel: [ 9123.118990] eth0: link up\n'),
    run: (t) => parseKernelLog(t, NOW, 0),
  },
  {
    name: 'kernel log: an oom-kill line of "task=" with no pid',
    nearMiss: `Nov 23 22:41:07 web-01 kernel: oom-kill:${fill('task=', ',')}`,
    ordinary: fill('Nov 23 22:41:07 web-01 kernel: oom-kill:constraint=CONSTRAINT_NONE,task=php-fpm8.2,pid=5324,uid=33\n'),
    run: (t) => parseKernelLog(t, NOW, 0),
  },
  {
    name: 'stat: "cannot stat \'" and "\': " again and again',
    nearMiss: `${fill("cannot stat '", '', NEAR_MISS_BYTES / 2)}${fill("': ", '\u2028', NEAR_MISS_BYTES / 2)}`,
    ordinary: fill("stat: cannot statx '/run/php/php8.2-fpm.sock': No such file or directory\n"),
    run: (t) => parseSocketFile('', t),
  },
  { name: 'a memory_limit of blanks', nearMiss: `1${fill('\t', '\u0000')}`, ordinary: fill('1'), run: (t) => parseSize(t) },
  {
    name: 'a gap reason of colons',
    nearMiss: fill(':', '\n:'),
    ordinary: fill('x'),
    run: (t) => gapSummary([{ check: 'x', reason: t }] as never),
  },
  {
    name: 'sudo: "sudo: a password i" again and again',
    nearMiss: fill('sudo: a password i', 'x'),
    ordinary: fill('x'),
    run: (t) => runCommand(stderrRunner(t), { id: 'x', parse: 'raw', argv: ['true'], sudo: true, timeoutMs: 1000 }),
  },
  {
    name: 'Slack escaping: "<!subteam^" again and again',
    nearMiss: fill('<!subteam^'),
    ordinary: fill('x'),
    run: (t) => defuseBroadcasts(t),
  },
  { name: 'Slack code block: a run of backticks', nearMiss: fill('`'), ordinary: fill('x'), run: (t) => escapeCode(t) },
  {
    name: 'redaction: URL credentials that never reach "@"',
    nearMiss: fill('DET+A++0E+C+EAD+', '\u0000'),
    ordinary: fill('GET /index.php HTTP/1.1 '),
    run: (t) => redactSecrets(t),
  },
  { name: 'redaction: "a://x:" again and again', nearMiss: fill('a://x:'), ordinary: fill('redis://:pw@h '), run: (t) => redactSecrets(t) },
  {
    name: 'redaction: a key of "password" with no value',
    nearMiss: fill('password'),
    ordinary: fill('password=x '),
    run: (t) => redactSecrets(t),
  },
  {
    name: 'redaction: a quoted secret that never closes',
    nearMiss: `password="${fill('x')}`,
    ordinary: fill('token="abc" '),
    run: (t) => redactSecrets(t),
  },
  {
    name: 'redaction: JWT-like "eyJ-" again and again',
    nearMiss: fill('eyJ-'),
    ordinary: fill('eyJhbGciOi.eyJzdWIi.sig '),
    run: (t) => redactSecrets(t),
  },
  { name: 'redaction: "?sig" again and again', nearMiss: fill('?sig&'), ordinary: fill('?sig=abc&'), run: (t) => redactSecrets(t) },
  { name: 'terminal escapes: an OSC that never ends', nearMiss: fill('\u001b]0;'), ordinary: fill('x'), run: (t) => stripControls(t) },
  {
    name: 'alert label: a host value of "[" and ":"',
    nearMiss: `https://${fill('[:', '')}`,
    ordinary: fill('w'),
    run: (t) => hostFromLabelValue(t),
  },
  {
    name: 'Slack /502 diagnose with a long argument',
    nearMiss: `diagnose ${fill('*', 'Z')}`,
    ordinary: `diagnose ${fill('w')}`,
    run: (t) => parseSlashCommand(t),
  },
  {
    name: 'host glob: many stars before a missing letter',
    nearMiss: '*******Z',
    ordinary: 'web-*',
    run: (t) => {
      try {
        return resolveHosts(inventory, t);
      } catch {
        return undefined;
      }
    },
  },
  {
    name: 'public URL: a Slack link that never closes',
    nearMiss: `<https://${fill('a|', 'b')}`,
    ordinary: `https://${fill('a')}`,
    run: (t) => parsePublicUrl(t),
  },
  {
    name: 'public URL: a host of labels that ends badly',
    nearMiss: `https://${fill('a-', '-')}`,
    ordinary: `https://shop.example/${fill('a')}`,
    run: (t) => parsePublicUrl(t),
  },
  {
    name: 'php-fpm slow log: a header that never ends',
    nearMiss: `[25-Nov-2026 20:02:51]  [pool ${fill('w', ' pi')}`,
    ordinary: fill('[0x00007f43266150b0] usleep() /x.php:4\n'),
    run: (t) => parseFpmSlowlog(t, 0),
  },
  {
    name: 'php-fpm log: "executing too slow" without its time',
    nearMiss: `[25-Nov-2026 20:02:51] WARNING: [pool www] child 1, script '${fill('x', '\' (request: "GET /") executing too slow (1.')}`,
    ordinary: fill('x'),
    run: (t) => parseFpmLog(t, 0, NOW),
  },
  {
    name: 'alert webhook: a bearer header of blanks',
    nearMiss: `Bearer x${fill(' ', 'y')}`,
    ordinary: `Bearer ${fill('x')}`,
    run: (t) => verifyBearer({ authorization: t }, { token: 'x' }),
  },
  {
    name: '/proc/<pid>/cgroup: a segment of ":docker:<60 hex>" again and again, never at its end',
    nearMiss: `0::/kubepods-pod1.slice${fill(`:docker:${'a'.repeat(60)}`, '', NEAR_MISS_BYTES - 80)}:/machine.slice/x`,
    ordinary: fill('0::/system.slice/docker-898b44c4a066d2dc6343c21d8a5b7c6a77079367d23bcde8c88be0eb204d3a1e.scope\n'),
    run: (t) => containersOf(parseCgroup(t)),
  },
  {
    name: '/proc/<pid>/cgroup: one endless segment named like a scope',
    nearMiss: `0::/machine.slice/machine-${fill('a.scopea', '/')}`,
    ordinary: fill('12:memory:/lxc.payload.buster/system.slice/networking.service\n'),
    run: (t) => containersOf(parseCgroup(t)),
  },
  {
    name: '/proc/<pid>/mountinfo: a line of blanks',
    nearMiss: `27 1 254:0 / /${fill(' ', 'x')}`,
    ordinary: fill('27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n'),
    run: (t) => parseMountinfo(t),
  },
];
