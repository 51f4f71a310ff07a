/**
 * Host-side access to a sandbox's workspace directory. The sandbox's own processes may have left
 * symlinks pointing anywhere (e.g. to /etc/shadow), and Assay reads the workspace with more
 * privileges than the sandbox has, so nothing here ever follows a symlink: each path component is
 * checked with lstat and the last one is opened with O_NOFOLLOW. No sandbox process outlives its
 * command (each command has its own PID namespace), so nothing changes the tree while we walk it.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chown, lchown, lstat, mkdir, open, readdir, readlink, rm, chmod, symlink, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { AssayError } from '../common/errors.js';
import type { FileKind, FileListing, Snapshot, SnapshotEntry } from './types.js';

/** Most paths a snapshot or listing walks; past it the walk stops and says so. */
export const MAX_ENTRIES = 20_000;
/** Entries stat'ed and read at once during a walk. */
const WALK_BATCH = 64;

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
    // Non-blocking: a FIFO the sandbox planted under this name fails (ENXIO) instead of blocking a libuv thread forever.
    const fh = await open(host, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ELOOP') throw new AssayError('SANDBOX_PATH', `${parts.join('/')} is a symlink; Assay does not follow it`);
      if (e.code === 'EISDIR') throw new AssayError('SANDBOX_PATH', `${parts.join('/')} is a directory`);
      if (e.code === 'ENXIO' || e.code === 'ENODEV' || e.code === 'ETXTBSY') throw new AssayError('SANDBOX_PATH', `${parts.join('/')} is not a regular file (${e.code})`);
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

  /**
   * Walk in sorted order, never following symlinks: each directory's entries are stat'ed and
   * visited in parallel batches (a sandbox can leave tens of thousands of files), then its
   * subdirectories are walked in order.
   */
  private async walk(dir: string[], visit: (rel: string, host: string, st: Awaited<ReturnType<typeof lstat>>) => Promise<void>, budget: { left: number }): Promise<boolean> {
    const hostDir = join(this.root, ...dir);
    const names = (await readdir(hostDir)).sort();
    const subdirs: string[] = [];
    let complete = true;
    for (let i = 0; i < names.length; i += WALK_BATCH) {
      let batch = names.slice(i, i + WALK_BATCH);
      if (batch.length > budget.left) {
        batch = batch.slice(0, Math.max(0, budget.left));
        complete = false;
      }
      budget.left -= batch.length;
      await Promise.all(
        batch.map(async (name) => {
          const host = join(hostDir, name);
          const st = await lstat(host);
          await visit([...dir, name].join('/'), host, st);
          if (st.isDirectory()) subdirs.push(name);
        }),
      );
      if (!complete) return false;
    }
    for (const name of subdirs.sort()) if (!(await this.walk([...dir, name], visit, budget))) return false;
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
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { files, truncated: !complete };
  }

  /**
   * Every path with kind, size, mode, digest; the decoded text of regular files up to `textLimit`
   * bytes each and `textBudget` bytes in all (what is not kept says so: `textOmitted`). Regular
   * files are opened O_NOFOLLOW|O_NONBLOCK and checked with fstat, so a FIFO or device planted by
   * the sandbox is recorded as `other`, never read. `truncated`: the walk stopped at its entry limit.
   */
  async snapshot(textLimit = 8 << 20, textBudget = 64 << 20): Promise<Snapshot> {
    const files: Record<string, SnapshotEntry> = {};
    let budget = textBudget;
    const complete = await this.walk(
      [],
      async (rel, host, st) => {
        let kind = kindOf(st);
        const e: SnapshotEntry = { kind, size: kind === 'file' ? Number(st.size) : 0, mode: Number(st.mode) & 0o7777 };
        if (kind === 'symlink') e.target = await readlink(host);
        if (kind === 'file') {
          const fh = await open(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
          const fst = fh ? await fh.stat().catch(() => null) : null;
          if (!fh || !fst?.isFile()) {
            await fh?.close();
            e.kind = kind = 'other';
            e.size = 0;
          } else {
            try {
              const h = createHash('sha256');
              const keep = e.size <= textLimit && e.size <= budget;
              const head: Buffer[] = [];
              let size = 0;
              const take = (chunk: Buffer) => {
                h.update(chunk);
                size += chunk.length;
                if (keep && size <= textLimit) head.push(chunk);
              };
              if (fst.size < 1 << 20) {
                // Small files (most of them): one read; one byte more than fstat said shows growth, which the loop below then reads.
                const buf = Buffer.allocUnsafe(Number(fst.size) + 1);
                const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
                take(buf.subarray(0, bytesRead));
                if (bytesRead === buf.length) for (let pos = bytesRead; ; ) {
                  const more = Buffer.allocUnsafe(1 << 16);
                  const r = await fh.read(more, 0, more.length, pos);
                  if (!r.bytesRead) break;
                  take(more.subarray(0, r.bytesRead));
                  pos += r.bytesRead;
                }
              } else for await (const chunk of fh.createReadStream({ autoClose: false, start: 0 }) as AsyncIterable<Buffer>) take(chunk);
              e.size = size;
              e.digest = `sha256:${h.digest('hex')}`;
              if (keep && size <= textLimit) {
                budget -= size;
                const d = decodeText(Buffer.concat(head));
                if (d) {
                  e.text = d.text;
                  if (d.encoding !== 'utf-8') e.encoding = d.encoding;
                } else e.textOmitted = 'undecodable';
              } else e.textOmitted = size > textLimit ? 'too large' : 'snapshot text budget spent';
            } finally {
              await fh.close();
            }
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

/**
 * Text from bytes in any encoding a file is likely to use: a BOM decides (UTF-8, UTF-16 LE/BE,
 * UTF-32 LE/BE); else strict UTF-8; else UTF-16 without BOM when NUL bytes sit on one parity.
 * Returns null when none fits (the caller treats the file as unknown, never as clean).
 */
export function decodeText(buf: Buffer): { text: string; encoding: string } | null {
  const strict = (enc: string, b: Uint8Array) => {
    try {
      return new TextDecoder(enc, { fatal: true }).decode(b);
    } catch {
      return null;
    }
  };
  const bom = (...xs: number[]) => xs.every((x, i) => buf[i] === x);
  const utf32 = (le: boolean): string | null => {
    if (buf.length % 4) return null;
    let out = '';
    for (let i = 4; i < buf.length; i += 4) {
      const cp = le ? buf.readUInt32LE(i) : buf.readUInt32BE(i);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
      out += String.fromCodePoint(cp);
    }
    return out;
  };
  if (bom(0xff, 0xfe, 0, 0)) return map(utf32(true), 'utf-32le');
  if (bom(0, 0, 0xfe, 0xff)) return map(utf32(false), 'utf-32be');
  if (bom(0xef, 0xbb, 0xbf)) return map(strict('utf-8', buf.subarray(3)), 'utf-8');
  if (bom(0xff, 0xfe)) return map(strict('utf-16le', buf.subarray(2)), 'utf-16le');
  if (bom(0xfe, 0xff)) return map(strict('utf-16be', buf.subarray(2)), 'utf-16be');
  const u8 = strict('utf-8', buf);
  if (u8 !== null && !(buf.length >= 4 && buf.length % 2 === 0 && nulParity(buf) !== null)) return { text: u8, encoding: 'utf-8' };
  const parity = buf.length % 2 === 0 ? nulParity(buf) : null;
  if (parity === 1) return map(strict('utf-16le', buf), 'utf-16le');
  if (parity === 0) return map(strict('utf-16be', buf), 'utf-16be');
  return u8 !== null ? { text: u8, encoding: 'utf-8' } : null;
}

const map = (text: string | null, encoding: string) => (text === null ? null : { text, encoding });

/** 1 when most odd bytes are NUL and few even ones (UTF-16LE of mostly-ASCII text), 0 for the reverse, else null. */
function nulParity(buf: Buffer): 0 | 1 | null {
  let odd = 0;
  let even = 0;
  for (let i = 0; i < buf.length; i++) if (buf[i] === 0) i % 2 ? odd++ : even++;
  const half = buf.length / 2;
  if (odd >= half * 0.3 && even <= half * 0.05) return 1;
  if (even >= half * 0.3 && odd <= half * 0.05) return 0;
  return null;
}

/**
 * Copies a workspace tree the sandbox wrote, never following anything it planted: directories
 * and regular files (opened O_NOFOLLOW|O_NONBLOCK, checked with fstat) are copied, symlinks are
 * recreated as symlinks, FIFOs, sockets and devices are skipped. Bounded in entries and bytes;
 * `complete` false (with why) when a bound was hit.
 */
export async function copyTree(src: string, dst: string, o: { maxEntries: number; maxBytes: number; owner: { uid: number; gid: number } | null }): Promise<{ complete: boolean; why?: string }> {
  let entries = 0;
  let bytes = 0;
  const own = async (p: string) => {
    if (o.owner) await chown(p, o.owner.uid, o.owner.gid);
  };
  await mkdir(dst, { mode: 0o755 });
  await own(dst);
  const walk = async (s: string, d: string): Promise<string | null> => {
    for (const name of (await readdir(s)).sort()) {
      if (++entries > o.maxEntries) return `more than ${o.maxEntries} entries`;
      const sp = join(s, name);
      const dp = join(d, name);
      const st = await lstat(sp);
      if (st.isDirectory()) {
        await mkdir(dp, { mode: 0o755 });
        await own(dp);
        const r = await walk(sp, dp);
        if (r) return r;
      } else if (st.isSymbolicLink()) {
        await symlink(await readlink(sp), dp);
        if (o.owner) await lchown(dp, o.owner.uid, o.owner.gid);
      } else if (st.isFile()) {
        const fh = await open(sp, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
        if (!fh) continue;
        try {
          const fst = await fh.stat();
          if (!fst.isFile()) continue;
          bytes += fst.size;
          if (bytes > o.maxBytes) return `more than ${o.maxBytes} bytes`;
          const data = await fh.readFile();
          await writeFile(dp, data, { mode: Number(fst.mode) & 0o777, flag: 'wx' });
          await own(dp);
        } finally {
          await fh.close();
        }
      }
    }
    return null;
  };
  const why = await walk(src, dst);
  return why ? { complete: false, why } : { complete: true };
}
