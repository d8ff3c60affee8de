import type { Logger } from 'pino';

/** The one Web API method this needs; @slack/web-api's WebClient has it. */
export interface UsergroupsApi {
  usergroups: { users: { list(args: { usergroup: string }): Promise<{ ok?: boolean; users?: string[] }> } };
}

export interface ApproverDirectoryOptions {
  client: UsergroupsApi;
  /** From MEDIC_APPROVERS. */
  users: readonly string[];
  groups: readonly string[];
  /** How long a group's members are cached (MEDIC_USERGROUP_CACHE). */
  cacheMs: number;
  now: () => Date;
  logger: Logger;
}

/**
 * Who may approve remediations: the configured user ids, plus the members of the configured
 * user groups, asked of Slack (usergroups.users.list) and cached. Fails closed: a group that
 * has never been read approves nobody; one that cannot be re-read keeps its last members.
 */
export class ApproverDirectory {
  private readonly cache = new Map<string, { members: Set<string>; at: number }>();
  private readonly inflight = new Map<string, Promise<Set<string>>>();

  constructor(private readonly o: ApproverDirectoryOptions) {}

  get configured(): boolean {
    return this.o.users.length + this.o.groups.length > 0;
  }

  async isApprover(userId: string): Promise<boolean> {
    if (this.o.users.includes(userId)) return true;
    for (const group of this.o.groups) if ((await this.members(group)).has(userId)) return true;
    return false;
  }

  private async members(group: string): Promise<Set<string>> {
    const hit = this.cache.get(group);
    if (hit !== undefined && this.o.now().getTime() - hit.at < this.o.cacheMs) return hit.members;
    let pending = this.inflight.get(group);
    if (pending === undefined) {
      pending = this.fetch(group).finally(() => this.inflight.delete(group));
      this.inflight.set(group, pending);
    }
    return pending;
  }

  private async fetch(group: string): Promise<Set<string>> {
    try {
      const res = await this.o.client.usergroups.users.list({ usergroup: group });
      const members = new Set(res.users ?? []);
      this.cache.set(group, { members, at: this.o.now().getTime() });
      return members;
    } catch (e) {
      this.o.logger.warn({ err: e, usergroup: group }, 'cannot read user group members; its members cannot approve until it can be read');
      return this.cache.get(group)?.members ?? new Set();
    }
  }

  /** For refusal messages: who can approve, as mrkdwn (user mentions; groups by id, never pinged). */
  describe(): string {
    if (!this.configured) return 'nobody yet: set MEDIC_APPROVERS to Slack user ids (U…) or user group ids (S…)';
    return [...this.o.users.map((u) => `<@${u}>`), ...this.o.groups.map((g) => `members of user group \`${g}\``)].join(', ');
  }
}
