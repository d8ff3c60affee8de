import { describe, expect, it } from 'vitest';
import { hostFromLabelValue, mapAlertToHost } from '../../../src/core/alerts/map-alert-host.ts';
import { Inventory } from '../../../src/core/inventory/inventory-schema.ts';

const host = (address: string) => ({ address, user: 'oncall', privateKeyPath: '/k', knownHostsPath: '/kh' });
const inventory = Inventory.parse({
  hosts: {
    'web-01': host('10.0.0.11'),
    'web-02': host('web-02.example.com'),
    'db-01': host('fe80::1'),
  },
});

describe('hostFromLabelValue', () => {
  it.each([
    ['web-01:9113', 'web-01'],
    ['WEB-01', 'web-01'],
    ['10.0.0.11:9100', '10.0.0.11'],
    ['[fe80::1]:9100', 'fe80::1'],
    ['fe80::1', 'fe80::1'],
    ['https://user:pw@web-02.example.com:8443/health?x=1', 'web-02.example.com'],
    ['web-02.example.com.', 'web-02.example.com'],
    ['  web-01  ', 'web-01'],
  ])('%s → %s', (value, want) => {
    expect(hostFromLabelValue(value)).toBe(want);
  });
});

describe('mapAlertToHost', () => {
  it('tries labels in order and strips the port from instance', () => {
    expect(mapAlertToHost({ instance: 'web-01:9113', job: 'nginx' }, inventory)).toEqual({
      kind: 'inventory',
      host: 'web-01',
      label: 'instance',
      value: 'web-01:9113',
    });
  });

  it('prefers an earlier label over a later one', () => {
    expect(mapAlertToHost({ host: 'web-02', instance: 'web-01:9113' }, inventory)).toMatchObject({ host: 'web-02', label: 'host' });
  });

  it('falls through to a later label when an earlier one names no inventory host', () => {
    expect(mapAlertToHost({ host: 'lb-7', instance: '10.0.0.11:9100' }, inventory)).toMatchObject({ host: 'web-01', label: 'instance' });
  });

  it('matches inventory addresses, names case-insensitively, and an FQDN by its short name', () => {
    expect(mapAlertToHost({ instance: '10.0.0.11:9100' }, inventory)).toMatchObject({ host: 'web-01' });
    expect(mapAlertToHost({ instance: 'web-02.example.com:9100' }, inventory)).toMatchObject({ host: 'web-02' });
    expect(mapAlertToHost({ nodename: 'web-01.example.com' }, inventory)).toMatchObject({ host: 'web-01' });
    expect(mapAlertToHost({ nodename: 'WEB-01.Example.COM.' }, inventory)).toMatchObject({ host: 'web-01' });
    expect(mapAlertToHost({ instance: '[fe80::1]:9100' }, inventory)).toMatchObject({ host: 'db-01' });
  });

  it('maps an FQDN by its short name only in a domain the inventory uses', () => {
    expect(mapAlertToHost({ instance: 'web-01.attacker.example:9100' }, inventory)).toEqual({
      kind: 'unknown',
      candidate: 'web-01.attacker.example',
      label: 'instance',
    });
    // A subdomain of the inventory's domain is another domain.
    expect(mapAlertToHost({ nodename: 'web-01.prod.example.com' }, inventory)).toMatchObject({ kind: 'unknown' });
    expect(mapAlertToHost({ nodename: 'web-01.example.com.attacker.example' }, inventory)).toMatchObject({ kind: 'unknown' });
    // An inventory of bare names and IP addresses uses no domain: no FQDN maps by its short name.
    const bare = Inventory.parse({ hosts: { 'web-01': host('10.0.0.11') } });
    expect(mapAlertToHost({ nodename: 'web-01.example.com' }, bare)).toMatchObject({ kind: 'unknown' });
    // A host named by its FQDN lends its domain too.
    const named = Inventory.parse({ hosts: { 'web-01': host('10.0.0.11'), 'db.prod.example.net': host('10.0.0.12') } });
    expect(mapAlertToHost({ nodename: 'web-01.prod.example.net' }, named)).toMatchObject({ host: 'web-01' });
  });

  it('does not read an IP address as an FQDN', () => {
    expect(mapAlertToHost({ instance: '10.9.9.9:9100' }, Inventory.parse({ hosts: { '10': host('10.0.0.1') } }))).toEqual({
      kind: 'unknown',
      candidate: '10.9.9.9',
      label: 'instance',
    });
  });

  it('uses only the configured labels', () => {
    expect(mapAlertToHost({ instance: 'web-01:9113' }, inventory, ['server'])).toEqual({ kind: 'unknown' });
    expect(mapAlertToHost({ server: 'web-01' }, inventory, ['server'])).toMatchObject({ host: 'web-01', label: 'server' });
  });

  it('says which host an unknown alert meant', () => {
    expect(mapAlertToHost({ instance: 'cache-9:6379', job: 'redis' }, inventory)).toEqual({
      kind: 'unknown',
      candidate: 'cache-9',
      label: 'instance',
    });
  });

  it('is unknown without a candidate when no host label is set', () => {
    expect(mapAlertToHost({ alertname: 'X', job: 'nginx', host: '  ' }, inventory)).toEqual({ kind: 'unknown' });
  });
});
