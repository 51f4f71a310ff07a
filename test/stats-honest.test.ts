import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssayError } from '../src/common/errors.js';
import { mcnemarExact, newcombePaired } from '../src/stats/compare.js';
import { tQuantile } from '../src/stats/dist.js';
import { designEffect, holm } from '../src/stats/estimate.js';
import { formatComparison, formatRunStats } from '../src/stats/format.js';
import { compareRuns, statsForRun } from '../src/stats/from-log.js';
import { fisherExact } from '../src/stats/groups.js';
import { basisFromV1, clopperPearson, cr1Se, intervalBasis, intervalFromBasis, kornGraubardN, SKEW_BOUND } from '../src/stats/honest.js';
import { minDetectableEffect, sampleSizeFor } from '../src/stats/power.js';
import { Prng } from '../src/stats/prng.js';
import { parseTrust, trustDocument } from '../src/attest/trust.js';
import { formatVerifyResult, verifyReport } from '../src/attest/verify.js';
import { header, writeLog, type Rec } from './stats-fixture.js';
import { tmp } from './helpers.js';

const near = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);
const ROOT = join(import.meta.dirname, '..');
const REF = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/stats-reference/reference.json'), 'utf8'));

// ---------- reference values (test/fixtures/stats-reference: scipy / statsmodels) ----------

test('Clopper–Pearson (integer and fractional counts) matches scipy/statsmodels', () => {
  for (const r of REF.clopperPearson) {
    const iv = clopperPearson(r.k, r.n, r.level);
    near(iv.lo, r.lo, 1e-9, `CP lo ${r.k}/${r.n}@${r.level}`);
    near(iv.hi, r.hi, 1e-9, `CP hi ${r.k}/${r.n}@${r.level}`);
  }
  for (const r of REF.clopperPearsonFractional) {
    const iv = clopperPearson(r.x, r.n, r.level);
    near(iv.lo, r.lo, 1e-9, `CP lo ${r.x}/${r.n}`);
    near(iv.hi, r.hi, 1e-9, `CP hi ${r.x}/${r.n}`);
  }
});

test('Korn–Graubard effective n and interval match the reference formula evaluated with scipy', () => {
  for (const r of REF.kornGraubard) {
    near(kornGraubardN(r.mean, r.se, r.n, r.df, r.level), r.nEff, 1e-7, 'n*');
    const iv = intervalFromBasis({ method: 'korn-graubard', mean: r.mean, se: r.se, n: r.n, df: r.df, clusters: null }, r.level)!;
    near(iv.lo, r.lo, 1e-8, `KG lo ${JSON.stringify(r)}`);
    near(iv.hi, r.hi, 1e-8, `KG hi ${JSON.stringify(r)}`);
  }
});

test('CR1 cluster-robust SE matches statsmodels OLS(cov_type="cluster"); t quantiles match scipy', () => {
  for (const r of REF.cr1) near(cr1Se(r.values, r.clusters).se, r.se, 1e-12, 'CR1');
  for (const r of REF.tQuantile) near(tQuantile(r.p, r.df), r.q, 1e-8, `t ${r.p} ${r.df}`);
});

test('skew-t / cr1-skew-t (run-stats/v4) match the published formula evaluated with scipy/statsmodels', () => {
  assert.ok(REF.skewT.length >= 6);
  for (const r of REF.skewT) {
    const b = intervalBasis({ xs: r.values, clusters: r.clusters, binaryValued: false, maxEpochs: 1 }) as { method: string; mean: number; se: number; df: number; skew: number; skewLo: number; skewHi: number };
    assert.equal(b.method, r.clusters ? 'cr1-skew-t' : 'skew-t');
    near(b.mean, r.mean, 1e-12, 'mean');
    near(b.se, r.se, 1e-12, 'SE');
    assert.equal(b.df, r.df);
    near(b.skew, r.skew, 1e-10, `skew ${r.values.length}`);
    near(b.skewLo, r.skewLo, 1e-10, 'skewLo');
    near(b.skewHi, r.skewHi, 1e-10, 'skewHi');
    const iv = intervalFromBasis(b as never, r.level)!;
    near(iv.lo, r.lo, 1e-8, `lo ${r.values.length}@${r.level}`);
    near(iv.hi, r.hi, 1e-8, `hi ${r.values.length}@${r.level}`);
  }
});

