import type { Finding } from '../../finding.ts';
import { clean, endpointsOf, historyFinding, listOf, plural, splitByTime } from '../advice.ts';
import { isCurrent, type ClassifierContext } from '../context.ts';
import { buildEvidence } from '../evidence.ts';
import type { AvcDenial } from '../parse/security-policy.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';

const byNginx = (d: AvcDenial): boolean => d.comm === undefined || /nginx/.test(d.comm);

/** AVC denials of nginx opening a unix socket: SELinux, not the socket's owner and mode. */
const unixDenials = (ctx: ClassifierContext): AvcDenial[] =>
  ctx.security.denials.filter((d) => byNginx(d) && (d.tclass === 'sock_file' || d.tclass === 'unix_stream_socket'));

// AppArmor's denials are kernel messages: apparmor="DENIED" operation="connect" profile="nginx" … comm="nginx"
const APPARMOR = /apparmor="DENIED".*comm="nginx/;

/**
 * `selinux_denied`: connect() answered EACCES where file permissions cannot be the reason. On a
 * TCP upstream there is no file to own: the kernel's mandatory access control (SELinux's
 * httpd_can_network_connect, a port label, or an AppArmor profile) refused. On a unix socket it
 * is ours only when an AVC denial says so; otherwise socket_permission explains it.
 */
export const selinuxDenied: Rule = {
  cause: 'selinux_denied',
  claims: (e, ctx) =>
    e.errno === 13 &&
    /^connect\(\)/.test(e.message) &&
    (e.endpoint?.kind === 'tcp' || (e.endpoint?.kind === 'unix' && unixDenials(ctx).length > 0)),
  evaluate(ctx, claimed) {
    const { current, old } = splitByTime(ctx, claimed);
    const findings: Finding[] = [];
    if (current.length > 0) {
      const mode = ctx.security.selinux;
      const bool = ctx.security.booleans['httpd_can_network_connect'];
      const tcp = current.some((e) => e.endpoint?.kind === 'tcp');
      const denials = ctx.security.denials.filter(
        (d) => byNginx(d) && (tcp ? d.permission.includes('name_connect') : d.tclass !== 'tcp_socket'),
      );
      const recent = denials.filter((d) => isCurrent(ctx, d));
      const apparmor = ctx.kernel.filter((k) => APPARMOR.test(k.text));
      const where = listOf(endpointsOf(current));
      const window = span(ctx.windowMs);
      const enforcing = mode?.mode === 'enforcing';
      const port = current.find((e) => e.endpoint?.kind === 'tcp')?.endpoint;
      const portNo = port?.kind === 'tcp' ? port.port : undefined;
      const label = denials.find((d) => d.targetType !== undefined)?.targetType;
      const supporting = [
        ...(mode === undefined ? [] : [`getenforce: ${mode.line}`]),
        ...(bool === undefined ? [] : [bool.line]),
        ...(recent.length > 0 ? recent : denials).map((d) => d.text).reverse(),
        ...apparmor.map((k) => k.text).reverse(),
      ];
      let title: string;
      let explanation: string;
      let steps: string[];
      if (enforcing || denials.length > 0) {
        const because =
          tcp && bool?.on === false
            ? ' (httpd_can_network_connect is off)'
            : denials.length > 0
              ? ` (AVC denial: ${clean(denials[0]?.permission ?? '', 40)})`
              : '';
        title = `SELinux stops nginx from connecting to ${where}${because}: ${plural(current.length, 'request')} refused in the last ${window}`;
        explanation = tcp
          ? 'SELinux confines nginx to the httpd_t domain, which may only connect to the ports labelled for web servers unless the httpd_can_network_connect boolean is on. ' +
            'The backend is probably fine: the kernel refuses the connection before it is made, so nginx logs (13: Permission denied) and answers 502. Restarting either side changes nothing.'
          : 'SELinux refuses nginx (httpd_t) access to the socket: its file label is not one httpd_t may connect to (e.g. a socket created in a home directory or /tmp). The owner and mode are not the problem.';
        steps = tcp
          ? [
              'Allow nginx to connect to network backends (persistent): sudo setsebool -P httpd_can_network_connect 1',
              `Or, narrower, label the backend's port for web servers: sudo semanage port -a -t http_port_t -p tcp ${portNo ?? '<port>'}${label === undefined ? '' : ` (it is ${clean(label, 80)} now; use -m instead of -a for a port that already has a label)`}`,
              'Check that no new denial appears: sudo ausearch -m avc -ts recent',
            ]
          : [
              'Put the socket where httpd_t may connect (e.g. /run/<app>/), or give it a label nginx may use: sudo semanage fcontext -a -t httpd_var_run_t "<socket path>" && sudo restorecon -v <socket path>',
              'Check that no new denial appears: sudo ausearch -m avc -ts recent',
            ];
      } else if (apparmor.length > 0) {
        title = `AppArmor stops nginx from connecting to ${where}: ${plural(current.length, 'request')} refused in the last ${window}`;
        explanation =
          "nginx's AppArmor profile does not allow this connection, so the kernel answers (13: Permission denied) and nginx answers 502. The backend is probably fine.";
        steps = [
          "Allow the connection in nginx's AppArmor profile (/etc/apparmor.d/), then reload it: sudo apparmor_parser -r <profile>",
          'Or see which profile denies: sudo aa-status',
        ];
      } else {
        title = `nginx is denied connecting to ${where} (13: Permission denied): a security policy, not file permissions (${plural(current.length, 'request')} in the last ${window})`;
        explanation =
          'A TCP connection has no owner or mode to fix: (13: Permission denied) on connect() means the kernel refused it on behalf of a mandatory access control policy (SELinux on RHEL-family hosts, AppArmor on Debian/Ubuntu) or a local firewall rule. ' +
          (mode?.mode === 'permissive' || mode?.mode === 'disabled'
            ? `SELinux is ${mode.mode} here, so look at AppArmor and the firewall.`
            : 'Whether SELinux enforces could not be read here.');
        steps = [
          'Check SELinux: getenforce; getsebool httpd_can_network_connect; sudo ausearch -m avc -ts recent',
          'On SELinux hosts: sudo setsebool -P httpd_can_network_connect 1',
          'Check AppArmor: sudo aa-status; sudo journalctl -k | grep \'apparmor="DENIED"\'',
        ];
      }
      findings.push({
        cause: 'selinux_denied',
        severity: 'critical',
        title,
        evidence: buildEvidence(current, supporting),
        explanation,
        nextSteps: steps,
        remediations: [],
        current: true,
      });
    } else if (old.length > 0) {
      findings.push(
        historyFinding(ctx, 'selinux_denied', `nginx was denied connecting to ${listOf(endpointsOf(old))} by a security policy`, old),
      );
    }
    return findings;
  },
};
