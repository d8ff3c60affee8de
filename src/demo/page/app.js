// The demo page: a channel, a thread pane and a composer, like Slack's. It renders what the
// server streams (the messages the bot really sent, recorded by the Slack stand-in) and sends
// what you type and click back through the server, which signs it like Slack.
import { confirmDialog, mrkdwn, renderBlocks } from './block-kit.js';

const $ = (id) => document.getElementById(id);
const el = (tag, cls, ...children) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of children) e.append(c);
  return e;
};

let state;
let viewer = localStorage.getItem('medic-demo-viewer') ?? '';
/** The thread shown on the right: the newest report's, unless the person picked or closed one since. */
let thread = { ts: undefined, seenWithReplies: 0 };
let source;

async function post(path, body) {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await res.json().catch(() => ({ ok: false, error: `HTTP ${res.status}` }));
  if (!res.ok && answer.ok !== false) return { ok: false, error: `HTTP ${res.status}` };
  return answer;
}

function connect() {
  source?.close();
  source = new EventSource(`/api/events?user=${encodeURIComponent(viewer)}`);
  source.addEventListener('state', (e) => {
    state = JSON.parse(e.data);
    viewer = state.viewer;
    render();
  });
}

function names() {
  const users = Object.fromEntries(state.users.map((u) => [u.id, u.name]));
  users[state.bot.id] = state.bot.name;
  return { users, channels: { [state.channel.id]: state.channel.name } };
}

const timeOf = (ts) => new Date(Number(ts.split('.')[0]) * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

function avatar(from) {
  const bot = from === state.bot.id;
  const name = bot ? 'M' : (names().users[from] ?? '?').slice(0, 1).toUpperCase();
  return el('div', `avatar${bot ? ' avatar-bot' : ''}`, name);
}

function messageEl(m, opts = {}) {
  const ctx = {
    ...names(),
    onButton: async (b) => {
      if (b.confirm && !(await confirmDialog(b.confirm, names()))) return;
      const answer = await post('/api/click', { user: viewer, ts: m.ts, actionId: b.action_id });
      if (!answer.ok) showError(answer.error ?? `the bot answered ${answer.status}`);
    },
  };
  const bot = m.from === state.bot.id;
  const head = el('div', 'message-head', el('span', 'author', names().users[m.from] ?? m.from));
  if (bot) head.append(el('span', 'app-badge', 'APP'));
  head.append(el('span', 'time', timeOf(m.ts)));
  if (m.edited) head.append(el('span', 'edited', '(edited)'));
  const body = m.blocks.length > 0 ? renderBlocks(m.blocks, ctx) : mrkdwn(m.text, ctx);
  const content = el('div', 'message-content', head, body);
  if (m.ephemeral) content.prepend(el('div', 'ephemeral-note', 'Only visible to you'));
  if (opts.replies > 0) {
    const link = el('button', 'replies-link', `${opts.replies} ${opts.replies === 1 ? 'reply' : 'replies'}`);
    link.type = 'button';
    link.addEventListener('click', () => {
      thread = { ...thread, ts: m.ts };
      render();
    });
    content.append(link);
  }
  const row = el('div', `message${m.ephemeral ? ' ephemeral' : ''}${opts.selected ? ' selected' : ''}`, avatar(m.from), content);
  row.dataset.ts = m.ts;
  return row;
}

/** Keeps a list pinned to its newest message when it was already at the bottom. */
function refill(container, nodes) {
  const atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 40;
  container.replaceChildren(...nodes);
  if (atBottom) container.scrollTop = container.scrollHeight;
}

function render() {
  if (state === undefined) return;
  renderSidebar();
  const withReplies = state.threads.filter((t) => t.replies.length > 0);
  // A new report follows automatically, even after the person closed or picked another thread.
  if (withReplies.length > thread.seenWithReplies) thread = { ts: withReplies.at(-1).root.ts, seenWithReplies: withReplies.length };
  const open = state.threads.find((t) => t.root.ts === thread.ts);
  refill(
    $('messages'),
    state.threads.length === 0
      ? [emptyChannel()]
      : state.threads.map((t) => messageEl(t.root, { replies: t.replies.length, selected: t === open })),
  );
  $('thread').hidden = open === undefined;
  if (open !== undefined) {
    const count = el('div', 'thread-count', `${open.replies.length} ${open.replies.length === 1 ? 'reply' : 'replies'}`);
    refill($('thread-messages'), [messageEl(open.root), count, ...open.replies.map((r) => messageEl(r))]);
  }
}

function emptyChannel() {
  return el(
    'div',
    'empty',
    el('div', 'empty-title', 'This is the very beginning of #ops'),
    mrkdwn(`The lab host *${state.host}* answers 502 right now. Type \`/502 diagnose ${state.host}\` below.`),
  );
}

function renderSidebar() {
  $('channel-title').textContent = `# ${state.channel.name}`;
  $('channel-name').textContent = `# ${state.channel.name}`;
  $('lab-host').textContent = state.host;
  const who = $('viewer');
  if (who.options.length === 0) {
    for (const u of state.users) who.append(new Option(`${u.name}${u.approver ? ' (approver)' : ''}`, u.id));
  }
  who.value = viewer;
  const me = state.users.find((u) => u.id === viewer);
  $('viewer-hint').textContent = me?.approver ? 'may approve remediations' : 'not an approver: clicks are refused';
  const pick = $('scenario');
  if (pick.options.length === 0) {
    for (const s of state.lab.scenarios) pick.append(new Option(s.name, s.name));
    pick.value = state.lab.scenario;
  }
  $('apply-scenario').disabled = state.lab.busy !== null;
  $('lab-status').textContent =
    state.lab.busy !== null
      ? `Applying ${state.lab.busy}…`
      : `Now: ${state.lab.scenario}. ${state.lab.scenarios.find((s) => s.name === state.lab.scenario)?.summary ?? ''}`;
}

function showError(text) {
  $('composer-error').textContent = text;
  setTimeout(() => {
    if ($('composer-error').textContent === text) $('composer-error').textContent = '';
  }, 8000);
}

$('composer-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('composer');
  const text = input.value.trim();
  if (text === '') return;
  input.disabled = true;
  try {
    const answer = await post('/api/command', { user: viewer, text });
    if (answer.ok) {
      input.value = '';
      $('composer-error').textContent = '';
    } else showError(answer.error ?? `the bot answered HTTP ${answer.status}`);
  } finally {
    input.disabled = false;
    input.focus();
  }
});

$('viewer').addEventListener('change', (e) => {
  viewer = e.target.value;
  localStorage.setItem('medic-demo-viewer', viewer);
  connect();
});

$('apply-scenario').addEventListener('click', async () => {
  const answer = await post('/api/scenario', { name: $('scenario').value });
  if (!answer.ok) showError(answer.error);
});

$('close-thread').addEventListener('click', () => {
  thread = { ...thread, ts: undefined };
  render();
});

connect();
