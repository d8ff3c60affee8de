/*
 * Slack's ids, recognised in one place. They are `[A-Z0-9]` after a letter saying what they
 * name; anything else (a display name, `@alice`, text that tries to close a `<@…>`) is not an id
 * and is never rendered as a mention.
 */

/** A user (`U…`) or an Enterprise Grid user (`W…`). */
export const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;

/** A user group (`S…`), as in `MEDIC_APPROVERS`. */
export const SLACK_USERGROUP_ID = /^S[A-Z0-9]{2,20}$/;

export const isSlackUserId = (id: string): boolean => SLACK_USER_ID.test(id);
