import { canonicalJson, digestJson, sha256Hex } from '../common/canonical.js';
import { AssayError } from '../common/errors.js';
import type { ReportBundle } from '../attest/bundle.js';
import { decodeBase64Strict, parseEnvelope } from '../attest/dsse.js';
import { hasPredicateType, openStatement, signStatement } from '../attest/open.js';
import { parseStrictJson } from '../attest/json.js';
import type { Signer } from '../attest/keys.js';
import { STATEMENT_TYPE } from '../attest/statement.js';
import { checkReportInclusion, VERDICT_PREDICATE_TYPE, type TlogVerifyOptions } from '../attest/tlog.js';
import { candidateKeys, decideTesterTrust, type TrustPolicy } from '../attest/trust.js';
import { verifyReport } from '../attest/verify.js';
import { evaluatePolicy, POLICY_EVALUATION_VERSION, type RunEvidence, type TamperEvidence, type Verdict } from './evaluate.js';
import { verifyTamperReportLogged } from '../tamper/attest.js';
import { readTamperRecords } from '../tamper/log.js';
import { evidenceFromPredicate } from './evidence.js';
import type { LoadedPolicy } from './load.js';
import { modelFactsSchema, type ModelFacts } from './schema.js';
import { grantAccess, type GrantRef } from './grant-evidence.js';

/**
 * The signed two-stage verdict (`assay verdict … --sign`): ONE attestation over everything a
 * determination rests on — the policy digest, the declared model facts, the model release, every
 * evidence report (by the SHA-256 of its signed payload) and the per-rule numbers — shaped like a
 * SLSA verification summary (verifier, timeVerified, policy, inputAttestations,
 * verificationResult). `assay verify` recomputes it from the cited reports, the policy file and
 * the facts file; any of them changed fails verification.
 */
export { VERDICT_PREDICATE_TYPE };
export const VERDICT_SUBJECT = 'assay/model';
/** How far a signed verdict's evaluation date may be from its signing time (the CLI sets both at once). */
const EVALUATED_AT_SLACK_MS = 5 * 60_000;

type SignedFacts = Omit<ModelFacts, 'training_compute_flop' | 'last_evaluated_compute_flop'> & { training_compute_flop?: string; last_evaluated_compute_flop?: string };
/** Signed JSON refuses numbers beyond 2^53 − 1 (1e25 FLOP is one): compute is carried as a decimal string. */
const toSigned = (f: ModelFacts | null): SignedFacts | null => {
  if (!f) return null;
  const out: Record<string, unknown> = { ...f };
  for (const k of ['training_compute_flop', 'last_evaluated_compute_flop']) if (typeof out[k] === 'number') out[k] = String(out[k]);
  return out as SignedFacts;
};
const fromSigned = (f: Record<string, unknown>): unknown => {
  const out: Record<string, unknown> = { ...f };
  for (const k of ['training_compute_flop', 'last_evaluated_compute_flop']) if (typeof out[k] === 'string') out[k] = Number(out[k]);
  return out;
};
const jsonSafe = <T>(v: T): T => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x))) as T;

/** One cited evidence report and what the signer states about it beyond the report itself. */
export interface InputAttestation {
  runId: string;
  suite: { id: string; version: string; digest: string };
  /** SHA-256 of the report's signed payload bytes (the statement), as the tlog entry names it. */
  report: { sha256: string };
  /**
   * Access basis the signer verified. A gateway grant is named by its token's SHA-256 and issuing key
   * (the token is a bearer credential and is not embedded): a verifier needs the token (`--grant`)
   * and must trust that gateway key to accept the grant's level.
   */
  access: { level: RunEvidence['access']; basis: 'declared' | 'grant'; grant?: GrantRef };
  /** A stage-2 session's model exchanges, from its run log at signing time. */
  exchanges: RunEvidence['exchanges'];
  /**
   * Evaluation v4, a grant-backed stage-2 session: judged items whose exchange matched an opening of
   * the gateway's access log at signing time. The signer's statement: verify does not re-open.
   */
  accessRecords?: { of: number; opened: number };
}

/** One cited signed tamper report: its payload and the tamper log it is over. */
export interface TamperAttestation {
  report: { sha256: string };
  log: { sha256: string };
  grid: string;
  gridDigest: string;
}

