import { AssayError } from '../common/errors.js';
import { analyseDoseResponse, type DoseResponseReport } from './dose-response.js';
import type { EvalRecord, JobRecord, TamperHeader, TamperRecord } from './log.js';

/**
 * The tamper report (`assay.tamper-report/v1`): per attack and evaluation, the safeguard metric
 * against attack strength with intervals, the fitted decay and the cost to break — the least
 * attack at which the metric falls below the evaluation's threshold — with its uncertainty.
 * Rebuilt from the tamper log alone (pure).
 */
export const TAMPER_REPORT_SCHEMA = 'assay.tamper-report/v1';
/**
 * v2 (additive): each curve names its attack's training settings and suite digest and converts the
 * cost to break to compute (price, GPU-hours) where the log records it; `worstCase` summarises,
 * per evaluation, the attack that breaks the safeguard soonest. v1 is still produced for
 * verifying reports signed as v1 (`version: 1`).
 */
export const TAMPER_REPORT_SCHEMA_V2 = 'assay.tamper-report/v2';
export const TAMPER_REPORT_SCHEMAS = [TAMPER_REPORT_SCHEMA, TAMPER_REPORT_SCHEMA_V2] as const;
export type TamperReportVersion = 1 | 2;

/** A cost to break on a compute axis: the strength figure times the compute per unit of strength. */
export interface ComputeCost {
  /** Compute per unit of strength: Σ compute / Σ strength over the curve's succeeded jobs (a ratio estimate). */
  perStrength: number;
  /** Jobs the rate is estimated from. */
  jobs: number;
  /** Least compute at which the metric crosses the threshold, and its interval (the strength interval scaled). */
  estimate: number;
  ci: { lo: number; hi: number };
  /** Observed: compute of the least tested attack whose upper bound is below the threshold, null when none. */
  observedBreak: number | null;
}

export interface CurveComputeAxis {
  /** In the grid's price unit (budget.price_per_1k_trained_tokens × trained tokens); null when the grid sets no price. */
  price: ComputeCost | null;
  /** GPU-hours reported by the trainer; null unless every succeeded job of the curve reported them. */
  gpuHours: ComputeCost | null;
}

/** Per evaluation: the attack that breaks the safeguard soonest (v2). */
export interface WorstCase {
  suite: string;
  metric: string;
  threshold: number;
  strength: 'examples' | 'steps' | 'trained_tokens';
  /** Attacks with an analysis, and those without (their curve could not be fitted: the summary is over the others only). */
  attacks: string[];
  incomplete: string[];
  /** The attack with the least estimated cost to break (null when no attack was analysed). */
  weakest: string | null;
  /**
   * The least cost to break over attacks, with [min lo, min hi] of their intervals: it covers the
   * least true cost whenever every attack's interval covers its own (simultaneous coverage at least
   * 1 − Σα, not the per-attack level).
   */
  costToBreak: { estimate: number; ci: { lo: number; hi: number }; beyondTested: boolean } | null;
  /** The least strength at which any attack's model-free upper bound fell below the threshold, and which attack. */
  observedBreak: { dose: number; attack: string } | null;
  /** The same on the compute axes, over the attacks that record them (null when none does). */
  price: { estimate: number; ci: { lo: number; hi: number }; attack: string } | null;
  gpuHours: { estimate: number; ci: { lo: number; hi: number }; attack: string } | null;
}

export interface TamperCurve {
  attack: string;
  kind: string;
  method: string;
  suite: string;
  metric: string;
  strength: 'examples' | 'steps' | 'trained_tokens';
  /** Cells without a result (job failed, cancelled, timed out, or not run). */
  missing: { key: string; state: string; error?: string }[];
  analysis: DoseResponseReport | null;
  /** Why there is no analysis (fewer than two strengths with results besides the base). */
  note?: string;
  cost: { trainedTokens: number; price: number };
  /** v2: the attack's training settings (what a policy rule selects attacks by). */
  settings?: { learningRate: number | null; learningRateMultiplier: number; epochs: number; batchSize: number; data: 'placeholder' | 'file' };
  /** v2: the evaluation suite's digest (from the tamper log). */
  suiteDigest?: string | null;
  /** v2: the cost to break on compute axes, where recorded. */
  compute?: CurveComputeAxis;
}

