/**
 * Is a master in a container? The namespace columns of `ps` answer only for root: an
 * unprivileged SSH user may not read another user's /proc/<pid>/ns/*. Two files any user may
 * read answer instead:
 *
 * - /proc/<pid>/cgroup: container runtimes put each container in a cgroup of their own, named
 *   by a pattern of theirs (docker-<id>.scope, /docker/<id>, libpod-<id>.scope, kubepods…,
 *   lxc.payload.<name>, machine-<name>.scope). Compared with our own shell's, so that a
 *   diagnosis run from inside one container does not call that container's masters foreign.
 * - /proc/<pid>/mountinfo: a master in another mount namespace whose root is another
 *   filesystem (an image's overlay, a machine's directory) sees other files at the same paths.
 *   Another mount namespace with the host's own root is systemd's sandboxing (PrivateTmp=,
 *   ProtectSystem=, as RHEL's nginx and php-fpm units use): its configs and logs are the host's.
 *   A process of our own namespace whose "/" is another mount is chrooted: not the host's paths either.
 *
 * Either check can only take trust away from a master, never give it: an unprivileged user may
 * name a cgroup of its own like a container's, which only makes its look-alike "a container's".
 */

/** One line of /proc/<pid>/cgroup: `hierarchy-id:controllers:path` (v2's is `0::path`). */
export interface CgroupLine {
  hierarchy: string;
  controllers: string;
  path: string;
}

/** Parses /proc/<pid>/cgroup. The path may hold colons (containerd's `…slice:cri-containerd:<id>` on cgroup v1). */
export function parseCgroup(text: string): CgroupLine[] {
  const out: CgroupLine[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (first <= 0 || second < 0 || !/^\d{1,4}$/.test(line.slice(0, first))) continue;
    const path = line.slice(second + 1).trimEnd();
    if (!path.startsWith('/')) continue;
    out.push({ hierarchy: line.slice(0, first), controllers: line.slice(first + 1, second), path });
  }
  return out;
}

/** A container as its cgroup names it: the runtime and the cgroup path that is that one container. */
export interface ContainerCgroup {
  runtime: 'docker' | 'containerd' | 'cri-o' | 'podman' | 'kubernetes' | 'lxc' | 'systemd-nspawn';
  /** The path up to and including the container's own segment (the first line's, for people). */
  scope: string;
  /** The container's own segment(s): the same in every hierarchy of cgroup v1, whatever their parents. */
  id: string;
}

const HEX_ID = /^[0-9a-f]{32,64}$/;

/** A segment that is one container's own, by the runtimes' naming; `next` is the segment after it. */
function segmentRuntime(
  seg: string,
  prev: string | undefined,
  next: string | undefined,
): { runtime: ContainerCgroup['runtime']; takesNext: boolean } | undefined {
  // systemd cgroup driver: <runtime>-<id>.scope (conmon's own scopes are not the container).
  const scope = /^(docker|cri-containerd|crio|libpod)-([0-9a-f]{12,64})\.scope$/.exec(seg);
  if (scope !== null) {
    const name = scope[1] as string;
    return {
      runtime: name === 'docker' ? 'docker' : name === 'cri-containerd' ? 'containerd' : name === 'crio' ? 'cri-o' : 'podman',
      takesNext: false,
    };
  }
  // containerd on cgroup v1 with the systemd driver: kubepods-…-pod<uid>.slice:cri-containerd:<id>.
  if (/:(?:cri-containerd|docker|crio):[0-9a-f]{12,64}$/.test(seg)) return { runtime: 'containerd', takesNext: false };
  // cgroupfs driver: /docker/<id>, /crio/<id>, containerd's namespaces /k8s.io/<id>, /default/<id>.
  if ((seg === 'docker' || seg === 'crio' || seg === 'k8s.io' || seg === 'containerd') && next !== undefined && HEX_ID.test(next)) {
    return { runtime: seg === 'docker' ? 'docker' : seg === 'crio' ? 'cri-o' : 'containerd', takesNext: true };
  }
  // Kubernetes with cgroupfs: /kubepods/<qos>/pod<uid>/<id> (the id is the container).
  if (HEX_ID.test(seg) && prev !== undefined && /^pod[0-9a-f_-]{8,64}$/.test(prev)) return { runtime: 'kubernetes', takesNext: false };
  // LXC: /lxc/<name> (before 3.1), /lxc.payload/<name> (3.1), /lxc.payload.<name> (4.0 and later).
  if (/^lxc\.payload\.[^/]+$/.test(seg)) return { runtime: 'lxc', takesNext: false };
  if ((seg === 'lxc' || seg === 'lxc.payload') && next !== undefined && next !== '') return { runtime: 'lxc', takesNext: true };
  // systemd-nspawn: machined's machine.slice/machine-<name>.scope, a user's machine.slice/<name>.scope,
  // or machinectl's systemd-nspawn@<name>.service (machine.slice also holds VMs, which run no nginx).
  if (prev === 'machine.slice' && (seg.endsWith('.scope') || /^systemd-nspawn@[^/]+\.service$/.test(seg))) {
    return { runtime: 'systemd-nspawn', takesNext: false };
  }
  return undefined;
}

