/**
 * Host-side access to a sandbox's workspace directory. The sandbox's own processes may have left
 * symlinks pointing anywhere (e.g. to /etc/shadow), and Assay reads the workspace with more
 * privileges than the sandbox has, so nothing here ever follows a symlink: each path component is
 * checked with lstat and the last one is opened with O_NOFOLLOW. No sandbox process outlives its
 * command (each command has its own PID namespace), so nothing changes the tree while we walk it.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chown, lstat, mkdir, open, readdir, readlink, rm, chmod } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { AssayError } from '../common/errors.js';
import type { FileKind, FileListing, Snapshot, SnapshotEntry } from './types.js';

/** Most paths a snapshot or listing walks; past it the walk stops and says so. */
export const MAX_ENTRIES = 20_000;

/**
 * A workspace-relative path from what a model or task wrote: "a/b", "./a/b" or "<workdir>/a/b".
 * Rejects anything that leaves the workspace. Returns [] for the workspace root.
 */
export function workspaceParts(path: string, workdir: string): string[] {
  let p = path.replace(/\\/g, '/').trim();
  if (p === workdir || p.startsWith(`${workdir}/`)) p = p.slice(workdir.length + 1);
  if (p.startsWith('/')) throw new AssayError('SANDBOX_PATH', `path "${path}" is outside the workspace (${workdir})`);
  if (p.includes('\0')) throw new AssayError('SANDBOX_PATH', `path "${path.replace(/\0/g, '\\0')}" contains a NUL byte`);
  const norm = posix.normalize(p === '' ? '.' : p);
  if (norm === '..' || norm.startsWith('../')) throw new AssayError('SANDBOX_PATH', `path "${path}" is outside the workspace (${workdir})`);
  return norm === '.' ? [] : norm.split('/').filter((s) => s !== '' && s !== '.');
}

const kindOf = (st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): FileKind =>
  st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';

export class Workspace {
  /** `owner`: uid/gid that must own what Assay writes (the sandbox user on the host), or null to leave as is. */
  constructor(
    readonly root: string,
    readonly workdir: string,
    private readonly owner: { uid: number; gid: number } | null,
  ) {}

