import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { AssayError } from '../src/common/errors.js';
import { bootstrap, bootstrapMean, meanOf, quantileSorted } from '../src/stats/bootstrap.js';
import { pairedComparison } from '../src/stats/compare.js';
import { incompleteBeta, lnGamma, normalCdf, normalQuantile, normalTwoSidedP, tCdf, tFor, tQuantile, tTwoSidedP, zFor } from '../src/stats/dist.js';
import { epochsAnalysis } from '../src/stats/epochs.js';
import { clopperPearsonUpper, clusteredSe, correlation, designEffect, holm, meanEstimate, wilson, zeroEventUpperBound } from '../src/stats/estimate.js';
import { formatComparison, formatRunPlan, formatRunStats } from '../src/stats/format.js';
import { compareRuns, planFromStats, statsForRun } from '../src/stats/from-log.js';
import { groupedEstimates } from '../src/stats/groups.js';
import { minDetectableEffect, sampleSizeFor } from '../src/stats/power.js';
import { Prng } from '../src/stats/prng.js';
import { header, writeLog, type Rec } from './stats-fixture.js';
import { tmp } from './helpers.js';

const near = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

// ---------- distributions ----------

test('normal CDF and quantile match tabulated values', () => {
  assert.equal(normalCdf(0), 0.5);
  near(normalCdf(1), 0.841344746068543, 1e-14);
  near(normalCdf(1.96), 0.975002104851780, 1e-14);
  near(normalCdf(-3), 0.00134989803163009, 1e-16);
  near(normalCdf(-10) / 7.61985302416047e-24, 1, 1e-10, 'far tail, relative');
  near(zFor(0.95), 1.95996398454005, 1e-12);
  near(zFor(0.99), 2.57582930354890, 1e-12);
  near(normalQuantile(0.8), 0.841621233572914, 1e-12);
  near(normalQuantile(0.999), 3.09023230616781, 1e-11);
  near(normalQuantile(1e-6), -4.75342430882290, 1e-10);
  near(normalTwoSidedP(1.95996398454005), 0.05, 1e-13);
  assert.equal(normalQuantile(0), -Infinity);
});

test('Student t CDF and quantile match tabulated values; t → normal as df grows', () => {
  near(tFor(0.95, 1), 12.70620474, 1e-6);
  near(tFor(0.95, 5), 2.570581836, 1e-8);
  near(tFor(0.95, 10), 2.228138852, 1e-8);
  near(tFor(0.95, 30), 2.042272456, 1e-8);
  near(tFor(0.99, 2), 9.924843201, 1e-6);
  near(tCdf(2, 3), 0.9303370157, 1e-9);
  near(tCdf(0, 7), 0.5, 1e-12);
  near(tCdf(-2, 3), 1 - 0.9303370157, 1e-9);
  near(tTwoSidedP(2.228138852, 10), 0.05, 1e-8);
  near(tFor(0.95, 1e7), 1.959963985, 1e-5);
  for (const df of [1, 2.5, 4, 17, 120]) for (const p of [0.6, 0.9, 0.995]) near(tCdf(tQuantile(p, df), df), p, 1e-10, `df ${df} p ${p}`);
});

test('incomplete beta and ln Γ against closed forms', () => {
  near(lnGamma(5), Math.log(24), 1e-12);
  near(lnGamma(0.5), 0.5 * Math.log(Math.PI), 1e-12);
  // I_x(1, b) = 1 − (1 − x)^b; I_x(a, 1) = x^a; I_0.3(2, 3) = 0.3483.
  near(incompleteBeta(0.2, 1, 4), 1 - 0.8 ** 4, 1e-12);
  near(incompleteBeta(0.7, 3, 1), 0.7 ** 3, 1e-12);
  near(incompleteBeta(0.3, 2, 3), 0.3483, 1e-12);
  near(incompleteBeta(0.5, 40, 40), 0.5, 1e-12);
});

// ---------- estimates ----------

