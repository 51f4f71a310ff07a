import type { ReportBundle } from '../attest/bundle.js';
import { digestOfFile } from '../attest/digest.js';
import { decodeBase64Strict, parseEnvelope } from '../attest/dsse.js';
import { hasPredicateType, openStatement, signStatement } from '../attest/open.js';
import type { Signer } from '../attest/keys.js';
import { finiteOrNull } from '../attest/predicate.js';
import { STATEMENT_TYPE } from '../attest/statement.js';
import { AUDIT_PREDICATE_TYPE, checkReportInclusion, type TlogVerifyOptions } from '../attest/tlog.js';
import { candidateKeys, decideTesterTrust, type TrustPolicy } from '../attest/trust.js';
import { canonicalJson, sha256Hex } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import { readRunHeader } from '../run/log-reader.js';
import { perSampleScores } from '../stats/from-log.js';
import { ASSAY_VERSION } from '../version.js';
import { compareClaim, type AuditComparison } from './compare.js';
import { designAudit, type AuditPlan } from './plan.js';
import { auditPredicateProblems } from './schema.js';
import { auditSeed, drawItems } from './seed.js';

/**
 * The signed audit report (docs/formats/audit.md §5): an in-toto Statement with predicate
 * `https://assay.dev/attestation/replication-audit/v1`, signed in the auditor role (a tester key
 * the verifier trusts), naming the claim by the SHA-256 of its signed payload, logged like a report.
 */
export { AUDIT_PREDICATE_TYPE };

export interface AuditPredicate {
  auditor: { name: string; keyId: string; role: 'auditor' };
  claim: AuditPlan['claim'];
  seed: AuditPlan['seed'];
  design: AuditPlan['design'];
  items: string[];
  replication: {
    runId: string;
    runLog: { sha256: string };
    model: { name: string; simulated: boolean };
    /** x-assay-model-release stamps seen (from the audit run record), or null when not recorded. */
    releases: Record<string, number> | null;
    releaseMatches: boolean | null;
  };
  comparison: AuditComparison;
  conclusion: AuditComparison['conclusion'];
  nNeeded: number | null;
  timestamps: { auditedAt: string };
  assay: { version: string };
}

export interface AuditStatement {
  _type: typeof STATEMENT_TYPE;
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: typeof AUDIT_PREDICATE_TYPE;
  predicate: AuditPredicate;
}

/** The comparison of a plan's items, from the two run logs. */
export async function compareLogs(plan: Pick<AuditPlan, 'items' | 'design'>, claimRunLog: string, replicationLog: string): Promise<AuditComparison> {
  const c = await perSampleScores(claimRunLog);
  const r = await perSampleScores(replicationLog);
  if (c.header.suite.digest !== r.header.suite.digest)
    throw new AssayError('SUITE_MISMATCH', `the replication ran suite ${r.header.suite.id}@${r.header.suite.version} (${r.header.suite.digest}), the claim ${c.header.suite.id}@${c.header.suite.version} (${c.header.suite.digest})`, { file: replicationLog, field: 'suite.digest' });
  const extra = r.sampleIds.filter((id) => !plan.items.includes(id));
  if (extra.length) throw new AssayError('NOT_THE_PLAN', `the replication ran ${extra.length} item(s) the plan did not draw (e.g. ${extra[0]}): an audit re-runs exactly the planned items`, { file: replicationLog });
  return finiteOrNull(compareClaim({ items: plan.items, claim: c.metrics, replication: r.metrics, margin: plan.design.margin, alpha: plan.design.alpha, power: plan.design.power }));
}