  /** Checks every directory on the way is a real directory (no symlinks); returns the host path. */
  private async resolve(parts: string[], opts: { createParents?: boolean } = {}): Promise<string> {
    let cur = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      cur = join(cur, parts[i]!);
      const st = await lstat(cur).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : Promise.reject(e)));
      if (!st) {
        if (!opts.createParents) throw new AssayError('SANDBOX_PATH', `no such directory: ${parts.slice(0, i + 1).join('/')}`);
        await mkdir(cur);
        if (this.owner) await chown(cur, this.owner.uid, this.owner.gid);
        continue;
      }
      if (!st.isDirectory()) throw new AssayError('SANDBOX_PATH', `${parts.slice(0, i + 1).join('/')} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; Assay does not follow it`);
    }
    return join(this.root, ...parts);
  }

  async readFile(path: string, maxBytes = 1 << 20): Promise<Buffer> {
    const parts = workspaceParts(path, this.workdir);
    if (!parts.length) throw new AssayError('SANDBOX_PATH', 'the workspace root is a directory, not a file');
    const host = await this.resolve(parts);
    let fh;
    try {
      fh = await open(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new AssayError('SANDBOX_PATH', `no such file: ${parts.join('/')}`);
      if (code === 'ELOOP') throw new AssayError('SANDBOX_PATH', `${parts.join('/')} is a symlink; Assay does not follow it`);
      throw e;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new AssayError('SANDBOX_PATH', `${parts.join('/')} is not a regular file`);
      const n = Math.min(st.size, maxBytes);
      const buf = Buffer.alloc(n);
      const { bytesRead } = await fh.read(buf, 0, n, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  async writeFile(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    const parts = workspaceParts(path, this.workdir);
    if (!parts.length) throw new AssayError('SANDBOX_PATH', 'cannot write to the workspace root');
    const host = await this.resolve(parts, { createParents: true });
    const fh = await open(host, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ELOOP') throw new AssayError('SANDBOX_PATH', `${parts.join('/')} is a symlink; Assay does not follow it`);
      if (e.code === 'EISDIR') throw new AssayError('SANDBOX_PATH', `${parts.join('/')} is a directory`);
      throw e;
    });
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new AssayError('SANDBOX_PATH', `${parts.join('/')} is not a regular file`);
      await fh.writeFile(content);
      await fh.chmod(mode);
      if (this.owner) await fh.chown(this.owner.uid, this.owner.gid);
    } finally {
      await fh.close();
    }
  }

  /** Depth-first walk in sorted order, never following symlinks. */
  private async walk(dir: string[], visit: (rel: string, host: string, st: Awaited<ReturnType<typeof lstat>>) => Promise<void>, budget: { left: number }): Promise<boolean> {
    const hostDir = join(this.root, ...dir);
    const names = (await readdir(hostDir)).sort();
    for (const name of names) {
      if (budget.left-- <= 0) return false;
      const rel = [...dir, name];
      const host = join(hostDir, name);
      const st = await lstat(host);
      await visit(rel.join('/'), host, st);
      if (st.isDirectory() && !(await this.walk(rel, visit, budget))) return false;
    }
    return true;
  }

  async list(path = ''): Promise<{ files: FileListing[]; truncated: boolean }> {
    const parts = workspaceParts(path, this.workdir);
    if (parts.length) {
      const host = await this.resolve([...parts, '.']);
      const st = await lstat(host).catch(() => null);
      if (!st?.isDirectory()) throw new AssayError('SANDBOX_PATH', `no such directory: ${parts.join('/')}`);
    }
    const files: FileListing[] = [];
    const complete = await this.walk(parts, async (rel, _h, st) => void files.push({ path: rel, kind: kindOf(st), size: Number(st.size) }), { left: MAX_ENTRIES });
    return { files, truncated: !complete };
  }

  async snapshot(textLimit = 256 << 10): Promise<Snapshot> {
    const files: Record<string, SnapshotEntry> = {};
    const complete = await this.walk(
      [],
      async (rel, host, st) => {
        const kind = kindOf(st);
        const e: SnapshotEntry = { kind, size: kind === 'file' ? Number(st.size) : 0, mode: Number(st.mode) & 0o7777 };
        if (kind === 'symlink') e.target = await readlink(host);
        if (kind === 'file') {
          const fh = await open(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
          try {
            const h = createHash('sha256');
            const head: Buffer[] = [];
            let kept = 0;
            for await (const chunk of fh.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
              h.update(chunk);
              if (kept <= textLimit) head.push(chunk), (kept += chunk.length);
            }
            e.digest = `sha256:${h.digest('hex')}`;
            if (e.size <= textLimit) {
              const buf = Buffer.concat(head);
              const text = buf.toString('utf8');
              if (Buffer.from(text, 'utf8').equals(buf)) e.text = text;
            }
          } finally {
            await fh.close();
          }
        }
        files[rel] = e;
      },
      { left: MAX_ENTRIES },
    );
    return { files, truncated: !complete };
  }

  /** Total bytes of regular files (a quota check), walking at most MAX_ENTRIES paths. */
  async usage(): Promise<number> {
    let total = 0;
    await this.walk([], async (_r, _h, st) => void (st.isFile() ? (total += Number(st.size)) : 0), { left: MAX_ENTRIES });
    return total;
  }
}

/**
 * Removes a directory tree that a sandbox wrote, even where it made directories unreadable or
 * unwritable (chmod 000), by restoring owner permissions and retrying once.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true, maxRetries: 2 });
    return;
  } catch {
    /* fall through: fix permissions */
  }
  const fix = async (p: string) => {
    const st = await lstat(p).catch(() => null);
    if (!st?.isDirectory()) return;
    await chmod(p, 0o700).catch(() => {});
    for (const n of await readdir(p).catch(() => [] as string[])) await fix(join(p, n));
  };
  await fix(path);
  await rm(path, { recursive: true, force: true, maxRetries: 2 });
}
