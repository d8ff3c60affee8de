/*
 * Block Kit as Slack's API checks it: the stand-in refuses what Slack would refuse, with
 * Slack's own error strings, so a message that passes here passes there.
 */

export const BLOCK_KIT_LIMITS = {
  blocks: 50,
  text: 40_000,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  header: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  url: 3000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
};

export type Json = Record<string, unknown>;
export const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks blocks the way Slack's API does, returning Slack-style error strings
 * (`must be less than 3001 characters [json-pointer:/blocks/1/text/text]`); empty when valid.
 * Only the block types the bot uses are checked in depth; others must at least have a type.
 */
export function validateBlocks(blocks: unknown): string[] {
  const errors: string[] = [];
  const err = (msg: string, ptr: string): void => void errors.push(`${msg} [json-pointer:${ptr}]`);
  if (!Array.isArray(blocks)) return ['must be an array [json-pointer:/blocks]'];
  if (blocks.length > BLOCK_KIT_LIMITS.blocks) err(`no more than ${BLOCK_KIT_LIMITS.blocks} items allowed`, '/blocks');
  const blockIds = new Set<string>();
  const actionIds = new Set<string>();
  const text = (t: unknown, ptr: string, max: number, kinds: readonly string[] = ['plain_text', 'mrkdwn']): void => {
    if (!isObj(t)) return err('must provide an object', ptr);
    if (!kinds.includes(String(t.type))) err(`must be one of ${kinds.join(', ')}`, `${ptr}/type`);
    if (typeof t.text !== 'string' || t.text.length === 0) return err('must be more than 0 characters', `${ptr}/text`);
    if (t.text.length > max) err(`must be less than ${max + 1} characters`, `${ptr}/text`);
    const allowed = t.type === 'plain_text' ? ['type', 'text', 'emoji'] : ['type', 'text', 'verbatim'];
    for (const k of Object.keys(t)) if (!allowed.includes(k)) err(`unsupported property ${k}`, `${ptr}/${k}`);
  };
  const button = (b: Json, ptr: string): void => {
    text(b.text, `${ptr}/text`, BLOCK_KIT_LIMITS.buttonText, ['plain_text']);
    if (typeof b.action_id !== 'string' || b.action_id.length === 0 || b.action_id.length > BLOCK_KIT_LIMITS.actionId)
      err(`must be 1 to ${BLOCK_KIT_LIMITS.actionId} characters`, `${ptr}/action_id`);
    else if (actionIds.has(b.action_id)) err('duplicate action_id', `${ptr}/action_id`);
    else actionIds.add(b.action_id);
    if (b.value !== undefined && (typeof b.value !== 'string' || b.value.length > BLOCK_KIT_LIMITS.buttonValue))
      err(`must be less than ${BLOCK_KIT_LIMITS.buttonValue + 1} characters`, `${ptr}/value`);
    if (b.url !== undefined && (typeof b.url !== 'string' || b.url.length > BLOCK_KIT_LIMITS.url))
      err(`must be less than ${BLOCK_KIT_LIMITS.url + 1} characters`, `${ptr}/url`);
    if (b.style !== undefined && b.style !== 'primary' && b.style !== 'danger') err('must be one of primary, danger', `${ptr}/style`);
    if (b.confirm !== undefined) {
      const c = b.confirm;
      if (!isObj(c)) err('must provide an object', `${ptr}/confirm`);
      else {
        text(c.title, `${ptr}/confirm/title`, BLOCK_KIT_LIMITS.confirmTitle, ['plain_text']);
        text(c.text, `${ptr}/confirm/text`, BLOCK_KIT_LIMITS.confirmText);
        text(c.confirm, `${ptr}/confirm/confirm`, BLOCK_KIT_LIMITS.confirmButton, ['plain_text']);
        text(c.deny, `${ptr}/confirm/deny`, BLOCK_KIT_LIMITS.confirmButton, ['plain_text']);
      }
    }
    const allowed = ['type', 'text', 'action_id', 'value', 'url', 'style', 'confirm', 'accessibility_label'];
    for (const k of Object.keys(b)) if (!allowed.includes(k)) err(`unsupported property ${k}`, `${ptr}/${k}`);
  };
  blocks.forEach((block, i) => {
    const ptr = `/blocks/${i}`;
    if (!isObj(block)) return err('must provide an object', ptr);
    if (block.block_id !== undefined) {
      if (typeof block.block_id !== 'string' || block.block_id.length === 0 || block.block_id.length > BLOCK_KIT_LIMITS.blockId)
        err(`must be 1 to ${BLOCK_KIT_LIMITS.blockId} characters`, `${ptr}/block_id`);
      else if (blockIds.has(block.block_id)) err('duplicate block_id', `${ptr}/block_id`);
      else blockIds.add(block.block_id);
    }
    const only = (keys: string[]): void => {
      for (const k of Object.keys(block)) if (![...keys, 'type', 'block_id'].includes(k)) err(`unsupported property ${k}`, `${ptr}/${k}`);
    };
    switch (block.type) {
      case 'header':
        only(['text']);
        return text(block.text, `${ptr}/text`, BLOCK_KIT_LIMITS.header, ['plain_text']);
      case 'section': {
        only(['text', 'fields', 'accessory', 'expand']);
        if (block.text === undefined && block.fields === undefined) err('must provide either text or fields', ptr);
        if (block.text !== undefined) text(block.text, `${ptr}/text`, BLOCK_KIT_LIMITS.sectionText);
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length === 0 || block.fields.length > BLOCK_KIT_LIMITS.fields)
            err(`must be 1 to ${BLOCK_KIT_LIMITS.fields} items`, `${ptr}/fields`);
          else block.fields.forEach((f, j) => text(f, `${ptr}/fields/${j}`, BLOCK_KIT_LIMITS.fieldText));
        }
        if (isObj(block.accessory) && block.accessory.type === 'button') button(block.accessory, `${ptr}/accessory`);
        return;
      }
      case 'context':
        only(['elements']);
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > BLOCK_KIT_LIMITS.contextElements)
          return err(`must be 1 to ${BLOCK_KIT_LIMITS.contextElements} items`, `${ptr}/elements`);
        return block.elements.forEach((e, j) =>
          isObj(e) && e.type === 'image' ? undefined : text(e, `${ptr}/elements/${j}`, BLOCK_KIT_LIMITS.sectionText),
        );
      case 'actions':
        only(['elements']);
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > BLOCK_KIT_LIMITS.actionsElements)
          return err(`must be 1 to ${BLOCK_KIT_LIMITS.actionsElements} items`, `${ptr}/elements`);
        return block.elements.forEach((e, j) => {
          if (!isObj(e)) return err('must provide an object', `${ptr}/elements/${j}`);
          if (e.type === 'button') button(e, `${ptr}/elements/${j}`);
        });
      case 'divider':
        return only([]);
      case 'image':
      case 'rich_text':
      case 'input':
      case 'file':
      case 'video':
      case 'markdown':
        return;
      default:
        return err(`unsupported block type ${String(block.type)}`, `${ptr}/type`);
    }
  });
  return errors;
}
