import type { RemediationId } from '../causes.ts';
import type { Stack } from '../discovery/pair-stacks.ts';

const FPM: ReadonlySet<RemediationId> = new Set(['reload_php_fpm', 'restart_php_fpm', 'start_php_fpm']);

/**
 * Whether a remediation can act on one stack of a host that runs several, and nothing else:
 * null when it can, else why not (for people). The stack must be one a request can name (its
 * key unique on the host); a php-fpm remediation needs the stack's own php-fpm, exactly one
 * master; starting a php-fpm that does not run needs the inventory to say which one.
 */
export function stackRemediationProblem(
  remediation: RemediationId,
  stack: Pick<Stack, 'ambiguous' | 'fpmPid' | 'fpmPids' | 'fpmConf'>,
): string | null {
  if (stack.ambiguous !== undefined) return stack.ambiguous;
  if (!FPM.has(remediation)) return null;
  if (remediation === 'start_php_fpm') {
    if (stack.fpmPids.length > 0) return 'php-fpm of this stack is running';
    // Known only from the inventory: a pinned php-fpm config whose pools this stack's nginx reaches.
    return stack.fpmConf !== undefined
      ? null
      : 'no php-fpm of this stack runs, so which one to start is not known from the host: pin it in the inventory (facts.fpm.conf)';
  }
  if (stack.fpmPids.length > 1)
    return `its nginx passes requests to ${stack.fpmPids.length} php-fpm masters (pids ${stack.fpmPids.join(', ')}), so "its php-fpm" names none: pin one in the inventory (facts.fpm.conf)`;
  if (stack.fpmPid === null) return 'no php-fpm of this stack runs';
  return null;
}