export async function buildAuditStatement(o: {
  plan: AuditPlan;
  claimRunLog: string;
  replicationLog: string;
  runRecord: { releases: Record<string, number>; releaseMatches: boolean } | null;
  auditor: { name: string; keyId: string };
  now?: Date;
}): Promise<AuditStatement> {
  const claimLog = (await digestOfFile(o.claimRunLog)).sha256;
  if (claimLog !== o.plan.claim.runLog.sha256) throw new AssayError('PLAN_MISMATCH', `the claim run log given (sha256 ${claimLog}) is not the one the plan verified (${o.plan.claim.runLog.sha256})`, { file: o.claimRunLog });
  if (o.plan.claim.model.releaseStatement !== null && !o.runRecord)
    throw new AssayError('RELEASE_UNCHECKED', `the claim names model release ${o.plan.claim.model.releaseStatement}: give the audit run record (<log>.audit-run.json) so the release stamps are checked`, { file: o.replicationLog });
  if (o.runRecord && !o.runRecord.releaseMatches)
    throw new AssayError('RELEASE_MISMATCH', `the replication's answers carried release stamps ${Object.keys(o.runRecord.releases).join(', ')}, not the claim's ${o.plan.claim.model.releaseStatement}`, { file: o.replicationLog });
  const h = await readRunHeader(o.replicationLog);
  const comparison = await compareLogs(o.plan, o.claimRunLog, o.replicationLog);
  const replLog = (await digestOfFile(o.replicationLog)).sha256;
  return finiteOrNull({
    _type: STATEMENT_TYPE,
    subject: [
      { name: 'assay/claim', digest: { sha256: o.plan.claim.report.sha256 } },
      { name: 'assay/claim-run-log', digest: { sha256: claimLog } },
      { name: 'assay/replication-run-log', digest: { sha256: replLog } },
    ],
    predicateType: AUDIT_PREDICATE_TYPE,
    predicate: {
      auditor: { ...o.auditor, role: 'auditor' as const },
      claim: o.plan.claim,
      seed: o.plan.seed,
      design: o.plan.design,
      items: o.plan.items,
      replication: { runId: h.runId, runLog: { sha256: replLog }, model: { name: h.model.name, simulated: h.model.simulated }, releases: o.runRecord?.releases ?? null, releaseMatches: o.runRecord?.releaseMatches ?? null },
      comparison,
      conclusion: comparison.conclusion,
      nNeeded: comparison.nNeeded,
      timestamps: { auditedAt: (o.now ?? new Date()).toISOString() },
      assay: { version: ASSAY_VERSION },
    },
  });
}

export const signAudit = (st: AuditStatement, signer: Signer): ReportBundle => signStatement(st, signer);

/** Whether a file holds a signed audit report (read unverified, only to route it). */
export const isAuditDocument = (bytes: Uint8Array): boolean => hasPredicateType(bytes, AUDIT_PREDICATE_TYPE);

export interface AuditCheck {
  ok: boolean;
  exitCode: number;
  failures: { exit: number; where: string; message: string }[];
  warnings: string[];
  statement: AuditStatement | null;
  /** What was recomputed from the logs (with --claim, --claim-run and --run). */
  recomputed: string[];
}

/**
 * Offline verification of an audit report: a trusted auditor signed it (10/11/12), it is well formed
 * (13), its log inclusion (17), and with the claim, both run logs: the claim is the one named, the
 * seed re-derived from the signed checkpoint and the trusted witnesses, the design and the items
 * re-drawn, and the whole comparison recomputed (14 wrong input, 15 numbers differ).
 */
export async function verifyAuditDocument(
  bytes: Uint8Array,
  o: { trust: TrustPolicy; claim?: { bytes: Uint8Array; source: string }; claimRunLog?: string; replicationLog?: string; tlog?: TlogVerifyOptions; now?: Date; source?: string },
): Promise<AuditCheck> {
  const src = o.source ?? 'audit';
  const res: AuditCheck = { ok: false, exitCode: 0, failures: [], warnings: [], statement: null, recomputed: [] };
  const fail = (exit: number, where: string, message: string) => void res.failures.push({ exit, where, message });
  const finish = () => {
    res.failures.sort((a, b) => (a.exit === 17 ? 1 : 0) - (b.exit === 17 ? 1 : 0));
    res.exitCode = res.failures[0]?.exit ?? 0;
    res.ok = !res.failures.length;
    return res;
  };
  const opened = openStatement<AuditStatement>(bytes, { source: src, predicateType: AUDIT_PREDICATE_TYPE, what: 'an audit report', keys: candidateKeys(o.trust, []) });
  if (!opened.ok) {
    fail(opened.exit, opened.where, opened.message);
    return finish();
  }
  const { keyId, env, payload, statement: st } = opened;
  if (!st.predicate.claim || !st.predicate.seed || !st.predicate.design) {
    fail(13, 'payload $.predicateType', `not an audit report (${AUDIT_PREDICATE_TYPE})`);
    return finish();
  }
  const problems = auditPredicateProblems(st.predicate);
  if (problems.length) {
    for (const x of problems) fail(13, `payload ${x.field}`, x.message);
    return finish();
  }
  res.statement = st;
  const p = st.predicate;
  if (p.auditor?.keyId !== keyId) fail(10, 'payload $.predicate.auditor.keyId', `the auditor key ${p.auditor?.keyId} named in the audit did not sign it`);
  if (p.auditor?.keyId === p.claim.developer?.keyId) fail(11, 'payload $.predicate.auditor.keyId', 'the auditor key is the developer key that made the claim: an audit must be independent');
  const trust = decideTesterTrust(keyId, { id: p.claim.suite?.id ?? '', version: p.claim.suite?.version ?? '', riskArea: 'replication-audit' }, o.trust, [], o.now ?? new Date());
  if (!trust.trusted) fail(trust.exit, `${src}: signatures`, `auditor: ${trust.reason}`);

  if (o.claim || o.claimRunLog || o.replicationLog) {
    if (!(o.claim && o.claimRunLog && o.replicationLog)) fail(2, src, 'to recompute an audit give the claim (--claim), its run log (--claim-run) and the replication run log (--run)');
    else {
      try {
        await recompute(p, st, { claim: o.claim, claimRunLog: o.claimRunLog, replicationLog: o.replicationLog, trust: o.trust }, res, fail);
      } catch (e) {
        fail(e instanceof AssayError && e.code === 'IO' ? 2 : 14, (e as AssayError).location?.file ?? src, (e as Error).message);
      }
    }
  }
  const t = await checkReportInclusion(env.tlog, payload, AUDIT_PREDICATE_TYPE, o.trust.logs, o.tlog ?? {}, src);
  res.warnings.push(...t.warnings);
  for (const f of t.failures) fail(f.io ? 2 : 17, f.where, f.message);
  return finish();
}