test('mean, CLT SE and CI: hand-computed (Miller R1)', () => {
  const e = meanEstimate([1, 0, 1, 1]);
  assert.equal(e.mean, 0.75);
  near(e.variance, 0.25, 1e-15); // (3·0.0625 + 0.5625) / 3
  near(e.se, 0.25, 1e-15);
  near(e.ci.lo, 0.75 - 1.959963985 * 0.25, 1e-7);
  near(e.ci.hi, 0.75 + 1.959963985 * 0.25, 1e-7);
  const c = meanEstimate([2, 4, 9], 0.9);
  near(c.se, Math.sqrt(13 / 3), 1e-12); // var = (4+4+16... ) → ((2−5)²+(4−5)²+(9−5)²)/2 = 13
  near(c.ci.hi - c.mean, 1.644853627 * Math.sqrt(13 / 3), 1e-6);
  assert.ok(Number.isNaN(meanEstimate([1]).se), 'one sample: no SE');
});

test('Wilson interval: hand-computed 8/10, stays in [0, 1], and is asymmetric near 0', () => {
  const w = wilson(8, 10);
  near(w.lo, 0.49016, 1e-5);
  near(w.hi, 0.94332, 1e-5);
  const z = wilson(0, 50);
  assert.equal(z.lo, 0);
  near(z.hi, 0.071348, 1e-5); // z²/(n + z²) at p̂ = 0
  assert.ok(wilson(50, 50).hi === 1);
});

test('zero-failure bound: exact Clopper–Pearson, ≈ 3/n (rule of three)', () => {
  near(zeroEventUpperBound(100), 0.0295130, 1e-7);
  for (const n of [30, 100, 1000, 10000]) {
    const ub = zeroEventUpperBound(n);
    assert.ok(ub < 3 / n && ub > 3 / n / 1.06, `n=${n}: ${ub} vs 3/n=${3 / n}`);
    near(clopperPearsonUpper(0, n), ub, 1e-12, `CP n=${n}`);
  }
  // One-sided exact bound for 1 event in 10: binomial P(X ≤ 1 | p) = 0.05 at p ≈ 0.3942.
  const p = clopperPearsonUpper(1, 10);
  near((1 - p) ** 10 + 10 * p * (1 - p) ** 9, 0.05, 1e-10);
  near(p, 0.3942, 1e-4);
});

test('clustered SE: hand-computed two clusters (Miller R2)', () => {
  // d = ±0.5; SE² = (1/3)/4 = 1/12; cross-products 0.5 + 0.5 over n² = 16.
  near(clusteredSe([1, 1, 0, 0], ['a', 'a', 'b', 'b']), Math.sqrt(1 / 12 + 1 / 16), 1e-12);
  // Perfectly anti-correlated clusters shrink it.
  assert.ok(clusteredSe([1, 0, 1, 0], ['a', 'a', 'b', 'b']) < meanEstimate([1, 0, 1, 0]).se);
});

test('clustered SE equals the plain SE exactly when every cluster has one sample', () => {
  const rng = new Prng(7);
  for (let t = 0; t < 200; t++) {
    const n = 2 + rng.int(60);
    const xs = Array.from({ length: n }, () => (t % 2 ? rng.int(2) : rng.normal() * 3 + 1));
    const cl = xs.map((_, i) => `c${i}`);
    assert.equal(clusteredSe(xs, cl), meanEstimate(xs).se);
  }
});