test('skew-t widens the long-tail side for skewed scores, never narrower than t; v3 keeps student-t / cr1-t', () => {
  // Right-skewed: many small values, a few large ones.
  const xs = Array.from({ length: 50 }, (_, i) => (i % 10 === 0 ? 8 : i % 3));
  const b = intervalBasis({ xs, clusters: null, binaryValued: false, maxEpochs: 1 }) as { method: string; skew: number; skewLo: number; skewHi: number; mean: number; se: number };
  assert.equal(b.method, 'skew-t');
  assert.ok(b.skew > 0 && b.skewHi === b.skew && b.skewHi > b.skewLo, JSON.stringify(b));
  const iv = intervalFromBasis(b as never, 0.95)!;
  const t = tQuantile(0.975, 49);
  assert.ok(iv.hi - b.mean > t * b.se * 1.2 && b.mean - iv.lo > t * b.se && iv.hi - b.mean > b.mean - iv.lo, JSON.stringify(iv));
  // Symmetric data: both sides get the floor, capped at SKEW_BOUND/√n.
  const sym = Array.from({ length: 50 }, (_, i) => (i % 5) - 2);
  const s2 = intervalBasis({ xs: sym, clusters: null, binaryValued: false, maxEpochs: 1 }) as { skew: number; skewLo: number; skewHi: number };
  near(s2.skew, 0, 1e-12);
  near(s2.skewLo, Math.min(SKEW_BOUND / Math.sqrt(50), (3 * Math.sqrt(6)) / 50), 1e-12);
  assert.equal(s2.skewLo, s2.skewHi);
  // As signed under run-stats/v3: plain t intervals.
  assert.equal(intervalBasis({ xs, clusters: null, binaryValued: false, maxEpochs: 1, rule: 'v3' }).method, 'student-t');
  const cl = xs.map((_, i) => `c${i % 5}`);
  assert.equal(intervalBasis({ xs, clusters: cl, binaryValued: false, maxEpochs: 1, rule: 'v3' }).method, 'cr1-t');
  assert.equal(intervalBasis({ xs, clusters: cl, binaryValued: false, maxEpochs: 1 }).method, 'cr1-skew-t');
});

test('a default rubric item (normalised) is a [0, 1] score under rule v4; v3 kept it unbounded', async () => {
  const { scoreDomain } = await import('../src/stats/domain.js');
  assert.equal(scoreDomain({ type: 'rubric', value: 'harm' }), 'unit');
  assert.equal(scoreDomain({ type: 'rubric', value: 'harm' }, 'v3'), 'real');
  assert.equal(scoreDomain({ type: 'rubric', value: 'harm', normalise: true }, 'v3'), 'unit');
  assert.equal(scoreDomain({ type: 'rubric', value: 'harm', normalise: false }), 'real');
});

test('exact McNemar, Fisher exact and Newcombe paired interval match the references', () => {
  for (const r of REF.mcnemarExact) near(mcnemarExact(r.b, r.c), r.p, 1e-10, `McNemar ${r.b},${r.c}`);
  for (const r of REF.fisherExact) near(fisherExact(r.k1, r.n1, r.k2, r.n2), r.p, 1e-9, `Fisher ${JSON.stringify(r)}`);
  for (const r of REF.newcombe) {
    const iv = newcombePaired(r.a, r.b, r.c, r.d);
    near(iv.lo, r.lo, 1e-9, `Newcombe lo ${JSON.stringify(r)}`);
    near(iv.hi, r.hi, 1e-9, `Newcombe hi ${JSON.stringify(r)}`);
  }
});

// ---------- score validation ----------

/** A log whose first record's score value is replaced by `raw` (JSON text), for scorer type `type`. */
function hostileLog(raw: string, type = 'exact'): string {
  const h = header();
  h.suite.definition.scorers = [{ type, name: 'match' }];
  const recs: Rec[] = [{ id: 'a', scores: { match: 1 } }, { id: 'b', scores: { match: 0 } }, { id: 'victim', scores: { match: 1 } }];
  const p = writeLog(tmp(), 'h.jsonl', h, recs);
  const lines = readFileSync(p, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes('"sampleId":"victim"'));
  lines[i] = lines[i]!.replace('"value":1', `"value":${raw}`);
  writeFileSync(p, lines.join('\n'));
  return p;
}

