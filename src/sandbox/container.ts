/**
 * Container back-end: Docker or Podman (rootless where the engine runs rootless), optionally with
 * gVisor's runsc as the OCI runtime, for users who need a custom image or a stronger boundary
 * than namespaces. One long-lived container per sample from an image pinned by digest (recorded
 * in the run log); every command is `<engine> exec`; the workspace and /tmp are size-limited
 * tmpfs mounts inside the container; files move through `exec` (`cat`, `tar`), so a symlink the
 * model planted is followed inside the container only, never on the host. Same Sandbox contract,
 * same task format and checks. The argument builders are exported and tested on their own; no
 * engine runs on the CI machines (docs/sandbox.md).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { AssayError } from '../common/errors.js';
import { DEFAULT_LIMITS, type CheckResultRaw, type ExecOptions, type ExecResult, type FileListing, type Sandbox, type SandboxLimits, type SandboxProvider, type SandboxSpec, type Snapshot, type SnapshotEntry } from './types.js';
import { decodeText, MAX_ENTRIES, workspaceParts } from './workspace.js';
import { which } from './bubblewrap.js';

export const CONTAINER_WORKDIR = '/workspace';
const SANDBOX_USER = '65534:65534';
const DIGEST_REF = /^[a-z0-9][a-z0-9._\/:-]*@sha256:[0-9a-f]{64}$/;
export const ENGINE_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: '/usr/local/bin:/usr/bin:/bin' });

export interface ContainerOptions {
  engine: 'docker' | 'podman';
  /** Image pinned by digest: "name@sha256:<64 hex>" (a tag alone is refused: the run log must say exactly what ran). */
  image: string;
  /** OCI runtime, e.g. "runsc" (gVisor). */
  runtime?: string;
  limits?: Partial<SandboxLimits>;
  /** Label value identifying this Assay process (owner pid and start), for sweeping containers of dead runs. */
  owner?: string;
}

/** `<engine> run` arguments for one sample's container. */
export function containerRunArgs(o: { name: string; image: string; limits: SandboxLimits; runtime?: string; owner: string }): string[] {
  if (!DIGEST_REF.test(o.image)) throw new AssayError('SANDBOX_IMAGE', `container image "${o.image}" is not pinned by digest (name@sha256:<64 hex>); pin it so the run log records exactly what ran`);
  const l = o.limits;
  return [
    'run', '--detach', '--rm',
    '--name', o.name,
    '--label', 'assay.sandbox=1',
    '--label', `assay.owner=${o.owner}`,
    ...(o.runtime ? ['--runtime', o.runtime] : []),
    '--network', 'none',
    '--user', SANDBOX_USER,
    '--read-only',
    '--cap-drop', 'ALL',
    '--security-opt', 'no-new-privileges',
    '--pids-limit', String(l.maxProcesses),
    '--memory', String(l.memoryBytes),
    '--memory-swap', String(l.memoryBytes),
    '--cpus', String(l.cpus),
    '--ulimit', `nofile=${l.maxOpenFiles}:${l.maxOpenFiles}`,
    '--ulimit', `fsize=${Math.ceil(l.maxFileBytes / 512)}:${Math.ceil(l.maxFileBytes / 512)}`,
    '--ulimit', 'core=0:0',
    '--tmpfs', `${CONTAINER_WORKDIR}:rw,exec,size=${l.workspaceBytes},mode=0755,uid=65534,gid=65534`,
    '--tmpfs', `/tmp:rw,exec,size=${l.tmpBytes},mode=1777`,
    '--workdir', CONTAINER_WORKDIR,
    '--hostname', 'sandbox',
    '--env', 'HOME=/tmp',
    '--env', 'LANG=C.UTF-8',
    '--env', 'PYTHONDONTWRITEBYTECODE=1',
    '--entrypoint', 'sh',
    o.image,
    '-c', 'trap "exit 0" TERM; while :; do sleep 3600; done',
  ];
}

