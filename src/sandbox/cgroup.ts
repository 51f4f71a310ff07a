/**
 * Per-sandbox control groups: memory (which also bounds the tmpfs pages a sandbox writes), number
 * of processes and CPU share, for the sandbox's whole process tree rather than per process.
 * cgroup v2 where the host has it (`/sys/fs/cgroup/cgroup.controllers` exists; an empty `unified`
 * mount beside v1 controllers is not v2), v1 otherwise (memory, pids and cpu hierarchies). Groups
 * are made under this process's own group (from /proc/self/cgroup), so Assay inside a container or
 * a systemd slice stays within what it was given. What could not be set is reported, never hidden.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
  /** CPU bandwidth in cores (e.g. 1 = one core's worth per period). */
  cpus: number;
}

export interface CgroupGroup {
  /** `cgroup.procs` files a process writes its pid to, to join every controller's group. */
  procs: string[];
  /** control → how it is enforced, or "not enforced: <why>". */
  enforced: Record<string, string>;
  /** Removes the groups, waiting briefly for the killed processes in them to be gone. */
  remove(): Promise<void>;
}

export type CgroupVersion = 'v1' | 'v2' | null;

const ROOT = '/sys/fs/cgroup';

/** Which cgroup version governs this process, and where its own group is per controller. */
export function detectCgroups(root = ROOT, selfCgroup = '/proc/self/cgroup'): { version: CgroupVersion; own: Record<string, string>; why?: string } {
  let lines: string[];
  try {
    lines = readFileSync(selfCgroup, 'utf8').trim().split('\n');
  } catch (e) {
    return { version: null, own: {}, why: `cannot read ${selfCgroup}: ${(e as Error).message}` };
  }
  const own: Record<string, string> = {};
  for (const l of lines) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(l);
    if (!m) continue;
    if (m[2] === '') own[''] = m[3]!;
    else for (const c of m[2]!.split(',')) own[c] = m[3]!;
  }
  if (existsSync(join(root, 'cgroup.controllers'))) return { version: 'v2', own: { '': own[''] ?? '/' } };
  if (['memory', 'pids', 'cpu'].some((c) => c in own && existsSync(join(root, c)))) return { version: 'v1', own };
  return { version: null, own, why: 'no cgroup v2 and no v1 memory/pids/cpu hierarchy mounted' };
}

const tryWrite = (file: string, value: string): string | null => {
  try {
    writeFileSync(file, value);
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
};

/**
 * Creates the groups for one sandbox named `name`. Never throws: a control that cannot be set is
 * reported as not enforced (and with no group at all, `procs` is empty).
 */
export function createCgroup(name: string, limits: CgroupLimits, root = ROOT, selfCgroup = '/proc/self/cgroup'): CgroupGroup {
  const d = detectCgroups(root, selfCgroup);
  const enforced: Record<string, string> = {};
  const dirs: string[] = [];
  const procs: string[] = [];
  const make = (dir: string): string | null => {
    try {
      mkdirSync(dir);
      dirs.push(dir);
      return null;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    }
  };
  if (d.version === 'v1') {
    const plan: [string, [string, string][], string][] = [
      ['memory', [['memory.limit_in_bytes', String(limits.memoryBytes)]], `${limits.memoryBytes} bytes for the whole tree, tmpfs pages included (cgroup v1 memory)`],
      ['pids', [['pids.max', String(limits.pids)]], `${limits.pids} tasks for the whole tree (cgroup v1 pids)`],
      ['cpu', [['cpu.cfs_period_us', '100000'], ['cpu.cfs_quota_us', String(Math.max(1000, Math.round(limits.cpus * 100000)))]], `${limits.cpus} CPU (cgroup v1 cfs quota)`],
    ];
    for (const [ctrl, files, how] of plan) {
      const own = d.own[ctrl];
      if (own === undefined || !existsSync(join(root, ctrl))) {
        enforced[ctrl] = `not enforced: no v1 ${ctrl} hierarchy`;
        continue;
      }
      const dir = join(root, ctrl, own, name);
      const err = make(dir) ?? files.map(([f, v]) => tryWrite(join(dir, f), v)).find((x) => x !== null) ?? null;
      if (err) {
        enforced[ctrl] = `not enforced: ${err} at ${dir}`;
        continue;
      }
      if (ctrl === 'memory') tryWrite(join(dir, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes)); // swap too, where accounted
      procs.push(join(dir, 'cgroup.procs'));
      enforced[ctrl] = how;
    }
    enforced.io = 'not enforced: cgroup v1 blkio does not limit buffered writes';
  } else if (d.version === 'v2') {
    const dir = join(root, d.own['']!, name);
    const err = make(dir);
    if (err) for (const c of ['memory', 'pids', 'cpu', 'io']) enforced[c] = `not enforced: ${err} at ${dir}`;
    else {
      const set: [string, string, string, string][] = [
        ['memory', 'memory.max', String(limits.memoryBytes), `${limits.memoryBytes} bytes for the whole tree, tmpfs pages included (cgroup v2 memory.max)`],
        ['pids', 'pids.max', String(limits.pids), `${limits.pids} tasks (cgroup v2 pids.max)`],
        ['cpu', 'cpu.max', `${Math.max(1000, Math.round(limits.cpus * 100000))} 100000`, `${limits.cpus} CPU (cgroup v2 cpu.max)`],
      ];
      for (const [c, f, v, how] of set) {
        const e = tryWrite(join(dir, f), v);
        enforced[c] = e ? `not enforced: ${e} writing ${f} (controller not delegated to ${join(root, d.own['']!)}?)` : how;
      }
      tryWrite(join(dir, 'memory.swap.max'), '0');
      enforced.io = 'not enforced: no io.max device limits are set';
      procs.push(join(dir, 'cgroup.procs'));
    }
  } else for (const c of ['memory', 'pids', 'cpu', 'io']) enforced[c] = `not enforced: ${d.why}`;
  return {
    procs,
    enforced,
    async remove() {
      for (const dir of dirs.reverse()) await rmdirRetry(dir);
    },
  };
}

/**
 * The command prefix that moves itself into the groups and then runs the rest: `sh` writes its
 * own pid to each `cgroup.procs` (as the caller, before any privilege drop) and execs.
 */
export function joinPrefix(procs: readonly string[]): string[] {
  if (!procs.length) return [];
  return ['/bin/sh', '-c', 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; unset PWD OLDPWD; exec "$@"', 'assay-cgroup-join', String(procs.length), ...procs];
}

/** rmdir of a cgroup, retried while killed tasks are still exiting (EBUSY), for about a second. */
async function rmdirRetry(dir: string): Promise<boolean> {
  for (let i = 0; i < 20; i++) {
    try {
      rmdirSync(dir);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY') return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}

/** Removes groups named `name` under this process's own groups (a sandbox of a run that died); returns how many. */
export async function removeCgroupNamed(name: string, root = ROOT, selfCgroup = '/proc/self/cgroup'): Promise<number> {
  const d = detectCgroups(root, selfCgroup);
  const dirs = d.version === 'v2' ? [join(root, d.own['']!, name)] : d.version === 'v1' ? ['memory', 'pids', 'cpu'].flatMap((c) => (d.own[c] !== undefined ? [join(root, c, d.own[c]!, name)] : [])) : [];
  let n = 0;
  for (const dir of dirs) if (existsSync(dir) && (await rmdirRetry(dir))) n++;
  return n;
}