test('property: clustered SE grows with within-cluster correlation (seeded random data)', () => {
  const rng = new Prng(2024);
  const iccs = [0, 0.2, 0.5, 0.8];
  const clusters = 40;
  const m = 5;
  const ratios = iccs.map(() => 0);
  const reps = 200;
  for (let r = 0; r < reps; r++) {
    // Same underlying draws at every ICC: x = sqrt(icc)·u_c + sqrt(1 − icc)·e_i.
    const u = Array.from({ length: clusters }, () => rng.normal());
    const e = Array.from({ length: clusters * m }, () => rng.normal());
    const cl = e.map((_, i) => `c${Math.floor(i / m)}`);
    iccs.forEach((icc, k) => {
      const xs = e.map((ei, i) => Math.sqrt(icc) * u[Math.floor(i / m)]! + Math.sqrt(1 - icc) * ei);
      const ratio = clusteredSe(xs, cl) / meanEstimate(xs).se;
      ratios[k]! += ratio / reps;
      // Identical members (perfect correlation) can never shrink the SE.
      if (icc === 0.8) {
        const copies = cl.map((c) => u[Number(c.slice(1))]!);
        assert.ok(clusteredSe(copies, cl) >= meanEstimate(copies).se);
      }
    });
  }
  near(ratios[0]!, 1, 0.05, 'no correlation → ratio ≈ 1');
  for (let k = 1; k < iccs.length; k++) assert.ok(ratios[k]! > ratios[k - 1]!, `ICC ${iccs[k]}: ${ratios[k]} > ${ratios[k - 1]}`);
  // Design-effect view: deff ≈ 1 + (m − 1)·ICC (= 4.2 at ICC 0.8), ratio ≈ sqrt(deff) (less a small-sample shortfall).
  near(ratios[3]!, Math.sqrt(1 + (m - 1) * 0.8), 0.25, 'ratio vs sqrt(deff)');
});

test('design effect: deff, effective n, implied ICC', () => {
  const d = designEffect([1, 1, 0, 0], ['a', 'a', 'b', 'b']);
  assert.equal(d.clusters, 2);
  assert.equal(d.meanClusterSize, 2);
  near(d.deff, (1 / 12 + 1 / 16) / (1 / 12), 1e-12);
  near(d.effectiveN, 4 / d.deff, 1e-12);
  near(d.icc!, d.deff - 1, 1e-12);
  assert.equal(designEffect([1, 0, 1], ['a', 'b', 'c']).icc, null);
});

// ---------- epochs (R3) ----------

test('epochs: within-sample variance and predicted SE for more epochs (hand-computed)', () => {
  // Samples with 2 epochs: [1,0], [1,1], [0,0], [1,0].
  const s = [[1, 0], [1, 1], [0, 0], [1, 0]].map((v) => ({ sum: v[0]! + v[1]!, sumsq: v[0]! ** 2 + v[1]! ** 2, k: 2 }));
  const e = epochsAnalysis(s)!;
  near(e.epochs, 2, 1e-12);
  near(e.withinVariance, 0.25, 1e-12); // (0.5 + 0 + 0 + 0.5) / 4
  near(e.betweenVariance, 1 / 6 - 0.25 / 2, 1e-12); // Var(means) − E[σ²]/K
  near(e.se, meanEstimate([0.5, 1, 0, 0.5]).se, 1e-12); // as-is SE is the plain SE of sample means
  const k4 = e.plan.find((p) => p.epochs === 4)!;
  near(k4.se, Math.sqrt((1 / 24 + 0.25 / 4) / 4), 1e-12);
  near(k4.reduction, 1 - k4.se / e.se, 1e-12);
  near(e.seFloor, Math.sqrt(1 / 24 / 4), 1e-12);
  assert.equal(epochsAnalysis([{ sum: 1, sumsq: 1, k: 1 }, { sum: 0, sumsq: 0, k: 1 }]), null, 'no repeats: σ² unidentifiable');
});

// ---------- bootstrap ----------