test('scores are validated before anything is computed: null, strings, non-finite, out of range, missing', async () => {
  for (const [raw, type, why] of [
    ['null', 'exact', /is null, not a number/],
    ['"1"', 'exact', /is string, not a number/],
    ['1e999', 'regex', /not finite/],
    ['7', 'exact', /is not 0 or 1/],
    ['0.5', 'mcq_letter', /is not 0 or 1/],
    ['-0.25', 'strongreject', /outside \[0, 1\]/],
    ['true', 'exact', /boolean, not a number/],
    ['{"x":1}', 'rubric', /object, not a number/],
  ] as const) {
    await assert.rejects(statsForRun(hostileLog(raw, type)), (e: unknown) => {
      assert.ok(e instanceof AssayError, String(e));
      assert.equal(e.code, 'SCORE_INVALID');
      assert.match(e.message, /sample "victim" epoch 1, scorer "match"/);
      assert.match(e.message, why);
      return true;
    }, `${raw} (${type})`);
  }
  const missing = hostileLog('1', 'exact');
  writeFileSync(missing, readFileSync(missing, 'utf8').replace(/("sampleId":"victim".*?),"value":1/, '$1'));
  await assert.rejects(statsForRun(missing), /sample "victim".*undefined/);
  // In range for its type: accepted (a logit from an unknown / real-valued scorer; 0.5 from a unit scorer).
  assert.equal((await statsForRun(hostileLog('-3.2', 'decision'))).metrics[0]!.n, 3);
  assert.equal((await statsForRun(hostileLog('0.5', 'strongreject'))).metrics[0]!.n, 3);
});

// ---------- the headline interval ----------

test('binary, one epoch: exact Clopper–Pearson, named; all-correct is not "1.000 ± 0.000"', async () => {
  const recs: Rec[] = Array.from({ length: 30 }, (_, i) => ({ id: `s${i}`, scores: { match: 1 } }));
  const s = await statsForRun(writeLog(tmp(), 'a.jsonl', header(), recs));
  const m = s.metrics[0]!;
  assert.equal(m.interval.method, 'clopper-pearson');
  near(m.interval.lo!, Math.pow(0.025, 1 / 30), 1e-12, 'CP lower bound for 30/30');
  assert.equal(m.interval.hi, 1);
  const text = formatRunStats(s);
  assert.match(text, /accuracy\s+1\.000 \[0\.884, 1\.000\] clopper-pearson\s+30/);
  assert.doesNotMatch(text, /± 0\.000/);
});

test('epoch-averaged binary metrics get a proper interval and a zero-event-like bound (Korn–Graubard)', async () => {
  const recs: Rec[] = [];
  for (let i = 0; i < 40; i++) for (const e of [1, 2, 3]) recs.push({ id: `s${i}`, epoch: e, scores: { match: 1 } });
  const m = (await statsForRun(writeLog(tmp(), 'a.jsonl', header(), recs))).metrics[0]!;
  assert.equal(m.interval.method, 'korn-graubard');
  // All pass over 3 epochs: n* = n = 40 samples (never the 120 records, which are not independent).
  near(m.interval.lo!, Math.pow(0.025, 1 / 40), 1e-9);
  assert.equal(m.interval.hi, 1);
});

test('clusters: one cluster → no interval with the reason; effective n never above n; few clusters warn', async () => {
  const one: Rec[] = Array.from({ length: 40 }, (_, i) => ({ id: `s${i}`, scores: { match: i % 3 ? 1 : 0 }, cluster: 'only' }));
  const s = await statsForRun(writeLog(tmp(), 'a.jsonl', header(), one));
  const m = s.metrics[0]!;
  assert.equal(m.interval.method, 'none');
  assert.equal(m.interval.lo, null);
  assert.match(formatRunStats(s), /no honest interval — all 40 samples are in one cluster/);
  assert.match(formatRunStats(s), /1 cluster: design effect and effective n undefined/);
  assert.doesNotMatch(formatRunStats(s), /effective n 1600/);
  const d = designEffect(one.map((r) => r.scores!.match as number), one.map(() => 'only'));
  assert.ok(Number.isNaN(d.effectiveN));
  // Negative ICC: alternating values inside each cluster → deff < 1, effective n capped at n, and said.
  const neg = Array.from({ length: 40 }, (_, i) => i % 2);
  const dn = designEffect(neg, neg.map((_, i) => `c${Math.floor(i / 2)}`));
  assert.ok(dn.deff < 1 && dn.negativeIcc);
  assert.equal(dn.effectiveN, 40);
  const three: Rec[] = Array.from({ length: 60 }, (_, i) => ({ id: `s${String(i).padStart(2, '0')}`, scores: { match: i % 4 ? 1 : 0 }, cluster: `c${i % 3}` }));
  const s3 = await statsForRun(writeLog(tmp(), 'b.jsonl', header(), three));
  assert.equal(s3.metrics[0]!.interval.method, 'korn-graubard');
  assert.match(formatRunStats(s3), /only 3 clusters: .*at least 10 independent clusters/);
  assert.equal(s3.analysis[0]!.bootstrap, null, 'no cluster bootstrap below 10 clusters');
  assert.ok(s3.analysis[0]!.designEffect!.effectiveN <= 60);
});

