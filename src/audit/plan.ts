import { createHash } from 'node:crypto';
import { digestOfFile } from '../attest/digest.js';
import { decodeBase64Strict, parseEnvelope } from '../attest/dsse.js';
import type { TrustPolicy } from '../attest/trust.js';
import { verifyReport, type VerifyResult } from '../attest/verify.js';
import { AssayError } from '../common/errors.js';
import { perSampleScores } from '../stats/from-log.js';
import { binaryAuditSampleSize, equivalenceSampleSize } from '../stats/equivalence.js';
import { openCheckpoint, parseCheckpoint, type SignedCheckpoint } from '../tlog/checkpoint.js';
import { fetchCheckpoint, logSource, parseTlogProof, splitViewAt, verifyCheckpointConsistency } from '../tlog/client.js';
import { ed25519Verifier, parseNote } from '../tlog/note.js';
import { auditSeed, drawItems, AUDIT_SEED_CONSTRUCTION } from './seed.js';

/** `assay audit plan` output (docs/formats/audit.md §3; schemas/audit-plan.v1.schema.json). */
export const AUDIT_PLAN_SCHEMA = 'assay.audit-plan/v1';

export interface AuditPlanMetric {
  name: string;
  scorer: string;
  binary: boolean;
  /** The claim's mean over all its items (null: no scored value). */
  claimMean: number | null;
  /** Items this metric needs (binary: exact power of the Newcombe TOST; otherwise the normal TOST formula). */
  n: number | null;
  /** Binary: the normal-formula starting point and the all-agree floor. */
  normalN: number | null;
  floor: number | null;
  /** Variance of one item's difference planned for. */
  sigma2: number | null;
}

export interface AuditPlan {
  schema: typeof AUDIT_PLAN_SCHEMA;
  claim: {
    /** SHA-256 of the claim's signed payload (the digest its log entry names). */
    report: { sha256: string };
    runId: string;
    runLog: { sha256: string };
    suite: { id: string; version: string; digest: string };
    model: { name: string; identityDigest: string; releaseStatement: string | null };
    developer: { name: string; keyId: string };
    log: { origin: string; index: number };
    seedDelay: number;
    /** Items of the claim with at least one scored value. */
    items: number;
  };
  seed: { construction: typeof AUDIT_SEED_CONSTRUCTION; checkpoint: string; origin: string; size: number; witnesses: string[]; witnessesRequired: number; value: string };
  design: {
    margin: number;
    alpha: number;
    power: number;
    /** Share of items assumed to differ between two honest runs (binary metrics). */
    discordance: number;
    /** Correlation assumed between claim and replication per item (non-binary metrics). */
    correlation: number;
    metrics: AuditPlanMetric[];
    /** Items the design needs (largest over metrics). */
    needed: number | null;
    /** Items drawn: min(needed, claim items). */
    sampleSize: number;
    /** The claim has fewer items than the design needs: the audit re-runs them all and may stay inconclusive. */
    shortfall: boolean;
  };
  /** Sample ids to re-run, in draw order. */
  items: string[];
  createdAt: string;
}

export interface PlanInputs {
  claim: { bytes: Uint8Array; source: string };
  /** The developer's run log the claim was computed from (handed to the auditor). */
  claimRunLog: string;
  trust: TrustPolicy;
  /** The seed checkpoint note (with cosignatures); else the log's current checkpoint. */
  checkpoint?: { text: string; source: string };
  /** The log (directory or URL): the current checkpoint and tiles for the consistency proof. */
  log?: string;
  /** Minimum witnesses (default: the trust file's quorum for the log, at least 1). */
  witnessesRequired?: number;
  margin: number;
  alpha?: number;
  power?: number;
  discordance?: number;
  correlation?: number;
  now?: Date;
}

export class ClaimRejected extends AssayError {
  constructor(
    readonly result: VerifyResult,
    source: string,
  ) {
    const f = result.failures[0];
    super('CLAIM_REJECTED', `the claim does not verify against its run log, so nothing is sampled: ${f ? `[exit ${f.exit}] ${f.where}: ${f.message}` : 'unknown failure'}`, { file: source });
  }
}

