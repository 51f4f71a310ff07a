import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupFalsePositives, plannedPowerClustered, runCell, simulate, type Cell } from '../bench/coverage-sim.js';
import { basisFromV1, clusteredRateN, intervalBasis, intervalFromBasis } from '../src/stats/honest.js';
import { decide, intervalFor, type MetricFacts } from '../src/policy/evaluate.js';
import { Prng } from '../src/stats/prng.js';

/**
 * Issue 18's guarantees tried by other routes than the tests that built them: one cluster,
 * all-identical clusters, zero and all events, unequal cluster sizes, near-total intra-cluster
 * correlation, a threshold exactly at the truth (through the policy's own decision rule, both
 * directions, one- and two-sided), group tests with unequal clusters, clustered planning.
 * Seeded, so deterministic; bounds allow Monte Carlo error (binomial SE at the replication counts).
 */

const facts = (xs: Float64Array, clusters: string[] | null, binary: boolean, epochs: number): MetricFacts => {
  let mean = 0;
  for (const x of xs) mean += x;
  mean /= xs.length;
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  const basis = intervalBasis({ xs, clusters, binaryValued: binary, maxEpochs: epochs, unitInterval: true });
  const G = clusters ? new Set(clusters).size : null;
  return { name: 'm', n: xs.length, counts: { scored: xs.length, unscored: 0, errored: 0 }, mean, se: xs.length > 1 ? Math.sqrt(ss / (xs.length - 1) / xs.length) : null, binary: binary && epochs === 1 && !clusters, clusteredSe: clusters ? 0 : null, clusters: G, basis };
};

test('one cluster, whatever the data: no interval, and a policy cannot decide', () => {
  for (const xs of [[0, 0, 0], [1, 1, 1, 1], [0, 1, 0, 1, 1]]) {
    const b = intervalBasis({ xs, clusters: xs.map(() => 'only'), binaryValued: true, maxEpochs: 1 });
    assert.equal(b.method, 'none');
    const v = intervalFor(facts(Float64Array.from(xs), xs.map(() => 'only'), true, 1), { method: 'auto', level: 0.95, sided: 'two' });
    assert.ok('problem' in v && /one cluster/.test(v.problem), JSON.stringify(v));
  }
});

test('zero events and all events in clustered data: the clusters are the units (exact bound on G)', () => {
  for (const G of [2, 3, 7, 30]) {
    const n = G * 20;
    const cl = Array.from({ length: n }, (_, i) => `c${i % G}`);
    for (const v of [0, 1]) {
      const b = intervalBasis({ xs: new Array(n).fill(v), clusters: cl, binaryValued: true, maxEpochs: 1 });
      assert.equal((b as { n: number }).n, G);
      const iv = intervalFromBasis(b, 0.95)!;
      const bound = v === 0 ? iv.hi : 1 - iv.lo;
      assert.ok(Math.abs(bound - (1 - Math.pow(0.025, 1 / G))) < 1e-9, `G=${G} all ${v}: ${JSON.stringify(iv)}`);
    }
  }
  // A v1 report (facts only) of all-zero clustered data gets the same bound through the policy.
  const b1 = basisFromV1({ n: 600, mean: 0, se: 0, binary: true, clusteredSe: 0, clusters: 30 });
  assert.equal((b1 as { n: number }).n, 30);
});

test('all-identical clusters: a cluster variance of exactly 0 does not promise more than n samples', () => {
  // Every cluster has exactly 5 events in 20: CR1 SE = 0; the interval is the binomial one on n.
  const xs = Array.from({ length: 200 }, (_, i) => (i % 20 < 5 ? 1 : 0));
  const cl = xs.map((_, i) => `c${Math.floor(i / 20)}`);
  const b = intervalBasis({ xs, clusters: cl, binaryValued: true, maxEpochs: 1 }) as { n: number; se: number };
  assert.equal(b.se, 0);
  assert.ok(b.n <= 200);
  const iv = intervalFromBasis(b as never, 0.95)!;
  assert.ok(iv.lo < 0.25 && iv.hi > 0.25 && iv.hi - iv.lo > 0.1, JSON.stringify(iv));
  assert.equal(clusteredRateN(0.25, 0, 200, 10, 10), 200);
});

