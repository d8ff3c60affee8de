import type { Dated } from '../evidence.ts';
import { outputLines } from './lines.ts';

/** An SELinux AVC denial, as `ausearch -m avc` or /var/log/audit/audit.log write it. */
export interface AvcDenial extends Dated {
  /** `name_connect`, `connectto`, `write`… */
  permission: string;
  comm?: string;
  /** `dest=8080` of a name_connect denial. */
  port?: number;
  /** `tcp_socket`, `sock_file`, `unix_stream_socket`… */
  tclass?: string;
  /** The target's type, e.g. `http_cache_port_t`, `unreserved_port_t`. */
  targetType?: string;
  permissive: boolean;
}

/** What the host's mandatory access control says: getenforce, getsebool, AVC denials. */
export interface SecurityPolicy {
  /** getenforce: `Enforcing`, `Permissive`, `Disabled`. */
  selinux?: { mode: 'enforcing' | 'permissive' | 'disabled'; line: string };
  /** getsebool: `httpd_can_network_connect --> off`. */
  booleans: Record<string, { on: boolean; line: string }>;
  denials: AvcDenial[];
}

const MODE = /^(Enforcing|Permissive|Disabled)$/;
const BOOLEAN = /^([a-z0-9_]{1,100}) --> (on|off)$/;
// type=AVC msg=audit(1705314221.123:456): avc:  denied  { name_connect } for  pid=12345 comm="nginx" dest=8080 … tclass=tcp_socket permissive=0
const AVC = /audit\((\d{1,12})(?:\.(\d{1,3}))?:\d+\): avc: +denied +\{ ([a-z_ ]{1,200}) \} for /;

function field(line: string, name: string): string | undefined {
  const m = new RegExp(` ${name}=("[^"]{0,200}"|\\S{1,300})`).exec(line);
  return m === null ? undefined : (m[1] as string).replace(/^"|"$/g, '');
}

/** Reads the output of `getenforce`, `getsebool …` and `ausearch -m avc` (any of them, any mix). */
export function parseSecurityPolicy(text: string, into: SecurityPolicy = { booleans: {}, denials: [] }): SecurityPolicy {
  for (const line of outputLines(text)) {
    const t = line.trim();
    const mode = MODE.exec(t);
    if (mode !== null) {
      into.selinux = { mode: (mode[1] as string).toLowerCase() as 'enforcing' | 'permissive' | 'disabled', line: t };
      continue;
    }
    const b = BOOLEAN.exec(t);
    if (b !== null) {
      into.booleans[b[1] as string] = { on: b[2] === 'on', line: t };
      continue;
    }
    const avc = AVC.exec(t);
    if (avc === null) continue;
    const denial: AvcDenial = {
      text: t,
      at: Number(avc[1]) * 1000 + Number((avc[2] ?? '0').padEnd(3, '0')),
      permission: (avc[3] as string).trim(),
      permissive: field(t, 'permissive') === '1',
    };
    const comm = field(t, 'comm');
    if (comm !== undefined) denial.comm = comm;
    const dest = field(t, 'dest');
    if (dest !== undefined && /^\d{1,5}$/.test(dest)) denial.port = Number(dest);
    const tclass = field(t, 'tclass');
    if (tclass !== undefined) denial.tclass = tclass;
    const tcontext = field(t, 'tcontext');
    const type = tcontext?.split(':')[2];
    if (type !== undefined) denial.targetType = type;
    into.denials.push(denial);
  }
  return into;
}