/**
 * Plans a replication audit: verifies the claim against its run log and its log inclusion (a
 * claim or log edited after the fact is rejected here, before any sampling), checks the seed
 * checkpoint (size ≥ index + D, k trusted witnesses, extends the claim's proof), derives the seed,
 * sizes the sample by TOST power and draws the items.
 */
export async function planAudit(i: PlanInputs): Promise<AuditPlan> {
  const alpha = i.alpha ?? 0.05;
  const power = i.power ?? 0.8;
  const discordance = i.discordance ?? 0.05;
  const correlation = i.correlation ?? 0.9;
  if (!(i.margin > 0 && i.margin < 1)) throw new AssayError('USAGE', `the equivalence margin must be in (0, 1), got ${i.margin}`, { field: 'margin' });
  // The claim's own inclusion proof needs the log's signature only: the witness quorum is demanded
  // of the seed checkpoint, which is then proven to extend the proof's tree (so it includes the claim).
  const claimTrust: TrustPolicy = { ...i.trust, logs: i.trust.logs.map((l) => ({ ...l, witnessesRequired: 0 })) };
  const v = await verifyReport(i.claim.bytes, { trust: claimTrust, runLogPath: i.claimRunLog, source: i.claim.source, tlog: { require: true }, ...(i.now ? { now: i.now } : {}) });
  if (!v.ok || !v.statement || !v.tlog) throw new ClaimRejected(v, i.claim.source);
  const p = v.statement.predicate;
  if (p.tester.role !== 'developer' || p.tester.seedDelay === undefined)
    throw new AssayError('NOT_A_CLAIM', `this report is signed by a tester, not a developer claim (role "developer" with a seed delay): a replication audit checks claims`, { file: i.claim.source, field: '$.predicate.tester.role' });
  const D = p.tester.seedDelay;
  const index = v.tlog.index;
  const origin = v.tlog.origin;
  const log = i.trust.logs.find((l) => l.origin === origin)!;
  const k = Math.max(1, i.witnessesRequired ?? log.witnessesRequired);
  if (log.witnesses.length < k)
    throw new AssayError('WITNESSES', `the seed checkpoint needs ${k} witness cosignature(s) but the trust file lists ${log.witnesses.length} witness(es) for log ${origin}: list witnesses the developer does not control (assay trust add-log --witness)`, { file: i.trust.file ?? 'trust', field: 'logs' });

  // The claim's own proof checkpoint: the seed checkpoint must extend it.
  const env = parseEnvelope(i.claim.bytes, i.claim.source);
  const proofCp = openCheckpoint(parseTlogProof((env.tlog as { proof: string }).proof).checkpoint, [ed25519Verifier(log.vkey)], { origin });
  const src = i.log ? logSource(i.log) : null;
  let seedCp: SignedCheckpoint;
  if (i.checkpoint) seedCp = openCheckpoint(i.checkpoint.text, [ed25519Verifier(log.vkey)], { origin, where: { file: i.checkpoint.source } });
  else if (src) seedCp = await fetchCheckpoint(src, log.vkey, { origin });
  else throw new AssayError('USAGE', 'give the seed checkpoint (--checkpoint <file>) or the log (--log <dir|url>) to read it from');
  const need = index + D;
  if (seedCp.size < need)
    throw new AssayError('SEED_NOT_READY', `the seed checkpoint has size ${seedCp.size}; the claim is entry ${index} with delay D = ${D}, so the seed needs a checkpoint of size ≥ ${need}: wait until the log has grown and a checkpoint of that size is cosigned`, { file: i.checkpoint?.source ?? i.log ?? 'log', field: 'size' });
  if (seedCp.size === proofCp.size) {
    const split = splitViewAt(proofCp, seedCp);
    if (split) throw new AssayError('SPLIT_VIEW', split, { file: i.checkpoint?.source ?? i.log ?? 'log' });
  } else if (seedCp.size > proofCp.size) {
    if (!src) throw new AssayError('USAGE', `the seed checkpoint (size ${seedCp.size}) must be proven to extend the claim's proof (size ${proofCp.size}): give the log with --log <dir|url>`);
    await verifyCheckpointConsistency(src, proofCp, seedCp);
  } else {
    // A claim proof newer than the seed checkpoint (refreshed later): the seed's tree must be its prefix.
    if (!src) throw new AssayError('USAGE', `the claim's proof (size ${proofCp.size}) is newer than the seed checkpoint (size ${seedCp.size}): give the log with --log <dir|url> to prove consistency`);
    await verifyCheckpointConsistency(src, seedCp, proofCp);
  }
  const seed = auditSeed({ claimPayloadSha256: v.payloadSha256!, checkpointNote: seedCp.noteText, witnessVkeys: log.witnesses, witnessesRequired: k }, { file: i.checkpoint?.source ?? i.log ?? 'checkpoint' });

  const d = await designAudit(i.claimRunLog, { margin: i.margin, alpha, power, discordance, correlation });
  const items = drawItems(seed.value, d.ids, d.design.sampleSize);
  const st = parseCheckpoint(parseNote(seedCp.noteText).text);
  return {
    schema: AUDIT_PLAN_SCHEMA,
    claim: {
      report: { sha256: v.payloadSha256! },
      runId: p.run.id,
      runLog: { sha256: (await digestOfFile(i.claimRunLog)).sha256 },
      suite: { id: p.suite.id, version: p.suite.version, digest: `sha256:${p.suite.digest.sha256}` },
      model: { name: p.model.name, identityDigest: `sha256:${p.model.identityDigest.sha256}`, releaseStatement: p.model.releaseStatement ? `sha256:${p.model.releaseStatement.digest.sha256}` : null },
      developer: { name: p.tester.name, keyId: p.tester.keyId },
      log: { origin, index },
      seedDelay: D,
      items: d.ids.length,
    },
    seed: { construction: AUDIT_SEED_CONSTRUCTION, checkpoint: seedCp.noteText, origin: st.origin, size: st.size, witnesses: seed.witnesses, witnessesRequired: k, value: seed.value },
    design: d.design,
    items,
    createdAt: (i.now ?? new Date()).toISOString(),
  };
}

