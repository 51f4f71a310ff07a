import { openCheckpoint, parseCheckpoint, type SignedCheckpoint } from '../tlog/checkpoint.js';
import {
  fetchCheckpoint, formatTlogProof, logSource, parseTlogProof, proveFromSource, splitViewAt, submitEntry, verifyCheckpointConsistency, verifyTlogProof,
  type LogSource,
} from '../tlog/client.js';
import { openConfiguredLog } from '../tlog/config.js';
import { attachCosignatures } from '../tlog/storage.js';
import { TileReader } from '../tlog/tiles.js';
import { QuorumNotMet, gatherCosignatures } from '../tlog/witness-http.js';
import { attestationEntry } from '../tlog/entry.js';
import { ed25519Verifier, parseNote, parseVkey } from '../tlog/note.js';
import type { Signer } from './keys.js';
import { rotationEntry, type RotationAction } from './revocation.js';
import { AssayError, problemOf } from '../common/errors.js';
import type { ReportBundle } from './bundle.js';
import { decodeBase64Strict } from './dsse.js';
import { parseStrictJson } from './json.js';
import { parseStatement } from './statement.js';
import type { TrustedLog } from './trust.js';
import { observeCheckpoint } from '../tlog/seen.js';

/**
 * Reports in the transparency log (docs/formats/attestation.md, "Transparency log").
 *
 * The logged entry names the signed payload, not the envelope: its digest is SHA-256 of the
 * exact payload bytes, so co-signing a report later does not orphan its log entry, and anyone
 * holding the payload recomputes the entry. Metadata carries the predicate type only, so log
 * monitors can pick run reports out of the log without seeing them.
 */
export function reportEntry(payload: Uint8Array, predicateType: string): Uint8Array {
  return attestationEntry(payload, { predicateType });
}

/** Signed policy verdicts (src/policy/signed-verdict.ts) are logged like run reports. */
export const VERDICT_PREDICATE_TYPE = 'https://assay.dev/attestation/verdict/v1';
/** Replication audit reports (src/audit/report.ts, issue 27) are logged like run reports too. */
export const AUDIT_PREDICATE_TYPE = 'https://assay.dev/attestation/replication-audit/v1';

/** Signed tamper reports (src/tamper/attest.ts) are logged like run reports too. */
export const TAMPER_PREDICATE_TYPE = 'https://assay.dev/attestation/tamper-report/v1';

/** The predicate type of a payload the log accepts: a run report (fully checked), a signed verdict or a signed tamper report. */
function loggablePredicateType(payload: Uint8Array): string {
  const v = parseStrictJson(payload, { file: 'payload' }) as { predicateType?: unknown } | null;
  if (v && typeof v === 'object' && (v.predicateType === VERDICT_PREDICATE_TYPE || v.predicateType === AUDIT_PREDICATE_TYPE || v.predicateType === TAMPER_PREDICATE_TYPE)) return v.predicateType;
  return parseStatement(payload).predicateType;
}

