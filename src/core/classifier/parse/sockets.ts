import { parseFpmListen, type Endpoint } from '../upstream-address.ts';
import { outputLines } from './lines.ts';

export interface ListeningSocket {
  netid: string;
  /** For a listening socket: connections waiting to be accepted right now. */
  recvQ: number;
  /** For a listening socket: the backlog. */
  sendQ: number;
  local: string;
  endpoint?: Endpoint;
  line: string;
  /** With `ss -p`: the first process holding the socket, e.g. `{ name: 'gunicorn', pid: 812 }`. */
  process?: { name: string; pid: number };
}

// ss -p: `users:(("node",pid=13742,fd=21))`; a process name is at most 64 characters here.
const USERS = /users:\(\("([^"]{1,64})",pid=(\d{1,9})/;

/** Reads `ss -H -l -n -x -t [-p]`: `u_str LISTEN 4 4096 /run/php/php8.2-fpm.sock 68335 * 0`, `tcp LISTEN 0 511 127.0.0.1:80 0.0.0.0:*`. */
export function parseSockets(text: string): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const line of outputLines(text)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5 || !/^\d+$/.test(cols[2] as string) || !/^\d+$/.test(cols[3] as string)) continue;
    const [netid, , recvQ, sendQ, local] = cols as [string, string, string, string, string];
    const s: ListeningSocket = { netid, recvQ: Number(recvQ), sendQ: Number(sendQ), local, line };
    // ss writes `127.0.0.53%lo:53` for addresses bound to an interface.
    const endpoint = netid.startsWith('u_')
      ? local.startsWith('/')
        ? parseFpmListen(local)
        : undefined
      : parseFpmListen(local.replace(/%[^:\]]+/, ''));
    if (endpoint !== undefined) s.endpoint = endpoint;
    const users = USERS.exec(line);
    if (users !== null) s.process = { name: users[1] as string, pid: Number(users[2]) };
    out.push(s);
  }
  return out;
}
