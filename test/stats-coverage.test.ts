import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupFalsePositives, plannedPower, runCell, type Cell } from '../bench/coverage-sim.js';

/**
 * Smoke grid of the coverage benchmark (bench/coverage.ts runs the full grid outside CI). Seeded,
 * so deterministic; 200 replications per cell, so the bounds allow Monte Carlo error (SE ≈ 1.5 pp
 * at 95%): coverage ≥ 91% where the benchmark's target is 93%.
 */
const REPS = 200;

test('coverage smoke grid: every reported headline and verdict interval covers; one cluster reports none', () => {
  const cells: Cell[] = [];
  for (const kind of ['binary', 'continuous'] as const)
    for (const p of [0.01, 0.5, 0.95])
      for (const [n, G, icc, epochs] of [
        [30, 0, 0, 1],
        [100, 0, 0, 3],
        [100, 3, 0.5, 1],
        [100, 10, 0.2, 3],
        [40, 1, 0.2, 1],
      ] as const)
        cells.push({ kind, p, n, clusters: G, icc, epochs });
  const bad: string[] = [];
  cells.forEach((c, i) => {
    const r = runCell(c, REPS, 100 + i);
    const at = JSON.stringify(c);
    if (c.clusters === 1) {
      if (r.none !== REPS || !/one cluster/.test(r.noneReason ?? '')) bad.push(`${at}: one cluster must report no interval`);
      return;
    }
    if (r.none) bad.push(`${at}: no interval in ${r.none} reps`);
    if (!(r.headline >= 0.91)) bad.push(`${at}: headline coverage ${r.headline}`);
    if (!(r.verdict >= r.headline - 1e-12)) bad.push(`${at}: verdict interval narrower than the headline`);
    if (!(Math.max(r.verdictMissLo, r.verdictMissHi) <= 0.045)) bad.push(`${at}: one-sided miss ${r.verdictMissLo}/${r.verdictMissHi}`);
  });
  assert.deepEqual(bad, []);
});

test('unbounded skewed scores with few clusters: skew-t / cr1-skew-t keep the long-tail side; v3 student-t / cr1-t did not', () => {
  // Standardised Gamma(2) effects (skewness 1.41), where the t interval missed the upper side 6–8% of the time.
  const cells: Cell[] = [
    { kind: 'unbounded', shape: 'skewed', p: 0, n: 100, clusters: 3, icc: 0.5, epochs: 1 },
    { kind: 'unbounded', shape: 'skewed', p: 0, n: 100, clusters: 6, icc: 0.5, epochs: 1 },
    { kind: 'unbounded', shape: 'skewed', p: 0, n: 100, clusters: 6, icc: 0.5, epochs: 3 },
    { kind: 'unbounded', shape: 'skewed', p: 0, n: 30, clusters: 0, icc: 0, epochs: 3 },
  ];
  const pooled = (rule?: 'v3') => {
    let miss = 0;
    cells.forEach((c, i) => {
      const r = runCell(c, 400, 500 + i, 0, rule);
      assert.ok(r.verdict >= r.headline - 1e-12);
      miss += Math.max(r.verdictMissLo, r.verdictMissHi) / cells.length;
    });
    return miss;
  };
  const v4 = pooled();
  const v3 = pooled('v3');
  assert.ok(v4 <= 0.035, `v4 pooled one-sided miss ${v4}`);
  assert.ok(v3 >= 0.05, `v3 pooled one-sided miss ${v3} (the failure this guards against)`);
});

test('group tests under the null: false positives per test and family-wise stay near 5%', () => {
  for (const [i, g] of [
    { n: 300, clusters: 10, icc: 0.5, p: 0.3, groups: 3, layout: 'within' },
    { n: 300, clusters: 6, icc: 0.2, p: 0.3, groups: 3, layout: 'by-cluster' },
    { n: 60, clusters: 0, icc: 0, p: 0.1, groups: 3, layout: 'within' },
  ].entries()) {
    const r = groupFalsePositives(g as Parameters<typeof groupFalsePositives>[0], REPS, 7 + i);
    assert.ok(r.tests > 0);
    assert.ok(r.perTest <= 0.08, `${JSON.stringify(g)}: ${r.perTest} per test`);
    assert.ok(r.familyWise <= 0.08, `${JSON.stringify(g)}: ${r.familyWise} family-wise`);
  }
});

test('planned sample sizes reach the requested power in simulation (rare rates included)', () => {
  for (const [i, [p, d]] of ([[0.001, 0.05], [0.01, 0.05], [0, 0.05], [0.5, 0.1]] as const).entries()) {
    const r = plannedPower(p, d, 400, 30 + i);
    assert.ok(r.power >= 0.76, `p=${p} δ=${d}: n=${r.n}, power ${r.power}`);
  }
});
