import { openCheckpoint, parseCheckpoint, type SignedCheckpoint } from '../tlog/checkpoint.js';
import {
  fetchCheckpoint, formatTlogProof, logSource, parseTlogProof, proveFromSource, splitViewAt, submitEntry, verifyCheckpointConsistency, verifyTlogProof,
  type LogSource,
} from '../tlog/client.js';
import { openConfiguredLog } from '../tlog/config.js';
import { attestationEntry } from '../tlog/entry.js';
import { ed25519Verifier, parseNote } from '../tlog/note.js';
import { AssayError, problemOf } from '../common/errors.js';
import type { ReportBundle } from './bundle.js';
import { decodeBase64Strict } from './dsse.js';
import { parseStrictJson } from './json.js';
import { parseStatement } from './statement.js';
import type { TrustedLog } from './trust.js';

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

/** The predicate type of a payload the log accepts: a run report (fully checked) or a signed verdict. */
function loggablePredicateType(payload: Uint8Array): string {
  const v = parseStrictJson(payload, { file: 'payload' }) as { predicateType?: unknown } | null;
  if (v && typeof v === 'object' && v.predicateType === VERDICT_PREDICATE_TYPE) return VERDICT_PREDICATE_TYPE;
  return parseStatement(payload).predicateType;
}

export interface LogTarget {
  /** A local log directory (written directly) or the base URL of `assay log serve --submit-token-file`. */
  target: string;
  /** The log's verifier key; for a local directory the one in its config is the default. */
  vkey?: string;
  /** Bearer token for a remote log. */
  token?: string;
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
    const log = openConfiguredLog(t.target);
    try {
      vkey = t.vkey ?? log.vkey;
      index = log.append([entry]).indices[0]!;
    } finally {
      log.close();
    }
  }
  const { proof, checkpoint } = await proveFromSource(logSource(t.target), vkey, index);
  const text = formatTlogProof(proof);
  verifyTlogProof(text, entry, { logVkey: vkey });
  return { bundle: { ...bundle, tlog: { proof: text } }, index, checkpoint };
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
}

export interface TlogVerifyOptions {
  /** Fail when the report carries no proof from a trusted log. */
  require?: boolean;
  /** Newer signed checkpoints of the same log (text), e.g. from a witness or a monitor. */
  checkpoints?: { text: string; source: string }[];
  /** The log itself (directory or URL): its current checkpoint, and tiles for consistency proofs. */
  log?: string;
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
  const newer: { cp: SignedCheckpoint; source: string }[] = [];
  for (const c of opts.checkpoints ?? []) {
    try {
      newer.push({ cp: openCheckpoint(c.text, [ed25519Verifier(log.vkey)], { origin, where: { file: c.source } }), source: c.source });
    } catch (err) {
      failures.push({ where: c.source, message: problemOf(err) });
    }
  }
  if (source) {
    try {
      newer.push({ cp: await fetchCheckpoint(source, log.vkey, { origin }), source: source.target });
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
      await verifyCheckpointConsistency(source, v.checkpoint, n.cp);
      result.consistentWith.push({ source: n.source, size: n.cp.size });
    } catch (err) {
      failures.push({ where: n.source, message: problemOf(err), io: (err as AssayError).code === 'LOG_FETCH' });
    }
  }
  return done(result);
}
