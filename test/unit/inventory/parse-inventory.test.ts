import { describe, expect, it } from 'vitest';
import { parseInventory } from '../../../src/core/inventory/parse-inventory.ts';
import { MAX_GLOB_WILDCARDS, matchGlob } from '../../../src/core/inventory/host-glob.ts';
import { resolveHosts } from '../../../src/core/inventory/resolve-hosts.ts';
import { parseSlashCommand } from '../../../src/adapters/slack/parse-slash-command.ts';
import { MedicError } from '../../../src/errors.ts';

const GOOD = `
hosts:
  web-01:
    address: 10.0.0.11
    user: oncall
    privateKeyPath: ~/.ssh/id_ed25519
    knownHostsPath: ~/.ssh/known_hosts
    sudo: true
  web-02: { address: 10.0.0.12, port: 2222, user: oncall, privateKeyPath: k, knownHostsPath: kh }
  db-01: { address: db.internal, user: oncall, privateKeyPath: k, knownHostsPath: kh, facts: { nginx: { errorLog: /srv/log/error.log } } }
groups:
  frontends: [web-01, web-02]
  everything: ['*']
`;

describe('parseInventory', () => {
  it('parses the contract shape with defaults', () => {
    const inv = parseInventory(GOOD, 'inventory.yaml');
    expect(inv.hosts['web-01']).toMatchObject({ address: '10.0.0.11', port: 22, sudo: true, playbook: 'nginx-502', facts: {} });
    expect(inv.hosts['web-02']?.port).toBe(2222);
    expect(inv.hosts['db-01']?.facts.nginx?.errorLog).toBe('/srv/log/error.log');
  });

  it.each([
    [
      'hosts:\n  web-01: { address: x, user: u, privateKeyPath: k, knownHostsPath: kh, port: 99999 }',
      /inv\.yaml is invalid:\n {2}- host web-01, field port: /,
    ],
    ['hosts:\n  web-01: { address: x, privateKeyPath: k, knownHostsPath: kh }', /host web-01, field user/],
    ['hosts:\n  web-01: { address: x, user: u, privateKeyPath: k, knownHostsPath: kh, sudoo: true }', /host web-01: .*sudoo/],
    ['hosts:\n  web-01: { address: "x; rm -rf /", user: u, privateKeyPath: k, knownHostsPath: kh }', /host web-01, field address/],
    [
      'hosts:\n  web-01: { address: x, user: u, privateKeyPath: k, knownHostsPath: kh, facts: { nginx: { errorLog: "/x;id" } } }',
      /host web-01, field facts\.nginx\.errorLog/,
    ],
    [
      'hosts:\n  web-01: { address: x, user: u, privateKeyPath: k, knownHostsPath: kh }\ngroups:\n  g: [web-09]',
      /group g: unknown host "web-09"/,
    ],
    ['hosts: [', /not valid YAML/],
  ])('names the file, host and field: %#', (text, message) => {
    expect(() => parseInventory(text, 'inv.yaml')).toThrow(message);
  });
});

describe('resolveHosts', () => {
  const inv = parseInventory(GOOD, 'inventory.yaml');
  it('resolves a host, a group and a glob', () => {
    expect(resolveHosts(inv, 'web-01')).toEqual(['web-01']);
    expect(resolveHosts(inv, 'frontends')).toEqual(['web-01', 'web-02']);
    expect(resolveHosts(inv, 'web-*')).toEqual(['web-01', 'web-02']);
    expect(resolveHosts(inv, 'everything')).toEqual(['db-01', 'web-01', 'web-02']);
  });
  it('lists what exists for an unknown target', () => {
    expect(() => resolveHosts(inv, 'web-9')).toThrow(
      /No host, group or pattern "web-9".*Hosts: db-01, web-01, web-02\. Groups: everything, frontends/,
    );
    expect(() => resolveHosts(inv, '$(reboot)')).toThrow(/No host/);
  });
  it(`refuses a pattern of more than ${MAX_GLOB_WILDCARDS} wildcards with its own code, before matching anything`, () => {
    const error = (() => {
      try {
        resolveHosts(inv, '**************Z');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(MedicError);
    expect(error).toMatchObject({ code: 'HOST_PATTERN_REFUSED', message: expect.stringMatching(/at most 8 wildcards .* this one has 14/) });
    expect(resolveHosts(inv, '*-0?')).toEqual(['db-01', 'web-01', 'web-02']);
  });
  it('an inventory group with too many wildcards is refused when the inventory is read', () => {
    expect(() => parseInventory(`${GOOD}  wild: ['*********']\n`, 'inv.yaml')).toThrow(/group.*wild.*at most 8 wildcards/s);
  });
});

describe('matchGlob', () => {
  it.each([
    ['web-*', 'web-01', true],
    ['web-*', 'db-01', false],
    ['*', '', true],
    ['', '', true],
    ['', 'a', false],
    ['web-0?', 'web-01', true],
    ['web-0?', 'web-012', false],
    ['*-01', 'shop-web-01', true],
    ['*web*01', 'shop-web-zz-01', true],
    ['*web*01', 'shop-web-zz-02', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'acb', false],
    ['?', '', false],
    ['**', 'x', true],
    ['web.*', 'web-01', false],
  ])('%s against %s: %s', (pattern, name, expected) => {
    expect(matchGlob(pattern, name)).toBe(expected);
  });

  it('a 100-character pattern of stars against a 63-character name that misses takes microseconds, not seconds', () => {
    const t0 = performance.now();
    expect(matchGlob(`${'*a'.repeat(49)}Z`, 'a'.repeat(63))).toBe(false);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});

describe('/502 diagnose with a pattern', () => {
  it('refuses too many wildcards in words, and nothing else is asked for', () => {
    const parsed = parseSlashCommand('diagnose **************Z');
    expect(parsed).toEqual({ kind: 'invalid', message: expect.stringContaining('at most 8 wildcards') });
    expect(parseSlashCommand('diagnose web-*')).toEqual({ kind: 'diagnose', target: 'web-*' });
  });
});
