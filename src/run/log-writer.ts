import { open, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { link, rename, stat, truncate, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AssayError } from '../common/errors.js';
import { processRedactor } from '../common/secrets.js';
import type { EndRecord, RunHeader, RunLogRecord, SampleRecord } from './types.js';
import { RUN_LOG_SCHEMA } from './types.js';

/**
 * Append-only JSONL writer with group commit: records are encoded straight into a buffer and
 * written together, then fdatasync'd, so durability costs one sync per batch rather than per
 * record. Two buffers alternate: one fills while the other is on its way to the disk, so a
 * record costs one UTF-8 encode and no intermediate strings.
 * A record whose batch had not reached the kernel when the process died is simply absent;
 * its sample is re-run on resume, so nothing is lost and nothing is duplicated.
 */
const INITIAL_BUFFER = 256 * 1024;

export class RunLogWriter {
  private buf: Buffer = Buffer.allocUnsafe(INITIAL_BUFFER);
  private spare: Buffer | null = Buffer.allocUnsafe(INITIAL_BUFFER);
  private used = 0;
  private flushing: Promise<void> | null = null;
  private failed: Error | null = null;
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    private readonly sync: boolean,
  ) {
    processRedactor(true); // the environment's secrets as of this log's opening
  }

  /**
   * Creates a new log. With `header`, the log appears at its path only once its header is durable
   * (written and synced under a temporary name, then hard-linked into place, which fails if the
   * path exists): a process killed or exited at any moment — a second Ctrl-C — leaves either no
   * log, so the same command starts cleanly, or one with a complete header that resumes.
   */
  static async create(path: string, opts: { sync?: boolean; header?: RunLogRecord } = {}): Promise<RunLogWriter> {
    const exists = () => new AssayError('RUN_LOG_EXISTS', 'a run log already exists here; use --resume to continue it or choose another --out', { file: path });
    if (opts.header) {
      const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.creating`);
      const t = await open(tmp, 'w');
      let linked = false;
      try {
        await t.writeFile(JSON.stringify(opts.header) + '\n');
        await t.datasync();
        await t.close();
        try {
          await link(tmp, path);
          linked = true;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EEXIST') throw exists();
          // A filesystem without hard links: create exclusively and write the header in place.
          if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw e;
        }
      } finally {
        await t.close().catch(() => undefined);
        await unlink(tmp).catch(() => undefined);
      }
      if (linked) {
        await syncDir(dirname(path));
        return new RunLogWriter(await open(path, 'a'), path, opts.sync ?? true);
      }
    }
    // "wx": never overwrite an existing log.
    let fh: FileHandle;
    try {
      fh = await open(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw exists();
      throw e;
    }
    const w = new RunLogWriter(fh, path, opts.sync ?? true);
    if (opts.header) {
      w.write(opts.header);
      await w.flush();
    }
    return w;
  }

  static async append(path: string, opts: { sync?: boolean } = {}): Promise<RunLogWriter> {
    return new RunLogWriter(await open(path, 'a'), path, opts.sync ?? true);
  }

  write(rec: RunLogRecord): void {
    this.writeLine(JSON.stringify(rec) + '\n');
  }

  /** Append a pre-serialised record (one JSON object and its newline). */
  writeLine(line: string): void {
    this.writeParts([line]);
  }

  /**
   * Append a record given as consecutive pieces (see sampleLineParts): each piece is encoded
   * straight into the buffer, so the line is never concatenated into one string first.
   */
  writeParts(parts: readonly string[]): void {
    if (this.failed) throw this.failed;
    if (this.closed) throw new Error('run log writer is closed');
    // Every record, of every kind (agentic or not, errors echoing request headers, grader output), passes the secret redactor here.
    const red = processRedactor();
    if (red.secrets.length) {
      const line = parts.join('');
      const clean = red.redactLine(line);
      if (clean !== line) parts = [clean];
    }
    let units = 0;
    for (const p of parts) units += p.length;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: measure exactly only when that might not fit.
    const room = this.buf.length - this.used;
    if (units * 3 > room) {
      let need = 0;
      for (const p of parts) need += Buffer.byteLength(p);
      if (need > room) {
        const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + need));
        this.buf.copy(bigger, 0, 0, this.used);
        this.buf = bigger;
      }
    }
    for (const p of parts) this.used += this.buf.write(p, this.used);
    if (!this.flushing) this.flushing = this.drain();
  }

  /** Resolves when everything written so far is durable. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.failed) throw this.failed;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.fh.close();
  }

  private async drain(): Promise<void> {
    try {
      // Yield once so records produced in the same tick share a batch.
      await new Promise<void>((r) => setImmediate(r));
      while (this.used > 0) {
        const out = this.buf;
        const n = this.used;
        this.buf = this.spare ?? Buffer.allocUnsafe(INITIAL_BUFFER);
        this.spare = null;
        this.used = 0;
        for (let off = 0; off < n; ) off += (await this.fh.write(out, off, n - off)).bytesWritten;
        if (this.sync) await this.fh.datasync();
        // Keep it for the next swap unless one huge record made it grow far past the usual size.
        this.spare = out.length <= 4 * INITIAL_BUFFER ? out : null;
      }
    } catch (e) {
      this.failed = new AssayError('RUN_LOG_WRITE', `cannot write run log: ${(e as Error).message}`, { file: this.path });
    } finally {
      this.flushing = null;
    }
  }
}

/** Makes a new directory entry durable (best effort where directories cannot be opened). */
async function syncDir(dir: string): Promise<void> {
  let d: FileHandle | null = null;
  try {
    d = await open(dir, 'r');
    await d.sync();
  } catch {
    // not supported here (e.g. some network filesystems): the entry is durable at the next sync
  } finally {
    await d?.close().catch(() => undefined);
  }
}

export interface ExistingLog {
  header: RunHeader;
  doneKeys: Set<string>;
  errored: number;
  /** Keys whose record is an error (for --retry-errored). */
  erroredKeys: Set<string>;
  /** Records with the outcomes empty and filtered. */
  outcomes: { empty: number; filtered: number };
  ended: boolean;
  /** The endpoint turned out to be Assay's simulated target (a `simulated` event). */
  simulatedEvent: boolean;
  /** Status of the last end record, when the log ends with one (no resume after it). */
  endStatus: EndRecord['status'] | null;
  /** Tokens used by the recorded samples, so budgets cover the whole run across resumes. */
  usage: { inputTokens: number; outputTokens: number };
  /** Bytes of the log up to the end of its last complete record. */
  validBytes: number;
  tornBytes: number;
}

/**
 * Scans a log for resume: which sample×epoch keys are done, and where the last complete
 * record ends. A torn tail (a partial last line left by a crash) is reported, not kept.
 */
export async function scanForResume(path: string): Promise<ExistingLog> {
  const size = (await stat(path)).size;
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let offset = 0;
  let lineNo = 0;
  let header: RunHeader | null = null;
  let validBytes = 0;
  let badLine: number | null = null;
  const doneKeys = new Set<string>();
  let errored = 0;
  const erroredKeys = new Set<string>();
  const outcomes = { empty: 0, filtered: 0 };
  let ended = false;
  let endStatus: EndRecord['status'] | null = null;
  let simulatedEvent = false;
  const usage = { inputTokens: 0, outputTokens: 0 };
  for await (const line of rl) {
    lineNo++;
    const end = offset + Buffer.byteLength(line) + 1;
    const terminated = end <= size;
    offset = end;
    if (badLine !== null) throw new AssayError('RUN_LOG_CORRUPT', 'line is not a valid record (corrupt run log, not a torn tail)', { file: path, line: badLine });
    let rec: RunLogRecord;
    try {
      if (!terminated) throw new Error('unterminated');
      rec = JSON.parse(line) as RunLogRecord;
    } catch {
      badLine = lineNo;
      continue;
    }
    validBytes = end;
    if (lineNo === 1) {
      if (rec.type !== 'header' || rec.schema !== RUN_LOG_SCHEMA)
        throw new AssayError('RUN_LOG_CORRUPT', `first line is not a ${RUN_LOG_SCHEMA} header`, { file: path, line: 1 });
      header = rec;
    } else if (rec.type === 'sample') {
      if (doneKeys.has(rec.key)) throw new AssayError('RUN_LOG_CORRUPT', `sample key "${rec.key}" appears twice`, { file: path, line: lineNo });
      doneKeys.add(rec.key);
      if (rec.error) {
        errored++;
        erroredKeys.add(rec.key);
      }
      if (rec.outcome === 'empty' || rec.outcome === 'filtered') outcomes[rec.outcome]++;
      if (rec.usage) {
        usage.inputTokens += rec.usage.inputTokens;
        usage.outputTokens += rec.usage.outputTokens;
      }
    } else if (rec.type === 'end') {
      ended = true;
      endStatus = rec.status;
    } else if (rec.type === 'event' && rec.kind === 'simulated') simulatedEvent = true;
    else if (rec.type === 'event' && rec.kind === 'resume') {
      ended = false;
      endStatus = null;
    }
  }
  if (!header) throw new AssayError('RUN_LOG_CORRUPT', 'run log has no complete header', { file: path, line: 1 });
  return { header, doneKeys, errored, erroredKeys, outcomes, ended, endStatus, simulatedEvent, usage, validBytes, tornBytes: size - validBytes };
}

/**
 * --retry-errored: rewrites the log without its errored sample records (and without a torn tail),
 * so each key still has at most one record and the errored samples run again. Written to a temporary
 * file, fsync'd and renamed over the log: a crash leaves either the old log or the new one. The
 * caller holds the run's lock. Returns the dropped keys.
 */
export async function dropErroredRecords(path: string, log: ExistingLog): Promise<string[]> {
  const tmp = `${path}.retry-${process.pid}.tmp`;
  const out = await open(tmp, 'w');
  const dropped: string[] = [];
  try {
    const rl = createInterface({ input: createReadStream(path, { end: Math.max(0, log.validBytes - 1) }), crlfDelay: Infinity });
    let batch: string[] = [];
    let lineNo = 0;
    for await (const line of rl) {
      lineNo++;
      // A cheap test first, then a parse to be sure.
      if (lineNo > 1 && line.includes('"error":{')) {
        const rec = JSON.parse(line) as SampleRecord;
        if (rec.type === 'sample' && rec.error && log.erroredKeys.has(rec.key)) {
          dropped.push(rec.key);
          continue;
        }
      }
      batch.push(line);
      if (batch.length >= 512) {
        await out.write(batch.join('\n') + '\n');
        batch = [];
      }
    }
    if (batch.length) await out.write(batch.join('\n') + '\n');
    await out.datasync();
  } finally {
    await out.close();
  }
  await rename(tmp, path);
  return dropped;
}

/** Cut a torn tail off before appending, so the next record starts on a fresh line. */
export async function dropTornTail(path: string, log: ExistingLog): Promise<void> {
  if (log.tornBytes > 0) await truncate(path, log.validBytes);
}

// Placeholders for verbatim JSON: a per-process random token no record text can contain by chance.
const TOKEN = `\u0000assay-${Math.random().toString(36).slice(2)}-`;
const SENT = `"${TOKEN.replace('\u0000', '\\u0000')}sent"`;
const RAW = `"${TOKEN.replace('\u0000', '\\u0000')}raw"`;

/**
 * One JSONL line for a sample record. When the exact request/response texts are known they are
 * embedded verbatim at `sent.body` and `output.raw` (the bytes on the wire, not a re-serialisation),
 * which is both more faithful and cheaper. Texts with line breaks are re-serialised to keep JSONL.
 */
export function sampleLine(rec: SampleRecord, wire?: { request: string; response: string }): string {
  return sampleLineParts(rec, wire).join('');
}

/** The same line as consecutive pieces, for RunLogWriter.writeParts (no concatenated copy). */
export function sampleLineParts(rec: SampleRecord, wire?: { request: string; response: string }): string[] {
  if (!wire || !rec.sent || !rec.output || /[\n\r]/.test(wire.request) || /[\n\r]/.test(wire.response)) return [JSON.stringify(rec), '\n'];
  const shallow = { ...rec, sent: { ...rec.sent, body: `${TOKEN}sent` }, output: { ...rec.output, raw: `${TOKEN}raw` } };
  const text = JSON.stringify(shallow);
  const i = text.indexOf(SENT);
  const j = text.indexOf(RAW, i);
  if (i < 0 || j < 0) return [JSON.stringify(rec), '\n'];
  return [text.slice(0, i), wire.request, text.slice(i + SENT.length, j), wire.response, text.slice(j + RAW.length), '\n'];
}
