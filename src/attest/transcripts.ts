import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { iterateRunLog } from '../run/log-reader.js';
import type { RunHeader, SampleRecord } from '../run/types.js';
import * as merkle from '../tlog/merkle.js';

/**
 * The transcript tree of a run (predicate `transcripts`, rule "sha256-jcs-sample-record" /
 * "key-utf16" / "rfc9162-sha256"):
 *  - records: the sample records of the log, the first one per `key` (as every log reader);
 *  - transcript digest d = SHA-256(UTF-8 bytes of the RFC 8785 form of the record as parsed);
 *  - order: ascending `key`, compared by UTF-16 code units (JavaScript `<`), so the tree does
 *    not depend on completion order;
 *  - tree: RFC 9162 Merkle tree whose i-th entry is the 32-byte d_i, i.e. leaf hash
 *    SHA-256(0x00 ‖ d_i), interior SHA-256(0x01 ‖ left ‖ right); the root of no leaves is SHA-256("").
 */

export const transcriptDigest = (rec: SampleRecord): Buffer => createHash('sha256').update(canonicalJson(rec), 'utf8').digest();

export interface RunLogAnalysis {
  header: RunHeader;
  /** Leaves in tree order. */
  leaves: { key: string; digest: Buffer }[];
  size: number;
  root: string;
  counts: { records: number; samples: number; scored: number; unscored: number; errored: number };
  status: 'completed' | 'budget_exhausted' | 'interrupted' | null;
  finishedAt: string | null;
  /** The engine found the endpoint to be Assay's simulated target mid-run (a 'simulated' event). */
  simulatedEvent: boolean;
}

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * One streaming pass: transcript digests (kept: 32 bytes + key per record), counts, end status.
 * A record counts as scored when it has no error and every metric's scorer scored it, unscored
 * when it has no error but some metric's scorer did not, errored when it has an error.
 * `onRecord` sees each counted record (used by disclosure to keep the one it wants).
 */
export async function analyseRunLog(logPath: string, onRecord?: (rec: SampleRecord) => void): Promise<RunLogAnalysis> {
  let header: RunHeader | null = null;
  let scorers: string[] = [];
  const leaves: { key: string; digest: Buffer }[] = [];
  const seen = new Set<string>();
  const sampleIds = new Set<string>();
  const counts = { records: 0, samples: 0, scored: 0, unscored: 0, errored: 0 };
  let status: RunLogAnalysis['status'] = null;
  let finishedAt: string | null = null;
  let simulatedEvent = false;
  for await (const rec of iterateRunLog(logPath)) {
    if (rec.type === 'header') {
      header = rec;
      scorers = [...new Set(rec.suite.definition.metrics.map((m) => m.scorer))];
    } else if (rec.type === 'event') {
      if (rec.kind === 'simulated') simulatedEvent = true;
    } else if (rec.type === 'end') {
      status = rec.status;
      finishedAt = rec.at;
    } else if (rec.type === 'sample') {
      if (seen.has(rec.key)) continue;
      seen.add(rec.key);
      sampleIds.add(rec.sampleId);
      counts.records++;
      if (rec.error) counts.errored++;
      else if (scorers.every((s) => rec.scores[s]?.status === 'scored')) counts.scored++;
      else counts.unscored++;
      leaves.push({ key: rec.key, digest: transcriptDigest(rec) });
      onRecord?.(rec);
    }
  }
  if (!header) throw new AssayError('RUN_LOG_CORRUPT', 'run log has no header', { file: logPath });
  counts.samples = sampleIds.size;
  leaves.sort(byKey);
  const root = merkleRootOf(leaves.map((l) => l.digest));
  return { header, leaves, size: leaves.length, root: root.toString('hex'), counts, status, finishedAt, simulatedEvent };
}

// --- RFC 9162 operations, from the tlog module; entries here are the 32-byte transcript digests ---

export function merkleRootOf(entries: readonly Uint8Array[]): Buffer {
  return Buffer.from(merkle.merkleRoot(entries.map((e) => merkle.leafHash(e))));
}

export function inclusionProofOf(entries: readonly Uint8Array[], index: number): Buffer[] {
  return merkle.inclusionProof(
    entries.map((e) => merkle.leafHash(e)),
    index,
  ).map((h) => Buffer.from(h));
}

/** Why the transcript digest `entry` is not at `index` under `root`, or null when it is. */
export function transcriptInclusionFailure(entry: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): string | null {
  return merkle.inclusionFailure(merkle.leafHash(entry), index, size, proof, root);
}
