import { parsePublicUrl, showRefusedUrl } from '../public-url.ts';
import type { AlertInstance } from './alert-instance.ts';

/** Where an alert carries the public URL that failed: a `url` annotation or label (Alertmanager, Grafana, the generic form's `url`), or blackbox's `instance`. */
const URL_KEYS = ['url', 'public_url', 'instance', 'target'] as const;

const HTTP_URL = /^\s*<?https?:\/\//i;

export type AlertUrl = { url: string } | { refused: string } | undefined;

/**
 * The public URL an alert is about, checked like one typed in Slack: the first value under a
 * known key that is an http(s) URL (`instance="web-01:9100"` is a host, not a URL, and is
 * skipped). A URL that is not a safe shape is refused (and said), never probed.
 */
export function alertUrl(alerts: readonly AlertInstance[]): AlertUrl {
  for (const a of alerts) {
    for (const key of URL_KEYS) {
      for (const value of [a.annotations[key], a.labels[key]]) {
        if (value === undefined || !HTTP_URL.test(value)) continue;
        const parsed = parsePublicUrl(value.trim());
        return parsed.ok
          ? { url: parsed.value.url }
          : { refused: `the alert's ${key} ${showRefusedUrl(value)} was not probed: it ${parsed.reason}` };
      }
    }
  }
  return undefined;
}