export interface VerdictPredicate {
  verifier: { name: string; keyId: string };
  timeVerified: string;
  policy: { id: string; version: string; digest: { sha256: string } };
  evaluationVersion: number;
  /** The evaluation date (staleness rules). */
  evaluatedAt: string;
  model: { name: string | null; release: string | null; simulated: boolean };
  facts: SignedFacts | null;
  factsDigest: { sha256: string } | null;
  inputAttestations: InputAttestation[];
  /** Signed tamper reports cited (policy v3 tamper rules); absent when none. */
  tamperAttestations?: TamperAttestation[];
  verificationResult: string;
  evaluation: Omit<Verdict, 'facts'> & { facts: SignedFacts | null };
}

export interface VerdictStatement {
  _type: typeof STATEMENT_TYPE;
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: typeof VERDICT_PREDICATE_TYPE;
  predicate: VerdictPredicate;
}

export interface VerifiedInput {
  /** The report's verified predicate (a run report). */
  predicate: Parameters<typeof evidenceFromPredicate>[0];
  payloadSha256: string;
  logged: boolean;
}

/** A verified signed tamper report with the digest of the tamper log it is over. */
export interface VerifiedTamper {
  evidence: TamperEvidence;
  logSha256: string;
}

/** A signed tamper report and its tamper log as given to a verifier (bytes; run logs are not re-checked here). */
export interface GivenTamper {
  bytes: Uint8Array;
  logBytes: Uint8Array;
  source: string;
}

/**
 * Verifies signed tamper reports against their logs (trusted tester key, the log is the signed one,
 * the report recomputes from it, its tlog proof if any): what `assay verdict --tamper` and the
 * verification of a signed verdict use. Reports that fail are returned as problems, not evidence.
 */
export async function verifyTamperInputs(given: readonly GivenTamper[], trust: TrustPolicy, tlog: TlogVerifyOptions = {}): Promise<{ ok: VerifiedTamper[]; problems: { source: string; exit: number; message: string }[] }> {
  const ok: VerifiedTamper[] = [];
  const problems: { source: string; exit: number; message: string }[] = [];
  for (const g of given) {
    let records;
    try {
      records = readTamperRecords(Buffer.from(g.logBytes).toString('utf8'), `${g.source} (tamper log)`);
    } catch (e) {
      problems.push({ source: g.source, exit: 13, message: (e as Error).message });
      continue;
    }
    const r = await verifyTamperReportLogged(g.bytes, g.logBytes, records, trust, () => null, tlog, g.source);
    if (!r.ok || !r.report || !r.payloadSha256) {
      problems.push({ source: g.source, exit: r.exitCode || 15, message: r.problems[0] ?? 'did not verify' });
      continue;
    }
    ok.push({ evidence: { reportSha256: r.payloadSha256, report: r.report, signed: true, logged: r.tlog !== null && r.tlog !== undefined }, logSha256: sha256Hex(g.logBytes) });
  }
  return { ok, problems };
}

function evidenceOf(inputs: VerifiedInput[], claims: Map<string, InputAttestation>): RunEvidence[] {
  return inputs.map((i) => {
    const c = claims.get(i.payloadSha256);
    const grant = c?.access.basis === 'grant' ? { level: c.access.level } : null;
    const ev = evidenceFromPredicate(i.predicate, { signed: true, logged: i.logged, grant }, c ? c.exchanges : undefined);
    return c?.accessRecords ? { ...ev, accessRecords: c.accessRecords } : ev;
  });
}

/** The subject: the model release when the evidence names one, else the model name. */
function subjectOf(model: string | null, release: string | null): VerdictStatement['subject'] {
  return [{ name: `${VERDICT_SUBJECT}:${model ?? '(unknown)'}`, digest: { sha256: release ? release.slice('sha256:'.length) : sha256Hex(model ?? '') } }];
}

/**
 * Builds the statement from verified inputs. `evidence` is the evidence the CLI evaluated (it
 * carries grant access and stage-2 exchanges read from run logs); the verdict is recomputed from
 * the reports plus those signed claims, so what is signed is exactly what a verifier recomputes.
 */
