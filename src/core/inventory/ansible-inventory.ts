/**
 * Ansible inventories (INI or YAML) read into the shape of our own inventory, which then goes
 * through the same schema and the same error messages. Pure.
 *
 * Used: hosts, groups (with `children` and `vars`), `ansible_host`, `ansible_port`,
 * `ansible_user` (or `ansible_ssh_user`), `ansible_ssh_private_key_file` (or
 * `ansible_private_key_file`), `ansible_become` (→ sudo) and numeric or letter ranges such as
 * `web[01:20]`. Host keys are checked against `medic_known_hosts_path` when set, else
 * `~/.ssh/known_hosts`, as ssh itself does. Every other variable is ignored.
 */

type Vars = Record<string, unknown>;

interface AnsibleGroup {
  hosts: Map<string, Vars>;
  children: Set<string>;
  vars: Vars;
}

/** At most this many hosts come out of one range pattern: a typo must not make a million. */
const MAX_RANGE = 10_000;

export class AnsibleInventoryError extends Error {}

/** Does this parsed YAML look like an Ansible inventory (top-level groups) rather than ours (`hosts:` and `groups:`)? */
export function isAnsibleYaml(raw: unknown): boolean {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return false;
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length === 0) return false;
  if (entries.some(([k]) => k !== 'hosts' && k !== 'groups')) return true;
  // Ours maps host names to host fields; Ansible's `hosts:` group (rare) would hold hosts/children/vars.
  const hosts = (raw as Record<string, unknown>).hosts;
  return isGroupBody(hosts);
}

/** Does this text look like an INI inventory: a `[group]` line, or `name key=value` lines YAML reads as one string? */
export function isAnsibleIni(text: string, yamlValue: unknown): boolean {
  // `[ \t]` rather than `\s`, which spans lines: from every line start of a blank run, `\s*` would rescan it.
  if (/^[ \t]*\[[^\]\s]+\][ \t\r]*$/m.test(text)) return true;
  return typeof yamlValue === 'string' || yamlValue === null
    ? /^[ \t]*[A-Za-z0-9_.[\]:-]+(?:[ \t]+[^\s=]+=\S*)*[ \t\r]*$/m.test(text)
    : false;
}

function isGroupBody(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v !== 'object' || Array.isArray(v)) return false;
  return Object.keys(v).every((k) => k === 'hosts' || k === 'children' || k === 'vars');
}

const newGroup = (): AnsibleGroup => ({ hosts: new Map(), children: new Set(), vars: {} });

function group(groups: Map<string, AnsibleGroup>, name: string): AnsibleGroup {
  let g = groups.get(name);
  if (g === undefined) {
    g = newGroup();
    groups.set(name, g);
  }
  return g;
}

/** `web[01:03].example.com` → web01…, web03…; `db-[a:c]` → db-a, db-b, db-c. One range per pattern level, nested ranges expand in turn. */
export function expandHostPattern(pattern: string): string[] {
  const m = /\[([0-9]+|[a-z]):([0-9]+|[a-z])(?::([0-9]+))?\]/.exec(pattern);
  if (m === null) return [pattern];
  const [whole, from, to, stepText] = m as unknown as [string, string, string, string | undefined];
  const step = stepText === undefined ? 1 : Number(stepText);
  const head = pattern.slice(0, m.index);
  const tail = pattern.slice(m.index + whole.length);
  const values: string[] = [];
  if (/^[0-9]+$/.test(from) && /^[0-9]+$/.test(to)) {
    const width = from.length > 1 && from.startsWith('0') ? from.length : 0;
    for (let i = Number(from); i <= Number(to) && values.length <= MAX_RANGE; i += Math.max(1, step))
      values.push(String(i).padStart(width, '0'));
  } else if (/^[a-z]$/.test(from) && /^[a-z]$/.test(to)) {
    for (let c = from.charCodeAt(0); c <= to.charCodeAt(0); c += Math.max(1, step)) values.push(String.fromCharCode(c));
  } else {
    throw new AnsibleInventoryError(`host pattern "${pattern}": a range is [01:20] or [a:f]`);
  }
  if (values.length > MAX_RANGE) throw new AnsibleInventoryError(`host pattern "${pattern}" makes more than ${MAX_RANGE} hosts`);
  return values.flatMap((v) => expandHostPattern(`${head}${v}${tail}`));
}

