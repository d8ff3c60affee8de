import type { CauseId } from '../causes.ts';
import type { Finding } from '../finding.ts';
import type { ClassifierContext } from './context.ts';
import type { NginxErrorEntry } from './parse/nginx-error-log.ts';

/**
 * One rule per cause of the contract. Nginx error-log entries are handed out once: each entry
 * goes to the first rule (in CLAIM_ORDER) that claims it, so that look-alike lines (the same
 * `connect() failed (111)` for a dead php-fpm, a wrong socket and a dead proxy backend) are
 * explained once, by the rule that can tell them apart. What no rule claims is `unknown_502`'s.
 */
export interface Rule {
  cause: CauseId;
  claims?(entry: NginxErrorEntry, ctx: ClassifierContext): boolean;
  evaluate(ctx: ClassifierContext, claimed: NginxErrorEntry[]): Finding[];
}