export function buildVerdictStatement(lp: LoadedPolicy, facts: ModelFacts | null, inputs: VerifiedInput[], evidence: RunEvidence[], o: { signer: { name: string; keyId: string }; at: string; now?: Date; tamper?: VerifiedTamper[] }): VerdictStatement {
  const byRun = new Map(evidence.map((e) => [e.runId, e]));
  const claims: InputAttestation[] = inputs.map((i) => {
    const e = byRun.get(i.predicate.run.id);
    if (!e) throw new AssayError('USAGE', `report of run ${i.predicate.run.id} was not part of the evidence`);
    if (e.accessBasis === 'grant' && !e.grant) throw new AssayError('USAGE', `run ${e.runId}: grant access without the grant it rests on`);
    const access = { level: e.access, basis: e.accessBasis ?? 'declared', ...(e.accessBasis === 'grant' && e.grant ? { grant: e.grant } : {}) };
    return { runId: e.runId, suite: e.suite, report: { sha256: i.payloadSha256 }, access, exchanges: e.exchanges ?? null, ...(e.accessRecords ? { accessRecords: e.accessRecords } : {}) };
  });
  const claimMap = new Map(claims.map((c) => [c.report.sha256, c]));
  const runs = evidenceOf(inputs, claimMap);
  const tamper = o.tamper ?? [];
  const v = evaluatePolicy(lp.policy, lp.digest, { facts, runs, mode: 'final', version: POLICY_EVALUATION_VERSION, at: o.at, ...(tamper.length ? { tamper: tamper.map((t) => t.evidence) } : {}) });
  const releases = [...new Set(runs.map((r) => r.release ?? null))];
  const release = releases.length === 1 ? releases[0]! : null;
  return jsonSafe({
    _type: STATEMENT_TYPE,
    subject: subjectOf(v.model, release),
    predicateType: VERDICT_PREDICATE_TYPE,
    predicate: {
      verifier: o.signer,
      timeVerified: (o.now ?? new Date()).toISOString(),
      policy: { id: lp.policy.id, version: lp.policy.version, digest: { sha256: lp.digest.slice('sha256:'.length) } },
      evaluationVersion: POLICY_EVALUATION_VERSION,
      evaluatedAt: o.at,
      model: { name: v.model, release, simulated: v.simulated },
      facts: toSigned(facts),
      factsDigest: facts ? { sha256: digestJson(facts).slice('sha256:'.length) } : null,
      inputAttestations: claims,
      ...(tamper.length ? { tamperAttestations: tamper.map((t) => ({ report: { sha256: t.evidence.reportSha256 }, log: { sha256: t.logSha256 }, grid: t.evidence.report.grid, gridDigest: t.evidence.report.gridDigest })) } : {}),
      verificationResult: v.verdict,
      evaluation: { ...v, facts: toSigned(facts) },
    },
  });
}

/** Signs the statement (DSSE, in-toto payload type); the bundle is the run reports' file shape, loggable the same way. */
export const signVerdict = (st: VerdictStatement, signer: Signer): ReportBundle => signStatement(st, signer);

/** Whether a report file holds a signed verdict (read unverified, only to route it). */
export const isVerdictDocument = (bytes: Uint8Array): boolean => hasPredicateType(bytes, VERDICT_PREDICATE_TYPE);

export interface VerdictCheck {
  ok: boolean;
  exitCode: number;
  failures: { exit: number; where: string; message: string }[];
  warnings: string[];
  statement: VerdictStatement | null;
  recomputed: string | null;
}

/**
 * Offline verification of a signed verdict: signature by a trusted key, the policy file is the
 * signed one (14), the facts file is the signed one (14), every cited report is given and
 * verifies (14 missing or changed; its own exit code when it does not verify), the verdict
 * recomputed from those reports equals the signed one (15), and the verdict's own tlog proof (17).
 */