/** `a=1 b='two words' c="x"` → { a: '1', b: 'two words', c: 'x' }. */
function parseIniVars(text: string, where: string): Vars {
  const vars: Vars = {};
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/y;
  let at = 0;
  while (at < text.length) {
    if (text.slice(at).trim() === '' || text.slice(at).trimStart().startsWith('#')) break;
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null) throw new AnsibleInventoryError(`${where}: expected key=value, got "${text.slice(at).trim().slice(0, 60)}"`);
    const value = m[2] as string;
    vars[m[1] as string] = /^["'].*["']$/.test(value) ? value.slice(1, -1) : value;
    at = re.lastIndex;
  }
  return vars;
}

/** Reads an INI inventory into groups. */
function readIni(text: string): Map<string, AnsibleGroup> {
  const groups = new Map<string, AnsibleGroup>([
    ['all', newGroup()],
    ['ungrouped', newGroup()],
  ]);
  let section: { name: string; kind: 'hosts' | 'children' | 'vars' } = { name: 'ungrouped', kind: 'hosts' };
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    const where = `line ${i + 1}`;
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[([^\]:\s]+)(?::(children|vars))?\]$/.exec(line);
    if (header !== null) {
      section = { name: header[1] as string, kind: (header[2] as 'children' | 'vars' | undefined) ?? 'hosts' };
      group(groups, section.name);
      return;
    }
    if (line.startsWith('[')) throw new AnsibleInventoryError(`${where}: a section is [group], [group:children] or [group:vars]`);
    const g = group(groups, section.name);
    if (section.kind === 'vars') {
      Object.assign(g.vars, parseIniVars(line, where));
    } else if (section.kind === 'children') {
      g.children.add(line.split(/\s+/)[0] as string);
    } else {
      const space = line.search(/\s/);
      const pattern = space === -1 ? line : line.slice(0, space);
      const vars = space === -1 ? {} : parseIniVars(line.slice(space), where);
      for (const name of expandHostPattern(pattern)) g.hosts.set(name, { ...(g.hosts.get(name) ?? {}), ...vars });
    }
  });
  return groups;
}

/** Reads a YAML inventory (already parsed) into groups. */
function readYaml(raw: Record<string, unknown>): Map<string, AnsibleGroup> {
  const groups = new Map<string, AnsibleGroup>([
    ['all', newGroup()],
    ['ungrouped', newGroup()],
  ]);
  const visit = (name: string, body: unknown, depth: number): void => {
    if (depth > 20) throw new AnsibleInventoryError(`group ${name}: children nested more than 20 deep`);
    const g = group(groups, name);
    if (body === null || body === undefined) return;
    if (!isGroupBody(body)) throw new AnsibleInventoryError(`group ${name}: only hosts, children and vars may be under a group`);
    const b = body as { hosts?: unknown; children?: unknown; vars?: unknown };
    if (b.vars !== undefined && b.vars !== null) {
      if (typeof b.vars !== 'object' || Array.isArray(b.vars)) throw new AnsibleInventoryError(`group ${name}: vars must be a mapping`);
      Object.assign(g.vars, b.vars);
    }
    if (b.hosts !== undefined && b.hosts !== null) {
      if (typeof b.hosts !== 'object' || Array.isArray(b.hosts))
        throw new AnsibleInventoryError(`group ${name}: hosts must be a mapping of host names`);
      for (const [pattern, vars] of Object.entries(b.hosts as Record<string, unknown>)) {
        if (vars !== null && (typeof vars !== 'object' || Array.isArray(vars)))
          throw new AnsibleInventoryError(`host ${pattern}: its variables must be a mapping`);
        for (const host of expandHostPattern(pattern))
          g.hosts.set(host, { ...(g.hosts.get(host) ?? {}), ...((vars as Vars | null) ?? {}) });
      }
    }
    if (b.children !== undefined && b.children !== null) {
      if (typeof b.children !== 'object' || Array.isArray(b.children))
        throw new AnsibleInventoryError(`group ${name}: children must be a mapping of groups`);
      for (const [child, childBody] of Object.entries(b.children as Record<string, unknown>)) {
        g.children.add(child);
        visit(child, childBody, depth + 1);
      }
    }
  };
  for (const [name, body] of Object.entries(raw)) visit(name, body, 0);
  return groups;
}

