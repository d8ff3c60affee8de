import { describe, expect, it } from 'vitest';
import { loopbackNameIn } from '../../src/lab/loopback-name.ts';

describe("the lab's host name from /etc/hosts (nginx resolves it from the file: no DNS query leaves)", () => {
  it.each([
    ['127.0.0.1 localhost\n127.0.0.1 runsc\n127.0.0.1 vm\n', { name: 'runsc', address: '127.0.0.1' }],
    [
      '127.0.0.1\tlocalhost\n127.0.1.1\tdebian.example debian\n\n# IPv6\n::1 localhost ip6-localhost ip6-loopback\n',
      { name: 'debian.example', address: '127.0.1.1' },
    ],
    ['127.0.0.1 localhost localhost.localdomain ip6-localhost\n10.0.0.5 web-01 # a real address: never\n', undefined],
    ['', undefined],
  ])('%j', (text, wanted) => {
    expect(loopbackNameIn(text)).toEqual(wanted);
  });
});