export async function verifyVerdictDocument(
  bytes: Uint8Array,
  o: { trust: TrustPolicy; policy: LoadedPolicy | null; facts: ModelFacts | null; reports: { bytes: Uint8Array; source: string }[]; grants?: string[]; tamper?: GivenTamper[]; tlog?: TlogVerifyOptions; now?: Date; source?: string; /** Refuse (exit 18) a verdict evaluated under an older policy-evaluation version. */ requireEvaluationVersion?: number },
): Promise<VerdictCheck> {
  const src = o.source ?? 'verdict';
  const res: VerdictCheck = { ok: false, exitCode: 0, failures: [], warnings: [], statement: null, recomputed: null };
  const fail = (exit: number, where: string, message: string) => void res.failures.push({ exit, where, message });
  const finish = () => {
    res.exitCode = res.failures[0]?.exit ?? 0;
    res.ok = !res.failures.length;
    return res;
  };
  const opened = openStatement<VerdictStatement>(bytes, { source: src, predicateType: VERDICT_PREDICATE_TYPE, what: 'a signed verdict', keys: candidateKeys(o.trust, []) });
  if (!opened.ok) {
    fail(opened.exit, opened.where, opened.message);
    return finish();
  }
  const { keyId, env, payload, statement: st } = opened;
  res.statement = st;
  const p = st.predicate;
  if (p.verifier?.keyId !== keyId) fail(10, 'payload $.predicate.verifier.keyId', `the verifier key ${p.verifier?.keyId} named in the verdict did not sign it`);
  const trust = decideTesterTrust(keyId, { id: p.policy?.id ?? '', version: p.policy?.version ?? '', riskArea: 'policy-verdict' }, o.trust, [], o.now ?? new Date());
  if (!trust.trusted) fail(trust.exit, `${src}: signatures`, trust.reason);
  // The policy and the facts must be the signed ones.
  if (!o.policy) fail(2, 'policy', 'give the policy file (--policy) to recompute the verdict');
  else if (p.policy?.digest?.sha256 !== o.policy.digest.slice('sha256:'.length) || p.policy.id !== o.policy.policy.id)
    fail(14, 'payload $.predicate.policy.digest', `the verdict is for policy ${p.policy?.id} sha256:${p.policy?.digest?.sha256}; the file given is ${o.policy.policy.id} ${o.policy.digest}`);
  const signedFactsDigest = p.factsDigest?.sha256 ?? null;
  const givenFactsDigest = o.facts ? digestJson(o.facts).slice('sha256:'.length) : null;
  if (signedFactsDigest !== givenFactsDigest)
    fail(14, 'payload $.predicate.factsDigest', signedFactsDigest ? `the verdict used model facts sha256:${signedFactsDigest}; ${o.facts ? `the facts file given is sha256:${givenFactsDigest}` : 'give them with --model-facts'}` : 'the verdict used no model facts, but --model-facts was given');
  if (p.facts !== null && p.facts !== undefined) {
    const f = modelFactsSchema.safeParse(fromSigned(p.facts as Record<string, unknown>));
    if (!f.success || digestJson(f.data).slice('sha256:'.length) !== signedFactsDigest) fail(15, 'payload $.predicate.facts', 'the signed facts do not match the signed facts digest');
  }
  // Every cited report, verified on its own.
  const inputs: VerifiedInput[] = [];
  const given = new Map<string, { bytes: Uint8Array; source: string }>();
  for (const r of o.reports) {
    try {
      given.set(sha256Hex(decodeBase64Strict(parseEnvelope(r.bytes, r.source).payload, 'payload')), r);
    } catch (e) {
      res.warnings.push(`${r.source}: not a readable report (${(e as Error).message}); ignored`);
    }
  }
  const cited = Array.isArray(p.inputAttestations) ? p.inputAttestations : [];
  for (const [i, c] of cited.entries()) {
    const r = given.get(c?.report?.sha256);
    if (!r) {
      fail(14, `payload $.predicate.inputAttestations[${i}].report`, `cited report of run ${c?.runId} (payload sha256 ${c?.report?.sha256}) was not given or has changed (pass it with --report)`);
      continue;
    }
    const v = await verifyReport(r.bytes, { trust: o.trust, source: r.source, ...(o.now ? { now: o.now } : {}) });
    if (!v.ok || !v.statement) {
      fail(v.exitCode || 14, r.source, `cited report of run ${c.runId} does not verify: ${v.failures[0]?.message ?? 'unknown'}`);
      continue;
    }
    inputs.push({ predicate: v.statement.predicate, payloadSha256: v.payloadSha256!, logged: v.tlog !== null && !v.failures.length });
  }
  for (const s of given.keys()) if (!cited.some((c) => c?.report?.sha256 === s)) res.warnings.push(`${given.get(s)!.source} is not cited by the verdict; ignored`);
  // What the signer states beyond the reports, checked where it can be: grant access against the
  // grant itself (under a gateway key the verifier trusts), a session's exchanges against those its
  // report signed.
  const bySha = new Map(inputs.map((i) => [i.payloadSha256, i.predicate]));
  for (const [i, c] of cited.entries()) {
    const pr = bySha.get(c?.report?.sha256);
    if (!pr) continue;
    const where = `payload $.predicate.inputAttestations[${i}]`;
    if (c.access?.basis === 'grant') {
      const ref = c.access.grant;
      const tokens = ref ? (o.grants ?? []).filter((t) => sha256Hex(t) === ref.sha256) : [];
      const g = tokens.length ? await grantAccess(tokens, o.trust, pr.model.model, pr.timestamps.runStartedAt, (w) => res.warnings.push(w)) : null;
      if (!ref) fail(14, `${where}.access`, `run ${c.runId}: its ${c.access.level} access is signed as granted, but no grant is named`);
      else if (!g) fail(14, `${where}.access.grant`, `run ${c.runId}: its ${c.access.level} access rests on gateway grant sha256:${ref.sha256} ${tokens.length ? 'which does not verify under a gateway key the trust file lists (co-signers) for this model when the run started' : 'which was not given (--grant <token file>)'}`);
      else if (g.level !== c.access.level) fail(15, `${where}.access.level`, `run ${c.runId}: signed ${c.access.level} access, but the grant gives ${g.level}`);
    }
    const signedX = (pr.policy as { integrity?: { exchanges?: unknown } } | null)?.integrity?.exchanges;
    if (signedX !== undefined && canonicalJson(signedX) !== canonicalJson(c.exchanges ?? null))
      fail(15, `${where}.exchanges`, `run ${c.runId}: the verdict states ${JSON.stringify(c.exchanges)} model exchanges, its report signed ${JSON.stringify(signedX)}`);
  }
  // Every cited signed tamper report, verified against its tamper log.
  const tamperCited = Array.isArray(p.tamperAttestations) ? p.tamperAttestations : [];
  const tv = await verifyTamperInputs(o.tamper ?? [], o.trust);
  for (const x of tv.problems) fail(x.exit, x.source, `signed tamper report does not verify: ${x.message}`);
  const tamperInputs: TamperEvidence[] = [];
  for (const [i, c] of tamperCited.entries()) {
    const t = tv.ok.find((x) => x.evidence.reportSha256 === c?.report?.sha256);
    if (!t) {
      if (!tv.problems.length) fail(14, `payload $.predicate.tamperAttestations[${i}].report`, `cited tamper report of grid ${c?.grid} (payload sha256 ${c?.report?.sha256}) was not given or has changed (pass it with --tamper and its log with --tamper-log)`);
      continue;
    }
    if (t.logSha256 !== c.log?.sha256) fail(14, `payload $.predicate.tamperAttestations[${i}].log`, `the tamper log given for grid ${c.grid} is not the one the verdict cites`);
    tamperInputs.push(t.evidence);
  }
  for (const t of tv.ok) if (!tamperCited.some((c) => c?.report?.sha256 === t.evidence.reportSha256)) res.warnings.push(`tamper report of grid ${t.evidence.report.grid} is not cited by the verdict; ignored`);
  // A verifier may refuse verdicts evaluated under an older (laxer) policy-evaluation version: a
  // signer can choose the version, and an older one recomputes as signed.
  const need = o.requireEvaluationVersion;
  if (need !== undefined && !(Number.isInteger(p.evaluationVersion) && p.evaluationVersion >= need))
    fail(18, 'payload $.predicate.evaluationVersion', `evaluated under policy-evaluation version ${p.evaluationVersion}; this verifier requires version ${need} or later (--require-evaluation-version)`);
  // Recompute from the cited reports (at the signed evaluation version and date).
  if (o.policy && !res.failures.length) {
    const claims = new Map(cited.map((c) => [c.report.sha256, c]));
    const runs = evidenceOf(inputs, claims);
    const version = p.evaluationVersion;
    // The evaluation date is the signing time (assay verdict --sign refuses --at); a verdict whose
    // date was moved would have its staleness limits measured from a date the signer chose.
    const ev = Date.parse(String(p.evaluatedAt));
    const tv = Date.parse(String(p.timeVerified));
    if (version !== 2 && (!Number.isFinite(ev) || !Number.isFinite(tv) || Math.abs(ev - tv) > EVALUATED_AT_SLACK_MS))
      fail(15, 'payload $.predicate.evaluatedAt', `the evaluation date ${p.evaluatedAt} is not the signing time ${p.timeVerified}`);
    else if (ev > (o.now ?? new Date()).getTime() + EVALUATED_AT_SLACK_MS) fail(15, 'payload $.predicate.evaluatedAt', `the evaluation date ${p.evaluatedAt} is in the future`);
    if (res.failures.length) res.recomputed = null; // the date is not the signing time: nothing to recompute at
    else if (!Number.isInteger(version) || version < 2 || version > POLICY_EVALUATION_VERSION) fail(15, 'payload $.predicate.evaluationVersion', `unknown policy-evaluation version ${version}`);
    else if (version < POLICY_EVALUATION_VERSION)
      res.warnings.push(`evaluated under policy-evaluation version ${version}, not the current ${POLICY_EVALUATION_VERSION}: recomputed under ${version} (docs/formats/policy.md, "Evidence integrity")`);
    if (!res.failures.length) {
      try {
        const again = evaluatePolicy(o.policy.policy, o.policy.digest, { facts: o.facts, runs, mode: 'final', version, at: p.evaluatedAt, ...(tamperInputs.length ? { tamper: tamperInputs } : {}) });
        res.recomputed = again.verdict;
        const signedEval = jsonSafe({ ...again, facts: toSigned(o.facts) });
        if (again.verdict !== p.verificationResult || p.evaluation?.verdict !== p.verificationResult)
          fail(15, 'payload $.predicate.verificationResult', `signed "${p.verificationResult}" but recomputed from the cited reports: "${again.verdict}"`);
        else if (canonicalJson(signedEval) !== canonicalJson(p.evaluation ?? null)) {
          const k = signedEval.rules.findIndex((r, j) => canonicalJson(r) !== canonicalJson(p.evaluation?.rules?.[j] ?? null));
          fail(15, `payload $.predicate.evaluation${k >= 0 ? `.rules[${k}]` : ''}`, 'the signed per-rule numbers differ from those recomputed from the cited reports');
        }
      } catch (e) {
        fail(15, 'payload $.predicate.evaluation', `cannot recompute: ${(e as Error).message}`);
      }
    }
  }
  const t = await checkReportInclusion(env.tlog, payload, VERDICT_PREDICATE_TYPE, o.trust.logs, o.tlog ?? {}, src);
  res.warnings.push(...t.warnings);
  for (const f of t.failures) fail(f.io ? 2 : 17, f.where, f.message);
  return finish();
}

