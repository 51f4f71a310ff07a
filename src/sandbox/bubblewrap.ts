/**
 * The default sandbox back-end: bubblewrap (bwrap) on Linux. Every command is a fresh bwrap
 * process with its own user, PID, network, IPC, UTS and cgroup namespaces; the only writable
 * place that survives between commands is the sample's workspace directory.
 *
 * - no network: a new network namespace holds only its own loopback, so neither the internet nor
 *   the host's loopback services are reachable;
 * - read-only system: /usr and /etc are bound read-only, nothing else of the host is visible
 *   (not /home, /root, /work, /var, /run, the host's /tmp or its sockets);
 * - unprivileged: uid/gid 65534 inside; when Assay runs as root and `setpriv` exists, bwrap itself
 *   is started as host uid 65534, so even the host sees the sandbox as nobody; no capabilities;
 *   nested user namespaces are disabled;
 * - limits: prlimit (processes, address space, CPU seconds, file size, open files, no core
 *   dumps), a wall-clock timer that kills the whole tree, capped output, a size-limited /tmp and a
 *   workspace quota checked after each command;
 * - teardown: --die-with-parent kills the sandbox if Assay dies (even by SIGKILL); the PID
 *   namespace dies with each command, so nothing runs between commands; workspaces left behind
 *   by a killed run are swept when the next provider starts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, lstatSync, mkdirSync, openSync, readFileSync as readFileSyncFs, readlinkSync, rmSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { AssayError } from '../common/errors.js';
import { DEFAULT_LIMITS, type CheckResultRaw, type ExecOptions, type ExecResult, type Sandbox, type SandboxLimits, type SandboxProvider, type SandboxSpec } from './types.js';
import { compileSeccomp } from './seccomp.js';
import { createCgroup, joinPrefix, removeCgroupNamed, type CgroupGroup } from './cgroup.js';
import { copyTree, removeTree, Workspace } from './workspace.js';
import { RUNNER_PY, WORKER_PY } from './check-runner.js';

export const SANDBOX_UID = 65534;
export const WORKDIR = '/workspace';
/** Most entries a check's copy of the workspace takes (the snapshot's own limit). */
const MAX_COPY_ENTRIES = 20_000;
const OWNER_FILE = 'owner.json';
/**
 * bwrap itself starts from this environment, never Assay's: bwrap's own init (PID 1 inside the
 * sandbox, same uid) keeps the environment it was started with and /proc/1/environ shows it, so
 * `--clearenv` alone would leave every API key of the host readable inside.
 */
