import { describe, expect, it } from 'vitest';
import {
  checkHostKey,
  entryMatchesHost,
  fingerprintSha256,
  keyTypeOfBlob,
  knownKeysFor,
  lookupName,
  parseKnownHosts,
} from '../../src/adapters/ssh/known-hosts.ts';

// Real keys from `ssh-keygen -t ed25519|ecdsa`; fingerprints as printed by `ssh-keygen -lf`.
const K1 = 'AAAAC3NzaC1lZDI1NTE5AAAAIPUMnlK7qZc8538ZQVDVV3SodT/Mr0ltjR8DWdPZLDCx';
const K1_FP = 'SHA256:APswBkGn9E0ly6bggXcSnwoeqoJfaKbMhbfl5SItGc0';
const K2 = 'AAAAC3NzaC1lZDI1NTE5AAAAILLGsLBGW64uIEBmnLVDbKdAsLw7I/bmk9m7p55meY9G';
const K3 = 'AAAAC3NzaC1lZDI1NTE5AAAAIBAgNp46GgGpyEJUTYRHo5qTd6Pno7Zf92wHZYphGeAy';
const K4 =
  'AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGNjy3B8cACH3UNoMXoSvKr8e3c4QtnMUfPllBObL8Nb37wMbZCnXy2Bv0YqvEcrQ3Jja8kZziQwRrSfTz0Jyy0=';
const K4_FP = 'SHA256:H/3qoQ+UdTigt6G5qaPn10B3R8ZHpr8tJCIdIc8gFmU';

// `ssh-keygen -H` output for "web-01.example.com K1" and "[127.0.0.1]:2222 K2".
const HASHED = `|1|VgNrpNCcMrRZNa3Xq8BwNlsh5nM=|M0dH3R7hMrprVv8yrJtyiggA0iI= ssh-ed25519 ${K1}
|1|p/YziojyxKoHKPz11Mq09zixhFE=|fZ76Uz+L6HTiAZ2x+2iBkY9uw8c= ssh-ed25519 ${K2}
`;

const PLAIN = `# comment line, then a blank one

web-01.example.com,10.0.0.11 ssh-ed25519 ${K1} root@web-01
[10.0.0.12]:2222 ssh-ed25519 ${K2}
*.db.example.com,!secret.db.example.com ssh-ed25519 ${K3}
web-0? ecdsa-sha2-nistp256 ${K4}
@revoked web-99 ssh-ed25519 ${K3}
@cert-authority *.example.com ssh-ed25519 ${K2}
@bogus web-01.example.com ssh-ed25519 ${K2}
not-a-line
web-02 ssh-ed25519 not*base64
`;

describe('parseKnownHosts', () => {
  it('reads entries, markers and line numbers, and skips comments and malformed lines', () => {
    const entries = parseKnownHosts(PLAIN);
    expect(entries.map((e) => [e.line, e.marker ?? '', e.hosts, e.keyType])).toEqual([
      [3, '', 'web-01.example.com,10.0.0.11', 'ssh-ed25519'],
      [4, '', '[10.0.0.12]:2222', 'ssh-ed25519'],
      [5, '', '*.db.example.com,!secret.db.example.com', 'ssh-ed25519'],
      [6, '', 'web-0?', 'ecdsa-sha2-nistp256'],
      [7, 'revoked', 'web-99', 'ssh-ed25519'],
      [8, 'cert-authority', '*.example.com', 'ssh-ed25519'],
    ]);
    expect(entries[0]?.keyBase64).toBe(K1);
  });

  it('accepts CRLF line endings', () => {
    expect(parseKnownHosts(`a ssh-ed25519 ${K1}\r\nb ssh-ed25519 ${K2}\r\n`).map((e) => e.hosts)).toEqual(['a', 'b']);
  });
});