test('bootstrap: reproducible for a seed, different across seeds, close to the CLT interval for a mean', () => {
  const rng = new Prng(1);
  const xs = Array.from({ length: 400 }, () => rng.int(2));
  const a = bootstrap(xs, meanOf, { seed: 42, resamples: 2000 });
  const b = bootstrap(xs, meanOf, { seed: 42, resamples: 2000 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(bootstrap(xs, meanOf, { seed: 43, resamples: 2000 }).ci, a.ci);
  const clt = meanEstimate(xs);
  assert.equal(a.method, 'percentile');
  assert.equal(a.estimate, clt.mean);
  near(a.se, clt.se, clt.se * 0.1, 'bootstrap SE vs CLT');
  near(a.ci.lo, clt.ci.lo, 0.01);
  near(a.ci.hi, clt.ci.hi, 0.01);
});

test('bootstrapMean draws the same replicates as bootstrap(values, meanOf) for the same seed', () => {
  const rng = new Prng(8);
  const bin = Array.from({ length: 150 }, () => rng.int(2));
  const cont = Array.from({ length: 150 }, () => rng.normal());
  const cl = bin.map((_, i) => `k${i % 13}`);
  // Integer-valued scores: identical (sums are exact whatever the order).
  assert.deepEqual(bootstrapMean(bin, { seed: 3, resamples: 500 }), bootstrap(bin, meanOf, { seed: 3, resamples: 500 }));
  assert.deepEqual(bootstrapMean(bin, { seed: 3, resamples: 500, clusters: cl }), bootstrap(bin, meanOf, { seed: 3, resamples: 500, clusters: cl }));
  // Continuous: equal up to summation order.
  const f = bootstrapMean(cont, { seed: 3, resamples: 500, clusters: cl });
  const g = bootstrap(cont, meanOf, { seed: 3, resamples: 500, clusters: cl });
  near(f.ci.lo, g.ci.lo, 1e-12);
  near(f.ci.hi, g.ci.hi, 1e-12);
});

test('bootstrap of a ratio statistic, cluster bootstrap, and non-finite replicates', () => {
  const rng = new Prng(5);
  // A bias-style ratio: biased answers / answers that took a side.
  const rows = Array.from({ length: 300 }, () => ({ biased: rng.next() < 0.3 ? 1 : 0, sided: rng.next() < 0.6 ? 1 : 0 }));
  const ratio = (s: readonly { biased: number; sided: number }[]) => {
    let num = 0;
    let den = 0;
    for (const r of s) (num += r.biased * r.sided), (den += r.sided);
    return num / den;
  };
  const r = bootstrap(rows, ratio, { seed: 9, resamples: 1000 });
  assert.ok(r.ci.lo < r.estimate && r.estimate < r.ci.hi);
  assert.equal(r.invalid, 0);
  const clusters = rows.map((_, i) => `t${i % 30}`);
  const c = bootstrap(rows, ratio, { seed: 9, resamples: 1000, clusters });
  assert.equal(c.method, 'cluster-percentile');
  assert.deepEqual(c, bootstrap(rows, ratio, { seed: 9, resamples: 1000, clusters }));
  // 0/0 replicates are counted and dropped, not averaged in.
  const few = [{ biased: 1, sided: 1 }, { biased: 0, sided: 0 }];
  const f = bootstrap(few, ratio, { seed: 1, resamples: 500 });
  assert.ok(f.invalid > 0 && f.invalid < 500);
  assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
});

// ---------- groups and Holm ----------

test('Holm–Bonferroni: hand-computed adjusted p-values, monotone in rank, capped at 1', () => {
  const adj = holm([0.01, 0.04, 0.03, 0.005]);
  // sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.06
  [0.03, 0.06, 0.06, 0.02].forEach((v, i) => near(adj[i]!, v, 1e-15));
  assert.deepEqual(holm([0.5, 0.9]), [1, 1]);
  const rng = new Prng(3);
  const ps = Array.from({ length: 30 }, () => rng.next() ** 3);
  const h = holm(ps);
  const order = ps.map((p, i) => i).sort((a, b) => ps[a]! - ps[b]!);
  for (let k = 1; k < order.length; k++) assert.ok(h[order[k]!]! >= h[order[k - 1]!]!);
  ps.forEach((p, i) => assert.ok(h[i]! >= p && h[i]! <= 1));
  // Holm rejects at α exactly where the step-down rule does.
  const alpha = 0.05;
  let stop = false;
  order.forEach((i, k) => {
    if (!stop && ps[i]! <= alpha / (ps.length - k)) assert.ok(h[i]! <= alpha);
    else (stop = true), assert.ok(h[i]! > alpha);
  });
});

test('grouped estimates: per-group CI, group vs rest and vs overall share z and p', () => {
  const xs = [1, 1, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0];
  const gs = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'c', 'c', 'c', 'c'];
  const rest = groupedEstimates(xs, gs, { binary: true });
  const all = groupedEstimates(xs, gs, { binary: true, versus: 'overall' });
  assert.deepEqual(rest.groups.map((g) => [g.group, g.n, g.mean]), [['a', 4, 1], ['b', 4, 0.25], ['c', 4, 0.25]]);
  assert.ok(rest.groups[0]!.wilson);
  const ta = rest.tests[0]!;
  near(ta.diff, 1 - 2 / 8, 1e-12);
  near(ta.se, Math.sqrt(0 + meanEstimate([0, 1, 0, 0, 1, 0, 0, 0]).se ** 2), 1e-12);
  rest.tests.forEach((t, i) => {
    near(all.tests[i]!.z, t.z, 1e-12);
    near(all.tests[i]!.pHolm, t.pHolm, 1e-12);
  });
  near(all.tests[0]!.diff, 1 - 6 / 12, 1e-12);
  assert.deepEqual(holm(rest.tests.map((t) => t.p)), rest.tests.map((t) => t.pHolm));
  assert.deepEqual(groupedEstimates([1, 0], ['x', 'x']).tests, [], 'one group: nothing to compare');
});

// ---------- paired comparison (R4) ----------

test('paired comparison: hand-computed, and paired SE < unpaired SE on correlated data', () => {
  const m = (o: Record<string, number>) => new Map(Object.entries(o));
  const c = pairedComparison(m({ q1: 1, q2: 1, q3: 0, q4: 1, q5: 1 }), m({ q1: 0, q2: 1, q3: 0, q4: 0, q9: 1 }));
  assert.equal(c.n, 4);
  assert.equal(c.onlyA, 1);
  assert.equal(c.onlyB, 1);
  near(c.diff, 0.5, 1e-15);
  near(c.se, Math.sqrt(1 / 12), 1e-12); // d = [1,0,0,1]: var 1/3, n 4
  near(c.p, normalTwoSidedP(0.5 / Math.sqrt(1 / 12)), 1e-12);
  near(c.t.p, tTwoSidedP(0.5 / Math.sqrt(1 / 12), 3), 1e-12);

  const rng = new Prng(11);
  const a = new Map<string, number>();
  const b = new Map<string, number>();
  for (let i = 0; i < 1000; i++) {
    const difficulty = rng.next(); // shared per-question difficulty → correlation
    a.set(`q${i}`, rng.next() < difficulty ? 1 : 0);
    b.set(`q${i}`, rng.next() < difficulty - 0.05 ? 1 : 0);
  }
  const r = pairedComparison(a, b);
  assert.ok(r.correlation > 0.2, `ρ = ${r.correlation}`);
  assert.ok(r.se < r.unpairedSe, `${r.se} < ${r.unpairedSe}`);
  // Var(d) = Var(A) + Var(B) − 2Cov: the reduction is what the correlation predicts.
  near(r.varianceReduction, 1 - (r.se / r.unpairedSe) ** 2, 1e-12);
  assert.ok(r.varianceReduction > 0.15);
  assert.ok(r.ci.lo < r.diff && r.diff < r.ci.hi);
  near(correlation([1, 2, 3], [2, 4, 6]), 1, 1e-12);
});

// ---------- power (R5) ----------

test('power: the reference worked example (p = 0.5, α = 0.05, power 0.8, ρ = 0.5, δ = 3 points)', () => {
  const paired = sampleSizeFor({ mde: 0.03, sigma2: 0.25, alpha: 0.05, power: 0.8, paired: true, correlation: 0.5 });
  // Miller's equal-variance form (σ² given). A binary rate given by p uses unequal variances and the
  // Fleiss continuity correction (issue 18): a little more than Miller's figure at p = 0.5.
  const unpaired = sampleSizeFor({ mde: 0.03, sigma2: 0.25, alpha: 0.05, power: 0.8 });
  const byRate = sampleSizeFor({ mde: 0.03, p: 0.5, alpha: 0.05, power: 0.8 }).n;
  assert.ok(byRate >= 4356 && byRate <= 4361 * 1.02, String(byRate));
  near(paired.varianceTerm, 0.25, 1e-15);
  near(unpaired.varianceTerm, 0.5, 1e-15);
  // Within 1% of the reference's 2,178 and 4,356 ...
  near(paired.n, 2178, 2178 * 0.01);
  near(unpaired.n, 4356, 4356 * 0.01);
  // ... and exactly: z = 1.959964 + 0.841621 gives 2180.24 → 2181 and 4360.49 → 4361; the
  // reference rounds the multiplier to (1.96 + 0.84)² = 7.84, which gives 2177.8 → 2178, 4355.6 → 4356.
  assert.equal(paired.n, 2181);
  assert.equal(unpaired.n, 4361);
  assert.equal(Math.ceil((7.84 * 0.25) / 0.03 ** 2), 2178);
  assert.equal(Math.ceil((7.84 * 0.5) / 0.03 ** 2), 4356);
  near(paired.nExact * (7.84 / (paired.zAlpha + paired.zBeta) ** 2), 2177.78, 0.01);
  near(sampleSizeFor({ mde: 0.1, sigma2: 0.25, paired: true, correlation: 0.5 }).n, 196, 196 * 0.01);
});

test('power: MDE inverts the sample size; epochs term; input checks', () => {
  const plan = sampleSizeFor({ mde: 0.05, sigma2: 0.2 });
  near(minDetectableEffect({ n: plan.nExact, sigma2: 0.2 }).mde, 0.05, 1e-12);
  // Residual within-sample variance σ²/K adds to both sides.
  const withEpochs = sampleSizeFor({ mde: 0.05, sigma2: 0.2, withinVariance: 0.1, epochs: 4 });
  near(withEpochs.varianceTerm, 0.4 + 0.05, 1e-12);
  assert.throws(() => sampleSizeFor({ mde: 0.05 }), /sigma2.*or p/);
  assert.throws(() => sampleSizeFor({ mde: 0, p: 0.5 }), /mde/);
  assert.throws(() => minDetectableEffect({ n: 10, p: 0.5, paired: true, correlation: 2 }), /correlation/);
});

// ---------- from the run log ----------

const METRICS = [
  { name: 'accuracy', scorer: 'match', aggregate: 'mean' as const },
  { name: 'by_group', scorer: 'match', aggregate: 'mean' as const, groupBy: 'group' },
];

function fixtureRecords(seed: number, n = 60, epochs = 1): Rec[] {
  const rng = new Prng(seed);
  const out: Rec[] = [];
  for (let i = 0; i < n; i++)
    for (let e = 1; e <= epochs; e++) {
      const id = `s${String(i).padStart(3, '0')}`;
      const meta = { group: ['x', 'y', 'z'][i % 3] };
      if (i === 5 && e === 1) out.push({ id, epoch: e, error: true, cluster: `c${i % 12}`, metadata: meta });
      else if (i === 7) out.push({ id, epoch: e, scores: { match: 'unscored' }, cluster: `c${i % 12}`, metadata: meta });
      else out.push({ id, epoch: e, scores: { match: rng.next() < 0.3 + 0.2 * (i % 3) ? 1 : 0 }, cluster: `c${i % 12}`, metadata: meta });
    }
  return out;
}

test('statsForRun: errored and unscored are excluded and counted, clusters and groups reported', async () => {
  const dir = tmp();
  const recs = fixtureRecords(1);
  const log = writeLog(dir, 'a.jsonl', header({ metrics: METRICS }), recs);
  const s = await statsForRun(log);
  const m = s.metrics[0]!;
  assert.equal(m.counts.errored, 1);
  assert.equal(m.counts.unscored, 1);
  assert.equal(m.counts.scored, 58);
  assert.equal(m.n, 58);
  const values = recs.filter((r) => !r.error && r.scores?.match !== 'unscored').sort((a, b) => (a.id < b.id ? -1 : 1)).map((r) => r.scores!.match as number);
  const e = meanEstimate(values);
  assert.equal(m.mean, e.mean);
  assert.equal(m.se, e.se);
  assert.ok(m.binary && m.wilson);
  assert.deepEqual(m.wilson, wilson(values.reduce((a, b) => a + b, 0), values.length));
  assert.equal(m.clustered!.clusters, 12);
  assert.equal(m.groups, null);
  const g = s.metrics[1]!.groups!;
  assert.equal(g.by, 'group');
  assert.deepEqual(g.groups.map((x) => x.group), ['x', 'y', 'z']);
  assert.equal(g.groups.reduce((a, x) => a + x.n, 0), 58);
  const a = s.analysis[1]!;
  assert.equal(a.groupTests!.tests.length, 3);
  assert.ok(a.groupTests!.tests.every((t) => t.pHolm >= t.p));
  assert.equal(s.analysis[0]!.bootstrap!.method, 'cluster-percentile');
  assert.ok(s.analysis[0]!.designEffect);
  const text = formatRunStats(s);
  // The headline is the honest interval, named (binary, clustered → Korn–Graubard), with exclusions by outcome.
  assert.equal(m.interval.method, 'korn-graubard');
  assert.match(text, /accuracy\s+0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] korn-graubard\s+58\s.*errored 1, unscored 1/);
  assert.match(text, /group=x/);
  assert.match(text, /cr1-t p=/);
});