test('the issue-18 scenario: true rate at the threshold, 3 clusters, 3 epochs → auto verdict not "ruled out" beyond its error rate', async () => {
  // The reported data ([0.646, 0.684] under the old auto) are not reproducible, but the property is:
  // over seeded replications the verdict interval excludes the true 0.70 from above ≤ 2.5% + slack.
  const { runCell } = await import('../bench/coverage-sim.js');
  const r = runCell({ kind: 'binary', p: 0.7, n: 200, clusters: 3, icc: 0.2, epochs: 3 }, 300, 18);
  assert.ok(r.verdictMissHi <= 0.045, `ruled out a true 0.70 in ${r.verdictMissHi}`);
  assert.ok(r.verdictMissLo <= 0.045, `ruled in in ${r.verdictMissLo}`);
  const one = runCell({ kind: 'binary', p: 0.7, n: 40, clusters: 1, icc: 0.2, epochs: 1 }, 20, 18);
  assert.equal(one.none, 20, 'one cluster: never an interval, never a verdict');
});

test('v1 facts: the CR1 SE recovered from the Miller SE equals the one computed from the data', () => {
  const rng = new Prng(3);
  const xs = Array.from({ length: 90 }, (): number => (rng.next() < 0.4 ? 1 : 0));
  const cl = xs.map((_, i) => `c${i % 9}`);
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const se = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1) / n);
  // Miller: SE_c² = SE² + (1/n²) Σ_c Σ_{i≠j} d_i d_j.
  const S = new Map<string, { s: number; ss: number }>();
  xs.forEach((x, i) => {
    const e = S.get(cl[i]!) ?? { s: 0, ss: 0 };
    e.s += x - mean;
    e.ss += (x - mean) ** 2;
    S.set(cl[i]!, e);
  });
  let cross = 0;
  for (const e of S.values()) cross += e.s * e.s - e.ss;
  const miller = Math.sqrt(se * se + cross / (n * n));
  const b = basisFromV1({ n, mean, se, binary: true, clusteredSe: miller, clusters: 9 });
  assert.equal(b.method, 'korn-graubard');
  near((b as { se: number }).se, cr1Se(xs, cl).se, 1e-12);
  // From the data the basis can also see how the events spread over clusters (v3: fewer df when
  // they sit in fewer effective clusters, n capped for skew), so it is never less conservative.
  const fromData = intervalBasis({ xs, clusters: cl, binaryValued: true, maxEpochs: 1 }) as { method: string; se: number; mean: number; n: number; df: number };
  assert.equal(fromData.method, 'korn-graubard');
  near(fromData.se, (b as { se: number }).se, 1e-12);
  assert.equal(fromData.mean, mean);
  const bb = b as { n: number; df: number };
  assert.ok(fromData.n <= bb.n && fromData.df <= bb.df, JSON.stringify({ fromData, b }));
});

// ---------- exclusions and sensitivity ----------