export function formatVerdictCheck(r: VerdictCheck): string {
  const out: string[] = [];
  const p = r.statement?.predicate;
  if (p) {
    out.push(`signed verdict: ${p.policy?.id}@${p.policy?.version} on ${p.model?.name}${p.model?.simulated ? ' (SIMULATED target)' : ''}: ${p.verificationResult}, by ${p.verifier?.name} (${p.verifier?.keyId})`);
    out.push(`evidence: ${(p.inputAttestations ?? []).map((c) => `${c.runId} (${c.suite?.id}, report ${c.report?.sha256?.slice(0, 12)}…)`).join(', ')}`);
    if (r.recomputed) out.push(`recomputed from the cited reports: ${r.recomputed}`);
  }
  for (const w of r.warnings) out.push(`warning: ${w}`);
  for (const f of r.failures) out.push(`FAIL [exit ${f.exit}] ${f.where}: ${f.message}`);
  out.push(r.ok ? 'VERIFIED' : `NOT VERIFIED (exit ${r.exitCode})`);
  return out.join('\n') + '\n';
}

/**
 * Pairs signed tamper reports with tamper logs by the log digest each report signs (the CLI takes
 * them as two repeatable options). A report without its log is returned in `unpaired`.
 */
export function pairTamperFiles(signed: readonly { bytes: Uint8Array; source: string }[], logs: readonly { bytes: Uint8Array; source: string }[]): { given: GivenTamper[]; unpaired: string[] } {
  const bySha = new Map(logs.map((l) => [sha256Hex(l.bytes), l]));
  const given: GivenTamper[] = [];
  const unpaired: string[] = [];
  for (const s of signed) {
    let want: unknown;
    try {
      const st = parseStrictJson(decodeBase64Strict(parseEnvelope(s.bytes, s.source).payload, 'payload')) as { subject?: { digest?: { sha256?: unknown } }[] } | null;
      want = st?.subject?.[0]?.digest?.sha256;
    } catch {
      want = undefined;
    }
    const l = typeof want === 'string' ? bySha.get(want) : undefined;
    if (l) given.push({ bytes: s.bytes, logBytes: l.bytes, source: s.source });
    else unpaired.push(s.source);
  }
  return { given, unpaired };
}