/** The container a cgroup path belongs to, if its path names one (the outermost, when nested). */
export function containerOfPath(path: string): ContainerCgroup | undefined {
  const segs = path.split('/');
  for (let i = 1; i < segs.length; i++) {
    const found = segmentRuntime(segs[i] as string, segs[i - 1], segs[i + 1]);
    if (found !== undefined) {
      const end = i + (found.takesNext ? 2 : 1);
      return { runtime: found.runtime, scope: segs.slice(0, end).join('/'), id: segs.slice(i, end).join('/') };
    }
  }
  return undefined;
}

/** Every container the lines of one /proc/<pid>/cgroup name (v1 lists one path per hierarchy). */
export function containersOf(lines: readonly CgroupLine[]): ContainerCgroup[] {
  const out: ContainerCgroup[] = [];
  for (const l of lines) {
    const c = containerOfPath(l.path);
    if (c !== undefined && !out.some((o) => o.id === c.id)) out.push(c);
  }
  return out;
}

/**
 * The container a master's cgroup names that our own does not: a master in the very container
 * our shell runs in (a diagnosis from inside it) is at home there.
 */
export function foreignContainer(master: readonly CgroupLine[], own: readonly CgroupLine[] | undefined): ContainerCgroup | undefined {
  const ours = new Set(containersOf(own ?? []).map((c) => c.id));
  return containersOf(master).find((c) => !ours.has(c.id));
}

/** One line of /proc/<pid>/mountinfo (see proc(5)). */
export interface MountEntry {
  id: string;
  parent: string;
  /** major:minor of the filesystem. */
  device: string;
  /** The directory of that filesystem mounted here ("/" for the whole of it). */
  root: string;
  mountPoint: string;
  fsType: string;
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (f.length < 10 || dash < 0 || !/^\d+$/.test(f[0] as string) || !/^\d+:\d+$/.test(f[2] as string)) continue;
    out.push({
      id: f[0] as string,
      parent: f[1] as string,
      device: f[2] as string,
      root: f[3] as string,
      mountPoint: f[4] as string,
      fsType: f[dash + 1] ?? '',
    });
  }
  return out;
}

/** The mount a process sees at "/": the last one listed there (later mounts stack on earlier ones). */
const rootMount = (mounts: readonly MountEntry[]): MountEntry | undefined => mounts.filter((m) => m.mountPoint === '/').at(-1);

export type MountComparison =
  /** Same mount namespace as ours (they share mounts, which a new namespace never does: its copies get new ids). */
  | { kind: 'same' }
  /** Another mount namespace whose "/" is ours: systemd sandboxing; paths are the host's. */
  | { kind: 'sandbox' }
  /** Another mount namespace with another root: a container's; `root` says what its "/" is. */
  | { kind: 'other-root'; root: string }
  /** Our mount namespace, but its "/" is not ours: a chroot; its paths are not the host's either. */
  | { kind: 'chroot'; root: string };

const describeRoot = (m: MountEntry | undefined): string =>
  m === undefined ? 'no mount of its own at /' : `${m.fsType} ${m.device}${m.root === '/' ? '' : ` ${m.root}`}`;

/** Compares a master's mounts with our own shell's; undefined when either could not be read. */
export function compareMounts(own: readonly MountEntry[], master: readonly MountEntry[]): MountComparison | undefined {
  if (own.length === 0 || master.length === 0) return undefined;
  const ids = new Set(own.map((m) => m.id));
  const ours = rootMount(own);
  const theirs = rootMount(master);
  if (master.some((m) => ids.has(m.id))) {
    // Unchrooted, a process of our namespace lists the very mount we have at "/".
    return ours === undefined || theirs?.id === ours.id ? { kind: 'same' } : { kind: 'chroot', root: describeRoot(theirs) };
  }
  if (ours !== undefined && theirs !== undefined && ours.device === theirs.device && ours.root === theirs.root) return { kind: 'sandbox' };
  return { kind: 'other-root', root: describeRoot(theirs) };
}

/** What is known of one master's place, from the reads above. */
export interface MasterPlace {
  cgroup?: CgroupLine[];
  mounts?: MountEntry[];
}

/** What we know of our own shell's place: the reference the masters are compared with. */
export interface OwnPlace {
  cgroup?: CgroupLine[];
  mounts?: MountEntry[];
}

/** Why a master is a container's, for people, or undefined when nothing says so. */
export function containerEvidence(place: MasterPlace | undefined, own: OwnPlace): string | undefined {
  if (place === undefined) return undefined;
  const foreign = place.cgroup === undefined ? undefined : foreignContainer(place.cgroup, own.cgroup);
  if (foreign !== undefined) return `${foreign.runtime} cgroup ${foreign.scope}`;
  const mounts = own.mounts === undefined || place.mounts === undefined ? undefined : compareMounts(own.mounts, place.mounts);
  if (mounts?.kind === 'other-root') return `another mount namespace, whose / is ${mounts.root}`;
  if (mounts?.kind === 'chroot') return `a chroot, whose / is ${mounts.root}`;
  return undefined;
}
