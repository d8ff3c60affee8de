// A small Block Kit renderer for the demo page: the block types and mrkdwn the bot sends.
// Every piece of text ends up in a text node (never innerHTML), so host output that the bot
// escaped for Slack cannot become markup here either.

/*
 * Emoji as symbols most fonts have (DejaVu, which is all a bare Chromium may have, included),
 * coloured by CSS: the page looks the same with or without an emoji font.
 */
const EMOJI = {
  white_check_mark: ['✔', 'em-box em-green-bg'],
  heavy_check_mark: ['✔', 'em-green'],
  ballot_box_with_check: ['☑', 'em-green'],
  x: ['✖', 'em-red'],
  warning: ['⚠', 'em-amber'],
  rotating_light: ['⚠', 'em-red'],
  incident: ['⚠', 'em-red'],
  fire: ['♨', 'em-red'],
  grey_question: ['?', 'em-box em-grey-bg'],
  no_entry: ['–', 'em-box em-round em-red-bg'],
  red_circle: ['', 'em-dot em-red-bg'],
  large_orange_circle: ['', 'em-dot em-orange-bg'],
  large_blue_circle: ['', 'em-dot em-blue-bg'],
  large_green_circle: ['', 'em-dot em-green-bg'],
  mag: ['⌕', 'em-grey'],
  lock: ['⚷', 'em-grey'],
  hourglass: ['⋯', 'em-grey'],
  hourglass_flowing_sand: ['⋯', 'em-grey'],
  wrench: ['⚒', 'em-grey'],
  hammer_and_wrench: ['⚒', 'em-grey'],
  scissors: ['✂', 'em-grey'],
  repeat: ['⟲', 'em-grey'],
  arrows_counterclockwise: ['⟲', 'em-grey'],
  link: ['⚭', 'em-grey'],
  information_source: ['ℹ', 'em-box em-blue-bg'],
  tada: ['✦', 'em-amber'],
};

/** `&amp;` `&lt;` `&gt;` back to characters: Slack's only three escapes. */
export const decodeEntities = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

const el = (tag, cls, ...children) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of children) e.append(c);
  return e;
};