test('coverage by other routes: unequal cluster sizes, near-total ICC, zero-event regimes, 2 clusters', () => {
  const cells: Cell[] = [
    { kind: 'binary', p: 0.05, n: 200, clusters: 10, icc: 0.95, epochs: 1 },
    { kind: 'binary', p: 0.02, n: 300, clusters: 12, icc: 0.5, epochs: 1, unequal: true },
    { kind: 'binary', p: 0.3, n: 150, clusters: 8, icc: 0.3, epochs: 2, unequal: true },
    { kind: 'continuous', p: 0.9, n: 120, clusters: 6, icc: 0.4, epochs: 1, unequal: true },
    { kind: 'binary', p: 0.6, n: 40, clusters: 2, icc: 0.2, epochs: 1 },
    { kind: 'binary', p: 0.001, n: 500, clusters: 25, icc: 0.3, epochs: 1 },
    { kind: 'binary', p: 0.995, n: 400, clusters: 20, icc: 0.6, epochs: 3, unequal: true },
  ];
  const bad: string[] = [];
  cells.forEach((c, i) => {
    const r = runCell(c, 300, 4200 + i);
    if (r.none) bad.push(`${JSON.stringify(c)}: no interval in ${r.none}`);
    // 300 reps: SE of a 95% coverage ≈ 1.3 pp, of a 2.5% miss ≈ 0.9 pp.
    if (!(r.headline >= 0.915)) bad.push(`${JSON.stringify(c)}: coverage ${r.headline}`);
    if (!(Math.max(r.verdictMissLo, r.verdictMissHi) <= 0.045)) bad.push(`${JSON.stringify(c)}: one-sided miss ${r.verdictMissLo}/${r.verdictMissHi}`);
  });
  assert.deepEqual(bad, []);
});

test('a threshold exactly at the truth: the policy rules it out no more often than the nominal rate', () => {
  // The decision as a policy takes it (intervalFor + decide), both directions, two-sided 95% (error ≤ 2.5%)
  // and one-sided 95% (error ≤ 5%). Truth = threshold, so "rule-out" is the error in both directions.
  const designs: Cell[] = [
    { kind: 'binary', p: 0.7, n: 30, clusters: 0, icc: 0, epochs: 1 },
    { kind: 'binary', p: 0.7, n: 200, clusters: 3, icc: 0.2, epochs: 3 },
    { kind: 'binary', p: 0.7, n: 200, clusters: 10, icc: 0.2, epochs: 1, unequal: true },
    { kind: 'binary', p: 0.01, n: 1000, clusters: 30, icc: 0.5, epochs: 1 },
    { kind: 'continuous', p: 0.1, n: 300, clusters: 30, icc: 0.2, epochs: 1 },
  ];
  const REPS = 300;
  const bad: string[] = [];
  designs.forEach((c, i) => {
    const rng = new Prng(8800 + i);
    const out = { two: { hi: 0, lo: 0 }, one: { hi: 0, lo: 0 } };
    for (let r = 0; r < REPS; r++) {
      const { xs, clusters } = simulate(rng, c);
      const f = facts(xs, clusters, c.kind === 'binary', c.epochs);
      for (const sided of ['two', 'one'] as const) {
        const b = intervalFor(f, { method: 'auto', level: 0.95, sided });
        if (!('lo' in b)) continue;
        if (decide(b.lo, b.hi, c.p, 'higher-is-worse') === 'rule-out') out[sided].hi++;
        if (decide(b.lo, b.hi, c.p, 'lower-is-worse') === 'rule-out') out[sided].lo++;
      }
    }
    // Bounds: nominal + ~2 Monte Carlo SE.
    for (const [sided, nominal] of [['two', 0.025], ['one', 0.05]] as const)
      for (const dir of ['hi', 'lo'] as const) {
        const rate = out[sided][dir] / REPS;
        const slack = 2.2 * Math.sqrt((nominal * (1 - nominal)) / REPS);
        if (rate > nominal + slack) bad.push(`${JSON.stringify(c)} ${sided}-sided ${dir === 'hi' ? 'higher' : 'lower'}-is-worse: ruled out the truth in ${rate}`);
      }
  });
  assert.deepEqual(bad, []);
});

test('group tests under the null with unequal cluster sizes and few clusters stay near 5%', () => {
  for (const [i, g] of [
    { n: 240, clusters: 12, icc: 0.3, p: 0.2, groups: 3, layout: 'by-cluster', unequal: true },
    { n: 240, clusters: 8, icc: 0.5, p: 0.1, groups: 2, layout: 'within', unequal: true },
  ].entries()) {
    const r = groupFalsePositives(g as Parameters<typeof groupFalsePositives>[0], 300, 61 + i);
    assert.ok(r.tests > 0);
    assert.ok(r.perTest <= 0.08, `${JSON.stringify(g)}: ${r.perTest} per test`);
    assert.ok(r.familyWise <= 0.08, `${JSON.stringify(g)}: ${r.familyWise} family-wise`);
  }
});

test('clustered planning: the n `assay plan --icc --cluster-size` gives reaches the requested power', () => {
  for (const [i, o] of [
    { p: 0.3, mde: 0.1, icc: 0.05, clusterSize: 10 },
    { p: 0.05, mde: 0.05, icc: 0.02, clusterSize: 20 },
  ].entries()) {
    const r = plannedPowerClustered(o, 300, 71 + i);
    assert.ok(r.power >= 0.74, `${JSON.stringify(o)}: n=${r.n} (${r.clusters} clusters per model), power ${r.power}`);
  }
});