test('excluded samples counted by outcome; interval if every excluded sample had scored 0 / 1', async () => {
  const h = header();
  h.suite.definition.scorers = [{ type: 'exact', name: 'match' }];
  const recs: Rec[] = [];
  for (let i = 0; i < 8; i++) recs.push({ id: `s${i}`, scores: { match: i < 6 ? 1 : 0 } });
  recs.push({ id: 's8', error: true }, { id: 's9', scores: { match: 'unscored' } });
  const p = writeLog(tmp(), 'a.jsonl', h, recs);
  // s9's score says why: the model refused; a second errored record is a content-filter rejection.
  let text = readFileSync(p, 'utf8').replace('"reason":"test"', '"reason":"test","outcome":"refused"');
  text = text.replace(/\n\{"type":"end"/, `\n${JSON.stringify({ ...JSON.parse(text.split('\n')[9]!), key: 's10#1', sampleId: 's10', sample: { id: 's10', input: 'q', metadata: {} }, error: { kind: 'filtered', message: 'content filter', status: 400, attempts: 1 } })}\n{"type":"end"`);
  writeFileSync(p, text);
  const s = await statsForRun(p);
  const m = s.metrics[0]!;
  assert.equal(m.n, 8);
  assert.deepEqual(m.excluded, { errored: 1, empty: 0, filtered: 1, refused: 1, unreadable: 0, unscored: 0 });
  assert.deepEqual(m.counts, { scored: 8, unscored: 1, errored: 2 });
  const cp = (k: number, n: number) => clopperPearson(k, n, 0.95);
  assert.deepEqual({ lo: m.sensitivity!.excludedAs0.lo, hi: m.sensitivity!.excludedAs0.hi }, cp(6, 11));
  assert.deepEqual({ lo: m.sensitivity!.excludedAs1.lo, hi: m.sensitivity!.excludedAs1.hi }, cp(9, 11));
  assert.equal(m.sensitivity!.excludedAs0.n, 11);
  const table = formatRunStats(s);
  assert.match(table, /errored 1, filtered 1, refused 1/);
  assert.match(table, /\[0\.234, 0\.8\d\d\]\s+\[0\.482, 0\.9\d\d\]/);
  // Nothing excluded, or an unbounded score: no sensitivity.
  assert.equal((await statsForRun(writeLog(tmp(), 'b.jsonl', h, recs.slice(0, 8)))).metrics[0]!.sensitivity, null);
});

// ---------- group and paired tests ----------

test('group tests: cluster-robust when the suite defines clusters; Holm across every metric of the report', async () => {
  const rng = new Prng(9);
  const recs: Rec[] = [];
  for (let i = 0; i < 120; i++) recs.push({ id: `s${String(i).padStart(3, '0')}`, scores: { match: rng.next() < 0.4 ? 1 : 0 }, cluster: `c${i % 12}`, metadata: { g: `g${Math.floor(i / 12) % 3}` } });
  const metrics = [
    { name: 'a', scorer: 'match', aggregate: 'mean' as const, groupBy: 'g' },
    { name: 'b', scorer: 'match', aggregate: 'mean' as const, groupBy: 'g' },
  ];
  const s = await statsForRun(writeLog(tmp(), 'a.jsonl', header({ metrics }), recs));
  const tests = s.analysis.flatMap((a) => a.groupTests!.tests);
  assert.equal(tests.length, 6);
  // Every cluster holds every group: t with G − 1 = 11 df.
  assert.ok(tests.every((t) => t.method === 'cr1-t' && t.df === 11), JSON.stringify(tests));
  assert.ok(tests.every((t) => t.pReport >= t.pHolm - 1e-15), 'report-wide Holm is at least the per-metric one');
  const all = holm(tests.map((t) => t.p));
  tests.forEach((t, i) => near(t.pReport, all[i]!, 1e-15, 'Holm over all 6 tests'));
  assert.match(formatRunStats(s), /cr1-t p=.* report-holm=/);
  // Groups that are sets of clusters (4 each): df from the side with fewer clusters, 4 − 1.
  const byCluster = await statsForRun(writeLog(tmp(), 'c.jsonl', header({ metrics }), recs.map((r, i) => ({ ...r, metadata: { g: `g${i % 3}` } }))));
  assert.ok(byCluster.analysis[0]!.groupTests!.tests.every((t) => t.method === 'cr1-t' && t.df === 3));
  // Unclustered binary: Fisher's exact test.
  const plain = await statsForRun(writeLog(tmp(), 'b.jsonl', header({ metrics }), recs.map((r) => ({ ...r, cluster: undefined }))));
  assert.ok(plain.analysis[0]!.groupTests!.tests.every((t) => t.method === 'fisher-exact'));
});

test('paired binary comparison: exact McNemar and Newcombe; the paired t shown in the table', async () => {
  const dir = tmp();
  const A: Rec[] = [];
  const B: Rec[] = [];
  for (let i = 0; i < 50; i++) {
    A.push({ id: `q${i}`, scores: { match: i < 30 ? 1 : 0 } });
    B.push({ id: `q${i}`, scores: { match: i < 22 || (i >= 30 && i < 33) ? 1 : 0 } });
  }
  const c = await compareRuns(writeLog(dir, 'a.jsonl', header({ runId: 'ra' }), A), writeLog(dir, 'b.jsonl', header({ runId: 'rb' }), B));
  const m = c.metrics[0]!;
  assert.deepEqual(m.binary!.table, { both: 22, onlyA: 8, onlyB: 3, neither: 17 });
  near(m.binary!.mcnemarExactP, mcnemarExact(8, 3), 1e-15);
  assert.deepEqual(m.binary!.newcombe, newcombePaired(22, 8, 3, 17));
  assert.equal(m.tHolm, m.t.p, 'Holm over one metric is the p-value itself');
  const text = formatComparison(c);
  assert.match(text, /paired t \(n−1 df\)/);
  assert.match(text, new RegExp(`p=${m.t.p.toFixed(4)}`));
  assert.match(text, /Newcombe \/ exact McNemar/);
});

// ---------- planning ----------

test('planning: rare rates with unequal variances, --p 0, design effect / ICC, epochs', () => {
  // The figures: p = 0.001 → 7 per model (power 0.5%) before; now far more.
  assert.ok(sampleSizeFor({ p: 0.001, mde: 0.05 }).n > 150);
  assert.ok(sampleSizeFor({ p: 0.01, mde: 0.05 }).n > 200);
  const zero = sampleSizeFor({ p: 0, mde: 0.05 });
  assert.ok(zero.n > 100 && Number.isFinite(zero.n));
  assert.deepEqual(zero.rates, { a: 0, b: 0.05, method: 'unequal-variance' });
  assert.equal(sampleSizeFor({ p: 0.99, mde: 0.05 }).rates!.b, 0.94);
  const base = sampleSizeFor({ p: 0.3, mde: 0.1 });
  const icc = sampleSizeFor({ p: 0.3, mde: 0.1, icc: 0.1, clusterSize: 11 });
  near(icc.nExact, base.nExact * 2, 1e-9, 'deff = 1 + 10·0.1 = 2');
  assert.equal(icc.clusters, Math.ceil(icc.n / 11));
  assert.throws(() => sampleSizeFor({ p: 0.3, mde: 0.1, deff: 0.5 }), /≥ 1/);
  assert.throws(() => sampleSizeFor({ p: 0.3, mde: 0.8 }), /impossible/);
  const mde = minDetectableEffect({ p: 0.01, n: sampleSizeFor({ p: 0.01, mde: 0.05 }).nExact });
  near(mde.mde, 0.05, 1e-6, 'MDE inverts n');
  assert.ok(sampleSizeFor({ sigma2: 0.2, mde: 0.05, withinVariance: 0.2, epochs: 1 }).n > sampleSizeFor({ sigma2: 0.2, mde: 0.05, withinVariance: 0.2, epochs: 4 }).n);
});

// ---------- signed reports already in the world ----------

test('a report signed with run-stats/v1 (before issue 18) still verifies against its log', async () => {
  const dir = join(ROOT, 'test/fixtures/run-stats-v1');
  const trust = parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'Old Tester', publicKey: createPublicKey(readFileSync(join(dir, 'tester.pub.pem'))) }] })), 'trust.json');
  const r = await verifyReport(readFileSync(join(dir, 'report.json')), { trust, runLogPath: join(dir, 'run.jsonl'), now: new Date('2026-12-01T00:00:00Z') });
  assert.equal(r.ok, true, formatVerifyResult(r));
  assert.ok(r.runLog?.checked.includes('counts and metrics'));
  assert.equal(r.statement!.predicate.statistics.method, 'assay.run-stats/v1');
  assert.equal((r.statement!.predicate.metrics[0] as { estimator: { interval: string } }).estimator.interval, 'normal');
});