test('statsForRun: epochs are averaged within a sample first; R3 figures reported', async () => {
  const dir = tmp();
  const log = writeLog(dir, 'e.jsonl', header(), fixtureRecords(2, 40, 3));
  const s = await statsForRun(log);
  const m = s.metrics[0]!;
  assert.equal(m.n, 39, "s007 is unscored in every epoch");
  assert.equal(m.counts.scored, 40 * 3 - 1 - 3);
  assert.equal(m.epochs.max, 3);
  assert.equal(m.binary, false);
  assert.equal(m.wilson, null);
  const e = s.analysis[0]!.epochs!;
  near(e.withinVariance, m.epochs.withinVariance!, 1e-12);
  assert.ok(e.plan.find((p) => p.epochs === 16)!.se < e.se);
  assert.match(formatRunStats(s), /Miller R3/);
});

test('statsForRun is deterministic: same log and seed → byte-identical JSON, whatever the record order', async () => {
  const dir = tmp();
  const recs = fixtureRecords(3, 80, 2);
  const log = writeLog(dir, 'd.jsonl', header({ metrics: METRICS }), recs);
  const j1 = JSON.stringify(await statsForRun(log, { seed: 7 }));
  const j2 = JSON.stringify(await statsForRun(log, { seed: 7 }));
  assert.equal(j1, j2);
  // Completion order differs between runs of the engine; the numbers must not.
  const rng = new Prng(99);
  const shuffled = [...recs];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const log2 = writeLog(dir, 'd2.jsonl', header({ metrics: METRICS }), shuffled);
  assert.equal(JSON.stringify(await statsForRun(log2, { seed: 7 })), j1);
  const other = await statsForRun(log, { seed: 8 });
  assert.notEqual(JSON.stringify(other), j1);
  assert.deepEqual(other.metrics, (await statsForRun(log, { seed: 7 })).metrics, 'the seed only moves the bootstrap');
});

