import { z } from 'zod';
import { PARSER_KINDS } from '../check-result.ts';
import { EACH_LISTS } from './each-lists.ts';

/**
 * The playbook file format. Strict objects throughout: a typo ("tiemout") is an error, not a
 * silently ignored key. Durations are text ("5s") so the YAML reads naturally.
 */

const DurationText = z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'a duration such as 500ms, 5s, 15m');

export const CommandArgv = z
  .array(z.string().min(1).max(1000))
  .min(1)
  .max(64)
  .describe('The program and its arguments, run without a shell. {{fact.name}} inserts a host fact.');

export const PlaybookCheck = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_]{1,62}$/, 'lower_snake_case, 2 to 63 characters'),
  title: z.string().min(1).max(120),
  parse: z.enum(PARSER_KINDS).describe('Which classifier parser reads the output.'),
  run: CommandArgv,
  fallback: z.array(CommandArgv).max(4).optional().describe('Tried in order when `run` cannot be rendered or fails.'),
  sudo: z.boolean().optional().describe('Run through `sudo -n` on hosts whose inventory entry says sudo: true.'),
  timeout: DurationText.optional(),
  when: z.enum(['systemd', 'no_systemd']).optional().describe('Run only on hosts with (or without) systemd.'),
  each: z
    .enum(EACH_LISTS)
    .optional()
    .describe(
      'Run once per item of a discovered list (every nginx log file, every virtual host); {{item}} or {{item.field}} inserts the item.',
    ),
});

export type PlaybookCheck = z.infer<typeof PlaybookCheck>;

export const Playbook = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/),
  title: z.string().min(1).max(120),
  description: z.string().max(2000).optional(),
  window: DurationText.default('15m').describe('Log lines newer than this count as the current incident.'),
  defaultTimeout: DurationText.default('10s'),
  checks: z.array(PlaybookCheck).min(1).max(50),
});

export type Playbook = z.infer<typeof Playbook>;