export interface LogTarget {
  /** A local log directory (written directly) or the base URL of `assay log serve --submit-token-file`. */
  target: string;
  /** The log's verifier key; for a local directory the one in its config is the default. */
  vkey?: string;
  /** Bearer token for a remote log. */
  token?: string;
  /**
   * Witnesses to ask (push mode, C2SP tlog-witness add-checkpoint) for cosignatures on the
   * checkpoint that covers the entry; the proof is stored only once `required` of them cosigned.
   */
  witnesses?: { urls: string[]; required: number };
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/**
 * Appends the report's entry to the log, fetches an inclusion proof against the checkpoint that
 * covers it, checks that proof as a verifier would, and returns the bundle with its `tlog` slot
 * filled (c2sp.org/tlog-proof@v1 text: index, audit path, signed checkpoint).
 */
export async function logReport(bundle: ReportBundle, t: LogTarget): Promise<{ bundle: ReportBundle; index: number; checkpoint: SignedCheckpoint }> {
  const payload = decodeBase64Strict(bundle.payload, 'payload');
  const entry = reportEntry(payload, loggablePredicateType(payload));
  let index: number;
  let vkey: string;
  if (isUrl(t.target)) {
    if (!t.vkey) throw new AssayError('USAGE', "a remote log needs its verifier key (--log-vkey): the proof is only worth the key it is checked with", { file: t.target });
    if (!t.token) throw new AssayError('USAGE', 'a remote log needs its submit token (--log-token-file or ASSAY_LOG_TOKEN)', { file: t.target });
    vkey = t.vkey;
    index = (await submitEntry(t.target, entry, t.token)).index;
  } else {
    const log = await openConfiguredLog(t.target);
    try {
      vkey = t.vkey ?? log.vkey;
      index = (await log.append([entry])).indices[0]!;
    } finally {
      log.close();
    }
  }
  const src = logSource(t.target);
  let { proof, checkpoint } = await proveFromSource(src, vkey, index);
  if (t.witnesses?.urls.length) {
    const w = await cosignForProof(src, t.target, vkey, checkpoint, t.witnesses);
    // The quorum may have cosigned a later checkpoint (another writer's): prove against that one.
    const hashes = w.size === checkpoint.size ? proof.hashes : await new TileReader(src.fetch, w.size, { file: t.target }).inclusionProof(index);
    checkpoint = w;
    proof = { index, hashes, checkpoint: w.noteText };
  }
  const text = formatTlogProof(proof);
  verifyTlogProof(text, entry, { logVkey: vkey });
  return { bundle: { ...bundle, tlog: { proof: text } }, index, checkpoint };
}

/** Rounds of "a witness already cosigned a later checkpoint: move to the log's current one". */
const COSIGN_ROUNDS = 8;

/**
 * Gets `cp` — or, when writers race, a later checkpoint of the same log proven to extend it — cosigned
 * by a quorum of witnesses and, for a local log, attaches the cosignatures to its published
 * checkpoint (when it is still the current one). Returns the cosigned checkpoint.
 *
 * A witness only moves forward: once another writer's later checkpoint has been cosigned, this
 * one can no longer be (409 naming the larger size). Then the log's current checkpoint is
 * fetched, proven to extend `cp` from the tiles, and offered instead; the caller rebuilds its
 * inclusion proof against it. A log whose current checkpoint is not beyond what the witness
 * names has rolled back or forked, and the refusal stands.
 */
async function cosignForProof(src: LogSource, target: string, vkey: string, cp: SignedCheckpoint, w: { urls: string[]; required: number }): Promise<SignedCheckpoint> {
  for (let round = 1; ; round++) {
    let g;
    try {
      g = await gatherCosignatures(cp.noteText, vkey, src, w.urls, w.required, cp.size);
    } catch (err) {
      if (!(err instanceof QuorumNotMet) || err.aheadSize === null || round >= COSIGN_ROUNDS) throw err;
      const next = await fetchCheckpoint(src, vkey, { origin: cp.origin });
      if (next.size < err.aheadSize) throw err;
      await verifyCheckpointConsistency(src, cp, next);
      cp = next;
      continue;
    }
    if (!isUrl(target)) await attachCosignatures(target, g.note);
    return g.checkpoint;
  }
}

/**
 * `assay report refresh-proof`: replaces the report's inclusion proof with one against the log's
 * current checkpoint (cosigned by a witness quorum when witnesses are given), after proving that
 * checkpoint extends the one the old proof names. The signed payload is untouched: the `tlog`
 * slot is outside the signatures.
 */
export async function refreshReportProof(bundle: ReportBundle, t: LogTarget): Promise<{ bundle: ReportBundle; index: number; from: SignedCheckpoint; to: SignedCheckpoint }> {
  const old = (bundle.tlog as { proof?: unknown } | null | undefined)?.proof;
  if (typeof old !== 'string') throw new AssayError('USAGE', 'the report carries no inclusion proof to refresh (log it with `assay attest --log`)');
  const payload = decodeBase64Strict(bundle.payload, 'payload');
  const entry = reportEntry(payload, parseStatement(payload).predicateType);
  const vkey = t.vkey ?? (isUrl(t.target) ? undefined : (await openConfiguredLog(t.target)).vkey);
  if (!vkey) throw new AssayError('USAGE', "a remote log needs its verifier key (--log-vkey)", { file: t.target });
  const prev = verifyTlogProof(old, entry, { logVkey: vkey, where: { field: 'tlog.proof' } });
  const src = logSource(t.target);
  let cp = await fetchCheckpoint(src, vkey, { origin: prev.checkpoint.origin });
  await verifyCheckpointConsistency(src, prev.checkpoint, cp);
  if (t.witnesses?.urls.length) cp = await cosignForProof(src, t.target, vkey, cp, t.witnesses);
  const hashes = await new TileReader(src.fetch, cp.size, { file: t.target }).inclusionProof(prev.index);
  const text = formatTlogProof({ index: prev.index, hashes, checkpoint: cp.noteText });
  verifyTlogProof(text, entry, { logVkey: vkey });
  return { bundle: { ...bundle, tlog: { proof: text } }, index: prev.index, from: prev.checkpoint, to: cp };
}

/**
 * Logs the retirement (revocation or rotation) of `signer`'s key in the log (src/attest/revocation.ts).
 * From that entry on, reports signed with the key and logged later do not verify.
 */
export async function retireKey(signer: Signer, t: LogTarget, action: RotationAction, replacement?: string): Promise<{ index: number; origin: string }> {
  if (isUrl(t.target)) {
    if (!t.vkey) throw new AssayError('USAGE', 'a remote log needs its verifier key (--log-vkey)', { file: t.target });
    if (!t.token) throw new AssayError('USAGE', 'a remote log needs its submit token (--log-token-file or ASSAY_LOG_TOKEN)', { file: t.target });
    const origin = parseVkey(t.vkey).name;
    return { index: (await submitEntry(t.target, rotationEntry(signer, origin, action, replacement), t.token)).index, origin };
  }
  const log = await openConfiguredLog(t.target);
  return { index: (await log.append([rotationEntry(signer, log.origin, action, replacement)])).indices[0]!, origin: log.origin };
}

export interface TlogVerification {
  origin: string;
  index: number;
  size: number;
  /** Base64 root hash of the checkpoint in the proof. */
  root: string;
  witnesses: string[];
  /** Later checkpoints this one was proven consistent with (split views fail instead). */
  consistentWith: { source: string; size: number }[];
  /** The largest checkpoint of this log the verifier has seen (with `seenFile`), after this check. */
  seen?: { size: number; proven: boolean };
}

export interface TlogVerifyOptions {
  /** Fail when the report carries no proof from a trusted log. */
  require?: boolean;
  /** Newer signed checkpoints of the same log (text), e.g. from a witness or a monitor. */
  checkpoints?: { text: string; source: string }[];
  /** The log itself (directory or URL): its current checkpoint, and tiles for consistency proofs. */
  log?: string;
  /**
   * Rollback protection: the state file of the largest checkpoint seen per log (src/tlog/seen.ts;
   * the CLI passes $ASSAY_HOME/tlog/seen.json). Absent: no state is kept.
   */
  seenFile?: string;
}

export type TlogProblem = { where: string; message: string; io?: boolean };

/**
 * Checks the bundle's `tlog` slot: the proof's checkpoint must be signed by a log in the trust
 * file (with its witness quorum) and prove the entry recomputed from the verified payload;
 * then each newer checkpoint must extend it (same size: same root; larger: a consistency proof
 * from the log's tiles, which needs `log`).
 */
export async function checkReportInclusion(
  tlog: unknown,
  payload: Uint8Array,
  predicateType: string,
  logs: readonly TrustedLog[],
  opts: TlogVerifyOptions,
  src: string,
): Promise<{ result: TlogVerification | null; failures: TlogProblem[]; warnings: string[] }> {
  const failures: TlogProblem[] = [];
  const warnings: string[] = [];
  const where = `${src}: tlog`;
  const done = (result: TlogVerification | null = null) => ({ result, failures, warnings });
  if (tlog === null || tlog === undefined) {
    if (opts.require) failures.push({ where, message: 'the report carries no transparency-log inclusion proof (sign it with `assay attest --log <dir|url>`)' });
    return done();
  }
  const proofText = (tlog as { proof?: unknown }).proof;
  if (typeof tlog !== 'object' || Array.isArray(tlog) || typeof proofText !== 'string') {
    failures.push({ where, message: 'must be null or an object {"proof": "<c2sp.org/tlog-proof@v1 text>"}' });
    return done();
  }
  const at = { file: src, field: 'tlog.proof' };
  let origin: string;
  try {
    origin = parseCheckpoint(parseNote(parseTlogProof(proofText, at).checkpoint, at).text, at).origin;
  } catch (err) {
    failures.push({ where: `${src}: tlog.proof`, message: problemOf(err) });
    return done();
  }
  const log = logs.find((l) => l.origin === origin);
  if (!log) {
    const msg = `proof is from log "${origin}", which the trust file does not list; inclusion not checked (add it with \`assay trust add-log\`)`;
    if (opts.require) failures.push({ where: `${src}: tlog.proof`, message: msg });
    else warnings.push(msg);
    return done();
  }
  let v;
  try {
    v = verifyTlogProof(proofText, reportEntry(payload, predicateType), { logVkey: log.vkey, witnessVkeys: log.witnesses, witnessesRequired: log.witnessesRequired, where: at });
  } catch (err) {
    failures.push({ where: `${src}: tlog.proof`, message: problemOf(err) });
    return done();
  }
  const result: TlogVerification = {
    origin,
    index: v.index,
    size: v.checkpoint.size,
    root: Buffer.from(v.checkpoint.root).toString('base64'),
    witnesses: v.witnesses?.witnesses.map((w) => w.name) ?? [],
    consistentWith: [],
  };
  const source: LogSource | null = opts.log ? logSource(opts.log) : null;
  const newer: { cp: SignedCheckpoint; source: string; current: boolean }[] = [];
  for (const c of opts.checkpoints ?? []) {
    try {
      newer.push({ cp: openCheckpoint(c.text, [ed25519Verifier(log.vkey)], { origin, where: { file: c.source } }), source: c.source, current: false });
    } catch (err) {
      failures.push({ where: c.source, message: problemOf(err) });
    }
  }
  if (source) {
    try {
      newer.push({ cp: await fetchCheckpoint(source, log.vkey, { origin }), source: source.target, current: true });
    } catch (err) {
      failures.push({ where: source.target, message: problemOf(err), io: (err as AssayError).code === 'LOG_FETCH' });
    }
  }
  for (const n of newer) {
    const split = splitViewAt(v.checkpoint, n.cp);
    if (split) {
      failures.push({ where: n.source, message: split });
      continue;
    }
    if (n.cp.size === v.checkpoint.size) {
      result.consistentWith.push({ source: n.source, size: n.cp.size });
      continue;
    }
    if (!source) {
      warnings.push(`${n.source}: checkpoint of size ${n.cp.size} differs in size from the proof's (${v.checkpoint.size}); pass --log <dir|url> so its consistency can be proven from the log's tiles`);
      continue;
    }
    try {
      // The log's current tree must extend the proof's (smaller: a rollback). A checkpoint the
      // verifier holds may be older than the proof's: then the proof's tree must extend it.
      if (n.current || n.cp.size > v.checkpoint.size) await verifyCheckpointConsistency(source, v.checkpoint, n.cp);
      else await verifyCheckpointConsistency(source, n.cp, v.checkpoint);
      result.consistentWith.push({ source: n.source, size: n.cp.size });
    } catch (err) {
      failures.push({ where: n.source, message: problemOf(err), io: (err as AssayError).code === 'LOG_FETCH' });
    }
  }

  // Rollback protection across runs: the current tree first (it may raise the largest seen),
  // then every other checkpoint, the proof's last (a consistency proof to the largest seen).
  if (opts.seenFile) {
    const current = newer.find((n) => n.current);
    const order = [...(current ? [current] : []), ...newer.filter((n) => !n.current), { cp: v.checkpoint, source: `${src}: tlog.proof`, current: false }];
    let last: Awaited<ReturnType<typeof observeCheckpoint>> | null = null;
    for (const n of order) {
      try {
        last = await observeCheckpoint(opts.seenFile, log.vkey, n.cp, { current: n.current, src: source, ...(current ? { srcSize: current.cp.size } : {}), source: n.source });
        if (last.status === 'unproven') warnings.push(`${n.source}: checkpoint of size ${n.cp.size} not checked against the largest this verifier has seen (size ${last.seenSize}): ${last.why}`);
      } catch (err) {
        // The verifier's own state file unreadable, locked too long or not writable is an I/O
        // problem here (exit 2), not evidence against the log (17).
        const code = err instanceof AssayError ? err.code : null;
        const local = code === null || code === 'SEEN_STATE' || code === 'LOCKED' || code === 'LOCK_FAILED';
        failures.push({ where: local ? opts.seenFile : n.source, message: local && code === null ? `checkpoint state: ${(err as Error).message}` : problemOf(err), io: local || code === 'LOG_FETCH' });
      }
    }
    if (last) result.seen = { size: Math.max(last.size, 'seenSize' in last ? last.seenSize : 0), proven: last.status !== 'unproven' };
  }
  return done(result);
}
