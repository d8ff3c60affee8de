import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../src/core/check-result.ts';
import { failingProbes } from '../../../src/jobs/remediate-host.ts';

const probe = (stdout: string, subject?: string, status: CheckResult['status'] = 'ok'): CheckResult => ({
  id: subject === undefined ? 'http_probe' : 'vhost_probe',
  parse: 'http_probe',
  command: 'curl',
  status,
  exitCode: status === 'ok' ? 0 : 7,
  stdout,
  stderr: '',
  truncated: false,
  durationMs: 1,
  ...(subject === undefined ? {} : { subject }),
});

describe('failingProbes: what the verification says still fails', () => {
  it('names every vhost of the stack that answers 5xx or nothing, not only the first probe', () => {
    const results = [
      probe('http_code=200 time_total=0.01'),
      probe('http_code=200 time_total=0.01', 'web-01'),
      probe('http_code=502 time_total=0.01', 'shop.example.com'),
      probe('http_code=000 time_total=5.0', 'api.example.com', 'failed'),
      // A vhost whose `/` is a 404 by design is no failure; the site URL must answer 2xx/3xx.
      probe('http_code=404 time_total=0.01', 'static.example.com'),
      probe('', 'skipped.example.com', 'skipped'),
    ];
    expect(failingProbes(results)).toEqual(['shop.example.com (HTTP 502)', 'api.example.com (no answer)']);
    expect(failingProbes([probe('http_code=404 time_total=0.01')])).toEqual(['the site URL (HTTP 404)']);
  });
});
