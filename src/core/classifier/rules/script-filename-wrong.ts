import type { Finding } from '../../finding.ts';
import { commands, directiveLines, historyFinding, plural, splitByTime } from '../advice.ts';
import { buildEvidence } from '../evidence.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';

/** `script_filename_wrong`: php-fpm cannot find the script nginx names in SCRIPT_FILENAME. */
export const scriptFilenameWrong: Rule = {
  cause: 'script_filename_wrong',
  claims: (e) => /Primary script unknown|Unable to open primary script/.test(e.message),
  evaluate(ctx, claimed) {
    const { current, old } = splitByTime(ctx, claimed);
    const findings: Finding[] = [];
    const config = directiveLines(ctx, ['fastcgi_param SCRIPT_FILENAME', 'root']);
    const probe = ctx.probe;
    if (current.length > 0 && probe !== undefined && probe.code >= 200 && probe.code < 400) {
      // The site's own PHP answers: the unknown scripts are requests for files that do not exist
      // (scanners probing /wp-login.php, /xmlrpc.php…), which php-fpm rightly cannot find.
      findings.push({
        cause: 'script_filename_wrong',
        severity: 'warning',
        title: `Requests for PHP scripts that do not exist reach PHP-FPM ("Primary script unknown", ${plural(current.length, 'request')} in the last ${span(ctx.windowMs)}); the site answers ${probe.code}`,
        evidence: buildEvidence(current, [...config, probe.line]),
        explanation:
          'The site answers, so SCRIPT_FILENAME is right for the scripts that exist: a wrong SCRIPT_FILENAME fails every PHP request. These lines are requests for scripts that are not there, ' +
          'typically scanners, which nginx passes to PHP-FPM without checking that the file exists. They cost a PHP-FPM round trip each and are answered 404, not 502.',
        nextSteps: [
          'Let nginx answer 404 itself: add try_files $uri =404; in the location that passes *.php to PHP-FPM',
          'If the requests are legitimate URLs, check that the scripts exist under the document root',
        ],
        remediations: [],
        current: true,
      });
    } else if (current.length > 0) {
      findings.push({
        cause: 'script_filename_wrong',
        severity: 'critical',
        title: `PHP-FPM cannot find the scripts nginx names in SCRIPT_FILENAME ("Primary script unknown", ${plural(current.length, 'request')} in the last ${span(ctx.windowMs)})`,
        evidence: buildEvidence(current, config),
        explanation:
          'nginx builds SCRIPT_FILENAME from its own root ($document_root$fastcgi_script_name), and PHP-FPM looks for that path in its own filesystem. ' +
          'When nginx and PHP-FPM run in separate containers (or PHP-FPM is chrooted) the path does not exist for PHP-FPM, and every PHP request fails (nginx answers 404 "File not found." or 502).',
        nextSteps: [
          "Set SCRIPT_FILENAME to the path as PHP-FPM sees it, e.g. fastcgi_param SCRIPT_FILENAME /var/www/html$fastcgi_script_name; (hard-code the PHP container's document root)",
          "Check that the script exists and is readable for the pool's user inside PHP-FPM's filesystem (and not excluded by chroot or open_basedir)",
          `Then ${commands.reloadNginx(ctx)}`,
        ],
        remediations: ['reload_nginx'],
        current: true,
      });
    } else if (old.length > 0) {
      findings.push(
        historyFinding(
          ctx,
          'script_filename_wrong',
          'PHP-FPM could not find the script in SCRIPT_FILENAME ("Primary script unknown")',
          old,
          config,
        ),
      );
    }
    return findings;
  },
};
