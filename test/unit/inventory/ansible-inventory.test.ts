import { describe, expect, it } from 'vitest';
import { expandHostPattern } from '../../../src/core/inventory/ansible-inventory.ts';
import { parseInventory } from '../../../src/core/inventory/parse-inventory.ts';
import { resolveHosts } from '../../../src/core/inventory/resolve-hosts.ts';

const INI = `
# the web tier
[web]
web[01:03].example.com ansible_user=deploy
lb-1 ansible_host=10.0.0.5 ansible_port=2222 ansible_user=ops ansible_ssh_private_key_file=~/.ssh/lb_key

[db]
db-1 ansible_host=10.0.1.1 ansible_become=yes

[web:vars]
ansible_ssh_private_key_file=/keys/web_ed25519

[all:vars]
ansible_user=oncall
ansible_ssh_private_key_file=/keys/default
medic_known_hosts_path=/etc/medic/known_hosts

[prod:children]
web
db
`;

const YAML = `
all:
  vars:
    ansible_user: oncall
    ansible_ssh_private_key_file: /keys/default
  children:
    web:
      vars:
        ansible_ssh_private_key_file: /keys/web_ed25519
      hosts:
        web-[a:b]:
          ansible_host: 10.0.0.21
        lb-1:
          ansible_host: 10.0.0.5
          ansible_port: 2222
          ansible_user: ops
    db:
      hosts:
        db-1:
          ansible_become: true
`;

describe('Ansible inventories through the same validation as ours', () => {
  it('INI: hosts, ranges, host and group vars, children groups; all is every host', () => {
    const inv = parseInventory(INI, 'hosts.ini');
    expect(Object.keys(inv.hosts).sort()).toEqual(['db-1', 'lb-1', 'web01.example.com', 'web02.example.com', 'web03.example.com']);
    expect(inv.hosts['web02.example.com']).toMatchObject({
      address: 'web02.example.com',
      port: 22,
      user: 'deploy',
      privateKeyPath: '/keys/web_ed25519',
      knownHostsPath: '/etc/medic/known_hosts',
      sudo: false,
    });
    expect(inv.hosts['lb-1']).toMatchObject({ address: '10.0.0.5', port: 2222, user: 'ops', privateKeyPath: '~/.ssh/lb_key' });
    expect(inv.hosts['db-1']).toMatchObject({ address: '10.0.1.1', user: 'oncall', privateKeyPath: '/keys/default', sudo: true });
    expect(resolveHosts(inv, 'web')).toEqual(['lb-1', 'web01.example.com', 'web02.example.com', 'web03.example.com']);
    expect(resolveHosts(inv, 'prod')).toHaveLength(5);
    expect(resolveHosts(inv, 'all')).toHaveLength(5);
  });

  it('YAML: the same, with nested children and letter ranges', () => {
    const inv = parseInventory(YAML, 'hosts.yml');
    expect(Object.keys(inv.hosts).sort()).toEqual(['db-1', 'lb-1', 'web-a', 'web-b']);
    expect(inv.hosts['web-a']).toMatchObject({
      address: '10.0.0.21',
      user: 'oncall',
      privateKeyPath: '/keys/web_ed25519',
      knownHostsPath: '~/.ssh/known_hosts',
    });
    expect(inv.hosts['lb-1']).toMatchObject({ port: 2222, user: 'ops' });
    expect(inv.hosts['db-1']).toMatchObject({ address: 'db-1', privateKeyPath: '/keys/default', sudo: true });
    expect(resolveHosts(inv, 'web')).toEqual(['lb-1', 'web-a', 'web-b']);
  });

  it('a missing user is the same error as in our format, naming the Ansible variable', () => {
    expect(() => parseInventory('[web]\nweb-1 ansible_ssh_private_key_file=/k\n', 'hosts.ini')).toThrow(
      /hosts\.ini is invalid \(read as an Ansible INI inventory\):\n {2}- host web-1, field user \(ansible_user\): /,
    );
    expect(() =>
      parseInventory(
        'all:\n  hosts:\n    web-1:\n      ansible_user: u\n      ansible_ssh_private_key_file: /k\n      ansible_port: 99999\n',
        'hosts.yml',
      ),
    ).toThrow(/host web-1, field port \(ansible_port\): /);
  });

  it('hostile values are refused by the same schema: an address cannot carry ssh options', () => {
    expect(() =>
      parseInventory('[web]\nweb-1 ansible_host=-oProxyCommand=id ansible_user=u ansible_ssh_private_key_file=/k\n', 'hosts.ini'),
    ).toThrow(/host web-1, field address/);
    expect(() =>
      parseInventory("[web]\nweb-1 ansible_host=10.0.0.1 ansible_user='root;id' ansible_ssh_private_key_file=/k\n", 'hosts.ini'),
    ).toThrow(/field user/);
  });

  it('our own format is still read as ours', () => {
    const inv = parseInventory(
      'hosts:\n  web-01: { address: 10.0.0.11, user: u, privateKeyPath: k, knownHostsPath: kh }\n',
      'inventory.yaml',
    );
    expect(Object.keys(inv.hosts)).toEqual(['web-01']);
  });

  it('INI errors say the line', () => {
    expect(() => parseInventory('[web]\nweb-1 ansible_user\n', 'hosts.ini')).toThrow(/line 2: expected key=value/);
  });

  it('ranges: zero padding, steps, letters, and a bound', () => {
    expect(expandHostPattern('web[08:10]')).toEqual(['web08', 'web09', 'web10']);
    expect(expandHostPattern('web[1:5:2]')).toEqual(['web1', 'web3', 'web5']);
    expect(expandHostPattern('db-[a:c]-[1:2]')).toEqual(['db-a-1', 'db-a-2', 'db-b-1', 'db-b-2', 'db-c-1', 'db-c-2']);
    expect(() => expandHostPattern('web[1:99999]')).toThrow(/more than 10000/);
  });
});
