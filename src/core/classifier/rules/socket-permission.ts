import type { Finding } from '../../finding.ts';
import { clean, commands, endpointsOf, historyFinding, listOf, plural, poolFor, poolLines, splitByTime } from '../advice.ts';
import { buildEvidence } from '../evidence.ts';
import { isFastcgi } from '../parse/nginx-error-log.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';

/** `socket_permission`: `connect() to unix:… failed (13: Permission denied)`. */
export const socketPermission: Rule = {
  cause: 'socket_permission',
  claims: (e) => e.errno === 13 && /^connect\(\)/.test(e.message),
  evaluate(ctx, claimed) {
    const { current, old } = splitByTime(ctx, claimed);
    const findings: Finding[] = [];
    const endpoint = (current[0] ?? old[0])?.endpoint;
    const path = endpoint?.kind === 'unix' ? endpoint.path : undefined;
    const pool = poolFor(ctx, endpoint);
    const stat = ctx.socketFiles.find((f) => f.path === path && !f.missing && f.error === undefined);
    const supporting = [
      ...(stat === undefined ? [] : [stat.line]),
      ...(pool === undefined
        ? []
        : poolLines(pool, ['listen', 'listen.owner', 'listen.group', 'listen.mode', 'listen.acl_users', 'listen.acl_groups'])),
    ];
    if (current.length > 0) {
      const worker = ctx.picture.nginx.workerUser;
      const who = worker === undefined ? 'nginx workers' : `nginx workers (user ${clean(worker, 60)})`;
      const target = listOf(endpointsOf(current));
      const socket = stat === undefined ? '' : ` (${clean(`${stat.owner}:${stat.group} mode ${stat.mode}`, 120)})`;
      const fastcgi = current.some(isFastcgi);
      const user = clean(worker ?? 'www-data', 60);
      const file = pool?.file === undefined ? 'the pool file' : clean(pool.file, 200);
      findings.push({
        cause: 'socket_permission',
        severity: 'critical',
        title: `${who} may not open the socket ${target}${socket}: ${plural(current.length, 'request')} refused in the last ${span(ctx.windowMs)}`,
        evidence: buildEvidence(current, supporting),
        explanation:
          "The socket exists and PHP-FPM listens on it, but its owner and mode do not let nginx's worker user connect (a unix socket needs write permission). " +
          "This happens when nginx runs as another user than the pool's listen.owner/listen.group (nginx vs www-data), or listen.mode is 0600. If the mode looks right, check the directories above the socket and SELinux/AppArmor.",
        nextSteps: fastcgi
          ? [
              `In ${file} set listen.owner = ${user}, listen.group = ${user} and listen.mode = 0660 (or add ${user} to the socket's group)`,
              `Then restart php-fpm (restart_php_fpm: ${commands.restartFpm(ctx)}): a reload (${commands.reloadFpm(ctx)}) keeps the socket it inherited, with its old owner and mode, so it does not apply this fix; a restart drops requests in flight`,
              `Check: sudo -u ${user} test -w ${clean(path ?? '<socket>', 200)} && echo ok`,
            ]
          : [
              `Give ${user} write access to ${clean(path ?? 'the socket', 200)} (owner, group or mode of the socket, set by the application that creates it)`,
            ],
        // Not reload_php_fpm: php-fpm re-executes on USR2 and keeps its inherited socket (proven
        // on the lab), so only a restart applies a listen.owner/mode change.
        remediations: fastcgi ? ['restart_php_fpm'] : [],
        current: true,
      });
    } else if (old.length > 0) {
      findings.push(
        historyFinding(ctx, 'socket_permission', `nginx was denied access to the socket ${listOf(endpointsOf(old))}`, old, supporting),
      );
    }
    return findings;
  },
};
