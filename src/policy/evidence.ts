import { observedAccessFromLog } from '../run/access.js';
import { AssayError } from '../common/errors.js';
import { iterateRunLog, readRunHeader } from '../run/log-reader.js';
import type { RunHeader } from '../run/types.js';
import { ELICITATION_SUFFIX, EXPERT_SUCCESS } from './elicit.js';
import { statsForRun, type MetricStats, type RunStats } from '../stats/from-log.js';
import type { RunReportPredicate } from '../attest/predicate.js';
import type { MetricFacts, RunEvidence } from './evaluate.js';
import type { IntervalBasis } from '../stats/honest.js';
import type { GrantRef } from './grant-evidence.js';
import { canonicalJson, sha256Hex } from '../common/canonical.js';
import { loadSuite } from '../suite/load.js';
import type { TrustPolicy } from '../attest/trust.js';
import type { Opening } from '../gateway/commit.js';
import { verifyLogFile } from '../gateway/head.js';
import { checkSessionAccessRecords } from './access-records.js';

/** The I/O edge of the policy module: run logs and signed reports → RunEvidence for evaluatePolicy. */

const finite = (x: number | null | undefined): number | null => (x === null || x === undefined || !Number.isFinite(x) ? null : x);

type GroupsIn = { by: string; groups: { group: string; n: number; mean: number | null; se: number | null; interval?: { basis?: unknown } | null }[] } | null;

export function metricFacts(
  m: Pick<MetricStats, 'name' | 'n' | 'counts' | 'binary'> & { mean: number | null; se: number | null; clustered: { se: number | null; clusters: number } | null; interval?: { basis: unknown }; groups?: GroupsIn },
): MetricFacts {
  // Each group keeps its own honest interval's basis (run-stats/v2), so a sub-domain rule is judged on it.
  const groups = m.groups ? m.groups.groups.map((g) => ({ by: m.groups!.by, group: g.group, n: g.n, mean: finite(g.mean), se: finite(g.se), ...(g.interval?.basis ? { basis: g.interval.basis as IntervalBasis } : {}) })) : null;
  return {
    ...(groups ? { groups } : {}),
    // run-stats/v2 (and live statistics) carry the honest interval's basis; v1 reports get it derived.
    ...(m.interval ? { basis: m.interval.basis as IntervalBasis } : {}),
    clusters: m.clustered ? m.clustered.clusters : null,
    name: m.name,
    n: m.n,
    counts: { scored: m.counts.scored, unscored: m.counts.unscored, errored: m.counts.errored },
    mean: finite(m.mean),
    se: finite(m.se),
    binary: m.binary,
    clusteredSe: m.clustered ? finite(m.clustered.se) : null,
  };
}

export interface Provenance {
  signed: boolean;
  logged: boolean;
  /** The model release a verified report names ("sha256:<hex>"). */
  release?: string | null;
  /** Access from a verified gateway grant for this run's model, overriding the declared level (ref: which grant). */
  grant?: { level: RunEvidence['access']; ref?: GrantRef | null } | null;
}

export interface Integrity {
  extent: NonNullable<RunEvidence['extent']>;
  exchanges: RunEvidence['exchanges'];
  startedAt: string | null;
}

/** How much of its suite a run covered, from its config, its end status and how many items it holds. */
export function runExtent(
  cfg: { limit: number | null; sampleIds: string[] | null; epochs?: number },
  status: string | null,
  samples: number,
  /** Units (item × epoch records) the run holds, and the suite's item count (header/predicate `suite.items`; undefined: not recorded). */
  units?: { recorded: number; items: number | undefined },
): Integrity['extent'] {
  if (cfg.sampleIds !== null) return { kind: 'chosen', detail: `${cfg.sampleIds.length} chosen item(s), --sample-id`, ids: [...cfg.sampleIds] };
  if (status !== 'completed') return { kind: 'incomplete', detail: status ? `ended ${status}` : 'no end record (still running or crashed)' };
  // Evaluation v4 compares what the run holds with what its suite defines (items × epochs, capped by --limit).
  const epochs = cfg.epochs ?? 1;
  const coverage = units
    ? { recorded: units.recorded, expected: units.items === undefined ? null : (cfg.limit !== null ? Math.min(cfg.limit, units.items) : units.items) * epochs }
    : undefined;
  const cov = coverage ? { coverage } : {};
  if (cfg.limit !== null && samples >= cfg.limit) return { kind: 'first-n', detail: `the first ${cfg.limit} items, --limit`, ...cov };
  return { kind: 'full', detail: `${samples} items`, ...cov };
}

