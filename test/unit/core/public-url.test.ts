import { describe, expect, it } from 'vitest';
import { checkReadOnly } from '../../../src/core/playbook/allowlist.ts';
import { MAX_PUBLIC_URL_LENGTH, parsePublicUrl } from '../../../src/core/public-url.ts';

describe('the public URL to probe on the origin', () => {
  it.each([
    ['https://shop.example/checkout', 'https://shop.example/checkout', 'shop.example:443:127.0.0.1'],
    ['https://Shop.Example./checkout?step=2&x=%2F', 'https://shop.example/checkout?step=2&x=%2F', 'shop.example:443:127.0.0.1'],
    ['http://shop.example', 'http://shop.example/', 'shop.example:80:127.0.0.1'],
    ['https://shop.example:8443/a/b.php', 'https://shop.example:8443/a/b.php', 'shop.example:8443:127.0.0.1'],
    ['https://shop.example:443/', 'https://shop.example/', 'shop.example:443:127.0.0.1'],
    ['https://shop.example/checkout#payment', 'https://shop.example/checkout', 'shop.example:443:127.0.0.1'],
    ['https://shop.example?q=1', 'https://shop.example/?q=1', 'shop.example:443:127.0.0.1'],
    // Slack's link forms and its escaped ampersand.
    ['<https://shop.example/checkout>', 'https://shop.example/checkout', 'shop.example:443:127.0.0.1'],
    ['<https://shop.example/c?a=1&amp;b=2|shop.example/c>', 'https://shop.example/c?a=1&b=2', 'shop.example:443:127.0.0.1'],
    ['https://xn--bcher-kva.example/', 'https://xn--bcher-kva.example/', 'xn--bcher-kva.example:443:127.0.0.1'],
  ])('accepts %s', (input, url, resolve) => {
    const r = parsePublicUrl(input);
    expect(r).toMatchObject({ ok: true, value: { url, resolve } });
    // What it becomes passes the read-only allowlist as the probe's URL, pinned to loopback.
    if (r.ok)
      expect(
        checkReadOnly([
          'curl',
          '-sS',
          '-k',
          '-o',
          '/dev/null',
          '-m',
          '5',
          '--resolve',
          r.value.resolve,
          '-w',
          'http_code=%{http_code}',
          r.value.url,
        ]),
      ).toBeNull();
  });

  it.each([
    ['https://shop.example/$(id)', /characters in its path/],
    ['https://shop.example/`id`', /characters in its path/],
    ['https://shop.example/a;rm -rf /', /whitespace|characters in its path/],
    ["https://shop.example/a'b", /characters in its path/],
    ['https://shop.example/a|b', /characters in its path/],
    ['https://shop.example/a\\b', /characters in its path/],
    ['https://shop.example/a"><script>', /characters in its path/],
    ['https://shop.example/\nrm -rf /', /control characters/],
    ['https://shop.example/a\r\nHost: evil', /control characters/],
    ['https://shop.example/a\u0000', /control characters/],
    ['https://shop.example/a b', /whitespace/],
    ['https://user:pass@shop.example/', /user name or password/],
    ['https://evil.example@shop.example/', /user name or password/],
    ['file:///etc/passwd', /only http:\/\/ and https:\/\//],
    ['gopher://shop.example/', /only http/],
    ['javascript://alert(1)', /only http/],
    ['ftp://shop.example/', /only http/],
    ['shop.example/checkout', /not an absolute URL/],
    ['//shop.example/checkout', /not an absolute URL/],
    ['https://10.0.0.11/checkout', /names an address/],
    ['https://[::1]/checkout', /names an address/],
    ['https://shop_example/', /host name/],
    ['https://shop.example:99999/', /port/],
    ['https://shop.example:0/', /port/],
    ['https:///checkout', /no host name/],
    ['https://shop.example/%zz', /%-escape/],
    ['https://-shop.example/', /host name/],
    [`https://shop.example/${'a'.repeat(MAX_PUBLIC_URL_LENGTH)}`, /longer than/],
    [`https://${'a'.repeat(5000)}`, /longer than/],
  ])('refuses %j with a reason', (input, reason) => {
    const r = parsePublicUrl(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('runs in linear time on a long near-miss', () => {
    const t0 = performance.now();
    for (const input of [
      `https://${'a.'.repeat(500)}`,
      `https://shop.example/${'%2'.repeat(330)}`,
      `<https://${'a'.repeat(1500)}|${'b'.repeat(1500)}`,
    ])
      parsePublicUrl(input);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('the allowlist pins a --resolve probe to its own URL', () => {
  const probe = (resolve: string, url: string): string | null =>
    checkReadOnly(['curl', '-sS', '-k', '-o', '/dev/null', '-m', '5', '--resolve', resolve, '-w', 'http_code=%{http_code}', url]);

  it('accepts the pin of the URL it probes (default and explicit ports)', () => {
    expect(probe('shop.example:443:127.0.0.1', 'https://shop.example/checkout')).toBeNull();
    expect(probe('shop.example:8080:127.0.0.1', 'http://shop.example:8080/')).toBeNull();
    expect(probe('web-01:80:[::1]', 'http://web-01/')).toBeNull();
  });

  it.each([
    ['another name than the URL, which would go to DNS', 'shop.example:443:127.0.0.1', 'https://evil.example/'],
    ['another port than the URL', 'shop.example:443:127.0.0.1', 'https://shop.example:8443/'],
    ['the default port of the other scheme', 'shop.example:443:127.0.0.1', 'http://shop.example/'],
    ['an address in the URL, never resolved', '10.0.0.1:443:127.0.0.1', 'https://10.0.0.1/'],
    ['a pin to a non-loopback address', 'shop.example:443:10.0.0.1', 'https://shop.example/'],
  ])('refuses %s', (_, resolve, url) => {
    expect(probe(resolve, url)).not.toBeNull();
  });

  it('refuses two pins in one probe', () => {
    expect(
      checkReadOnly(['curl', '--resolve', 'a.example:443:127.0.0.1', '--resolve', 'b.example:443:127.0.0.1', 'https://a.example/']),
    ).toMatch(/one --resolve/);
  });
});
