/**
 * The sandbox contract: a fresh, isolated workspace per agentic sample in which model-chosen
 * commands run. The agent loop and the checkers only ever talk to this interface, so a container
 * back-end (Docker, Kubernetes) can replace the default bubblewrap one (docs/sandbox.md).
 */

/** Resource limits for every command run in a sandbox. */
export interface SandboxLimits {
  /** Wall-clock limit per command, ms; the whole process tree is killed when it passes. */
  timeoutMs: number;
  /** CPU seconds per process (RLIMIT_CPU). */
  cpuSeconds: number;
  /** Address space per process, bytes (RLIMIT_AS). */
  memoryBytes: number;
  /** Processes and threads the sandbox user may have at once (RLIMIT_NPROC). */
  maxProcesses: number;
  /** Largest file a process may write, bytes (RLIMIT_FSIZE). */
  maxFileBytes: number;
  /** Open files per process (RLIMIT_NOFILE). */
  maxOpenFiles: number;
  /** stdout and stderr are each kept up to this many bytes; the rest is counted and dropped. */
  outputBytes: number;
  /** A command that writes more than this in total (both streams) is killed. */
  outputKillBytes: number;
  /** The workspace may hold at most this many bytes; checked after each command. */
  workspaceBytes: number;
  /** Size of the private /tmp (tmpfs), bytes. */
  tmpBytes: number;
  /** Size of the private /dev (tmpfs), bytes. */
  devBytes: number;
  /** CPU bandwidth of the whole sandbox, in cores (cgroup). */
  cpus: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  timeoutMs: 20_000,
  cpuSeconds: 20,
  memoryBytes: 1 << 30,
  maxProcesses: 64,
  maxFileBytes: 32 << 20,
  maxOpenFiles: 256,
  outputBytes: 16 << 10,
  outputKillBytes: 8 << 20,
  workspaceBytes: 64 << 20,
  tmpBytes: 64 << 20,
  devBytes: 1 << 20,
  cpus: 1,
};

export interface ExecOptions {
  /** Bytes or text written to the command's stdin (then closed). */
  stdin?: string | Buffer;
  /** Per-call wall-clock limit, ms; at most the sandbox's `timeoutMs`. */
  timeoutMs?: number;
  /** Extra environment variables (the environment is otherwise empty apart from PATH, HOME, LANG). */
  env?: Record<string, string>;
  signal?: AbortSignal;
}

export interface ExecResult {
  /** Exit status, or null when the process was killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  /** First `outputBytes` of each stream, decoded as UTF-8 (invalid bytes replaced). */
  stdout: string;
  stderr: string;
  /** Total bytes the command wrote to each stream (kept or not). */
  stdoutBytes: number;
  stderrBytes: number;
  /** Whether either stream was cut to `outputBytes`. */
  truncated: boolean;
  /** Killed for passing the wall-clock limit. */
  timedOut: boolean;
  /** Killed for writing more than `outputKillBytes`. */
  outputLimitHit: boolean;
  /** The workspace passed `workspaceBytes` after the command (the command's writes stay; the agent is told). */
  workspaceLimitHit: boolean;
  durationMs: number;
}

/** What a hidden test run returns; `completed` (bubblewrap): whether the trusted runner reported a verdict; without it, `exitCode` is null. */
export interface CheckResultRaw {
  exitCode: number | null;
  output: string;
  completed?: boolean;
  timedOut?: boolean;
}

export type FileKind = 'file' | 'dir' | 'symlink' | 'other';

/** One path of a workspace snapshot. Text content is kept for small UTF-8 files, so checkers can read it. */
export interface SnapshotEntry {
  kind: FileKind;
  size: number;
  /** "sha256:<hex>" of a regular file's bytes. */
  digest?: string;
  /** The file's text, decoded (see `encoding`), when it fits the snapshot's text limits. */
  text?: string;
  /** How `text` was decoded, when not UTF-8 (e.g. "utf-16le"). */
  encoding?: string;
  /** Why a regular file has no `text` ("too large", "undecodable", …): checkers treat it as unknown, never as clean. */
  textOmitted?: string;
  /** Where a symlink points (never followed). */
  target?: string;
  /** Permission bits, e.g. 0o644. */
  mode: number;
}

/**
 * The workspace at one moment: workspace-relative POSIX path → entry (directories too: empty ones
 * matter). `truncated` when the walk stopped at its entry limit (a sandbox that made that many
 * files is itself worth a look).
 */
export interface Snapshot {
  files: Record<string, SnapshotEntry>;
  truncated: boolean;
}

export interface FileListing {
  path: string;
  kind: FileKind;
  size: number;
}

export interface Sandbox {
  /** Unique id; also the name of its host directory for back-ends that have one. */
  readonly id: string;
  /** Back-end name, recorded in run logs ("bubblewrap", "docker", …). */
  readonly provider: string;
  /** Where the workspace appears inside the sandbox (the working directory of every command). */
  readonly workdir: string;
  readonly limits: SandboxLimits;
  /** Runs `sh -c command` in the workspace as the unprivileged sandbox user. Never throws for a failing command. */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Workspace-relative path; symlinks are never followed; throws SANDBOX_PATH for paths outside. */
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, content: string | Buffer, mode?: number): Promise<void>;
  /** Recursive listing under a workspace-relative directory ("" or "." for the root), sorted by path. */
  listFiles(dir?: string): Promise<{ files: FileListing[]; truncated: boolean }>;
  /** Every path in the workspace with digests; `textLimit` bytes of text per file (default 256 KiB). */
  snapshot(opts?: { textLimit?: number }): Promise<Snapshot>;
  /**
   * Runs a hidden test out of the model's reach: a fresh sandbox over a copy of the final
   * workspace, `files` placed outside it at a path the model cannot predict (names in `run` are
   * rewritten to it). Never touches this sandbox's workspace.
   */
  runCheck(run: string, files: Record<string, string>, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<CheckResultRaw>;
  /** Kills anything still running and removes the workspace. Idempotent. */
  destroy(): Promise<void>;
}

export interface SandboxSpec {
  /** Initial workspace files: relative path → content. Parent directories are created. */
  files?: Record<string, string | Buffer>;
  /** Overrides of the provider's default limits. */
  limits?: Partial<SandboxLimits>;
  /**
   * Host directories bound read-only at an absolute path inside (bubblewrap only), e.g. model
   * weights for an enclave job. Never writable; the path must not be the workspace or a system path.
   */
  readOnly?: { host: string; path: string }[];
}

/** A sandbox back-end. */
export interface SandboxProvider {
  readonly name: string;
  /** How isolation is achieved here, recorded in run logs (e.g. {network: "none", user: "65534", …}). */
  readonly isolation: Record<string, string>;
  create(spec?: SandboxSpec): Promise<Sandbox>;
  /** Removes sandboxes left behind by processes that died (SIGKILL): returns how many were removed. */
  sweep(): Promise<number>;
}