/** Samples in the suite file a header names, when it is readable and reads the header's data (same data digests); else null. */
async function countSuiteItems(header: RunHeader): Promise<number | null> {
  try {
    const suite = await loadSuite(header.suite.file);
    if (canonicalJson(suite.dataDigests) !== canonicalJson(header.suite.dataDigests)) return null;
    let n = 0;
    for await (const _ of suite.samples()) n++;
    return n;
  } catch {
    return null;
  }
}

/**
 * One pass over a run log for the integrity facts: extent, and for a stage-2 session (suite
 * "<id>.elicitation") how many judged items had a model exchange (an answer from the model).
 */
export async function integrityFromRunLog(logPath: string): Promise<Integrity> {
  let header: RunHeader | null = null;
  let status: string | null = null;
  const ids = new Set<string>();
  const keys = new Set<string>();
  let judged = 0;
  let withModel = 0;
  for await (const rec of iterateRunLog(logPath)) {
    if (rec.type === 'header') header = rec;
    else if (rec.type === 'end') status = rec.status;
    else if (rec.type === 'sample') {
      ids.add(rec.sampleId);
      keys.add(rec.key);
      if (rec.scores[EXPERT_SUCCESS]?.status === 'scored') {
        judged++;
        if (rec.output !== null && rec.sent !== null && (rec.timing?.attempts ?? 0) > 0) withModel++;
      }
    }
  }
  if (!header) throw new AssayError('RUN_LOG', 'run log has no header', { file: logPath });
  const stage2 = header.suite.id.endsWith(ELICITATION_SUFFIX);
  // The header's item count is the tester's statement; when the suite file it names is here and reads
  // the same data (data digests), the data is counted instead, so a header lowered along with a
  // trimmed log does not pass for whole.
  const counted = await countSuiteItems(header);
  const items = counted ?? header.suite.items;
  return { extent: runExtent(header.config, status, ids.size, { recorded: keys.size, items }), exchanges: stage2 ? { judged, withModel } : null, startedAt: header.startedAt };
}

/** A stage-2 session's judged items with a model exchange: what was sent and answered (for the gateway's access records). */
export async function sessionExchangesFromLog(logPath: string): Promise<import('./access-records.js').SessionExchange[]> {
  const out: import('./access-records.js').SessionExchange[] = [];
  const seen = new Set<string>();
  for await (const rec of iterateRunLog(logPath)) {
    if (rec.type !== 'sample' || seen.has(rec.key)) continue;
    seen.add(rec.key);
    if (rec.scores[EXPERT_SUCCESS]?.status === 'scored' && rec.output !== null && rec.sent !== null && (rec.timing?.attempts ?? 0) > 0) out.push({ key: rec.key, sent: rec.sent.body, answer: rec.output.raw });
  }
  return out;
}

export function evidenceFromStats(stats: RunStats, access: RunEvidence['access'], prov: Provenance, integrity?: Integrity): RunEvidence {
  return {
    runId: stats.runId,
    suite: { id: stats.suite.id, version: stats.suite.version, digest: stats.suite.digest },
    model: stats.model,
    simulated: stats.simulated,
    access: prov.grant ? prov.grant.level : access,
    signed: prov.signed,
    logged: prov.logged,
    metrics: stats.metrics.map(metricFacts),
    ...(integrity ? { extent: integrity.extent, exchanges: integrity.exchanges, startedAt: integrity.startedAt } : {}),
    accessBasis: prov.grant ? 'grant' : 'declared',
    ...(prov.grant?.ref ? { grant: prov.grant.ref } : {}),
    release: prov.release ?? null,
  };
}

/** A run log as evidence (statistics recomputed from the log; access from its header, or a verified grant). */
export async function evidenceFromRunLog(logPath: string, prov: Provenance = { signed: false, logged: false }, groupBy: string[] = []): Promise<RunEvidence> {
  const header = await readRunHeader(logPath);
  const stats = await statsForRun(logPath, { resamples: 0 });
  // Access as observed: a declared grey-box run whose endpoint never returned the logprobs it asked for was black-box.
  const ev = evidenceFromStats(stats, (await observedAccessFromLog(logPath)).effective, prov, await integrityFromRunLog(logPath));
  // Sub-domain rules read per-group statistics: one grouped pass per field the policy groups by.
  for (const by of groupBy) {
    let grouped: RunStats;
    try {
      grouped = await statsForRun(logPath, { resamples: 0, groupBy: by });
    } catch {
      continue; // the field is not in this run's samples: the rule says so
    }
    for (const gm of grouped.metrics) {
      const m = ev.metrics.find((x) => x.name === gm.name);
      const g = metricFacts(gm).groups;
      if (m && g) m.groups = [...(m.groups ?? []), ...g];
    }
  }
  return ev;
}

