import { canonicalJson } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import type { SampleRecord } from '../run/types.js';
import { parseStrictJson } from './json.js';
import type { RunReportStatement } from './statement.js';
import { analyseRunLog, inclusionProofOf, transcriptDigest, transcriptInclusionFailure } from './transcripts.js';

/**
 * Selective disclosure: one sample record of a run, with its RFC 9162 inclusion proof against
 * the transcript root signed in the report. The rest of the transcripts stay private.
 *
 * File format `assay.disclosure/v1`: the RFC 8785 form of
 *   {"schema","runId","key","record","proof":{"index","size","hashes":[hex…]},"root"}
 * followed by one "\n". Verifiers require exactly that byte form, so no byte of a disclosure
 * can change without it failing (whitespace included).
 */

export const DISCLOSURE_SCHEMA = 'assay.disclosure/v1';

export interface Disclosure {
  schema: typeof DISCLOSURE_SCHEMA;
  runId: string;
  key: string;
  record: SampleRecord;
  proof: { index: number; size: number; hashes: string[] };
  root: string;
}

/** Builds the disclosure of one record. `sample` is a key (`id#epoch`), or a sample id with a single epoch. */
export async function createDisclosure(logPath: string, sample: string): Promise<Disclosure> {
  const matches: SampleRecord[] = [];
  const scan = await analyseRunLog(logPath, (rec) => {
    if (rec.key === sample || (!sample.includes('#') && rec.sampleId === sample)) matches.push(rec);
  });
  if (matches.length === 0) throw new AssayError('SAMPLE_NOT_FOUND', `no sample record with key or sample id "${sample}"`, { file: logPath });
  if (matches.length > 1) throw new AssayError('SAMPLE_AMBIGUOUS', `sample "${sample}" has ${matches.length} epochs; give a key: ${matches.map((m) => m.key).join(', ')}`, { file: logPath });
  const record = matches[0]!;
  const index = scan.leaves.findIndex((l) => l.key === record.key);
  const hashes = inclusionProofOf(
    scan.leaves.map((l) => l.digest),
    index,
  ).map((h) => h.toString('hex'));
  return { schema: DISCLOSURE_SCHEMA, runId: scan.header.runId, key: record.key, record, proof: { index, size: scan.size, hashes }, root: scan.root };
}

/** The exact bytes of a disclosure file. */
export const disclosureBytes = (d: Disclosure): Buffer => Buffer.from(canonicalJson(d) + '\n', 'utf8');

export interface DisclosureCheck {
  ok: boolean;
  source: string;
  key: string | null;
  index: number | null;
  /** What broke, naming the field, when not ok. */
  reason: string | null;
}

const HEX = /^[0-9a-f]{64}$/;

/** Checks a disclosure against a (verified) report statement: form, identity, and the inclusion proof. */
export function verifyDisclosure(bytes: Uint8Array, statement: RunReportStatement, source = 'disclosure'): DisclosureCheck {
  const bad = (reason: string, key: string | null = null, index: number | null = null): DisclosureCheck => ({ ok: false, source, key, index, reason: `${source}: ${reason}` });
  let d: Record<string, unknown>;
  try {
    // Large numbers may occur inside a provider's raw response; their JCS text round-trips, and
    // the canonical-bytes rule below pins the exact text anyway.
    d = parseStrictJson(bytes, { file: source, allowLargeNumbers: true }) as Record<string, unknown>;
  } catch (err) {
    return bad(err instanceof Error ? err.message.replace(`${source}: `, '').replace(`${source}:`, 'line ') : String(err));
  }
  if (!d || typeof d !== 'object' || Array.isArray(d)) return bad('not a JSON object');
  let canonical: string;
  try {
    canonical = canonicalJson(d) + '\n';
  } catch {
    return bad('cannot be canonicalised');
  }
  if (!Buffer.from(canonical, 'utf8').equals(Buffer.from(bytes))) return bad('not in canonical form (RFC 8785 JSON followed by one newline): the file was altered');
  const key = typeof d.key === 'string' ? d.key : null;
  if (d.schema !== DISCLOSURE_SCHEMA) return bad(`field "schema" must be "${DISCLOSURE_SCHEMA}"`, key);
  const p = statement.predicate;
  if (d.runId !== p.run.id) return bad(`field "runId" ${JSON.stringify(d.runId)} is not the report's run ${p.run.id}`, key);
  const rec = d.record as Record<string, unknown> | null;
  if (!rec || typeof rec !== 'object' || Array.isArray(rec) || rec.type !== 'sample') return bad('field "record" must be a sample record', key);
  if (rec.key !== key) return bad(`field "record.key" ${JSON.stringify(rec.key)} differs from "key" ${JSON.stringify(key)}`, key);
  const proof = d.proof as { index?: unknown; size?: unknown; hashes?: unknown } | null;
  if (!proof || typeof proof !== 'object') return bad('field "proof" is missing', key);
  const { index, size, hashes } = proof;
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) return bad('field "proof.index" must be a non-negative integer', key);
  if (size !== p.transcripts.size) return bad(`field "proof.size" ${JSON.stringify(size)} is not the signed transcript count ${p.transcripts.size}`, key, index);
  if (d.root !== p.transcripts.root) return bad(`field "root" is not the signed transcript root ${p.transcripts.root}`, key, index);
  if (!Array.isArray(hashes) || !hashes.every((h) => typeof h === 'string' && HEX.test(h))) return bad('field "proof.hashes" must be 64-hex strings', key, index);
  const why = transcriptInclusionFailure(
    transcriptDigest(rec as unknown as SampleRecord),
    index,
    p.transcripts.size,
    (hashes as string[]).map((h) => Buffer.from(h, 'hex')),
    Buffer.from(p.transcripts.root, 'hex'),
  );
  if (why) return bad(`inclusion proof for record ${JSON.stringify(key)} (fields "record", "proof.index", "proof.hashes") does not lead to the signed transcript root: ${why}`, key, index);
  return { ok: true, source, key, index, reason: null };
}
