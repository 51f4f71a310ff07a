import { canonicalJson } from '../common/canonical.js';
import type { RunReportPredicate } from '../attest/predicate.js';
import { evaluatePolicy, POLICY_EVALUATION_VERSION, type RunEvidence, type Verdict } from './evaluate.js';
import { evidenceFromPredicate, integrityFromRunLog } from './evidence.js';
import type { LoadedFacts, LoadedPolicy } from './load.js';
import { modelFactsSchema, type ModelFacts } from './schema.js';

/**
 * A policy verdict inside a signed run report (the predicate's `policy` slot). A report covers
 * one run, so the verdict is computed from that run alone (`basis: "this-run"`): rules naming
 * other suites show "no run of suite …". It is computed from the report's own signed metrics, so
 * a verifier holding the policy file recomputes it from the statement alone.
 */
export const REPORT_POLICY_BASIS = 'this-run';

export interface ReportPolicy {
  /** The policy-evaluation version (absent: 1, reports signed before versions existed). */
  evaluationVersion?: number;
  /** Evaluation v2: facts from the run log the predicate does not carry (a stage-2 session's model exchanges). */
  integrity?: { exchanges: RunEvidence['exchanges'] };
  id: string;
  version: string;
  digest: { sha256: string };
  verdict: string;
  basis: typeof REPORT_POLICY_BASIS;
  /**
   * The declared model facts used for scope (null when none). training_compute_flop is carried as
   * a decimal string: signed JSON refuses numbers beyond ±(2^53−1), and 1e25 FLOP is one.
   */
  facts: SignedFacts | null;
  evaluation: Omit<Verdict, 'facts'> & { facts: SignedFacts | null };
}

type SignedFacts = Omit<ModelFacts, 'training_compute_flop'> & { training_compute_flop?: string };

const toSigned = (f: ModelFacts | null): SignedFacts | null => {
  if (!f) return null;
  const { training_compute_flop, ...rest } = f;
  return training_compute_flop === undefined ? rest : { ...rest, training_compute_flop: String(training_compute_flop) };
};
const fromSigned = (f: Record<string, unknown>): unknown =>
  typeof f.training_compute_flop === 'string' ? { ...f, training_compute_flop: Number(f.training_compute_flop) } : f;

/** JSON-safe copy: NaN and ±Infinity become null, undefined members are dropped. */
const jsonSafe = <T>(v: T): T => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x))) as T;

export function reportPolicy(policy: LoadedPolicy, facts: ModelFacts | null, predicate: RunReportPredicate, prov: { logged: boolean }, opts: { version?: number; exchanges?: RunEvidence['exchanges'] } = {}): ReportPolicy {
  const version = opts.version ?? POLICY_EVALUATION_VERSION;
  const exchanges = opts.exchanges ?? null;
  const evidence = evidenceFromPredicate(predicate, { signed: true, logged: prov.logged }, exchanges);
  // v2 evaluates as of the attestation time (staleness), which the predicate signs.
  const evaluation = evaluatePolicy(policy.policy, policy.digest, { facts, runs: [evidence], mode: 'final', version, ...(version >= 2 ? { at: predicate.timestamps.attestedAt } : {}) });
  return jsonSafe({
    ...(version >= 2 ? { evaluationVersion: version, integrity: { exchanges } } : {}),
    id: policy.policy.id,
    version: policy.policy.version,
    digest: { sha256: policy.digest.slice('sha256:'.length) },
    verdict: evaluation.verdict,
    basis: REPORT_POLICY_BASIS,
    facts: toSigned(facts),
    evaluation: { ...evaluation, facts: toSigned(facts) },
  });
}

/** For `assay attest --policy`: the hook that fills the predicate's policy slot. */
export const attestPolicyHook = (policy: LoadedPolicy, facts: LoadedFacts | null, prov: { logged: boolean }, integrity?: { exchanges: RunEvidence['exchanges'] }) => (p: RunReportPredicate) =>
  reportPolicy(policy, facts?.facts ?? null, p, prov, { exchanges: integrity?.exchanges ?? null }) as unknown as RunReportPredicate['policy'];