async function recompute(p: AuditPredicate, st: AuditStatement, o: { claim: { bytes: Uint8Array; source: string }; claimRunLog: string; replicationLog: string; trust: TrustPolicy }, res: AuditCheck, fail: (exit: number, where: string, message: string) => void): Promise<void> {
  const claimSha = sha256Hex(decodeBase64Strict(parseEnvelope(o.claim.bytes, o.claim.source).payload, 'payload'));
  if (claimSha !== p.claim.report.sha256) return fail(14, o.claim.source, `this claim's payload is sha256 ${claimSha}; the audit names ${p.claim.report.sha256}`);
  const subj = (name: string) => st.subject.find((s) => s.name === name)?.digest.sha256;
  if (subj('assay/claim') !== claimSha) fail(13, 'payload $.subject', 'subject "assay/claim" differs from predicate.claim.report');
  const cl = (await digestOfFile(o.claimRunLog)).sha256;
  if (cl !== p.claim.runLog.sha256 || subj('assay/claim-run-log') !== cl) return fail(14, o.claimRunLog, `the claim run log is sha256 ${cl}; the audit names ${p.claim.runLog.sha256}`);
  const rl = (await digestOfFile(o.replicationLog)).sha256;
  if (rl !== p.replication.runLog.sha256 || subj('assay/replication-run-log') !== rl) return fail(14, o.replicationLog, `the replication run log is sha256 ${rl}; the audit names ${p.replication.runLog.sha256}`);
  res.recomputed.push('claim, claim run log and replication run log digests');
  // The seed, from the signed checkpoint and the witnesses this verifier trusts for that log.
  const log = o.trust.logs.find((l) => l.origin === p.seed.origin);
  if (!log) fail(17, 'payload $.predicate.seed.origin', `the seed checkpoint is from log ${p.seed.origin}, which the trust file does not list`);
  else {
    try {
      const { openCheckpoint } = await import('../tlog/checkpoint.js');
      const { ed25519Verifier } = await import('../tlog/note.js');
      const cp = openCheckpoint(p.seed.checkpoint, [ed25519Verifier(log.vkey)], { origin: p.seed.origin });
      if (cp.size < p.claim.log.index + p.claim.seedDelay) fail(15, 'payload $.predicate.seed.size', `the seed checkpoint has size ${cp.size} < claim index ${p.claim.log.index} + D ${p.claim.seedDelay}`);
      const seed = auditSeed({ claimPayloadSha256: claimSha, checkpointNote: p.seed.checkpoint, witnessVkeys: log.witnesses, witnessesRequired: Math.max(1, p.seed.witnessesRequired) });
      if (seed.value !== p.seed.value) fail(15, 'payload $.predicate.seed.value', `the seed recomputed from the signed checkpoint is ${seed.value}, not ${p.seed.value}`);
      else res.recomputed.push(`seed (${seed.witnesses.length} witness cosignature(s))`);
    } catch (e) {
      fail(17, 'payload $.predicate.seed.checkpoint', (e as Error).message);
    }
  }
  const d = p.design;
  const again = await designAudit(o.claimRunLog, { margin: d.margin, alpha: d.alpha, power: d.power, discordance: d.discordance, correlation: d.correlation });
  if (canonicalJson(again.design) !== canonicalJson(d)) fail(15, 'payload $.predicate.design', 'the sample design recomputed from the claim run log differs from the signed one');
  const items = drawItems(p.seed.value, again.ids, again.design.sampleSize);
  if (canonicalJson(items) !== canonicalJson(p.items)) return fail(15, 'payload $.predicate.items', 'the items drawn from the seed differ from the signed ones');
  res.recomputed.push(`design and the ${items.length} items drawn`);
  const cmp = await compareLogs({ items, design: d }, o.claimRunLog, o.replicationLog);
  if (canonicalJson(cmp) !== canonicalJson(p.comparison) || cmp.conclusion !== p.conclusion || cmp.nNeeded !== p.nNeeded) fail(15, 'payload $.predicate.comparison', `the comparison recomputed from the run logs (${cmp.conclusion}) differs from the signed one (${p.conclusion})`);
  else res.recomputed.push(`item-by-item comparison and conclusion (${cmp.conclusion})`);
}