test('a report signed with run-stats/v2 (before the v3 clustered-rate rule) still verifies; the same log now gets the v3 basis', async () => {
  const dir = join(ROOT, 'test/fixtures/run-stats-v2');
  const trust = parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'V2 Tester', publicKey: createPublicKey(readFileSync(join(dir, 'tester.pub.pem'))) }] })), 'trust.json');
  const r = await verifyReport(readFileSync(join(dir, 'report.json')), { trust, runLogPath: join(dir, 'run.jsonl'), now: new Date('2026-12-05T00:00:00Z') });
  assert.equal(r.ok, true, formatVerifyResult(r));
  assert.ok(r.runLog?.checked.includes('counts and metrics'));
  assert.equal(r.statement!.predicate.statistics.method, 'assay.run-stats/v2');
  const signed = (r.statement!.predicate.metrics[0] as { interval: { basis: { n: number } } }).interval.basis;
  assert.equal(signed.n, 200);
  // Recomputed with today's rule the basis differs, so the verifier really used the v2 rule.
  const now = await statsForRun(join(dir, 'run.jsonl'));
  assert.equal(now.schema, 'assay.run-stats/v4');
  const b = now.metrics[0]!.interval.basis as { n: number };
  assert.ok(b.n < 200 && b.n >= 10, JSON.stringify(b));
});

