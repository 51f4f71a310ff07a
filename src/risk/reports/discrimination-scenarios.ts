/**
 * Scenario-level discrimination analysis (issue 30): the pooled score averages a bias confined to a
 * few scenarios away (−2.0 in 3 of 12 scenarios reads as −0.47), and opposite-signed biases cancel.
 * So, per fill type, factor and group:
 *
 * - a scenario × group table: in each scenario the group's prompts are paired with the baseline
 *   group's prompts that share every other attribute (race contrasts pair on age × gender, gender
 *   contrasts on age × race), so the scenario's base rate and the other factors cancel inside each
 *   pair. The per-scenario estimate is the mean paired difference, with a paired t interval
 *   (n − 1 df, n = complete pairs in the scenario);
 * - a heterogeneity (group × scenario interaction) test: one-way ANOVA of the paired differences on
 *   scenario, F on (S − 1, N − S) df. Under normal errors this is the likelihood-ratio test of the
 *   interaction model against a common offset; it needs no per-scenario variance to be positive,
 *   unlike Cochran's Q (which is also reported where every scenario has a positive variance);
 * - multiplicity control: Holm over all per-scenario tests of a fill type, and Holm over the
 *   heterogeneity tests of a fill type.
 *
 * Pure functions of the items; the report (discrimination.ts) feeds them.
 */
import { incompleteBeta, tFor, tTwoSidedP, gammaQ } from '../../stats/dist.js';
import { holm } from '../../stats/estimate.js';
import type { Interval } from '../../stats/estimate.js';

/** One prompt: its decision (logit scale) and the design attributes it was filled with. */
export interface ScenarioItem {
  y: number;
  scenario: string;
  race: string;
  gender: string;
  age: number;
  fill: string;
}

export type PairFactor = 'race' | 'gender';

export interface ScenarioCell {
  scenario: string;
  /** Complete pairs (both the group's and the baseline's prompt present and decided). */
  pairs: number;
  /** Mean paired difference group − baseline (logit scale); NaN with no pairs. */
  diff: number;
  se: number;
  ci: Interval;
  p: number;
  /** Holm-adjusted over every per-scenario test of the fill type. */
  pHolm: number;
}

export interface Heterogeneity {
  fillType: string;
  factor: PairFactor;
  group: string;
  baseline: string;
  scenarios: number;
  /** Mean of the per-scenario differences (each scenario weighted by its pairs). */
  pooled: number;
  F: number;
  df1: number;
  df2: number;
  p: number;
  pHolm: number;
  /** Cochran's Q with inverse-variance weights, when every scenario has a positive variance. */
  cochranQ: number | null;
  cochranP: number | null;
  /** I² = max(0, (Q − df)/Q), when Q is defined. */
  i2: number | null;
  cells: ScenarioCell[];
}

const TOL = 1e-9;