/** `<engine> exec` arguments for one command (stdin attached with `-i`). */
export function containerExecArgs(name: string, argv: string[], o: { workdir?: string; env?: Record<string, string> } = {}): string[] {
  return ['exec', '--interactive', '--user', SANDBOX_USER, '--workdir', o.workdir ?? CONTAINER_WORKDIR, ...Object.entries(o.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]), name, ...argv];
}

/** Parses a tar stream (ustar, GNU long names, pax `path`/`linkpath`): entries with kind, mode, size, link target and data. */
export function parseTar(buf: Buffer): { path: string; kind: 'file' | 'dir' | 'symlink' | 'other'; mode: number; size: number; target?: string; data?: Buffer }[] {
  const out: ReturnType<typeof parseTar> = [];
  let off = 0;
  let longName: string | null = null;
  let longLink: string | null = null;
  let pax: Record<string, string> = {};
  const str = (b: Buffer) => b.toString('utf8', 0, b.indexOf(0) < 0 ? b.length : b.indexOf(0));
  const oct = (b: Buffer) => parseInt(str(b).trim() || '0', 8);
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = oct(h.subarray(124, 136));
    const type = String.fromCharCode(h[156]!) || '0';
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = str(data);
      continue;
    }
    if (type === 'K') {
      longLink = str(data);
      continue;
    }
    if (type === 'x') {
      pax = {};
      for (let i = 0; i < data.length; ) {
        const sp = data.indexOf(0x20, i);
        const len = Number(data.toString('utf8', i, sp));
        if (!(len > 0)) break;
        const rec = data.toString('utf8', sp + 1, i + len - 1);
        const eq = rec.indexOf('=');
        pax[rec.slice(0, eq)] = rec.slice(eq + 1);
        i += len;
      }
      continue;
    }
    if (type === 'g') continue;
    const prefix = str(h.subarray(345, 500));
    let path = pax.path ?? longName ?? (prefix ? `${prefix}/${str(h.subarray(0, 100))}` : str(h.subarray(0, 100)));
    const target = pax.linkpath ?? longLink ?? str(h.subarray(157, 257));
    pax = {};
    longName = longLink = null;
    path = path.replace(/^\.\//, '').replace(/\/$/, '');
    if (!path || path === '.') continue;
    const kind = type === '0' || type === '\0' || type === '7' ? 'file' : type === '5' ? 'dir' : type === '2' ? 'symlink' : 'other';
    out.push({ path, kind, mode: oct(h.subarray(100, 108)) & 0o7777, size: kind === 'file' ? size : 0, ...(kind === 'symlink' ? { target } : {}), ...(kind === 'file' ? { data } : {}) });
  }
  return out;
}

/** Runs the engine with the given arguments; bounded in time and output. */
function runEngine(engine: string, args: string[], o: { stdin?: string | Buffer; timeoutMs: number; maxBytes: number; signal?: AbortSignal }): Promise<{ code: number | null; sig: string | null; stdout: Buffer; stderr: Buffer; stdoutBytes: number; stderrBytes: number; timedOut: boolean; outputLimitHit: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(engine, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...ENGINE_ENV } });
    const out = { stdout: [] as Buffer[], stderr: [] as Buffer[], n: { stdout: 0, stderr: 0 } };
    let timedOut = false;
    let outputLimitHit = false;
    const timer = setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), o.timeoutMs);
    const onAbort = () => child.kill('SIGKILL');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    for (const s of ['stdout', 'stderr'] as const)
      child[s].on('data', (c: Buffer) => {
        out.n[s] += c.length;
        if (out.n[s] <= o.maxBytes) out[s].push(c);
        else if (!outputLimitHit) ((outputLimitHit = true), child.kill('SIGKILL'));
      });
    child.stdin.on('error', () => {});
    child.stdin.end(o.stdin ?? '');
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new AssayError('SANDBOX_EXEC', `could not run ${engine}: ${e.message}`));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      resolve({ code, sig, stdout: Buffer.concat(out.stdout), stderr: Buffer.concat(out.stderr), stdoutBytes: out.n.stdout, stderrBytes: out.n.stderr, timedOut, outputLimitHit });
    });
  });
}

