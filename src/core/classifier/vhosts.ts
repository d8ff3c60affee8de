import type { HostPicture } from '../discovery/host-picture.ts';
import { serverLabel } from '../discovery/nginx-servers.ts';
import type { Finding } from '../finding.ts';
import { clean, listOf } from './wording.ts';
import type { Dated } from './evidence.ts';

/**
 * Which virtual host a log line or a probe is about. nginx writes the server's name into each
 * request's error line (`, server: shop.example.com, request: …`); otherwise the log file
 * tells, when only one server writes to it.
 */

/** The `server:` field of an nginx error line, when it has one. */
export function serverOfErrorLine(text: string): string | undefined {
  const at = text.lastIndexOf(', server: ');
  if (at === -1) return undefined;
  const start = at + ', server: '.length;
  const end = text.indexOf(',', start);
  const name = text.slice(start, end === -1 ? undefined : end).trim();
  return name === '' || name.length > 253 ? undefined : name;
}

/** The one server whose requests are written to `log`; undefined when none or several are. */
export function soleWriter(picture: HostPicture, log: string | undefined, kind: 'errorLogs' | 'accessLogs'): string | undefined {
  if (log === undefined) return undefined;
  const writers = picture.nginx.servers.filter((s) => s[kind].includes(log));
  const [writer] = writers;
  return writers.length === 1 && writer !== undefined ? serverLabel(writer) : undefined;
}

/** A host with several virtual hosts: then every line and finding says which one it is about. */
export const hasSeveralVhosts = (picture: HostPicture): boolean => picture.nginx.servers.length > 1;

/** Marks a line with its virtual host, in the text people read: `[vhost shop.example.com] …`. */
export function attribute<T extends Dated>(entry: T, server: string | undefined, show: boolean): T {
  if (server === undefined) return entry;
  entry.server = server;
  if (show) entry.text = `[vhost ${clean(server, 100)}] ${entry.text}`;
  return entry;
}

/** The distinct virtual hosts of some lines, in order of first appearance. */
export const vhostsOf = (lines: readonly Dated[]): string[] => [
  ...new Set(lines.flatMap((l) => (l.server === undefined ? [] : [l.server]))),
];

/**
 * Names the virtual hosts a finding is about, in its title too (every report shows the title),
 * on a host with several of them.
 */
export function naming(picture: HostPicture, finding: Finding, vhosts: readonly string[]): Finding {
  if (vhosts.length === 0 || !hasSeveralVhosts(picture)) return finding;
  const names = vhosts.map((v) => clean(v, 100));
  return { ...finding, vhosts: names, title: `${finding.title} (${names.length === 1 ? 'vhost' : 'vhosts'} ${listOf(names, 3)})` };
}