/** Appends `text` with its `:emoji:` codes as symbols; unknown codes stay as typed. */
function emojify(text, out) {
  let last = 0;
  for (const m of text.matchAll(/:([a-z0-9_+-]+):/g)) {
    const found = EMOJI[m[1]];
    if (found === undefined) continue;
    if (m.index > last) out.append(document.createTextNode(text.slice(last, m.index)));
    const icon = el('span', `em ${found[1]}`, found[0]);
    icon.title = m[0];
    out.append(icon);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.append(document.createTextNode(text.slice(last)));
  return out;
}

function formatDate(epoch, format, fallback) {
  const d = new Date(Number(epoch) * 1000);
  if (Number.isNaN(d.getTime())) return fallback;
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const secs = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const date = d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  return format
    .replace('{time_secs}', secs)
    .replace('{time}', time)
    .replace('{date_short_pretty}', date)
    .replace('{date_short}', date)
    .replace('{date}', date);
}

/** `<@U1>`, `<#C1|name>`, `<!here>`, `<!date^…>`, `<url|label>`. */
function token(inner, ctx) {
  const [target, label] = splitOnce(inner, '|');
  if (target.startsWith('@')) {
    const id = target.slice(1);
    return el('span', 'bk-mention', `@${ctx.users?.[id] ?? label ?? id}`);
  }
  if (target.startsWith('#')) {
    const id = target.slice(1);
    return el('span', 'bk-mention', `#${ctx.channels?.[id] ?? label ?? id}`);
  }
  if (target.startsWith('!date^')) {
    const [, epoch, format] = target.split('^');
    return el('span', 'bk-date', formatDate(epoch, format ?? '{time}', decodeEntities(label ?? '')));
  }
  if (target.startsWith('!subteam^')) return el('span', 'bk-mention', `@${decodeEntities(label ?? target.slice(9))}`);
  if (target.startsWith('!')) return el('span', 'bk-mention', `@${target.slice(1)}`);
  const url = decodeEntities(target);
  if (/^(https?|mailto):/i.test(url)) {
    const a = el('a', 'bk-link', decodeEntities(label ?? target));
    a.href = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    return a;
  }
  return document.createTextNode(decodeEntities(`<${inner}>`));
}

function splitOnce(s, sep) {
  const i = s.indexOf(sep);
  return i === -1 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

const STYLES = { '*': 'strong', _: 'em', '~': 's' };
const WORDY = /[\p{L}\p{N}]/u;

/**
 * Inline formatting: `<…>` tokens, then *bold*, _italic_, ~strike~ that start and end at word
 * boundaries (as Slack's parser wants: `a*b*c` stays as typed), then emoji.
 */
function inline(text, ctx, out) {
  let plain = '';
  const flush = () => {
    if (plain !== '') emojify(decodeEntities(plain), out);
    plain = '';
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '<') {
      const end = text.indexOf('>', i + 1);
      if (end !== -1 && !text.slice(i + 1, end).includes('<')) {
        flush();
        out.append(token(text.slice(i + 1, end), ctx));
        i = end + 1;
        continue;
      }
    }
    if (c in STYLES && (i === 0 || !WORDY.test(text[i - 1]))) {
      const end = findClose(text, i, c);
      if (end !== -1) {
        flush();
        const wrap = el(STYLES[c]);
        inline(text.slice(i + 1, end), ctx, wrap);
        out.append(wrap);
        i = end + 1;
        continue;
      }
    }
    plain += c;
    i++;
  }
  flush();
}

function findClose(text, start, mark) {
  for (let j = start + 2; j < text.length; j++) {
    const ch = text[j];
    if (ch === '\n') return -1;
    if (ch === mark && text[j - 1] !== ' ' && (j + 1 === text.length || !WORDY.test(text[j + 1]))) return j;
  }
  return -1;
}

/** One mrkdwn string → nodes: ```code blocks```, `inline code`, formatting, line breaks. */
export function mrkdwn(text, ctx = {}) {
  const root = el('div', 'bk-mrkdwn');
  const parts = text.split('```');
  parts.forEach((part, n) => {
    // Odd parts are inside a fence, unless the last fence was never closed.
    if (n % 2 === 1 && n < parts.length - 1) {
      root.append(el('pre', 'bk-pre', decodeEntities(part.replace(/^\n/, ''))));
      return;
    }
    // A fence is a block of its own: the newline right after it is not an empty line.
    let chunk = n % 2 === 1 ? '```' + part : n > 0 ? part.replace(/^\n/, '') : part;
    if (n % 2 === 0 && n < parts.length - 2) chunk = chunk.replace(/\n$/, '');
    const pieces = chunk.split(/(`[^`\n]+`)/);
    let line = el('span', 'bk-line');
    const lines = [line];
    for (const p of pieces) {
      if (/^`[^`\n]+`$/.test(p)) {
        line.append(el('code', 'bk-code', decodeEntities(p.slice(1, -1))));
        continue;
      }
      const rows = p.split('\n');
      rows.forEach((row, r) => {
        if (r > 0) {
          line = el('span', 'bk-line');
          lines.push(line);
        }
        inline(row, ctx, line);
      });
    }
    for (const [k, l] of lines.entries()) {
      if (k > 0) root.append(el('br'));
      root.append(l);
    }
  });
  return root;
}

function textObject(t, ctx) {
  if (!t || typeof t.text !== 'string') return el('span', 'bk-missing', '');
  if (t.type === 'mrkdwn') return mrkdwn(t.text, ctx);
  return t.emoji === false ? el('span', 'bk-plain', t.text) : emojify(t.text, el('span', 'bk-plain'));
}

function button(b, block, ctx) {
  const btn = el('button', `bk-button${b.style ? ` bk-${b.style}` : ''}`);
  if (b.text?.emoji === false) btn.textContent = b.text.text;
  else emojify(b.text?.text ?? '', btn);
  btn.type = 'button';
  btn.dataset.actionId = b.action_id ?? '';
  btn.addEventListener('click', () => ctx.onButton?.(b, block));
  return btn;
}

/** Renders a message's blocks; unknown types are shown as such rather than dropped. */
export function renderBlocks(blocks, ctx = {}) {
  const out = el('div', 'bk-blocks');
  for (const block of blocks ?? []) {
    switch (block.type) {
      case 'header':
        out.append(el('div', 'bk-header', textObject(block.text, ctx)));
        break;
      case 'section': {
        const s = el('div', 'bk-section');
        const body = el('div', 'bk-section-body');
        if (block.text) body.append(textObject(block.text, ctx));
        if (Array.isArray(block.fields))
          body.append(el('div', 'bk-fields', ...block.fields.map((f) => el('div', 'bk-field', textObject(f, ctx)))));
        s.append(body);
        if (block.accessory?.type === 'button') s.append(el('div', 'bk-accessory', button(block.accessory, block, ctx)));
        out.append(s);
        break;
      }
      case 'context':
        out.append(
          el(
            'div',
            'bk-context',
            ...(block.elements ?? []).map((e) => (e.type === 'image' ? el('span', 'bk-image', e.alt_text ?? '') : textObject(e, ctx))),
          ),
        );
        break;
      case 'divider':
        out.append(el('hr', 'bk-divider'));
        break;
      case 'actions':
        out.append(
          el(
            'div',
            'bk-actions',
            ...(block.elements ?? []).map((e) =>
              e.type === 'button' ? button(e, block, ctx) : el('span', 'bk-unsupported', `[${e.type}]`),
            ),
          ),
        );
        break;
      default:
        out.append(el('div', 'bk-unsupported', `[unsupported block: ${block.type}]`));
    }
  }
  return out;
}

/**
 * Slack's confirm dialog: resolves true when confirmed, false when cancelled (button, Escape,
 * or a click outside).
 */
export function confirmDialog(confirm, ctx = {}) {
  return new Promise((resolve) => {
    const overlay = el('div', 'bk-overlay');
    const done = (value) => {
      overlay.remove();
      document.removeEventListener('keydown', onKey);
      resolve(value);
    };
    const onKey = (e) => {
      if (e.key === 'Escape') done(false);
    };
    const deny = el('button', 'bk-button', confirm.deny?.text ?? 'Cancel');
    deny.type = 'button';
    deny.className = 'bk-button bk-deny';
    deny.addEventListener('click', () => done(false));
    const ok = el('button', `bk-button bk-confirm-button bk-${confirm.style ?? 'primary'}`, confirm.confirm?.text ?? 'Yes');
    ok.type = 'button';
    ok.addEventListener('click', () => done(true));
    const dialog = el(
      'div',
      'bk-confirm',
      el('div', 'bk-confirm-title', confirm.title?.text ?? 'Are you sure?'),
      el('div', 'bk-confirm-text', textObject(confirm.text, ctx)),
      el('div', 'bk-confirm-buttons', deny, ok),
    );
    dialog.setAttribute('role', 'dialog');
    dialog.setAttribute('aria-modal', 'true');
    overlay.append(dialog);
    overlay.addEventListener('click', (e) => {
      if (e.target === overlay) done(false);
    });
    document.addEventListener('keydown', onKey);
    document.body.append(overlay);
    ok.focus();
  });
}
