import { readFile } from 'node:fs/promises';

/** A host name this machine resolves to a loopback address from its own /etc/hosts. */
export interface LoopbackName {
  name: string;
  address: string;
}

/**
 * The first name in an /etc/hosts text that maps to a loopback IPv4 address and is not
 * `localhost` (most systems list their own host name, on 127.0.0.1 or Debian's 127.0.1.1).
 * nginx resolves such a name at start from the file, so no DNS query leaves the machine.
 */
export function loopbackNameIn(hostsText: string): LoopbackName | undefined {
  for (const raw of hostsText.split('\n')) {
    const [address, ...names] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (address === undefined || !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) continue;
    const name = names.find(
      (n) => /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(n) && !/^localhost(?:\.|$)|\.localhost$/i.test(n) && !/^ip6-/i.test(n),
    );
    if (name !== undefined) return { name, address };
  }
  return undefined;
}

export async function loopbackName(hostsFile = '/etc/hosts'): Promise<LoopbackName | undefined> {
  return loopbackNameIn(await readFile(hostsFile, 'utf8').catch(() => ''));
}