/** P(F > f) for the F distribution with (d1, d2) degrees of freedom. */
export function fUpperP(f: number, d1: number, d2: number): number {
  if (Number.isNaN(f) || !(d1 > 0) || !(d2 > 0)) return NaN;
  if (f === Infinity) return 0;
  if (f <= 0) return 1;
  return incompleteBeta(d2 / (d2 + d1 * f), d2 / 2, d1 / 2);
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Paired differences per scenario for one group against the baseline. */
export function pairedDifferences(items: readonly ScenarioItem[], factor: PairFactor, group: string, baseline: string): Map<string, number[]> {
  const key = (i: ScenarioItem) => (factor === 'race' ? `${i.scenario}\0${i.age}\0${i.gender}` : `${i.scenario}\0${i.age}\0${i.race}`);
  const g = new Map<string, number[]>();
  const b = new Map<string, number[]>();
  for (const it of items) {
    const lvl = factor === 'race' ? it.race : it.gender;
    const m = lvl === group ? g : lvl === baseline ? b : null;
    if (!m) continue;
    const k = key(it);
    (m.get(k) ?? m.set(k, []).get(k)!).push(it.y);
  }
  const out = new Map<string, number[]>();
  for (const [k, ys] of g) {
    const bs = b.get(k);
    if (!bs?.length) continue;
    const scen = k.slice(0, k.indexOf('\0'));
    (out.get(scen) ?? out.set(scen, []).get(scen)!).push(mean(ys) - mean(bs));
  }
  return out;
}

/** Per-scenario paired t estimate (p and pHolm filled later). */
function scenarioCell(scenario: string, ds: readonly number[], level: number): ScenarioCell {
  const n = ds.length;
  const d = n ? mean(ds) : NaN;
  const v = n > 1 ? ds.reduce((a, x) => a + (x - d) ** 2, 0) / (n - 1) : NaN;
  const se = Math.sqrt(v / n);
  const scale = Math.max(1, ...ds.map(Math.abs));
  const diff = Math.abs(d) <= TOL * scale ? 0 : d;
  let p: number;
  let ci: Interval;
  if (n < 2) (p = NaN), (ci = { lo: NaN, hi: NaN });
  else if (se <= TOL * scale) (p = diff === 0 ? 1 : 0), (ci = { lo: diff, hi: diff });
  else {
    const q = tFor(level, n - 1);
    p = tTwoSidedP(diff / se, n - 1);
    ci = { lo: diff - q * se, hi: diff + q * se };
  }
  return { scenario, pairs: n, diff, se: se <= TOL * scale ? 0 : se, ci, p, pHolm: NaN };
}

/** One group's heterogeneity test and per-scenario cells (Holm fields filled by scenarioAnalysis). */
export function heterogeneity(items: readonly ScenarioItem[], fillType: string, factor: PairFactor, group: string, baseline: string, level = 0.95): Heterogeneity | null {
  const by = pairedDifferences(items, factor, group, baseline);
  if (!by.size) return null;
  const scen = [...by.keys()].sort();
  const cells = scen.map((s) => scenarioCell(s, by.get(s)!, level));
  const all = scen.flatMap((s) => by.get(s)!);
  const N = all.length;
  const S = scen.length;
  const grand = mean(all);
  let ssb = 0;
  let ssw = 0;
  for (const s of scen) {
    const ds = by.get(s)!;
    const m = mean(ds);
    ssb += ds.length * (m - grand) ** 2;
    for (const x of ds) ssw += (x - m) ** 2;
  }
  const scale = Math.max(1, ...all.map((x) => x * x));
  const df1 = S - 1;
  const df2 = N - S;
  let F: number;
  let p: number;
  if (df1 < 1 || df2 < 1) (F = NaN), (p = NaN);
  else if (ssb <= TOL * scale * N) (F = 0), (p = 1);
  else if (ssw <= TOL * scale * N) (F = Infinity), (p = 0);
  else {
    F = ssb / df1 / (ssw / df2);
    p = fUpperP(F, df1, df2);
  }
  // Cochran's Q needs a positive variance in every scenario.
  let cochranQ: number | null = null;
  let cochranP: number | null = null;
  let i2: number | null = null;
  if (S > 1 && cells.every((c) => c.pairs > 1 && c.se > 0)) {
    const w = cells.map((c) => 1 / c.se ** 2);
    const sw = w.reduce((a, b) => a + b, 0);
    const dw = cells.reduce((a, c, i) => a + w[i]! * c.diff, 0) / sw;
    cochranQ = cells.reduce((a, c, i) => a + w[i]! * (c.diff - dw) ** 2, 0);
    cochranP = gammaQ(df1 / 2, cochranQ / 2);
    i2 = cochranQ > 0 ? Math.max(0, (cochranQ - df1) / cochranQ) : 0;
  }
  return { fillType, factor, group, baseline, scenarios: S, pooled: Math.abs(grand) <= TOL * Math.sqrt(scale) ? 0 : grand, F, df1, df2, p, pHolm: NaN, cochranQ, cochranP, i2, cells };
}

/** Every group of both factors in every fill type, with Holm within each fill type (one family for cells, one for heterogeneity). */
export function scenarioAnalysis(items: readonly ScenarioItem[], factors: { factor: PairFactor; levels: readonly string[]; baseline: string }[], level = 0.95): Heterogeneity[] {
  const out: Heterogeneity[] = [];
  for (const fill of [...new Set(items.map((i) => i.fill))].sort()) {
    const its = items.filter((i) => i.fill === fill);
    const hs: Heterogeneity[] = [];
    for (const f of factors)
      for (const g of f.levels) {
        if (g === f.baseline) continue;
        const h = heterogeneity(its, fill, f.factor, g, f.baseline, level);
        if (h) hs.push(h);
      }
    const hp = holm(hs.map((h) => h.p));
    hs.forEach((h, i) => (h.pHolm = hp[i]!));
    const cells = hs.flatMap((h) => h.cells);
    const cp = holm(cells.map((c) => c.p));
    cells.forEach((c, i) => (c.pHolm = cp[i]!));
    out.push(...hs);
  }
  return out;
}
