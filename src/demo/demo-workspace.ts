/** The pretend Slack workspace of the local demo: one channel, three people. */

export interface DemoUser {
  id: string;
  name: string;
  /** In MEDIC_APPROVERS: may approve remediations. */
  approver: boolean;
}

export const DEMO_CHANNEL = { id: 'C0DEMOOPS', name: 'ops' } as const;

/** Alice is who the page types as at first; Mallory shows what a refused click looks like. */
export const DEMO_USERS: readonly DemoUser[] = [
  { id: 'U0ALICE', name: 'alice', approver: true },
  { id: 'U0BOB', name: 'bob', approver: true },
  { id: 'U0MALLORY', name: 'mallory', approver: false },
];

export const DEMO_BOT = { id: 'U0MEDICBOT', name: 'medic' } as const;