/** The payload digest of a claim file (what the plan names), without verifying it. */
export function claimPayloadSha256(bytes: Uint8Array, source: string): string {
  const env = parseEnvelope(bytes, source);
  return createHash('sha256').update(decodeBase64Strict(env.payload, 'payload')).digest('hex');
}

/**
 * The sample design from the claim's own data: per metric, the items TOST needs at the margin
 * (binary: exact power of the Newcombe rule at the assumed discordance; otherwise the normal
 * formula with σ_d² = 2(1 − ρ)s²), the largest over metrics, capped by the claim's items.
 * Deterministic: a verifier recomputes it from the claim run log and the signed parameters.
 */
export async function designAudit(claimRunLog: string, o: { margin: number; alpha: number; power: number; discordance: number; correlation: number }): Promise<{ ids: string[]; design: AuditPlan['design'] }> {
  const { margin, alpha, power, discordance, correlation } = o;
  const scores = await perSampleScores(claimRunLog);
  const ids = scores.sampleIds.filter((id) => scores.metrics.some((m) => m.values.has(id)));
  const fin = (x: number) => (Number.isFinite(x) ? x : null);
  const metrics: AuditPlanMetric[] = scores.metrics.map((m) => {
    const xs = [...m.values.values()];
    const mean = xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
    if (!xs.length) return { name: m.name, scorer: m.scorer, binary: m.binary, claimMean: null, n: null, normalN: null, floor: null, sigma2: null };
    if (m.binary) {
      const b = binaryAuditSampleSize({ p: mean, discordance, margin, alpha, power });
      return { name: m.name, scorer: m.scorer, binary: true, claimMean: mean, n: fin(b.n), normalN: b.normal.n, floor: fin(b.floor), sigma2: discordance };
    }
    const s2 = xs.length > 1 ? xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1) : 0;
    const sigma2 = 2 * (1 - correlation) * s2;
    const e = equivalenceSampleSize({ margin, sigma2, alpha, power });
    return { name: m.name, scorer: m.scorer, binary: false, claimMean: mean, n: Math.max(2, e.n), normalN: e.n, floor: null, sigma2 };
  });
  const ns = metrics.map((m) => m.n).filter((x): x is number => x !== null);
  const needed = ns.length ? Math.max(...ns) : null;
  const sampleSize = Math.min(needed ?? ids.length, ids.length);
  return { ids, design: { margin, alpha, power, discordance, correlation, metrics, needed, sampleSize, shortfall: needed !== null && needed > ids.length } };
}