export class ContainerProvider implements SandboxProvider {
  readonly name: string;
  readonly isolation: Record<string, string>;
  readonly limits: SandboxLimits;

  private constructor(
    private readonly engine: string,
    private readonly o: ContainerOptions,
    version: string,
    rootless: boolean,
  ) {
    this.name = o.engine;
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
    const l = this.limits;
    this.isolation = {
      backend: `${o.engine} ${version}${o.runtime ? `, runtime ${o.runtime}` : ''}`,
      image: o.image,
      network: 'none (--network none)',
      user: `${SANDBOX_USER} inside; engine ${rootless ? 'rootless' : 'rootful (root daemon)'}`,
      environment: 'image environment plus HOME, LANG, PYTHONDONTWRITEBYTECODE; nothing of the host',
      filesystem: 'read-only image root; workspace and /tmp size-limited tmpfs',
      memory: `enforced: ${l.memoryBytes} bytes for the container (--memory, swap off)`,
      pids: `enforced: ${l.maxProcesses} (--pids-limit)`,
      cpu: `enforced: ${l.cpus} CPU (--cpus)`,
      io: 'not enforced (no --device-write-bps set)',
      disk: `enforced: workspace ${l.workspaceBytes} bytes, /tmp ${l.tmpBytes} bytes (tmpfs)`,
      seccomp: o.runtime === 'runsc' ? 'gVisor user-space kernel (runsc) plus the engine default profile' : 'engine default seccomp profile',
      checks: 'hidden tests run in a fresh container over a copy of the final workspace',
    };
  }

  static async create(o: ContainerOptions): Promise<ContainerProvider> {
    const engine = which(o.engine);
    if (!engine) throw new AssayError('SANDBOX_UNAVAILABLE', `${o.engine} is not installed; install it or use the bubblewrap back-end`);
    if (!DIGEST_REF.test(o.image)) containerRunArgs({ name: 'x', image: o.image, limits: DEFAULT_LIMITS, owner: '' }); // throws the digest error
    const v = spawnSync(engine, ['version', '--format', '{{.Client.Version}}'], { encoding: 'utf8', env: { ...ENGINE_ENV }, timeout: 20_000 });
    if (v.status !== 0) throw new AssayError('SANDBOX_UNAVAILABLE', `${o.engine} is installed but not usable: ${(v.stderr || v.error?.message || '').trim()}`);
    const info = spawnSync(engine, ['info', '--format', o.engine === 'podman' ? '{{.Host.Security.Rootless}}' : '{{.SecurityOptions}}'], { encoding: 'utf8', env: { ...ENGINE_ENV }, timeout: 20_000 });
    const rootless = /true|rootless/.test(info.stdout ?? '');
    return new ContainerProvider(engine, o, v.stdout.trim(), rootless);
  }

