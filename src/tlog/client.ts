import { createServer, type IncomingMessage, type Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { AssayError, type Location } from '../common/errors.js';
import { openCheckpoint, type Checkpoint, type SignedCheckpoint } from './checkpoint.js';
import { requireCosignatures, type WitnessResult } from './cosignature.js';
import { bytesEqual, consistencyFailure, inclusionFailure, leafHash } from './merkle.js';
import { decodeBase64, ed25519Verifier } from './note.js';
import { MAX_ENTRY_SIZE, SERVABLE_PATH, TileReader, type TileFetch } from './tiles.js';
import { decodeEntry } from './entry.js';
import type { LocalLog } from './storage.js';
import { fetchBounded } from './http.js';

/**
 * Reading and verifying a tiles log from a directory or an http(s) base URL, using nothing but
 * the checkpoint and tiles; offline proofs (tlog-proof text); a read-only static file server.
 */

const MAX_FILE = 1 << 20; // no tiles-log file is near this; bounds what a hostile server can send

export interface LogSource {
  /** What was given (directory or URL), for messages. */
  readonly target: string;
  readonly fetch: TileFetch;
}

/** A directory path or an http(s):// base URL. */
export function logSource(target: string, opts: { timeoutMs?: number } = {}): LogSource {
  if (/^https?:\/\//i.test(target)) {
    const base = target.endsWith('/') ? target : `${target}/`;
    return {
      target,
      async fetch(path) {
        // One deadline and a byte cap per request (src/tlog/http.ts): a log that never answers,
        // trickles or sends without end cannot stall or exhaust a verifier.
        const res = await fetchBounded(new URL(path, base), {}, { maxBytes: MAX_FILE, code: 'LOG_FETCH', target, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
        if (res.status === 404) return null;
        if (res.status < 200 || res.status > 299) throw new AssayError('LOG_FETCH', `GET ${path} answered HTTP ${res.status}`, { file: target });
        return new Uint8Array(res.body);
      },
    };
  }
  return {
    target,
    async fetch(path) {
      if (!SERVABLE_PATH.test(path)) throw new Error(`internal: not a log path: ${path}`);
      try {
        // Bounded like a remote answer: a planted huge file is refused before it is read.
        if ((await stat(join(target, path))).size > MAX_FILE) throw new AssayError('LOG_FETCH', `${path} is larger than ${MAX_FILE} bytes`, { file: target });
        return new Uint8Array(await readFile(join(target, path)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        if (err instanceof AssayError) throw err;
        throw new AssayError('LOG_FETCH', `cannot read ${path}: ${(err as Error).message}`, { file: target });
      }
    },
  };
}

/** Fetches the log's checkpoint and verifies it against the log's verifier key. */
export async function fetchCheckpoint(src: LogSource, logVkey: string, opts: { origin?: string } = {}): Promise<SignedCheckpoint> {
  const where: Location = { file: `${src.target}${src.target.endsWith('/') ? '' : '/'}checkpoint` };
  const data = await src.fetch('checkpoint');
  if (!data) throw new AssayError('LOG_FETCH', 'no checkpoint: is this a tiles log?', where);
  if (data.length > 64 * 1024) throw new AssayError('CHECKPOINT_FORMAT', `checkpoint is ${data.length} bytes; a checkpoint note is at most 64 KiB`, where);
  const text = new TextDecoder().decode(data);
  const v = ed25519Verifier(logVkey, { field: 'vkey' });
  return openCheckpoint(text, [v], { origin: opts.origin ?? v.name, where });
}

export interface InclusionResult {
  index: number;
  size: number;
  proof: Uint8Array[];
}

/**
 * Verifies that `entry` (entry bytes) is in the tree of `checkpoint`, fetching only tiles. The
 * index is found by scanning the bottom tiles unless given.
 */
export async function verifyEntryInclusion(src: LogSource, checkpoint: Checkpoint, entry: Uint8Array, index?: number): Promise<InclusionResult> {
  const reader = new TileReader(src.fetch, checkpoint.size, { file: src.target });
  const leaf = leafHash(entry);
  const at = index ?? (await reader.findLeaf(leaf));
  if (at === null) throw new AssayError('NOT_IN_LOG', `entry is not among the ${checkpoint.size} entries of the log`, { file: src.target });
  if (at < 0 || at >= checkpoint.size) throw new AssayError('NOT_IN_LOG', `index ${at} is outside the checkpoint (size ${checkpoint.size})`, { file: src.target });
  const proof = await reader.inclusionProof(at);
  const why = inclusionFailure(leaf, at, checkpoint.size, proof, checkpoint.root);
  if (why) throw new AssayError('INCLUSION_INVALID', `entry at index ${at} is not proven included in checkpoint size ${checkpoint.size}: ${why}`, { file: src.target });
  return { index: at, size: checkpoint.size, proof };
}

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

/** Split view between two checkpoints of one origin at the same size, or null. */
export function splitViewAt(a: Checkpoint, b: Checkpoint): string | null {
  if (a.origin !== b.origin || a.size !== b.size || bytesEqual(a.root, b.root)) return null;
  return `split view: log ${a.origin} signed two different trees of size ${a.size} (roots ${b64(a.root)} and ${b64(b.root)}); keep both signed checkpoints as evidence`;
}

/**
 * Checks that `newer` extends `older` (same origin) with a consistency proof built from the
 * newer tree's tiles. The order is the caller's claim and is never swapped: a "newer" checkpoint
 * smaller than the "older" one is a rollback (ROLLBACK). Throws SPLIT_VIEW with both roots when
 * the older tree is not a prefix of the newer.
 */
export async function verifyCheckpointConsistency(src: LogSource, older: Checkpoint, newer: Checkpoint): Promise<Uint8Array[]> {
  if (older.origin !== newer.origin) throw new AssayError('CHECKPOINT_ORIGIN', `checkpoints are from different logs (${older.origin}, ${newer.origin})`);
  if (newer.size < older.size)
    throw new AssayError(
      'ROLLBACK',
      `rollback: log ${older.origin} presents a tree of size ${newer.size}, smaller than the earlier checkpoint of size ${older.size}; a newer checkpoint must extend the older one`,
      { file: src.target },
    );
  const [a, b] = [older, newer];
  const split = splitViewAt(a, b);
  if (split) throw new AssayError('SPLIT_VIEW', split, { file: src.target });
  const proof = a.size === b.size ? [] : await new TileReader(src.fetch, b.size, { file: src.target }).consistencyProof(a.size);
  const why = consistencyFailure(a.size, b.size, proof, a.root, b.root);
  if (why)
    throw new AssayError(
      'SPLIT_VIEW',
      `split view: checkpoint of size ${a.size} (root ${b64(a.root)}) is not a prefix of checkpoint of size ${b.size} (root ${b64(b.root)}) of log ${a.origin}: ${why}. Either the log forked or its tiles are corrupt; keep both signed checkpoints as evidence`,
      { file: src.target },
    );
  return proof;
}

// ---------------------------------------------------------------------------------------------
// Offline proofs: c2sp.org/tlog-proof@v1 text (2026 draft), self-contained and verifiable with
// the log's key alone.
//
//   c2sp.org/tlog-proof@v1
//   [extra <base64>]
//   index <n>
//   <base64 inclusion-proof hash>*        (one per line, from the leaf upwards)
//   <empty line>
//   <checkpoint note, with the log signature and any witness cosignatures>

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

export interface TlogProof {
  index: number;
  hashes: Uint8Array[];
  /** The full checkpoint note text. */
  checkpoint: string;
  extra?: Uint8Array;
}

export function formatTlogProof(p: TlogProof): string {
  const lines = [TLOG_PROOF_HEADER];
  if (p.extra) lines.push(`extra ${b64(p.extra)}`);
  lines.push(`index ${p.index}`, ...p.hashes.map(b64));
  return `${lines.join('\n')}\n\n${p.checkpoint}`;
}

export function parseTlogProof(text: string, where: Location = {}): TlogProof {
  const split = text.indexOf('\n\n');
  if (split < 0) throw new AssayError('PROOF_FORMAT', 'tlog proof has no blank line before its checkpoint', where);
  const lines = text.slice(0, split).split('\n');
  const checkpoint = text.slice(split + 2);
  if (lines[0] !== TLOG_PROOF_HEADER) throw new AssayError('PROOF_FORMAT', `first line must be "${TLOG_PROOF_HEADER}"`, { ...where, line: 1 });
  let i = 1;
  let extra: Uint8Array | undefined;
  if (lines[i]?.startsWith('extra ')) {
    extra = decodeBase64(lines[i]!.slice(6), 'extra', { ...where, line: i + 1 });
    i++;
  }
  const m = /^index (0|[1-9][0-9]*)$/.exec(lines[i] ?? '');
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw new AssayError('PROOF_FORMAT', 'expected "index <n>"', { ...where, line: i + 1 });
  const index = Number(m[1]);
  const hashes = lines.slice(i + 1).map((l, k) => {
    const h = decodeBase64(l, 'proof hash', { ...where, line: i + 2 + k });
    if (h.length !== 32) throw new AssayError('PROOF_FORMAT', `proof hash has ${h.length} bytes, expected 32`, { ...where, line: i + 2 + k });
    return h;
  });
  if (hashes.length > 63) throw new AssayError('PROOF_FORMAT', `proof has ${hashes.length} hashes, more than any tree needs`, where);
  return { index, hashes, checkpoint, ...(extra ? { extra } : {}) };
}

export interface OfflineVerification {
  index: number;
  checkpoint: SignedCheckpoint;
  witnesses: WitnessResult | null;
}

/**
 * Offline verification of an entry against a tlog-proof: log signature on the checkpoint,
 * optional k-of-n witness cosignatures, then inclusion of the entry's leaf under the root.
 */
export function verifyTlogProof(
  proofText: string,
  entry: Uint8Array,
  opts: { logVkey: string; origin?: string; witnessVkeys?: readonly string[]; witnessesRequired?: number; where?: Location },
): OfflineVerification {
  const where = opts.where ?? {};
  const p = parseTlogProof(proofText, where);
  const logVerifier = ed25519Verifier(opts.logVkey, where);
  const checkpoint = openCheckpoint(p.checkpoint, [logVerifier], { origin: opts.origin ?? logVerifier.name, where });
  const witnesses = opts.witnessVkeys?.length || opts.witnessesRequired
    ? requireCosignatures(checkpoint.note, opts.witnessVkeys ?? [], opts.witnessesRequired ?? (opts.witnessVkeys ?? []).length, where)
    : null;
  const why = inclusionFailure(leafHash(entry), p.index, checkpoint.size, p.hashes, checkpoint.root);
  if (why) throw new AssayError('INCLUSION_INVALID', `entry is not proven included at index ${p.index} of checkpoint size ${checkpoint.size}: ${why}`, where);
  return { index: p.index, checkpoint, witnesses };
}

/** Builds a tlog-proof for entry `index` against the source's current (verified) checkpoint. */
export async function proveFromSource(src: LogSource, logVkey: string, index: number): Promise<{ proof: TlogProof; checkpoint: SignedCheckpoint }> {
  const cp = await fetchCheckpoint(src, logVkey);
  if (!Number.isSafeInteger(index) || index < 0 || index >= cp.size) throw new AssayError('USAGE', `index ${index} is outside the log (size ${cp.size})`, { file: src.target });
  const reader = new TileReader(src.fetch, cp.size, { file: src.target });
  const hashes = await reader.inclusionProof(index);
  const why = inclusionFailure(await reader.leafHash(index), index, cp.size, hashes, cp.root);
  if (why) throw new AssayError('INCLUSION_INVALID', `tiles do not prove entry ${index} against the checkpoint: ${why}`, { file: src.target });
  return { proof: { index, hashes, checkpoint: cp.noteText }, checkpoint: cp };
}

// ---------------------------------------------------------------------------------------------
// Read-only static server for a log directory.

export interface ServedLog {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `checkpoint` and `tile/...` from `dir` over HTTP (GET/HEAD only). Anything else —
 * other files, dotfiles, "..", encoded separators — is 404, and resolved paths must stay inside
 * the directory (symlinks included).
 */
export async function serve(dir: string, opts: { port?: number; host?: string; submit?: SubmitOptions } = {}): Promise<ServedLog> {
  const root = await realpath(dir);
  const server = createServer(async (req, res) => {
    const send = (status: number, body: string | Uint8Array, type = 'text/plain; charset=utf-8', cache = 'no-store', gzip = false) => {
      const headers: Record<string, string | number> = { 'Content-Type': type, 'Cache-Control': cache, 'X-Content-Type-Options': 'nosniff' };
      if (gzip) {
        // Entry bundles are JSON text and compress several-fold; hash tiles do not, so only bundles.
        headers.Vary = 'Accept-Encoding';
        if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
          body = gzipSync(body);
          headers['Content-Encoding'] = 'gzip';
        }
      }
      headers['Content-Length'] = Buffer.byteLength(body);
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method === 'POST' && opts.submit && (req.url ?? '').split('?')[0] === SUBMIT_PATH) {
      const r = await handleSubmit(req, opts.submit);
      return send(r.status, r.body, r.status === 200 ? 'application/json' : 'text/plain; charset=utf-8');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    const rawPath = (req.url ?? '/').split('?')[0]!;
    const rel = rawPath.replace(/^\/+/, '');
    // The whitelist admits only [a-z0-9x/.p] forms with no "..", no "%" and no backslash.
    if (!SERVABLE_PATH.test(rel)) return send(404, 'not found\n');
    try {
      const file = await realpath(join(root, rel));
      if (!file.startsWith(root + sep)) return send(404, 'not found\n');
      const data = await readFile(file);
      const isCheckpoint = rel === 'checkpoint';
      const partial = rel.includes('.p/');
      send(200, data, isCheckpoint ? 'text/plain; charset=utf-8' : 'application/octet-stream', isCheckpoint ? 'no-cache' : partial ? 'max-age=60' : 'public, max-age=31536000, immutable', rel.startsWith('tile/entries/'));
    } catch {
      send(404, 'not found\n');
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => ok());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${host}:${addr.port}/`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

// ---------------------------------------------------------------------------------------------
// Submissions over HTTP: `POST /assay/add-entry` with the entry's canonical bytes as the body and
// `Authorization: Bearer <token>`. The server appends it as a batch of one (idempotent: a known
// entry returns its existing index) and answers {"index": n, "size": m} once the checkpoint that
// covers it is durable. Not a C2SP API (tlog-tiles defines reads only); see docs/formats/tlog.md.

export const SUBMIT_PATH = '/assay/add-entry';

export interface SubmitOptions {
  log: LocalLog;
  /** Shared secret a submitter must present; compared in constant time. */
  token: string;
}

async function handleSubmit(req: IncomingMessage, opts: SubmitOptions): Promise<{ status: number; body: string }> {
  const auth = req.headers.authorization ?? '';
  const given = Buffer.from(auth.startsWith('Bearer ') ? auth.slice(7) : '');
  const want = Buffer.from(opts.token);
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    req.resume();
    return { status: 401, body: 'missing or wrong bearer token\n' };
  }
  const tooLarge = { status: 413, body: `entry larger than ${MAX_ENTRY_SIZE} bytes\n` };
  if (Number(req.headers['content-length'] ?? 0) > MAX_ENTRY_SIZE) {
    req.resume(); // discard, so the client reads the answer instead of a reset
    return tooLarge;
  }
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    // Past the limit, keep reading but stop storing (the request timeout bounds a slow sender).
    for await (const c of req) {
      n += (c as Buffer).length;
      if (n <= MAX_ENTRY_SIZE) chunks.push(c as Buffer);
    }
  } catch {
    return { status: 400, body: 'request body was not received whole\n' };
  }
  if (n > MAX_ENTRY_SIZE) return tooLarge;
  const bytes = new Uint8Array(Buffer.concat(chunks));
  try {
    decodeEntry(bytes, { file: 'request body' });
  } catch (err) {
    return { status: 400, body: `${(err as Error).message}\n` };
  }
  try {
    const r = await opts.log.append([bytes]);
    return { status: 200, body: `${JSON.stringify({ index: r.indices[0], size: r.size })}\n` };
  } catch (err) {
    return { status: 503, body: `log could not append: ${(err as Error).message}\n` };
  }
}

/** Submits entry bytes to a served log; returns the entry's index. */
export async function submitEntry(baseUrl: string, entry: Uint8Array, token: string): Promise<{ index: number; size: number }> {
  const url = new URL(SUBMIT_PATH.slice(1), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const res = await fetchBounded(url, { method: 'POST', body: entry, headers: { 'Content-Type': 'application/octet-stream', Authorization: `Bearer ${token}` } }, { maxBytes: 4096, code: 'LOG_SUBMIT', target: baseUrl });
  const text = res.body.toString('utf8').slice(0, 2000);
  if (res.status < 200 || res.status > 299) throw new AssayError('LOG_SUBMIT', `log refused the entry: HTTP ${res.status}: ${text.trim()}`, { file: baseUrl });
  let body: { index?: unknown; size?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new AssayError('LOG_SUBMIT', 'log answered with something other than JSON', { file: baseUrl });
  }
  if (!Number.isSafeInteger(body.index) || !Number.isSafeInteger(body.size)) throw new AssayError('LOG_SUBMIT', 'log answer lacks an integer index and size', { file: baseUrl });
  return { index: body.index as number, size: body.size as number };
}