describe('host matching', () => {
  it('brackets non-22 ports like ssh does', () => {
    expect(lookupName('Web-01', 22)).toBe('web-01');
    expect(lookupName('10.0.0.12', 2222)).toBe('[10.0.0.12]:2222');
  });

  it('matches plain names, comma lists, wildcards and negations', () => {
    const [web01, port2222, db, web0x] = parseKnownHosts(PLAIN);
    expect(entryMatchesHost(web01!, 'web-01.example.com', 22)).toBe(true);
    expect(entryMatchesHost(web01!, 'WEB-01.EXAMPLE.COM', 22)).toBe(true);
    expect(entryMatchesHost(web01!, '10.0.0.11', 22)).toBe(true);
    // A non-22 port is a different name: the plain entry does not cover it.
    expect(entryMatchesHost(web01!, 'web-01.example.com', 2222)).toBe(false);
    expect(entryMatchesHost(port2222!, '10.0.0.12', 2222)).toBe(true);
    expect(entryMatchesHost(port2222!, '10.0.0.12', 22)).toBe(false);
    expect(entryMatchesHost(db!, 'a.db.example.com', 22)).toBe(true);
    expect(entryMatchesHost(db!, 'secret.db.example.com', 22)).toBe(false);
    expect(entryMatchesHost(db!, 'db.example.com', 22)).toBe(false);
    expect(entryMatchesHost(web0x!, 'web-07', 22)).toBe(true);
    expect(entryMatchesHost(web0x!, 'web-10', 22)).toBe(false);
  });

  it('matches hashed entries written by ssh-keygen -H, port included', () => {
    const [web01, local] = parseKnownHosts(HASHED);
    expect(entryMatchesHost(web01!, 'web-01.example.com', 22)).toBe(true);
    expect(entryMatchesHost(web01!, 'web-02.example.com', 22)).toBe(false);
    expect(entryMatchesHost(local!, '127.0.0.1', 2222)).toBe(true);
    expect(entryMatchesHost(local!, '127.0.0.1', 22)).toBe(false);
    expect(entryMatchesHost(local!, '127.0.0.1', 2223)).toBe(false);
  });

  it('ignores malformed hashed names', () => {
    const [entry] = parseKnownHosts(`|1|notbase64|x ssh-ed25519 ${K1}\n`);
    expect(entryMatchesHost(entry!, 'x', 22)).toBe(false);
  });
});

describe('checkHostKey', () => {
  it('says match for the known key, plain or hashed', () => {
    expect(checkHostKey(PLAIN, 'web-01.example.com', 22, 'ssh-ed25519', K1)).toBe('match');
    expect(checkHostKey(PLAIN, '10.0.0.12', 2222, 'ssh-ed25519', K2)).toBe('match');
    expect(checkHostKey(HASHED, 'web-01.example.com', 22, 'ssh-ed25519', K1)).toBe('match');
    expect(checkHostKey(HASHED, '127.0.0.1', 2222, 'ssh-ed25519', K2)).toBe('match');
  });

  it('says changed when another key of the same type is known for the host', () => {
    expect(checkHostKey(PLAIN, 'web-01.example.com', 22, 'ssh-ed25519', K3)).toBe('changed');
    expect(checkHostKey(HASHED, '127.0.0.1', 2222, 'ssh-ed25519', K3)).toBe('changed');
  });

  it('says unknown for unknown hosts, other ports and key types not on file', () => {
    expect(checkHostKey(PLAIN, 'web-03.example.com', 22, 'ssh-ed25519', K1)).toBe('unknown');
    expect(checkHostKey(PLAIN, '10.0.0.12', 22, 'ssh-ed25519', K2)).toBe('unknown');
    expect(checkHostKey('', '127.0.0.1', 2222, 'ssh-ed25519', K2)).toBe('unknown');
    // web-01.example.com only has an ed25519 key on file; ssh asks rather than cries wolf here.
    expect(checkHostKey(PLAIN, 'web-01.example.com', 22, 'ecdsa-sha2-nistp256', K4)).toBe('unknown');
  });

  it('lets a matching line win over a stale one of the same type', () => {
    const text = `h ssh-ed25519 ${K3}\nh ssh-ed25519 ${K1}\n`;
    expect(checkHostKey(text, 'h', 22, 'ssh-ed25519', K1)).toBe('match');
  });

  it('refuses revoked keys even when they are also listed as known', () => {
    const text = `web-99 ssh-ed25519 ${K3}\n@revoked web-99 ssh-ed25519 ${K3}\n`;
    expect(checkHostKey(text, 'web-99', 22, 'ssh-ed25519', K3)).toBe('revoked');
    expect(checkHostKey(PLAIN, 'web-99', 22, 'ssh-ed25519', K3)).toBe('revoked');
  });

  it('never takes a @cert-authority key for a host key', () => {
    expect(checkHostKey(PLAIN, 'www.example.com', 22, 'ssh-ed25519', K2)).toBe('unknown');
  });

  it('lists the plain keys known for a host', () => {
    expect(knownKeysFor(PLAIN, 'web-01.example.com', 22).map((e) => e.keyType)).toEqual(['ssh-ed25519']);
    expect(knownKeysFor(PLAIN, 'web-05', 22).map((e) => e.keyType)).toEqual(['ecdsa-sha2-nistp256']);
  });
});

describe('fingerprints', () => {
  it('formats SHA256 fingerprints like ssh-keygen -l', () => {
    expect(fingerprintSha256(K1)).toBe(K1_FP);
    expect(fingerprintSha256(Buffer.from(K4, 'base64'))).toBe(K4_FP);
  });

  it('reads the key type out of a key blob', () => {
    expect(keyTypeOfBlob(Buffer.from(K1, 'base64'))).toBe('ssh-ed25519');
    expect(keyTypeOfBlob(Buffer.from(K4, 'base64'))).toBe('ecdsa-sha2-nistp256');
    expect(keyTypeOfBlob(Buffer.from([0, 0, 0, 9, 1]))).toBeUndefined();
  });
});
