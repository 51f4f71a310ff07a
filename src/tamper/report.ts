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
}

export interface TamperReport {
  schema: typeof TAMPER_REPORT_SCHEMA;
  grid: string;
  gridDigest: string;
  baseModel: string;
  stop: { reason: string; detail: string } | null;
  curves: TamperCurve[];
}

export function buildTamperReport(records: readonly TamperRecord[], o: { resamples?: number; seed?: number } = {}): TamperReport {
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
      const have: { dose: number; e: EvalRecord }[] = [];
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
        have.push({ dose, e });
      }
      const curve: TamperCurve = { attack: a.id, kind: a.kind, method: a.method, suite: suiteId ?? '(base not evaluated)', metric: ev.metric, strength: grid.strength, missing, analysis: null, cost: { trainedTokens, price: (trainedTokens / 1000) * price } };
      if (!base || have.length < 2) {
        curve.note = !base ? 'the base model was not evaluated' : 'fewer than two attack strengths have results: no curve is fitted';
        curves.push(curve);
        continue;
      }
      const columns = [{ dose: 0, e: base }, ...have];
      const ids = Object.keys(base.items);
      const rows = ids.map((id) => ({ outcomes: columns.map((c) => (id in c.e.items ? c.e.items[id]! : null)) }));
      curve.analysis = analyseDoseResponse(rows, columns.map((c) => c.dose), ev.threshold, { resamples: o.resamples ?? 1000, seed: o.seed ?? grid.seed });
      curves.push(curve);
    }
  }
  return { schema: TAMPER_REPORT_SCHEMA, grid: grid.id, gridDigest: header.gridDigest, baseModel: grid.base_model, stop, curves };
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const fd = (x: number) => (x === Infinity ? '∞' : !Number.isFinite(x) ? 'n/a' : Number.isInteger(x) || x >= 100 ? x.toFixed(0) : x.toFixed(1));

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
  }
  return out.join('\n') + '\n';
}

/** JSON for the report: Infinity (no decay to the threshold) is written as the string "Infinity". */
export const tamperReportJson = (r: TamperReport) => JSON.stringify(r, (_k, v) => (v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v), 2) + '\n';