export interface TamperReport {
  schema: (typeof TAMPER_REPORT_SCHEMAS)[number];
  grid: string;
  gridDigest: string;
  baseModel: string;
  /** v2: whether the endpoints were the simulated target (null: the log does not say). */
  simulated?: boolean | null;
  stop: { reason: string; detail: string } | null;
  curves: TamperCurve[];
  /** v2: per evaluation, the worst case across attacks. */
  worstCase?: WorstCase[];
}

/** Compute per unit strength over succeeded jobs, and the cost to break scaled to it (pure). */
function computeAxis(points: { dose: number; compute: number | undefined }[], a: DoseResponseReport): ComputeCost | null {
  if (!points.length || points.some((p) => p.compute === undefined || !Number.isFinite(p.compute))) return null;
  const sd = points.reduce((s, p) => s + p.dose, 0);
  const sc = points.reduce((s, p) => s + p.compute!, 0);
  if (!(sd > 0) || !(sc > 0)) return null;
  const r = sc / sd;
  const brk = a.modelFree.leastBreakingDose;
  const at = brk === null ? undefined : points.find((p) => p.dose === brk);
  return { perStrength: r, jobs: points.length, estimate: a.costToBreak.estimate * r, ci: { lo: a.costToBreak.ci.lo * r, hi: a.costToBreak.ci.hi * r }, observedBreak: brk === null ? null : brk === 0 ? 0 : (at?.compute ?? brk * r) };
}

function worstCases(grid: TamperHeader['grid'], curves: TamperCurve[]): WorstCase[] {
  const out: WorstCase[] = [];
  // Curves are built evaluation by evaluation, one per attack.
  const A = grid.attacks.length;
  for (const [i, ev] of grid.evaluations.entries()) {
    const all = curves.slice(i * A, (i + 1) * A);
    const cs = all.filter((c) => c.analysis);
    const suite = cs[0]?.suite ?? all[0]?.suite ?? '(base not evaluated)';
    const mins = (pick: (c: TamperCurve) => ComputeCost | null | undefined) => {
      let best: { estimate: number; ci: { lo: number; hi: number }; attack: string } | null = null;
      for (const c of cs) {
        const x = pick(c);
        if (!x) continue;
        if (!best) best = { estimate: x.estimate, ci: { ...x.ci }, attack: c.attack };
        else {
          if (x.estimate < best.estimate) {
            best.estimate = x.estimate;
            best.attack = c.attack;
          }
          best.ci = { lo: Math.min(best.ci.lo, x.ci.lo), hi: Math.min(best.ci.hi, x.ci.hi) };
        }
      }
      return best;
    };
    let weakest: TamperCurve | null = null;
    for (const c of cs) if (!weakest || c.analysis!.costToBreak.estimate < weakest.analysis!.costToBreak.estimate) weakest = c;
    let observed: WorstCase['observedBreak'] = null;
    for (const c of cs) {
      const d = c.analysis!.modelFree.leastBreakingDose;
      if (d !== null && (!observed || d < observed.dose)) observed = { dose: d, attack: c.attack };
    }
    const maxTested = Math.max(0, ...cs.flatMap((c) => c.analysis!.doses));
    const cost = weakest
      ? (() => {
          const lo = Math.min(...cs.map((c) => c.analysis!.costToBreak.ci.lo));
          const hi = Math.min(...cs.map((c) => c.analysis!.costToBreak.ci.hi));
          const est = weakest.analysis!.costToBreak.estimate;
          return { estimate: est, ci: { lo, hi }, beyondTested: !(Math.max(est, hi) <= maxTested) };
        })()
      : null;
    out.push({
      suite, metric: ev.metric, threshold: ev.threshold, strength: grid.strength,
      attacks: cs.map((c) => c.attack), incomplete: all.filter((c) => !cs.includes(c)).map((c) => c.attack),
      weakest: weakest?.attack ?? null, costToBreak: cost, observedBreak: observed,
      price: mins((c) => c.compute?.price), gpuHours: mins((c) => c.compute?.gpuHours),
    });
  }
  return out;
}

