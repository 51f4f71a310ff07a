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
import { randomBytes } from 'node:crypto';
import { accessSync, constants, lstatSync, readlinkSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { AssayError } from '../common/errors.js';
import { DEFAULT_LIMITS, type ExecOptions, type ExecResult, type Sandbox, type SandboxLimits, type SandboxProvider, type SandboxSpec } from './types.js';
import { removeTree, Workspace } from './workspace.js';

export const SANDBOX_UID = 65534;
export const WORKDIR = '/workspace';
const OWNER_FILE = 'owner.json';

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

  private constructor(opts: { baseDir: string; limits: SandboxLimits; prefix: string[]; drop: { uid: number; gid: number } | null; version: string }) {
    this.baseDir = opts.baseDir;
    this.limits = opts.limits;
    this.prefix = opts.prefix;
    this.drop = opts.drop;
    this.isolation = {
      backend: `bubblewrap ${opts.version}`,
      network: 'none (own network namespace, loopback only)',
      user: this.drop ? `${SANDBOX_UID} inside; host uid ${this.drop.uid}` : `${SANDBOX_UID} inside; host uid ${process.getuid?.() ?? '?'} (user namespace)`,
      filesystem: 'read-only /usr and /etc; private /dev, /proc, /tmp (tmpfs); workspace bound read-write',
      limits: 'prlimit (nproc, as, cpu, fsize, nofile, core=0); wall-clock kill; output caps; workspace quota',
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
      const r = spawnSync(cmd!, [...pre, ...baseArgs(limits), '--', 'true'], { encoding: 'utf8', timeout: 10_000 });
      if (r.status === 0) {
        if (c.drop) await checkReachable(baseDir, c.drop.uid);
        const p = new BubblewrapProvider({ baseDir, limits, prefix: c.prefix, drop: c.drop, version });
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
    if (this.drop) await chown(ws, this.drop.uid, this.drop.gid);
    const sbx = new BubblewrapSandbox(id, dir, new Workspace(ws, WORKDIR, this.drop), { ...this.limits, ...spec.limits }, this.prefix, () => this.live.delete(sbx));
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
        await removeTree(dir);
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
    '--dev', '/dev',
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
    private readonly onDestroy: () => void,
  ) {}

  private alive(): void {
    if (this.destroyed) throw new AssayError('SANDBOX_DESTROYED', `sandbox ${this.id} was destroyed`);
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.alive();
    const l = this.limits;
    const timeoutMs = Math.min(opts.timeoutMs ?? l.timeoutMs, l.timeoutMs);
    const env = Object.entries(opts.env ?? {}).flatMap(([k, v]) => ['--setenv', k, v]);
    const [cmd, ...pre] = this.prefix;
    const args = [...pre, ...baseArgs(l), ...env, '--bind', this.ws.root, WORKDIR, '--remount-ro', '/', '--chdir', WORKDIR, '--', ...prlimitArgs(l), 'sh', '-c', command];
    const t0 = Date.now();
    return new Promise<ExecResult>((resolve, reject) => {
      const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      this.running.add(child);
      const out = { stdout: [] as Buffer[], stderr: [] as Buffer[], kept: { stdout: 0, stderr: 0 }, total: { stdout: 0, stderr: 0 } };
      let timedOut = false;
      let outputLimitHit = false;
      const kill = () => child.kill('SIGKILL'); // bwrap dies; --die-with-parent takes its whole tree with it
      const timer = setTimeout(() => ((timedOut = true), kill()), timeoutMs);
      const onAbort = () => kill();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
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
        const finish = async () => {
          const usage = this.destroyed ? 0 : await this.ws.usage().catch(() => 0);
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
            workspaceLimitHit: usage > l.workspaceBytes,
            durationMs: Date.now() - t0,
          });
        };
        finish().catch(reject);
      });
    });
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
    await removeTree(this.dir);
    this.onDestroy();
  }
}