/**
 * A signed run report's predicate as evidence: the signed numbers, nothing recomputed. A stage-2
 * session's model exchanges are not in the run-report predicate: they come from the signed policy
 * slot (`integrity.exchanges`, evaluation v2) when the report carries one, else they are unknown.
 */
export function evidenceFromPredicate(p: RunReportPredicate, prov: Provenance, exchanges?: RunEvidence['exchanges']): RunEvidence {
  const stage2 = p.suite.id.endsWith(ELICITATION_SUFFIX);
  const signedX = (p.policy as { integrity?: { exchanges?: unknown } } | null)?.integrity?.exchanges;
  const x = exchanges !== undefined ? exchanges : isExchanges(signedX) ? signedX : null;
  return {
    runId: p.run.id,
    suite: { id: p.suite.id, version: p.suite.version, digest: `sha256:${p.suite.digest.sha256}` },
    model: p.model.name,
    simulated: p.model.simulated,
    access: prov.grant ? prov.grant.level : p.accessLevel,
    signed: prov.signed,
    logged: prov.logged,
    metrics: p.metrics.map(metricFacts),
    extent: runExtent(p.config, p.run.status, p.counts.samples, { recorded: p.counts.records, items: p.suite.items }),
    exchanges: stage2 ? x : null,
    accessBasis: prov.grant ? 'grant' : 'declared',
    ...(prov.grant?.ref ? { grant: prov.grant.ref } : {}),
    release: prov.release ?? (p.model.releaseStatement ? `sha256:${p.model.releaseStatement.digest.sha256}` : null),
    startedAt: p.timestamps.runStartedAt,
  };
}

const isExchanges = (v: unknown): v is { judged: number; withModel: number } =>
  !!v && typeof v === 'object' && Number.isInteger((v as { judged?: unknown }).judged) && Number.isInteger((v as { withModel?: unknown }).withModel);

/**
 * Evaluation v4: a grant-backed stage-2 session read from its run log, checked against the
 * gateway's access log (export or proofs bundle, verified under the grant's gateway key from the
 * trust file) and the tester's openings. Sets `accessRecords`; other runs are returned unchanged.
 * Without a gateway log the session keeps no `accessRecords`, and v4 does not count it.
 */
export async function withAccessRecords(
  ev: RunEvidence,
  logPath: string,
  o: { tokens: string[]; trust: TrustPolicy; gatewayLog: { text: string; file?: string } | null; openings: Opening[]; warn: (s: string) => void },
): Promise<RunEvidence> {
  if (!ev.suite.id.endsWith(ELICITATION_SUFFIX) || ev.accessBasis !== 'grant' || !ev.grant || !o.gatewayLog) return ev;
  const exchanges = await sessionExchangesFromLog(logPath);
  const none = (why: string): RunEvidence => {
    o.warn(`stage-2 session ${ev.runId}: ${why}; none of its exchanges is shown by the gateway's access records`);
    return { ...ev, accessRecords: { of: exchanges.length, opened: 0 } };
  };
  const token = o.tokens.find((t) => sha256Hex(t) === ev.grant!.sha256);
  let jti: string | null = null;
  try {
    const j = JSON.parse(Buffer.from(token?.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: unknown };
    jti = typeof j.jti === 'string' ? j.jti : null;
  } catch {
    jti = null;
  }
  if (!jti) return none('the grant it rests on names no grant id');
  const key = o.trust.cosigners.find((c) => c.keyId === ev.grant!.keyId)?.publicKey;
  if (!key) return none(`its grant's gateway key ${ev.grant.keyId} is not a trusted co-signer`);
  let log;
  try {
    log = verifyLogFile(o.gatewayLog.text, key, o.gatewayLog.file);
  } catch (e) {
    return none(`the gateway log does not verify under the grant's gateway key: ${(e as Error).message}`);
  }
  const check = checkSessionAccessRecords(exchanges, o.openings, log, o.trust.logs, jti);
  for (const p of check.problems.slice(0, 10)) o.warn(`stage-2 session ${ev.runId}: ${p}`);
  return { ...ev, accessRecords: { of: check.of, opened: check.opened } };
}