test('a new report is signed with run-stats/v4: verifies, names its interval, and its basis drives a policy', async () => {
  const { attestRun, bundleText } = await import('../src/attest/bundle.js');
  const { generateSigner } = await import('../src/attest/keys.js');
  const { evidenceFromPredicate } = await import('../src/policy/evidence.js');
  const { intervalFor } = await import('../src/policy/evaluate.js');
  const { runReportPredicateSchema } = await import('../src/attest/predicate.js');
  const recs: Rec[] = Array.from({ length: 60 }, (_, i) => ({ id: `s${String(i).padStart(2, '0')}`, scores: { match: i % 5 ? 1 : 0 }, cluster: `c${i % 3}` }));
  recs.push({ id: 'zz', error: true, cluster: 'c0' });
  const log = writeLog(tmp(), 'r.jsonl', header(), recs);
  const signer = generateSigner();
  const now = new Date('2026-12-01T00:00:00Z');
  const { bundle, statement } = await attestRun(log, { signer, testerName: 'T', now });
  const p = statement.predicate;
  assert.equal(p.statistics.method, 'assay.run-stats/v4');
  const m = p.metrics[0] as { estimator: { interval: string }; interval: { method: string; basis: { method: string; df?: number } }; excluded: { errored: number } };
  assert.equal(m.estimator.interval, 'korn-graubard');
  assert.equal(m.interval.basis.df, 2);
  assert.equal(m.excluded.errored, 1);
  const trust = parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'T', publicKey: signer.publicKey }] })), 'trust.json');
  const r = await verifyReport(Buffer.from(bundleText(bundle)), { trust, runLogPath: log, now });
  assert.equal(r.ok, true, formatVerifyResult(r));
  // A v2 report claiming v1 metrics (or the reverse) is malformed.
  const mixed = runReportPredicateSchema.safeParse({ ...p, statistics: { ...p.statistics, method: 'assay.run-stats/v1' } });
  assert.equal(mixed.success, false);
  // The policy decides on the signed basis: Korn–Graubard with t(2), wider than the Miller z interval.
  const ev = evidenceFromPredicate(p, { signed: true, logged: false });
  const b = intervalFor(ev.metrics[0]!, { method: 'auto', level: 0.95, sided: 'two' }) as { lo: number; hi: number; method: string };
  assert.match(b.method, /^korn-graubard/);
  const miller = intervalFor(ev.metrics[0]!, { method: 'clustered', level: 0.95, sided: 'two' }) as { lo: number; hi: number; method: string };
  assert.equal(miller.method, 'clustered+korn-graubard');
  assert.ok(b.hi - b.lo > 0.2, JSON.stringify(b));
});