export const BWRAP_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin' });

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds an executable on a search path (default: PATH, then the usual system directories). */
export function which(name: string, searchPath = `${process.env.PATH ?? ''}${delimiter}/usr/bin${delimiter}/bin${delimiter}/usr/sbin${delimiter}/sbin`): string | null {
  const dirs = searchPath.split(delimiter).filter(Boolean);
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** Start time of a process (field 22 of /proc/<pid>/stat), or null when it does not exist. Tells a live owner from a reused pid. */
export async function processStartTime(pid: number): Promise<string | null> {
  try {
    const s = await readFile(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export interface BubblewrapOptions {
  /** Where sandbox directories are made (default $ASSAY_SANDBOX_DIR, else <tmpdir>/assay-sandboxes). */
  baseDir?: string;
  limits?: Partial<SandboxLimits>;
  /** bwrap executable (default: found on `searchPath`). */
  bwrap?: string;
  /** Where to look for bwrap and setpriv (default: PATH, then /usr/bin, /bin, /usr/sbin, /sbin). */
  searchPath?: string;
  /** Sweep stale sandboxes of dead runs when the provider is created (default true). */
  sweep?: boolean;
  /** Per-sandbox cgroups (default true; needs root or a delegated group). */
  cgroups?: boolean;
  /** Size-limited tmpfs mounted as each workspace (default true; needs root and mount). */
  workspaceTmpfs?: boolean;
  /** Load the seccomp allow-list (default true; needs a C compiler and libseccomp to build it once). */
  seccomp?: boolean;
}

/** The system directories made visible (read-only) inside; symlinks such as /bin → usr/bin are recreated as symlinks. */
const SYSTEM_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc'];

function systemBinds(): string[] {
  const args: string[] = [];
  for (const p of SYSTEM_PATHS) {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(p), p);
    else if (st.isDirectory()) args.push('--ro-bind', p, p);
  }
  return args;
}

export class BubblewrapProvider implements SandboxProvider {
  readonly name = 'bubblewrap';
  readonly isolation: Record<string, string>;
  readonly baseDir: string;
  readonly limits: SandboxLimits;
  /** Host uid/gid the sandbox runs as, or null when bwrap runs as the caller (non-root, or root without setpriv). */
  private readonly drop: { uid: number; gid: number } | null;
  private readonly prefix: string[];
  private readonly live = new Set<BubblewrapSandbox>();

  private readonly features: { cgroups: boolean; wsTmpfs: boolean; seccomp: string | null };

  private constructor(opts: { baseDir: string; limits: SandboxLimits; prefix: string[]; drop: { uid: number; gid: number } | null; version: string; features: { cgroups: boolean; wsTmpfs: boolean; seccomp: string | null }; enforced: Record<string, string>; wsWhy: string; seccompStatus: string }) {
    this.baseDir = opts.baseDir;
    this.limits = opts.limits;
    this.prefix = opts.prefix;
    this.drop = opts.drop;
    this.features = opts.features;
    const l = opts.limits;
    this.isolation = {
      backend: `bubblewrap ${opts.version}`,
      network: 'none (own network namespace, loopback only)',
      user: this.drop ? `${SANDBOX_UID} inside; host uid ${this.drop.uid}` : `${SANDBOX_UID} inside; host uid ${process.getuid?.() ?? '?'} (user namespace)`,
      environment: 'bwrap started with PATH only; command environment cleared (no host variable reachable, /proc/1/environ included)',
      filesystem: 'read-only /usr and /etc; private /proc; /dev, /tmp size-limited tmpfs; workspace bound read-write',
      image: hostImage(),
      limits: 'prlimit (nproc, as, cpu, fsize, nofile, core=0); wall-clock kill; output caps',
      memory: opts.enforced.memory ?? 'not enforced',
      pids: opts.enforced.pids ?? 'not enforced',
      cpu: opts.enforced.cpu ?? 'not enforced',
      io: opts.enforced.io ?? 'not enforced',
      disk: opts.features.wsTmpfs ? `enforced: workspace is a ${l.workspaceBytes}-byte tmpfs; /tmp ${l.tmpBytes} bytes; /dev ${l.devBytes} bytes` : `not enforced for the workspace (${opts.wsWhy}; a ${l.workspaceBytes}-byte quota is checked after each command); /tmp ${l.tmpBytes} bytes and /dev ${l.devBytes} bytes enforced (tmpfs)`,
      seccomp: opts.seccompStatus,
      checks: 'hidden tests run in a fresh sandbox over a copy of the final workspace; the verdict comes from a trusted, non-dumpable runner on a pipe the code under test never holds; Python tests run in the runner while the model\'s modules run in a second sandbox without the test files (proxied calls, plain values back)',
    };
  }

  /**
   * Checks that bubblewrap is installed and can create its namespaces here, and sweeps stale
   * sandboxes. Throws SANDBOX_UNAVAILABLE with the reason and the fix.
   */
  static async create(opts: BubblewrapOptions = {}): Promise<BubblewrapProvider> {
    if (process.platform !== 'linux') throw new AssayError('SANDBOX_UNAVAILABLE', `the bubblewrap sandbox needs Linux (this is ${process.platform}); agentic suites cannot run here without a container back-end`);
    // ASSAY_BWRAP names the executable explicitly (also how tests simulate a machine without it).
    const given = opts.bwrap ?? process.env.ASSAY_BWRAP;
    const bwrap = given ? (isExecutable(given) ? given : null) : which('bwrap', opts.searchPath);
    if (!bwrap)
      throw new AssayError('SANDBOX_UNAVAILABLE', `bubblewrap (bwrap) is not installed${given ? ` (no executable at ${given})` : ''}; agentic suites run model-chosen commands only inside it. Install it: apt-get install bubblewrap (Debian/Ubuntu), dnf install bubblewrap (Fedora)`);
    const v = spawnSync(bwrap, ['--version'], { encoding: 'utf8' });
    if (v.status !== 0) throw new AssayError('SANDBOX_UNAVAILABLE', `${bwrap} --version failed: ${(v.stderr || v.error?.message || '').trim()}`);
    const version = v.stdout.trim().replace(/^bubblewrap\s*/, '');
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const baseDir = opts.baseDir ?? process.env.ASSAY_SANDBOX_DIR ?? join(tmpdir(), 'assay-sandboxes');
    await mkdir(baseDir, { recursive: true, mode: 0o711 });
    await chmod(baseDir, 0o711); // the sandbox user must be able to reach its workspace, not list the others
    // As root, start bwrap as nobody (unprivileged user namespaces), if the kernel allows it.
    const setpriv = process.getuid?.() === 0 ? which('setpriv', opts.searchPath) : null;
    const candidates: { prefix: string[]; drop: { uid: number; gid: number } | null }[] = [];
    if (setpriv) candidates.push({ prefix: [setpriv, `--reuid=${SANDBOX_UID}`, `--regid=${SANDBOX_UID}`, '--clear-groups', '--', bwrap], drop: { uid: SANDBOX_UID, gid: SANDBOX_UID } });
    candidates.push({ prefix: [bwrap], drop: null });
    let lastErr = '';
    for (const c of candidates) {
      const [cmd, ...pre] = c.prefix;
      const r = spawnSync(cmd!, [...pre, ...baseArgs(limits), '--', 'true'], { encoding: 'utf8', timeout: 10_000, env: { ...BWRAP_ENV } });
      if (r.status === 0) {
        if (c.drop) await checkReachable(baseDir, c.drop.uid);
        // Probe the per-sandbox controls once, so the isolation record says what is really enforced.
        const probe = opts.cgroups === false ? null : createCgroup(`assay-probe-${process.pid}-${randomBytes(3).toString('hex')}`, { memoryBytes: limits.memoryBytes, pids: limits.maxProcesses, cpus: limits.cpus });
        await probe?.remove();
        const enforced = probe?.enforced ?? { memory: 'not enforced: cgroups disabled', pids: 'not enforced: cgroups disabled', cpu: 'not enforced: cgroups disabled', io: 'not enforced: cgroups disabled' };
        const ws = opts.workspaceTmpfs === false ? { ok: false, why: 'workspace tmpfs disabled' } : probeTmpfs(baseDir);
        let sc = opts.seccomp === false ? { bpfPath: null, status: 'not enforced: disabled' } : compileSeccomp(baseDir);
        if (sc.bpfPath) {
          // The filter must let bwrap's own command run; if this kernel or bwrap refuses it, say so and go on without.
          const fd = openSync(sc.bpfPath, 'r');
          try {
            const t = spawnSync(cmd!, [...pre, '--seccomp', '3', ...baseArgs(limits), '--', 'sh', '-c', 'true'], { encoding: 'utf8', timeout: 10_000, env: { ...BWRAP_ENV }, stdio: ['ignore', 'pipe', 'pipe', fd] });
            if (t.status !== 0) sc = { bpfPath: null, status: `not enforced: bwrap could not load the filter: ${(t.stderr || `exit ${t.status}`).trim()}` };
          } finally {
            closeSync(fd);
          }
        }
        const features = { cgroups: !!probe && probe.procs.length > 0, wsTmpfs: ws.ok, seccomp: sc.bpfPath };
        const p = new BubblewrapProvider({ baseDir, limits, prefix: c.prefix, drop: c.drop, version, features, enforced, wsWhy: ws.why, seccompStatus: sc.status });
        if (opts.sweep ?? true) await p.sweep();
        return p;
      }
      lastErr = (r.stderr || r.error?.message || `exit ${r.status}`).trim();
    }
    throw new AssayError(
      'SANDBOX_UNAVAILABLE',
      `bubblewrap is installed but cannot create a sandbox here: ${lastErr}. It needs user namespaces (sysctl kernel.unprivileged_userns_clone=1, or user.max_user_namespaces > 0); inside Docker, run the container with --security-opt seccomp=unconfined --cap-add SYS_ADMIN or use a container back-end`,
    );
  }

  async create(spec: SandboxSpec = {}): Promise<Sandbox> {
    const id = `sbx-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const dir = join(this.baseDir, id);
    await mkdir(dir, { mode: 0o711 });
    // Written first, so a sweep can always tell whose directory this is.
    await writeFile(join(dir, OWNER_FILE), JSON.stringify({ pid: process.pid, start: await processStartTime(process.pid), createdAt: new Date().toISOString() }));
    const ws = join(dir, 'ws');
    await mkdir(ws, { mode: 0o755 });
    const limits = { ...this.limits, ...spec.limits };
    // The disk quota: the workspace is a tmpfs of fixed size (a write past it fails with ENOSPC).
    if (this.features.wsTmpfs) mountTmpfs(ws, limits.workspaceBytes, this.drop);
    if (this.drop) await chown(ws, this.drop.uid, this.drop.gid);
    const ro: string[] = [];
    for (const b of spec.readOnly ?? []) {
      if (!/^\/[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/.test(b.path) || b.path.split('/').includes('..') || [WORKDIR, '/tmp', '/dev', '/proc', ...SYSTEM_PATHS].some((s) => b.path === s || b.path.startsWith(`${s}/`) || s.startsWith(`${b.path}/`)))
        throw new AssayError('SANDBOX_PATH', `read-only bind target "${b.path}" must be a plain absolute path outside the workspace and the system directories`);
      const st = await stat(b.host).catch(() => null);
      if (!st?.isDirectory()) throw new AssayError('SANDBOX_PATH', `read-only bind source ${b.host} is not a directory`);
      ro.push('--ro-bind', b.host, b.path);
    }
    const cg = this.features.cgroups ? createCgroup(`assay-${id}`, { memoryBytes: limits.memoryBytes, pids: limits.maxProcesses, cpus: limits.cpus }) : null;
    const sbx = new BubblewrapSandbox(id, dir, new Workspace(ws, WORKDIR, this.drop), limits, [...joinPrefix(cg?.procs ?? []), ...this.prefix], this.drop, cg, this.features.seccomp, () => this.live.delete(sbx), ro);
    this.live.add(sbx);
    try {
      for (const [p, content] of Object.entries(spec.files ?? {})) await sbx.writeFile(p, content);
    } catch (e) {
      await sbx.destroy();
      throw e;
    }
    return sbx;
  }

  /** Removes sandbox directories whose owning process is gone (a run killed with SIGKILL cannot clean up). */
  async sweep(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.baseDir).catch(() => [] as string[])) {
      if (!name.startsWith('sbx-')) continue;
      const dir = join(this.baseDir, name);
      let owner: { pid?: unknown; start?: unknown } | null = null;
      try {
        owner = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8'));
      } catch {
        owner = null;
      }
      let stale: boolean;
      if (owner && typeof owner.pid === 'number') {
        const start = await processStartTime(owner.pid);
        stale = start === null || (typeof owner.start === 'string' && start !== owner.start);
      } else {
        // No readable owner file: a directory caught between mkdir and the owner write, or damaged; old ones go.
        const st = await stat(dir).catch(() => null);
        stale = !!st && Date.now() - st.mtimeMs > 60_000;
      }
      if (stale) {
        unmountTmpfs(join(dir, 'ws'));
        await removeTree(dir);
        await removeCgroupNamed(`assay-${name}`);
        removed++;
      }
    }
    return removed;
  }

  /** Destroys every sandbox this provider made that is still alive. */
  async close(): Promise<void> {
    await Promise.all([...this.live].map((s) => s.destroy()));
  }
}

/** The sandbox user must be able to reach its workspaces: every directory above the base needs search permission for it. */
async function checkReachable(baseDir: string, uid: number): Promise<void> {
  for (let d = dirname(baseDir); ; d = dirname(d)) {
    const st = await stat(d);
    const ok = st.uid === uid ? st.mode & 0o100 : st.mode & 0o001;
    if (!ok)
      throw new AssayError(
        'SANDBOX_UNAVAILABLE',
        `the sandbox user (host uid ${uid}) cannot reach ${baseDir}: ${d} is not searchable by others (mode ${(st.mode & 0o777).toString(8)}); set ASSAY_SANDBOX_DIR to a directory under a world-searchable path (default ${join(tmpdir(), 'assay-sandboxes')}) or chmod o+x ${d}`,
      );
    if (d === dirname(d)) return;
  }
}

/** bwrap arguments common to every command (no workspace): namespaces, system binds, private /dev /proc /tmp, clean environment. */
function baseArgs(limits: SandboxLimits): string[] {
  return [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    '--uid', String(SANDBOX_UID),
    '--gid', String(SANDBOX_UID),
    '--hostname', 'sandbox',
    '--die-with-parent',
    '--new-session',
    '--cap-drop', 'ALL',
    ...systemBinds(),
    // /dev: a size-limited tmpfs with only the device nodes programs need (bwrap's --dev would be an unlimited tmpfs).
    '--size', String(limits.devBytes),
    '--tmpfs', '/dev',
    ...DEV_NODES.flatMap((n) => ['--dev-bind', `/dev/${n}`, `/dev/${n}`]),
    '--symlink', '/proc/self/fd', '/dev/fd',
    '--symlink', '/proc/self/fd/0', '/dev/stdin',
    '--symlink', '/proc/self/fd/1', '/dev/stdout',
    '--symlink', '/proc/self/fd/2', '/dev/stderr',
    '--dir', '/dev/shm',
    '--proc', '/proc',
    '--size', String(limits.tmpBytes),
    '--tmpfs', '/tmp',
    '--clearenv',
    '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin',
    '--setenv', 'HOME', '/tmp',
    '--setenv', 'LANG', 'C.UTF-8',
    '--setenv', 'PYTHONDONTWRITEBYTECODE', '1',
  ];
}

const TMPFS_MAGIC = 0x01021994;

/**
 * The "image" of this back-end is the host's own /usr and /etc: not pinned, but recorded — the
 * distribution and a digest of the installed-package list — so two runs can be compared.
 */
function hostImage(): string {
  const read = (f: string) => {
    try {
      return readFileSyncFs(f);
    } catch {
      return null;
    }
  };
  const os = read('/etc/os-release')?.toString('utf8').match(/^PRETTY_NAME="?([^"\n]*)"?$/m)?.[1] ?? 'unknown system';
  const pk = read('/var/lib/dpkg/status') ?? read('/lib/apk/db/installed');
  return `host /usr and /etc (${os}), not pinned; packages ${pk ? `sha256:${createHash('sha256').update(pk).digest('hex')}` : 'unknown'}`;
}
const DEV_NODES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** Can we mount a tmpfs here (root, and the mount syscall allowed)? Tried once on a scratch directory. */
function probeTmpfs(baseDir: string): { ok: boolean; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: 'Assay is not root, so it cannot mount a tmpfs' };
  const d = join(baseDir, `.probe-${process.pid}-${randomBytes(3).toString('hex')}`);
  try {
    mkdirSync(d);
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=65536,mode=0700', 'tmpfs', d], { encoding: 'utf8', env: { ...BWRAP_ENV } });
    if (r.status !== 0) return { ok: false, why: `mount -t tmpfs failed: ${(r.stderr || r.error?.message || '').trim()}` };
    unmountTmpfs(d);
    return { ok: true, why: '' };
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

function mountTmpfs(dir: string, bytes: number, owner: { uid: number; gid: number } | null): void {
  const o = `size=${bytes},mode=0755,nr_inodes=${Math.max(1024, Math.floor(bytes / 1024))}${owner ? `,uid=${owner.uid},gid=${owner.gid}` : ''}`;
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', o, 'tmpfs', dir], { encoding: 'utf8', env: { ...BWRAP_ENV } });
  if (r.status !== 0) throw new AssayError('SANDBOX_EXEC', `could not mount the workspace tmpfs at ${dir}: ${(r.stderr || r.error?.message || '').trim()}`);
}

/** Unmounts a workspace tmpfs if one is mounted there (lazily: nothing can hold it once the sandbox's processes are dead). */
export function unmountTmpfs(dir: string): void {
  let mounted = false;
  try {
    mounted = readFileSyncFs('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir);
  } catch {
    return;
  }
  if (mounted) spawnSync('umount', ['-l', dir], { env: { ...BWRAP_ENV } });
}

function prlimitArgs(l: SandboxLimits): string[] {
  return [
    'prlimit',
    `--nproc=${l.maxProcesses}`,
    `--as=${l.memoryBytes}`,
    `--cpu=${l.cpuSeconds}`,
    `--fsize=${l.maxFileBytes}`,
    `--nofile=${l.maxOpenFiles}`,
    '--core=0',
    '--',
  ];
}

class BubblewrapSandbox implements Sandbox {
  readonly provider = 'bubblewrap';
  readonly workdir = WORKDIR;
  private destroyed = false;
  private readonly running = new Set<ReturnType<typeof spawn>>();

  constructor(
    readonly id: string,
    private readonly dir: string,
    private readonly ws: Workspace,
    readonly limits: SandboxLimits,
    private readonly prefix: string[],
    private readonly drop: { uid: number; gid: number } | null,
    private readonly cgroup: CgroupGroup | null,
    private readonly seccompBpf: string | null,
    private readonly onDestroy: () => void,
    /** `--ro-bind host path` pairs from the spec's `readOnly` (bound for exec only, never for hidden tests). */
    private readonly roBinds: string[] = [],
  ) {}

  private alive(): void {
    if (this.destroyed) throw new AssayError('SANDBOX_DESTROYED', `sandbox ${this.id} was destroyed`);
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.alive();
    const r = await this.spawnBwrap(['--bind', this.ws.root, WORKDIR, ...this.roBinds], command, opts);
    if (this.destroyed) return r;
    // With a tmpfs workspace the kernel enforces the quota: "hit" means it is (nearly) full; otherwise the walk measures it.
    const fs = await statfs(this.ws.root).catch(() => null);
    const tmpfs = fs !== null && fs.type === TMPFS_MAGIC;
    const full = tmpfs && (fs.bavail * fs.bsize < 64 << 10 || fs.ffree < 16);
    const usage = tmpfs ? (fs.blocks - fs.bfree) * fs.bsize : await this.ws.usage().catch(() => 0);
    return { ...r, workspaceLimitHit: full || usage > this.limits.workspaceBytes };
  }

  /** One bwrap process running `sh -c command` with the given extra binds; the common part of exec and runCheck. */
  private spawnBwrap(binds: string[], command: string, opts: ExecOptions & { pipes?: number; onChild?: (child: ReturnType<typeof spawn>) => void }): Promise<ExecResult> {
    const l = this.limits;
    const timeoutMs = Math.min(opts.timeoutMs ?? l.timeoutMs, l.timeoutMs);
    const env = Object.entries(opts.env ?? {}).flatMap(([k, v]) => ['--setenv', k, v]);
    const [cmd, ...pre] = this.prefix;
    const seccomp = this.seccompBpf ? ['--seccomp', '3'] : [];
    const args = [...pre, ...seccomp, ...baseArgs(l), ...env, ...binds, '--remount-ro', '/', '--chdir', WORKDIR, '--', ...prlimitArgs(l), 'sh', '-c', command];
    const t0 = Date.now();
    return new Promise<ExecResult>((resolve, reject) => {
      // The filter reaches bwrap as fd 3 (it reads it whole before running the command).
      const bpfFd = this.seccompBpf ? openSync(this.seccompBpf, 'r') : null;
      let child: ReturnType<typeof spawn>;
      try {
        // fd 3: the seccomp filter; fds 4…: pipes of a hidden test's runner and worker (check-runner.ts).
        const extra: ('pipe' | 'ignore' | number)[] = opts.pipes ? [bpfFd ?? 'ignore', ...Array<'pipe'>(opts.pipes).fill('pipe')] : bpfFd === null ? [] : [bpfFd];
        child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe', ...extra], env: { ...BWRAP_ENV }, cwd: '/' });
      } finally {
        if (bpfFd !== null) closeSync(bpfFd);
      }
      this.running.add(child);
      opts.onChild?.(child);
      const out = { stdout: [] as Buffer[], stderr: [] as Buffer[], kept: { stdout: 0, stderr: 0 }, total: { stdout: 0, stderr: 0 } };
      let timedOut = false;
      let outputLimitHit = false;
      const kill = () => child.kill('SIGKILL'); // bwrap dies; --die-with-parent takes its whole tree with it
      const timer = setTimeout(() => ((timedOut = true), kill()), timeoutMs);
      const onAbort = () => kill();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.signal?.aborted) kill();
      const collect = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
        out.total[stream] += chunk.length;
        const room = l.outputBytes - out.kept[stream];
        if (room > 0) {
          const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
          out[stream].push(part);
          out.kept[stream] += part.length;
        }
        if (!outputLimitHit && out.total.stdout + out.total.stderr > l.outputKillBytes) {
          outputLimitHit = true;
          kill();
        }
      };
      child.stdout!.on('data', collect('stdout'));
      child.stderr!.on('data', collect('stderr'));
      child.stdin!.on('error', () => {}); // the command may exit without reading its input
      child.stdin!.end(opts.stdin ?? '');
      child.on('error', (e) => {
        clearTimeout(timer);
        this.running.delete(child);
        reject(new AssayError('SANDBOX_EXEC', `could not start bubblewrap: ${e.message}`));
      });
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.running.delete(child);
        resolve({
          exitCode: code,
          signal: sig,
          stdout: Buffer.concat(out.stdout).toString('utf8'),
          stderr: Buffer.concat(out.stderr).toString('utf8'),
          stdoutBytes: out.total.stdout,
          stderrBytes: out.total.stderr,
          truncated: out.total.stdout > out.kept.stdout || out.total.stderr > out.kept.stderr,
          timedOut,
          outputLimitHit,
          workspaceLimitHit: false,
          durationMs: Date.now() - t0,
        });
      });
    });
  }

  /**
   * A hidden test, out of the model's reach: a fresh sandbox over a scratch copy of the final
   * workspace (the model's own workspace is never touched again), the test's files in a directory
   * outside the workspace whose name the model cannot predict (each name in `run` is rewritten to
   * its path there), and the verdict reported by a trusted runner on a pipe (check-runner.ts).
   * `python3 <test>.py` runs the test in the runner's own interpreter (`python3 -I -S`) while the
   * model's modules run in a second sandbox without the test's files, reached through proxies;
   * any other command runs as the runner's child and its exit status or signal is reported.
   */
  async runCheck(run: string, files: Record<string, string>, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<CheckResultRaw> {
    this.alive();
    const tag = randomBytes(8).toString('hex');
    const chk = join(this.dir, `chk-${tag}`);
    await mkdir(chk, { mode: 0o711 });
    const stopWorker = new AbortController();
    let worker: Promise<ExecResult> | null = null;
    try {
      const ws = join(chk, 'ws');
      const copied = await copyTree(this.ws.root, ws, { maxEntries: MAX_COPY_ENTRIES, maxBytes: this.limits.workspaceBytes * 2, owner: this.drop });
      if (!copied.complete) throw new AssayError('SANDBOX_CHECK', `the final workspace could not be copied whole for the check (${copied.why})`);
      const tdir = join(chk, 't');
      await mkdir(tdir, { mode: 0o755 });
      const wdir = join(chk, 'w');
      await mkdir(wdir, { mode: 0o755 });
      const mount = `/.assay-check-${tag}`;
      const wmount = `/.assay-worker-${randomBytes(8).toString('hex')}`;
      let command = run;
      for (const name of Object.keys(files).sort((a, b) => b.length - a.length)) {
        const safe = name.replace(/\\/g, '/');
        if (!/^[\w.-]+(?:\/[\w.-]+)*$/.test(safe) || safe.split('/').some((x) => x === '..')) throw new AssayError('SANDBOX_CHECK', `hidden test file name "${name}" is not a plain relative path`);
        await mkdir(dirname(join(tdir, safe)), { recursive: true, mode: 0o755 });
        await writeFile(join(tdir, safe), files[name]!, { mode: 0o644 });
        command = command.replace(new RegExp(`(^|[\\s"'=(])(?:\\./)?${safe.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=$|[\\s"');])`, 'g'), `$1${mount}/${safe}`);
      }
      const runner = `.runner-${randomBytes(6).toString('hex')}.py`;
      await writeFile(join(tdir, runner), RUNNER_PY, { mode: 0o644 });
      await writeFile(join(wdir, 'worker.py'), WORKER_PY, { mode: 0o644 });
      const py = /^python3?\s+(\S+\.py)((?:\s+\S+)*)\s*$/.exec(command);
      const isolated = py !== null && py[1]!.startsWith(`${mount}/`);
      const nonce = randomBytes(16).toString('hex');
      const job = isolated ? { nonce, mode: 'python', script: py![1], args: (py![2] ?? '').trim().split(/\s+/).filter(Boolean) } : { nonce, mode: 'shell', command };
      const timeoutMs = opts.timeoutMs ?? this.limits.timeoutMs;
      const verdict: Buffer[] = [];
      const r = await this.spawnBwrap(['--bind', ws, WORKDIR, '--ro-bind', tdir, mount], `exec python3 -I -S ${mount}/${runner}`, {
        timeoutMs,
        stdin: `${JSON.stringify(job)}\n`,
        pipes: 3,
        ...(opts.signal ? { signal: opts.signal } : {}),
        onChild: (a) => {
          const [, , , , out, req, resp] = a.stdio as unknown as (import('node:stream').Duplex | null)[];
          let got = 0;
          out!.on('data', (c: Buffer) => {
            if ((got += c.length) <= 64 << 10) verdict.push(c);
          });
          out!.on('error', () => {});
          if (!isolated) return;
          // The model's code: a second sandbox over the same copy, without the test's files; Assay relays the calls.
          worker = this.spawnBwrap(['--bind', ws, WORKDIR, '--ro-bind', wdir, wmount], `exec python3 -I -S ${wmount}/worker.py`, {
            timeoutMs,
            pipes: 2,
            signal: stopWorker.signal,
            onChild: (b) => {
              const [, , , , bout, bin] = b.stdio as unknown as (import('node:stream').Duplex | null)[];
              for (const st of [req, resp, bout, bin]) st!.on('error', () => {});
              req!.pipe(bin!);
              bout!.pipe(resp!);
            },
          });
          a.once('close', () => stopWorker.abort());
        },
      });
      stopWorker.abort();
      const w = worker ? await (worker as Promise<ExecResult>).catch(() => null) : null;
      if (opts.signal?.aborted) throw new AssayError('SANDBOX_CHECK', 'the check was stopped');
      // The line holding the nonce is the runner's; anything else on the pipe is ignored.
      type Verdict = { nonce?: unknown; status?: unknown; signal?: unknown } | null;
      let v: Verdict = null;
      for (const line of Buffer.concat(verdict).toString('utf8').split('\n')) {
        try {
          const x = JSON.parse(line) as Verdict;
          if (x && x.nonce === nonce) v = x;
        } catch {
          /* not a verdict */
        }
      }
      const completed = v !== null && v.nonce === nonce && typeof v.status === 'number';
      const how = completed ? (typeof v!.signal === 'number' ? `; the command was killed by signal ${v!.signal}` : '') : `; the runner reported no verdict (bwrap ${r.timedOut ? 'timed out' : r.exitCode === null ? `killed by ${r.signal}` : `exited ${r.exitCode}`})`;
      const wout = w && (w.stdout || w.stderr) ? `\n[code under test] ${w.stdout}\n${w.stderr}` : '';
      // A hidden Python file run in another form shares a process with the model's code: say so in the evidence.
      const shared = !isolated && Object.keys(files).some((n) => n.endsWith('.py') && run.includes(n)) ? '; note: the hidden Python test ran in the same process as the code under test (not `python3 <test>.py`), so its exit status is not protected' : '';
      return { exitCode: completed ? (v!.status as number) : null, output: `${r.stdout}\n${r.stderr}${wout}${how}${shared}`, completed, timedOut: r.timedOut };
    } finally {
      stopWorker.abort();
      await (worker as Promise<ExecResult> | null)?.catch(() => null);
      unmountTmpfs(join(chk, 'ws'));
      await removeTree(chk);
    }
  }

  async readFile(path: string): Promise<Buffer> {
    this.alive();
    return this.ws.readFile(path);
  }

  async writeFile(path: string, content: string | Buffer, mode?: number): Promise<void> {
    this.alive();
    return this.ws.writeFile(path, content, mode);
  }

  async listFiles(dir = '') {
    this.alive();
    return this.ws.list(dir);
  }

  async snapshot(opts: { textLimit?: number } = {}) {
    this.alive();
    return this.ws.snapshot(opts.textLimit);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const c of this.running) c.kill('SIGKILL');
    await Promise.all([...this.running].map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('close', r)))));
    unmountTmpfs(this.ws.root);
    await removeTree(this.dir);
    await this.cgroup?.remove();
    this.onDestroy();
  }
}