  async create(spec: SandboxSpec = {}): Promise<Sandbox> {
    if (spec.readOnly?.length) throw new AssayError('SANDBOX_UNAVAILABLE', `the ${this.name} back-end does not bind host directories read-only (needed for ${spec.readOnly.map((b) => b.path).join(', ')}); use the bubblewrap back-end`);
    const limits = { ...this.limits, ...spec.limits };
    const name = `assay-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const args = containerRunArgs({ name, image: this.o.image, limits, ...(this.o.runtime ? { runtime: this.o.runtime } : {}), owner: this.o.owner ?? String(process.pid) });
    const r = await runEngine(this.engine, args, { timeoutMs: 120_000, maxBytes: 1 << 16 });
    if (r.code !== 0) throw new AssayError('SANDBOX_EXEC', `${this.o.engine} run failed: ${r.stderr.toString('utf8').trim().slice(0, 500)}`);
    const sbx = new ContainerSandbox(name, this.engine, this.o.engine, limits, () => this.create({ limits }));
    try {
      for (const [p, c] of Object.entries(spec.files ?? {})) await sbx.writeFile(p, c);
    } catch (e) {
      await sbx.destroy();
      throw e;
    }
    return sbx;
  }

  async sweep(): Promise<number> {
    const r = spawnSync(this.engine, ['ps', '-a', '--filter', 'label=assay.sandbox=1', '--format', '{{.Names}} {{.Label "assay.owner"}}'], { encoding: 'utf8', env: { ...ENGINE_ENV } });
    let n = 0;
    for (const line of (r.stdout ?? '').trim().split('\n').filter(Boolean)) {
      const [name, owner] = line.split(' ');
      const pid = Number(owner?.split(':')[0]);
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = true;
      } catch {
        alive = false;
      }
      if (!alive && name) n += spawnSync(this.engine, ['rm', '-f', name], { env: { ...ENGINE_ENV } }).status === 0 ? 1 : 0;
    }
    return n;
  }
}

class ContainerSandbox implements Sandbox {
  readonly workdir = CONTAINER_WORKDIR;
  private destroyed = false;

  constructor(
    readonly id: string,
    private readonly engine: string,
    readonly provider: string,
    readonly limits: SandboxLimits,
    private readonly fresh: () => Promise<Sandbox>,
  ) {}

  private alive(): void {
    if (this.destroyed) throw new AssayError('SANDBOX_DESTROYED', `sandbox ${this.id} was destroyed`);
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.alive();
    const l = this.limits;
    const t0 = Date.now();
    const r = await runEngine(this.engine, containerExecArgs(this.id, ['sh', '-c', command], opts.env ? { env: opts.env } : {}), { timeoutMs: Math.min(opts.timeoutMs ?? l.timeoutMs, l.timeoutMs), maxBytes: l.outputKillBytes, ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    // A killed `exec` client may leave the command running in the container: stop everything but PID 1.
    if (r.timedOut || r.outputLimitHit) await runEngine(this.engine, containerExecArgs(this.id, ['sh', '-c', 'kill -9 -1 2>/dev/null; true']), { timeoutMs: 10_000, maxBytes: 1024 });
    const df = await runEngine(this.engine, containerExecArgs(this.id, ['sh', '-c', `df -Pk ${CONTAINER_WORKDIR} | tail -1`]), { timeoutMs: 10_000, maxBytes: 4096 });
    const avail = Number(df.stdout.toString().trim().split(/\s+/)[3]);
    const cut = (b: Buffer) => b.subarray(0, l.outputBytes).toString('utf8');
    return {
      exitCode: r.timedOut || r.outputLimitHit ? null : r.code,
      signal: r.timedOut || r.outputLimitHit ? 'SIGKILL' : r.sig,
      stdout: cut(r.stdout),
      stderr: cut(r.stderr),
      stdoutBytes: r.stdoutBytes,
      stderrBytes: r.stderrBytes,
      truncated: r.stdoutBytes > l.outputBytes || r.stderrBytes > l.outputBytes,
      timedOut: r.timedOut,
      outputLimitHit: r.outputLimitHit,
      workspaceLimitHit: Number.isFinite(avail) && avail < 64,
      durationMs: Date.now() - t0,
    };
  }

  async readFile(path: string): Promise<Buffer> {
    this.alive();
    const p = workspaceParts(path, CONTAINER_WORKDIR).join('/');
    const r = await runEngine(this.engine, containerExecArgs(this.id, ['sh', '-c', 'test -f "$1" && head -c 1048576 -- "$1"', 'sh', p || '.']), { timeoutMs: 30_000, maxBytes: 1 << 20 });
    if (r.code !== 0) throw new AssayError('SANDBOX_PATH', `no such file: ${p}`);
    return r.stdout;
  }

  async writeFile(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    this.alive();
    const parts = workspaceParts(path, CONTAINER_WORKDIR);
    if (!parts.length) throw new AssayError('SANDBOX_PATH', 'cannot write to the workspace root');
    const p = parts.join('/');
    const r = await runEngine(this.engine, containerExecArgs(this.id, ['sh', '-c', 'mkdir -p -- "$(dirname -- "$1")" && test ! -d "$1" && cat > "$1" && chmod "$2" -- "$1"', 'sh', p, mode.toString(8)]), { stdin: content, timeoutMs: 30_000, maxBytes: 1 << 16 });
    if (r.code !== 0) throw new AssayError('SANDBOX_PATH', `could not write ${p}: ${r.stderr.toString('utf8').trim().slice(0, 200)}`);
  }

  private async tar(): Promise<ReturnType<typeof parseTar> | null> {
    const r = await runEngine(this.engine, containerExecArgs(this.id, ['tar', '-C', CONTAINER_WORKDIR, '-cf', '-', '.']), { timeoutMs: 120_000, maxBytes: this.limits.workspaceBytes * 2 + (8 << 20) });
    return r.code === 0 ? parseTar(r.stdout) : null;
  }

  async listFiles(dir = ''): Promise<{ files: FileListing[]; truncated: boolean }> {
    this.alive();
    const prefix = workspaceParts(dir, CONTAINER_WORKDIR).join('/');
    const t = (await this.tar()) ?? [];
    const files = t.filter((e) => !prefix || e.path.startsWith(`${prefix}/`)).map((e) => ({ path: e.path, kind: e.kind, size: e.size }));
    files.sort((a, b) => (a.path < b.path ? -1 : 1));
    return { files: files.slice(0, MAX_ENTRIES), truncated: files.length > MAX_ENTRIES };
  }

  async snapshot(opts: { textLimit?: number } = {}): Promise<Snapshot> {
    this.alive();
    const t = await this.tar();
    if (!t) return { files: {}, truncated: true };
    const files: Record<string, SnapshotEntry> = {};
    for (const e of t.slice(0, MAX_ENTRIES)) {
      const s: SnapshotEntry = { kind: e.kind, size: e.size, mode: e.mode };
      if (e.target !== undefined) s.target = e.target;
      if (e.data) {
        s.digest = `sha256:${createHash('sha256').update(e.data).digest('hex')}`;
        if (e.data.length <= (opts.textLimit ?? 8 << 20)) {
          const d = decodeText(e.data);
          if (d) {
            s.text = d.text;
            if (d.encoding !== 'utf-8') s.encoding = d.encoding;
          } else s.textOmitted = 'undecodable';
        } else s.textOmitted = 'too large';
      }
      files[posix.normalize(e.path)] = s;
    }
    return { files, truncated: t.length > MAX_ENTRIES };
  }

  async runCheck(run: string, files: Record<string, string>, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<CheckResultRaw> {
    this.alive();
    // A fresh container over a copy of the final workspace (tar out, tar in); the test files outside it.
    const t = await runEngine(this.engine, containerExecArgs(this.id, ['tar', '-C', CONTAINER_WORKDIR, '-cf', '-', '.']), { timeoutMs: 120_000, maxBytes: this.limits.workspaceBytes * 2 + (8 << 20) });
    if (t.code !== 0) throw new AssayError('SANDBOX_CHECK', 'the final workspace could not be copied for the check');
    const box = await this.fresh();
    try {
      const load = await runEngine(this.engine, containerExecArgs(box.id, ['tar', '-C', CONTAINER_WORKDIR, '-xf', '-']), { stdin: t.stdout, timeoutMs: 120_000, maxBytes: 1 << 16 });
      if (load.code !== 0) throw new AssayError('SANDBOX_CHECK', 'the workspace copy could not be loaded into the check container');
      const dir = `/tmp/.assay-check-${randomBytes(8).toString('hex')}`;
      let command = run;
      for (const [name, content] of Object.entries(files)) {
        await runEngine(this.engine, containerExecArgs(box.id, ['sh', '-c', 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1"', 'sh', `${dir}/${name}`]), { stdin: content, timeoutMs: 30_000, maxBytes: 1024 });
        command = command.split(name).join(`${dir}/${name}`);
      }
      const r = await box.exec(command, { timeoutMs: opts.timeoutMs ?? this.limits.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
      return { exitCode: r.exitCode, output: `${r.stdout}\n${r.stderr}`, timedOut: r.timedOut };
    } finally {
      await box.destroy();
    }
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await runEngine(this.engine, ['rm', '--force', this.id], { timeoutMs: 60_000, maxBytes: 1 << 16 }).catch(() => {});
  }
}
