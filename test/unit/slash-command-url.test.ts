import { describe, expect, it } from 'vitest';
import { parseSlashCommand } from '../../src/adapters/slack/parse-slash-command.ts';

describe('/502 diagnose <host> <url>', () => {
  it('takes the public URL after the host, and the rest as the reason', () => {
    expect(parseSlashCommand('diagnose web-01 https://shop.example/checkout')).toEqual({
      kind: 'diagnose',
      target: 'web-01',
      url: 'https://shop.example/checkout',
    });
    expect(parseSlashCommand('diagnose web-01 <https://shop.example/checkout> checkout is down')).toEqual({
      kind: 'diagnose',
      target: 'web-01',
      url: 'https://shop.example/checkout',
      reason: 'checkout is down',
    });
    expect(parseSlashCommand('diagnose web-01 checkout is down')).toEqual({
      kind: 'diagnose',
      target: 'web-01',
      reason: 'checkout is down',
    });
  });

  it.each([
    ['diagnose web-01 https://shop.example/$(id)', /characters in its path/],
    ['diagnose web-01 https://shop.example/`reboot`', /characters in its path/],
    ['diagnose web-01 https://admin:secret@shop.example/', /user name or password/],
    ['diagnose web-01 file:///etc/passwd', /only http/],
    ['diagnose web-01 gopher://shop.example/', /only http/],
    ['diagnose web-01 https://10.0.0.11/checkout', /names an address/],
    [`diagnose web-01 https://shop.example/${'a'.repeat(3000)}`, /longer than/],
  ])('refuses %j: nothing is queued, the user is told why', (text, reason) => {
    const r = parseSlashCommand(text);
    expect(r.kind).toBe('invalid');
    if (r.kind === 'invalid') {
      expect(r.message).toMatch(reason);
      expect(r.message).toContain('Nothing was run.');
    }
  });
});
