import { globProblem } from '../../core/inventory/host-glob.ts';
import { escapeMrkdwn } from '../../core/report/escape-mrkdwn.ts';
import { parsePublicUrl } from '../../core/public-url.ts';

/** What `/502 …` asked for (`message` is escaped mrkdwn). The text only ever selects; it never reaches a shell. */
export type SlashCommand =
  | { kind: 'diagnose'; target: string; reason?: string; url?: string }
  | { kind: 'hosts' }
  | { kind: 'history'; host: string }
  | { kind: 'help' }
  | { kind: 'invalid'; message: string };

const TARGET = /^[A-Za-z0-9._*?-]{1,100}$/;
/** A word meant as a URL (any scheme, or Slack's `<…>` link form): it is a URL to check, never part of the reason. */
const LOOKS_LIKE_URL = /^<?[A-Za-z][A-Za-z0-9+.-]{0,30}:\/\//;
const SUBCOMMANDS = ['diagnose', 'hosts', 'history', 'help'] as const;

/** What the user typed, shown back to them: cut, quoted and escaped (the messages are mrkdwn). */
const quote = (s: string): string => escapeMrkdwn(JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s));

export function parseSlashCommand(text: string): SlashCommand {
  const words = text
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const [sub, arg, ...rest] = words;
  if (sub === undefined) return { kind: 'help' };
  switch (sub.toLowerCase()) {
    case 'help':
    case '-h':
    case '--help':
      return { kind: 'help' };
    case 'hosts':
    case 'list':
      return { kind: 'hosts' };
    case 'diagnose':
    case 'diag': {
      if (arg === undefined)
        return { kind: 'invalid', message: 'Which host? Try `/502 diagnose <host|group|pattern>`, e.g. `/502 diagnose web-01`.' };
      if (!TARGET.test(arg))
        return {
          kind: 'invalid',
          message: `${quote(arg)} is not a host, group or pattern: use letters, digits, \`.\`, \`_\`, \`-\` and the wildcards \`*\` \`?\`.`,
        };
      const problem = globProblem(arg);
      if (problem !== undefined) return { kind: 'invalid', message: `${quote(arg)}: ${problem}.` };
      // `/502 diagnose web-01 https://shop.example/checkout`: the public URL that failed, to ask the origin for.
      let url: string | undefined;
      if (rest[0] !== undefined && LOOKS_LIKE_URL.test(rest[0])) {
        const parsed = parsePublicUrl(rest[0]);
        if (!parsed.ok)
          return {
            kind: 'invalid',
            message: `${quote(rest[0])} is refused as the URL to probe: it ${escapeMrkdwn(parsed.reason)}. Nothing was run.`,
          };
        url = parsed.value.url;
        rest.shift();
      }
      const reason = rest.join(' ').slice(0, 500);
      return { kind: 'diagnose', target: arg, ...(reason === '' ? {} : { reason }), ...(url === undefined ? {} : { url }) };
    }
    case 'history': {
      if (arg === undefined) return { kind: 'invalid', message: 'Whose history? Try `/502 history <host>`.' };
      if (!TARGET.test(arg) || arg.includes('*') || arg.includes('?'))
        return { kind: 'invalid', message: `${quote(arg)} is not a host name.` };
      return { kind: 'history', host: arg };
    }
    default: {
      // A bare host name is the most common slip: say what would have worked.
      const hint = TARGET.test(sub) ? ` To diagnose a host, try \`/502 diagnose ${sub}\`.` : '';
      return {
        kind: 'invalid',
        message: `Unknown command ${quote(sub)}. Commands: ${SUBCOMMANDS.map((c) => `\`${c}\``).join(', ')}.${hint}`,
      };
    }
  }
}