/** The hook for a run log: reads its integrity facts first (a stage-2 session's model exchanges). */
export async function attestPolicyHookFor(logPath: string, policy: LoadedPolicy, facts: LoadedFacts | null, prov: { logged: boolean }) {
  const integrity = await integrityFromRunLog(logPath);
  return attestPolicyHook(policy, facts, prov, { exchanges: integrity.exchanges });
}

/**
 * For `assay verify --policy`: recompute the signed verdict. Returns problems: the policy file is
 * not the signed one (exit 14), or the verdict differs (exit 15).
 */
export function checkReportPolicy(policy: LoadedPolicy, predicate: RunReportPredicate, prov: { logged: boolean }): { exit: 14 | 15; where: string; message: string }[] {
  const signed = predicate.policy as unknown as ReportPolicy | null;
  if (!signed) return [{ exit: 14, where: 'payload $.predicate.policy', message: `the report carries no policy verdict, but --policy ${policy.policy.id} was given` }];
  if (signed.digest?.sha256 !== policy.digest.slice('sha256:'.length) || signed.id !== policy.policy.id)
    return [{ exit: 14, where: 'payload $.predicate.policy.digest', message: `the signed verdict is for policy ${signed.id} sha256:${signed.digest?.sha256}; the file given is ${policy.policy.id} ${policy.digest}` }];
  let facts: ModelFacts | null = null;
  if (signed.facts !== null) {
    const f = modelFactsSchema.safeParse(signed.facts && typeof signed.facts === 'object' ? fromSigned(signed.facts as Record<string, unknown>) : signed.facts);
    if (!f.success) return [{ exit: 15, where: 'payload $.predicate.policy.facts', message: `the signed model facts are not valid ${'assay.model-facts/v1'}: ${f.error.issues[0]?.message}` }];
    facts = f.data;
  }
  const version = typeof signed.evaluationVersion === 'number' ? signed.evaluationVersion : 1;
  if (!Number.isInteger(version) || version < 1 || version > POLICY_EVALUATION_VERSION)
    return [{ exit: 15, where: 'payload $.predicate.policy.evaluationVersion', message: `policy-evaluation version ${version} is not one this Assay knows (1–${POLICY_EVALUATION_VERSION})` }];
  const sx = signed.integrity?.exchanges;
  const exchanges = sx && typeof sx === 'object' && Number.isInteger(sx.judged) && Number.isInteger(sx.withModel) ? { judged: sx.judged, withModel: sx.withModel } : null;
  const again = reportPolicy(policy, facts, predicate, prov, { version, exchanges });
  const problems: { exit: 14 | 15; where: string; message: string }[] = [];
  if (again.verdict !== signed.verdict) problems.push({ exit: 15, where: 'payload $.predicate.policy.verdict', message: `signed "${signed.verdict}" but recomputed from the signed statistics and the policy: "${again.verdict}"` });
  else if (canonicalJson(again) !== canonicalJson(signed)) {
    const ra = again.evaluation.rules;
    const rs = signed.evaluation?.rules ?? [];
    const i = ra.findIndex((r, k) => canonicalJson(r) !== canonicalJson(rs[k] ?? null));
    problems.push({ exit: 15, where: `payload $.predicate.policy${i >= 0 ? `.evaluation.rules[${i}]` : ''}`, message: 'the signed policy evaluation differs from the one recomputed from the signed statistics and the policy' });
  }
  return problems;
}

/**
 * The policy-evaluation version a report's signed policy verdict was computed under (absent: 1,
 * signed before versions), and a refusal when it is older than a verifier requires (exit 18,
 * `assay verify --require-evaluation-version`). A report with no policy verdict has none to accept.
 */
export function evaluationVersionFailure(policySlot: Record<string, unknown> | null | undefined, required: number): { exit: 18; where: string; message: string } | null {
  if (!policySlot) return { exit: 18, where: 'payload $.predicate.policy', message: `the report carries no signed policy verdict; this verifier requires one evaluated under policy-evaluation version ${required} or later (--require-evaluation-version)` };
  const v = policySlot['evaluationVersion'];
  const version = typeof v === 'number' ? v : 1;
  if (Number.isInteger(version) && version >= required) return null;
  return { exit: 18, where: 'payload $.predicate.policy.evaluationVersion', message: `the signed policy verdict was evaluated under policy-evaluation version ${version}; this verifier requires version ${required} or later (--require-evaluation-version)` };
}