/** Hosts of a group and of its children, recursively. */
function members(groups: Map<string, AnsibleGroup>, name: string, seen = new Set<string>()): string[] {
  if (seen.has(name)) return [];
  seen.add(name);
  const g = groups.get(name);
  if (g === undefined) return [];
  return [...g.hosts.keys(), ...[...g.children].flatMap((c) => members(groups, c, seen))];
}

/** Variables of a host: `all`'s, then each enclosing group's (parents before children), then its own. */
function hostVars(groups: Map<string, AnsibleGroup>, memberSets: Map<string, Set<string>>, depth: Map<string, number>, host: string): Vars {
  const containing = [...groups.keys()].filter((g) => g === 'all' || memberSets.get(g)?.has(host) === true);
  containing.sort((a, b) => (depth.get(a) ?? 1) - (depth.get(b) ?? 1));
  const vars: Vars = {};
  for (const g of containing) Object.assign(vars, groups.get(g)?.vars);
  for (const g of containing) Object.assign(vars, groups.get(g)?.hosts.get(host) ?? {});
  return vars;
}

const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && /^(yes|true|1|on)$/i.test(v));

/** Our inventory's raw shape (before validation) from Ansible's groups. */
function toMedic(groups: Map<string, AnsibleGroup>): { hosts: Record<string, unknown>; groups: Record<string, string[]> } {
  const hostNames = new Set<string>();
  for (const g of groups.values()) for (const h of g.hosts.keys()) hostNames.add(h);
  // How deep each group sits under the top-level ones: deeper groups' vars win, as in Ansible.
  const depth = new Map<string, number>();
  const walk = (name: string, d: number): void => {
    if ((depth.get(name) ?? -1) >= d || d > 20) return;
    depth.set(name, d);
    for (const c of groups.get(name)?.children ?? []) walk(c, d + 1);
  };
  for (const name of groups.keys()) if (name !== 'all') walk(name, 1);
  depth.set('all', 0);
  const memberSets = new Map([...groups.keys()].map((g) => [g, new Set(members(groups, g))]));
  const hosts: Record<string, unknown> = {};
  for (const name of [...hostNames].sort()) {
    const v = hostVars(groups, memberSets, depth, name);
    const port = v.ansible_port ?? v.ansible_ssh_port;
    const host: Record<string, unknown> = {
      address: v.ansible_host ?? v.ansible_ssh_host ?? name,
      user: v.ansible_user ?? v.ansible_ssh_user,
      privateKeyPath: v.ansible_ssh_private_key_file ?? v.ansible_private_key_file,
      knownHostsPath: v.medic_known_hosts_path ?? '~/.ssh/known_hosts',
    };
    if (port !== undefined) host.port = typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port;
    if (v.ansible_become !== undefined) host.sudo = truthy(v.ansible_become);
    hosts[name] = host;
  }
  const out: Record<string, string[]> = {};
  // Every host is in `all`, listed or not, as in Ansible.
  if (hostNames.size > 0 && !hostNames.has('all')) out.all = [...hostNames].sort();
  for (const name of [...groups.keys()].sort()) {
    if (name === 'all') continue;
    if (name === 'ungrouped' || hostNames.has(name)) continue;
    const list = [...new Set(members(groups, name))].sort();
    if (list.length > 0) out[name] = list;
  }
  return { hosts, groups: out };
}

export function ansibleIniToMedic(text: string): { hosts: Record<string, unknown>; groups: Record<string, string[]> } {
  return toMedic(readIni(text));
}

export function ansibleYamlToMedic(raw: Record<string, unknown>): { hosts: Record<string, unknown>; groups: Record<string, string[]> } {
  return toMedic(readYaml(raw));
}