export function formatAuditCheck(r: AuditCheck): string {
  const out: string[] = [];
  const p = r.statement?.predicate;
  if (p) {
    out.push(`replication audit of the developer claim ${p.claim.report.sha256.slice(0, 16)}… (${p.claim.suite.id}@${p.claim.suite.version}, run ${p.claim.runId}, by ${p.claim.developer.name})`);
    out.push(`auditor ${p.auditor.name} (${p.auditor.keyId}); ${p.items.length} items drawn with seed ${p.seed.value.slice(0, 16)}… from checkpoint ${p.seed.origin} size ${p.seed.size}`);
    out.push(`conclusion: ${p.conclusion.toUpperCase()}${p.nNeeded !== null ? ` (about ${p.nNeeded} items needed)` : ''}`);
  }
  for (const x of r.recomputed) out.push(`recomputed: ${x}`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  for (const f of r.failures) out.push(`FAIL [exit ${f.exit}] ${f.where}: ${f.message}`);
  out.push(r.ok ? 'VERIFIED' : `NOT VERIFIED (exit ${r.exitCode})`);
  return out.join('\n') + '\n';
}

/** Human-readable summary of an audit statement. */
export function formatAudit(p: AuditPredicate): string {
  const c = p.comparison;
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  const lines = [
    `claim: ${p.claim.suite.id}@${p.claim.suite.version} on ${p.claim.model.name} by ${p.claim.developer.name} (self-reported), payload sha256 ${p.claim.report.sha256}`,
    `replication: run ${p.replication.runId}${p.replication.model.simulated ? ' (SIMULATED target)' : ''}; ${c.items.paired} of ${c.items.planned} planned items paired`,
    `agreement: ${c.agreement.agree}/${c.agreement.n} = ${pct(c.agreement.rate)} (${c.agreement.interval.level * 100}% Clopper–Pearson ${pct(c.agreement.interval.lo)} to ${pct(c.agreement.interval.hi)})`,
  ];
  for (const m of c.metrics) {
    if (m.decision === 'no-data') {
      lines.push(`  ${m.name}: no paired values`);
      continue;
    }
    lines.push(
      `  ${m.name}: claim ${pct(m.claimMean)}, replication ${pct(m.replicationMean)}, difference ${m.tost.difference?.toFixed(4)} (${(1 - 2 * m.tost.alpha) * 100}% ${m.tost.method} ${m.tost.interval.lo?.toFixed(4)} to ${m.tost.interval.hi?.toFixed(4)}; margin ±${m.tost.margin}) → ${m.decision}${m.nNeeded !== null ? `, ~${m.nNeeded} items needed` : ''}`,
    );
  }
  if (c.differing.length) {
    lines.push(`items whose outcome differs (${c.differing.length}):`);
    for (const d of c.differing.slice(0, 50)) lines.push(`  ${d.id}: ${d.metrics.map((m) => `${m.name} claim ${m.claim ?? '—'} → replication ${m.replication ?? '—'}`).join('; ')}`);
    if (c.differing.length > 50) lines.push(`  … and ${c.differing.length - 50} more (in the signed report)`);
  }
  lines.push(`CONCLUSION: ${p.conclusion.toUpperCase()}${p.nNeeded !== null ? ` — about ${p.nNeeded} items are needed for a conclusion at this margin` : ''}`);
  for (const r of c.reasons) lines.push(`  ${r}`);
  return lines.join('\n') + '\n';
}