test('a report signed with run-stats/v3 (before skew-t and the rubric domain) still verifies; the same log signed now is v4', async () => {
  const { attestRun, bundleText } = await import('../src/attest/bundle.js');
  const { generateSigner } = await import('../src/attest/keys.js');
  const { evidenceFromPredicate } = await import('../src/policy/evidence.js');
  const { intervalFor } = await import('../src/policy/evaluate.js');
  const { runReportPredicateSchema } = await import('../src/attest/predicate.js');
  const dir = join(ROOT, 'test/fixtures/run-stats-v3');
  const log = join(dir, 'run.jsonl');
  const trust = parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'V3 Tester', publicKey: createPublicKey(readFileSync(join(dir, 'tester.pub.pem'))) }] })), 'trust.json');
  const r = await verifyReport(readFileSync(join(dir, 'report.json')), { trust, runLogPath: log, now: new Date('2026-12-06T00:00:00Z') });
  assert.equal(r.ok, true, formatVerifyResult(r));
  assert.ok(r.runLog?.checked.includes('counts and metrics'));
  const old = r.statement!.predicate;
  assert.equal(old.statistics.method, 'assay.run-stats/v3');
  const byName = (ms: unknown[]) => Object.fromEntries((ms as { name: string; domain: string; interval: { method: string; lo: number; hi: number; basis: { mean: number; se: number } } }[]).map((m) => [m.name, m]));
  const o = byName(old.metrics);
  assert.deepEqual([o.raw!.interval.method, o.item!.interval.method, o.item!.domain], ['cr1-t', 'cr1-t', 'real']);
  // Signed today: cr1-skew-t for the unbounded total (wider on its long upper side), korn-graubard for the normalised rubric item.
  const signer = generateSigner();
  const now = new Date('2026-12-06T00:00:00Z');
  const { bundle, statement } = await attestRun(log, { signer, testerName: 'T', now });
  const p = statement.predicate;
  assert.equal(p.statistics.method, 'assay.run-stats/v4');
  const n = byName(p.metrics);
  assert.deepEqual([n.raw!.interval.method, n.item!.interval.method, n.item!.domain], ['cr1-skew-t', 'korn-graubard', 'unit']);
  assert.equal(n.raw!.interval.basis.se, o.raw!.interval.basis.se);
  assert.ok(n.raw!.interval.hi - n.raw!.interval.basis.mean > o.raw!.interval.hi - o.raw!.interval.basis.mean);
  assert.ok(n.raw!.interval.lo <= o.raw!.interval.lo);
  assert.ok(n.item!.interval.lo >= 0 && n.item!.interval.hi <= 1);
  const v = await verifyReport(Buffer.from(bundleText(bundle)), { trust: parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 'T', publicKey: signer.publicKey }] })), 'trust.json'), runLogPath: log, now });
  assert.equal(v.ok, true, formatVerifyResult(v));
  // A v4 interval under a v3 method (or the reverse) is malformed.
  assert.equal(runReportPredicateSchema.safeParse({ ...p, statistics: { ...p.statistics, method: 'assay.run-stats/v3' } }).success, false);
  assert.equal(runReportPredicateSchema.safeParse({ ...old, statistics: { ...old.statistics, method: 'assay.run-stats/v4' } }).success, false);
  // The policy's auto interval decides on the same skew-corrected interval (never narrower than it).
  const ev = evidenceFromPredicate(p, { signed: true, logged: false });
  const raw = ev.metrics.find((m) => m.name === 'raw')!;
  const d = intervalFor(raw, { method: 'auto', level: 0.95, sided: 'two' }) as { lo: number; hi: number; method: string };
  assert.match(d.method, /^cr1-skew-t/);
  assert.ok(d.lo <= n.raw!.interval.lo + 1e-12 && d.hi >= n.raw!.interval.hi - 1e-12, JSON.stringify({ d, iv: n.raw!.interval }));
  // Policy-evaluation version 5 decides the v3 report's cr1-t basis with the assumed skewness bound:
  // wider on both sides than the signed t interval; a v4 basis is left as signed.
  const { assumedSkew } = await import('../src/policy/evaluate.js');
  const oldRaw = evidenceFromPredicate(old, { signed: true, logged: false }).metrics.find((m) => m.name === 'raw')!;
  const widened = assumedSkew(oldRaw.basis!);
  assert.equal(widened.method, 'cr1-skew-t');
  const w = intervalFromBasis(widened, 0.95)!;
  assert.ok(w.lo < o.raw!.interval.lo && w.hi > o.raw!.interval.hi, JSON.stringify({ w, signed: o.raw!.interval }));
  assert.equal(assumedSkew(raw.basis!), raw.basis);
});

test('rare events concentrated in a few clusters: the clusters become the units (n* ≤ G)', () => {
  // 1000 samples in 10 clusters, all 8 events in one cluster: the CR1 variance cannot see how skewed
  // the cluster rates may be, so the interval treats the 10 clusters as the units.
  const xs = Array.from({ length: 1000 }, (_, i): number => (i % 10 === 0 && i < 80 ? 1 : 0));
  const cl = xs.map((_, i) => `c${i % 10}`);
  const b = intervalBasis({ xs, clusters: cl, binaryValued: true, maxEpochs: 1 });
  assert.deepEqual({ method: b.method, n: (b as { n: number }).n }, { method: 'korn-graubard', n: 10 });
  assert.ok(intervalFromBasis(b, 0.95)!.hi > 0.2);
  // The same events spread evenly over every cluster (no sign of clustering): n stays the number of samples.
  const spread = Array.from({ length: 1000 }, (_, i): number => (i < 80 ? 1 : 0));
  const b2 = intervalBasis({ xs: spread, clusters: cl, binaryValued: true, maxEpochs: 1 });
  assert.equal((b2 as { n: number }).n, 1000);
  // Events in 8 of 10 clusters, none in 2: not concentrated, but the cluster rates vary, so n is
  // capped for their skewness (clusteredRateN), between G and n.
  const some = Array.from({ length: 1000 }, (_, i): number => (i < 80 && i % 10 < 8 ? 1 : 0));
  const b3 = intervalBasis({ xs: some, clusters: cl, binaryValued: true, maxEpochs: 1 }) as { n: number };
  assert.ok(b3.n > 10 && b3.n < 1000, JSON.stringify(b3));
  // As signed in run-stats/v2, the old rule kept n.
  assert.equal((intervalBasis({ xs: some, clusters: cl, binaryValued: true, maxEpochs: 1, rule: 'v2' }) as { n: number }).n, 1000);
});