test('statsForRun: a repeated key counts once (first wins), all-pass binary gives the zero-failure bound', async () => {
  const dir = tmp();
  const recs: Rec[] = Array.from({ length: 100 }, (_, i) => ({ id: `p${i}`, scores: { match: 1 } }));
  const log = writeLog(dir, 'z.jsonl', header(), [...recs, { id: 'p0', scores: { match: 0 } }]);
  const s = await statsForRun(log);
  const m = s.metrics[0]!;
  assert.equal(m.n, 100);
  assert.equal(m.mean, 1);
  assert.deepEqual(m.zeroEvent, { absent: 0, upperBound: zeroEventUpperBound(100) });
  assert.equal(m.clustered, null, 'no sample has a cluster');
  assert.match(formatRunStats(s), /upper bound on that rate is 0\.0295/);
});

test('compareRuns: pairs by sample id after epoch-averaging, reports unmatched; planFromStats', async () => {
  const dir = tmp();
  const rng = new Prng(21);
  const A: Rec[] = [];
  const B: Rec[] = [];
  for (let i = 0; i < 300; i++) {
    const d = rng.next();
    const id = `q${i}`;
    if (i < 290) for (const e of [1, 2]) A.push({ id, epoch: e, scores: { match: rng.next() < d ? 1 : 0 }, cluster: `t${i % 30}` });
    if (i >= 5) B.push({ id, scores: { match: rng.next() < d - 0.1 ? 1 : 0 }, cluster: `t${i % 30}` });
  }
  const la = writeLog(dir, 'A.jsonl', header({ runId: 'A', model: 'model-a' }), A);
  const lb = writeLog(dir, 'B.jsonl', header({ runId: 'B', model: 'model-b' }), B);
  const c = await compareRuns(la, lb);
  const m = c.metrics[0]!;
  assert.equal(m.n, 285);
  assert.equal(m.onlyA, 5);
  assert.equal(m.onlyB, 10);
  assert.ok(m.diff > 0);
  assert.ok(m.se < m.unpairedSe);
  assert.ok(m.clustered && m.clustered.clusters === 30);
  assert.equal(c.a.model, 'model-a');
  assert.equal(c.a.samples, 290);
  assert.deepEqual(await compareRuns(la, lb), c);
  assert.match(formatComparison(c), /accuracy .* ± .*\[/);

  const plan = planFromStats(await statsForRun(la), { correlation: 0.5 });
  const pm = plan.metrics[0]!;
  assert.equal(pm.n, 290);
  assert.ok(pm.deff! > 0);
  assert.ok(pm.pairedMde < pm.unpairedMde);
  near(pm.unpairedMde, minDetectableEffect({ n: 290, sigma2: pm.sigma2 }).mde, 1e-12);
  const m0 = (await statsForRun(la)).metrics[0]!;
  near(pm.sigma2, m0.se ** 2 * m0.n * Math.max(1, pm.deff!), 1e-12);
  assert.match(formatRunPlan(plan), /MDE paired/);
});

test('compareRuns refuses different suite digests and runs with no sample in common', async () => {
  const dir = tmp();
  const la = writeLog(dir, 'A.jsonl', header({ runId: 'A' }), [{ id: 'a', scores: { match: 1 } }]);
  const lb = writeLog(dir, 'B.jsonl', header({ runId: 'B', digest: 'sha256:' + 'cd'.repeat(32) }), [{ id: 'a', scores: { match: 0 } }]);
  await assert.rejects(compareRuns(la, lb), (e: unknown) => e instanceof AssayError && e.code === 'SUITE_MISMATCH' && /different suites/.test(e.message));
  const lc = writeLog(dir, 'C.jsonl', header({ runId: 'C' }), [{ id: 'b', scores: { match: 0 } }]);
  await assert.rejects(compareRuns(la, lc), (e: unknown) => e instanceof AssayError && e.code === 'NO_OVERLAP');
  await assert.rejects(compareRuns(la, la, { metric: 'nope' }), (e: unknown) => e instanceof AssayError && e.code === 'UNKNOWN_METRIC');
  writeFileSync(dir + '/empty.jsonl', '');
  await assert.rejects(statsForRun(dir + '/empty.jsonl'), (e: unknown) => e instanceof AssayError);
  assert.ok(readFileSync(la, 'utf8').startsWith('{"type":"header"'));
});