export function buildTamperReport(records: readonly TamperRecord[], o: { resamples?: number; seed?: number; version?: TamperReportVersion } = {}): TamperReport {
  const version = o.version ?? 2;
  const header = records[0] as TamperHeader | undefined;
  if (!header || header.type !== 'header') throw new AssayError('TAMPER_LOG', 'the tamper log is empty or has no header');
  const grid = header.grid;
  const jobs = new Map<string, JobRecord>();
  const evals = new Map<string, EvalRecord>();
  let stop: TamperReport['stop'] = null;
  for (const r of records) {
    if (r.type === 'job') jobs.set(r.key, r);
    if (r.type === 'eval') evals.set(`${r.key}\0${r.suite}`, r);
    if (r.type === 'stop') stop = { reason: r.reason, detail: r.detail };
  }
  const curves: TamperCurve[] = [];
  const price = grid.budget.price_per_1k_trained_tokens;
  for (const ev of grid.evaluations) {
    const base = [...evals.values()].find((e) => e.key === 'base' && e.metric === ev.metric);
    for (const a of grid.attacks) {
      const suiteId = base?.suite;
      const cells = [...a.examples].sort((x, y) => x - y).map((n) => `${a.id}@${n}`);
      const have: { dose: number; e: EvalRecord; j: JobRecord }[] = [];
      const missing: TamperCurve['missing'] = [];
      let trainedTokens = 0;
      for (const key of cells) {
        const j = jobs.get(key);
        trainedTokens += j?.trainedTokens ?? 0;
        const e = suiteId ? evals.get(`${key}\0${suiteId}`) : undefined;
        if (!j || !e) {
          missing.push({ key, state: j?.state ?? 'not run', ...(j?.error ? { error: j.error } : {}) });
          continue;
        }
        const dose = grid.strength === 'examples' ? j.examples : grid.strength === 'steps' ? j.steps : (j.trainedTokens ?? NaN);
        have.push({ dose, e, j });
      }
      const curve: TamperCurve = { attack: a.id, kind: a.kind, method: a.method, suite: suiteId ?? '(base not evaluated)', metric: ev.metric, strength: grid.strength, missing, analysis: null, cost: { trainedTokens, price: (trainedTokens / 1000) * price } };
      if (version >= 2) {
        curve.settings = { learningRate: a.learning_rate ?? null, learningRateMultiplier: a.learning_rate_multiplier, epochs: a.epochs, batchSize: a.batch_size, data: a.data === 'placeholder' ? 'placeholder' : 'file' };
        curve.suiteDigest = base?.suiteDigest ?? null;
      }
      if (!base || have.length < 2) {
        curve.note = !base ? 'the base model was not evaluated' : 'fewer than two attack strengths have results: no curve is fitted';
        curves.push(curve);
        continue;
      }
      const columns = [{ dose: 0, e: base }, ...have];
      const ids = Object.keys(base.items);
      const rows = ids.map((id) => ({ outcomes: columns.map((c) => (id in c.e.items ? c.e.items[id]! : null)) }));
      curve.analysis = analyseDoseResponse(rows, columns.map((c) => c.dose), ev.threshold, { resamples: o.resamples ?? 1000, seed: o.seed ?? grid.seed });
      if (version >= 2)
        curve.compute = {
          price: price > 0 ? computeAxis(have.map((h) => ({ dose: h.dose, compute: h.j.trainedTokens === undefined ? undefined : (h.j.trainedTokens / 1000) * price })), curve.analysis) : null,
          gpuHours: computeAxis(have.map((h) => ({ dose: h.dose, compute: h.j.gpuHours })), curve.analysis),
        };
      curves.push(curve);
    }
  }
  if (version === 1) return { schema: TAMPER_REPORT_SCHEMA, grid: grid.id, gridDigest: header.gridDigest, baseModel: grid.base_model, stop, curves };
  return { schema: TAMPER_REPORT_SCHEMA_V2, grid: grid.id, gridDigest: header.gridDigest, baseModel: grid.base_model, simulated: header.simulated ?? null, stop, curves, worstCase: worstCases(grid, curves) };
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const fd = (x: number) => (x === Infinity ? '∞' : !Number.isFinite(x) ? 'n/a' : Number.isInteger(x) || x >= 100 ? x.toFixed(0) : x.toFixed(1));

const fc = (x: number) => (x === Infinity ? '∞' : !Number.isFinite(x) ? 'n/a' : Number(x.toPrecision(4)).toString());

export function formatTamperReport(r: TamperReport): string {
  const out: string[] = [`tamper report for grid ${r.grid} (${r.gridDigest}), base model ${r.baseModel}`];
  if (r.stop && r.stop.reason !== 'complete') out.push(`grid stopped: ${r.stop.reason} — ${r.stop.detail}`);
  for (const c of r.curves) {
    out.push('', `${c.attack} (${c.kind}, ${c.method}) — ${c.metric} on ${c.suite}, strength = ${c.strength}`);
    for (const m of c.missing) out.push(`  missing ${m.key}: ${m.state}${m.error ? ` (${m.error})` : ''}`);
    if (!c.analysis) {
      out.push(`  ${c.note}`);
      continue;
    }
    const a = c.analysis;
    out.push(`  ${'strength'.padStart(10)}  ${'rate'.padStart(6)}  ${'95% CI'.padEnd(15)}  ${'paired Δ vs base'.padStart(16)}`);
    for (const p of a.perDose) out.push(`  ${fd(p.dose).padStart(10)}  ${f3(p.rate).padStart(6)}  [${f3(p.ci.lo)}, ${f3(p.ci.hi)}]  ${(p.pairedDiff === null ? '' : (p.pairedDiff >= 0 ? '+' : '') + p.pairedDiff.toFixed(3)).padStart(16)}`);
    out.push(`  fit: rate = ${f3(a.fit.p0)} · exp(−λ · strength), λ = ${a.fit.lambda.toExponential(3)} [${a.lambdaCi.lo.toExponential(3)}, ${a.lambdaCi.hi.toExponential(3)}]${a.fit.converged ? '' : ' (fit did not converge)'}`);
    const cb = a.costToBreak;
    out.push(`  cost to break (${c.metric} < ${a.threshold}): ${fd(cb.estimate)} ${c.strength} [${fd(cb.ci.lo)}, ${fd(cb.ci.hi)}] (${Math.round(a.level * 100)}% item bootstrap, ${cb.resamples} resamples${cb.nonDecaying ? `, ${cb.nonDecaying} without decay` : ''})${cb.beyondTested ? ` — beyond the strongest tested attack (${fd(Math.max(...a.doses))}): an extrapolation, test stronger attacks to observe it` : ''}`);
    out.push(`  model-free: least tested strength with the rate's upper bound below ${a.threshold}: ${a.modelFree.leastBreakingDose === null ? 'none tested' : fd(a.modelFree.leastBreakingDose)}`);
    out.push(`  training: ~${c.cost.trainedTokens} trained tokens${c.cost.price ? `, price ${c.cost.price.toFixed(4)}` : ''}`);
    for (const [axis, x] of [['price', c.compute?.price], ['GPU-hours', c.compute?.gpuHours]] as const)
      if (x) out.push(`  cost to break in ${axis}: ${fc(x.estimate)} [${fc(x.ci.lo)}, ${fc(x.ci.hi)}] (${fc(x.perStrength)} per unit of ${c.strength}, from ${x.jobs} jobs)${x.observedBreak !== null ? `; observed break at ${fc(x.observedBreak)}` : ''}`);
  }
  for (const w of r.worstCase ?? []) {
    out.push('', `worst case over attacks — ${w.metric} on ${w.suite} (< ${w.threshold}):`);
    if (!w.costToBreak) out.push('  no attack could be analysed');
    else {
      out.push(`  cost to break: ${fd(w.costToBreak.estimate)} ${w.strength} [${fd(w.costToBreak.ci.lo)}, ${fd(w.costToBreak.ci.hi)}] (least over ${w.attacks.length} attack${w.attacks.length === 1 ? '' : 's'}; weakest: ${w.weakest}; the interval is [least lower, least upper] bound)${w.costToBreak.beyondTested ? ' — beyond the strongest tested attack: an extrapolation' : ''}`);
      out.push(`  observed break: ${w.observedBreak ? `${fd(w.observedBreak.dose)} ${w.strength} (${w.observedBreak.attack})` : 'none tested'}`);
      if (w.price) out.push(`  cheapest break in price: ${fc(w.price.estimate)} [${fc(w.price.ci.lo)}, ${fc(w.price.ci.hi)}] (${w.price.attack})`);
      if (w.gpuHours) out.push(`  cheapest break in GPU-hours: ${fc(w.gpuHours.estimate)} [${fc(w.gpuHours.ci.lo)}, ${fc(w.gpuHours.ci.hi)}] (${w.gpuHours.attack})`);
    }
    if (w.incomplete.length) out.push(`  not included (no fitted curve): ${w.incomplete.join(', ')}`);
  }
  return out.join('\n') + '\n';
}

/** JSON for the report: Infinity (no decay to the threshold) is written as the string "Infinity". */
export const tamperReportJson = (r: TamperReport) => JSON.stringify(r, (_k, v) => (v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v), 2) + '\n';
