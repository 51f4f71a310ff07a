import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, tmp } from './helpers.js';
import { header, writeLog, type Rec } from './stats-fixture.js';
import { Prng } from '../src/stats/prng.js';

function runs(dir: string) {
  const rng = new Prng(4);
  const A: Rec[] = [];
  const B: Rec[] = [];
  for (let i = 0; i < 200; i++) {
    const d = rng.next();
    const meta = { group: i % 2 ? 'even' : 'odd' };
    A.push({ id: `q${i}`, scores: { match: rng.next() < d ? 1 : 0 }, cluster: `t${i % 20}`, metadata: meta });
    B.push({ id: `q${i}`, scores: { match: rng.next() < d - 0.1 ? 1 : 0 }, cluster: `t${i % 20}`, metadata: meta });
  }
  A.push({ id: 'q999', error: true });
  return {
    a: writeLog(dir, 'a.jsonl', header({ runId: 'run-a', model: 'model-a' }), A),
    b: writeLog(dir, 'b.jsonl', header({ runId: 'run-b', model: 'model-b' }), B),
    other: writeLog(dir, 'c.jsonl', header({ runId: 'run-c', digest: 'sha256:' + '01'.repeat(32) }), B),
  };
}

test('assay stats: table with value [lo, hi] and the interval named, n; --json is deterministic for a seed', async () => {
  const { a } = runs(tmp());
  const r = await cli(['stats', a, '--group-by', 'group']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /accuracy\s+0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] korn-graubard\s+200\s/);
  assert.match(r.stdout, /group=even/);
  assert.match(r.stdout, /holm=/);
  assert.match(r.stdout, /20 clusters/);
  const j1 = await cli(['stats', a, '--json', '--seed', '5', '--level', '0.9']);
  const j2 = await cli(['stats', a, '--json', '--seed', '5', '--level', '0.9']);
  assert.equal(j1.code, 0, j1.stderr);
  assert.equal(j1.stdout, j2.stdout);
  const s = JSON.parse(j1.stdout);
  assert.equal(s.level, 0.9);
  assert.equal(s.seed, 5);
  assert.equal(s.metrics[0].counts.errored, 1);
  const bad = await cli(['stats', a, '--level', '2']);
  assert.notEqual(bad.code, 0);
});

test('assay compare: paired table; --json; refuses different suites with exit 2', async () => {
  const { a, b, other } = runs(tmp());
  const r = await cli(['compare', a, b]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /A = model-a/);
  assert.match(r.stdout, /accuracy .*± .*\[/);
  const j = JSON.parse((await cli(['compare', a, b, '--json', '--metric', 'accuracy'])).stdout);
  assert.equal(j.metrics.length, 1);
  assert.equal(j.metrics[0].n, 200);
  assert.equal(j.metrics[0].onlyA, 0);
  assert.ok(j.metrics[0].se < j.metrics[0].unpairedSe);
  const x = await cli(['compare', a, other]);
  assert.equal(x.code, 2);
  assert.match(x.stderr, /SUITE_MISMATCH.*different suites/);
});

test('assay plan: the reference worked example, the MDE at n, and an existing run', async () => {
  const p = await cli(['plan', '--mde', '0.03', '--paired', '--correlation', '0.5', '--sigma2', '0.25']);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /n = 2181 paired samples/);
  const d = await cli(['plan', '--mde', '0.03']);
  assert.match(d.stdout, /assuming binary scores at p = 0\.5/);
  const u = JSON.parse((await cli(['plan', '--mde', '0.03', '--sigma2', '0.25', '--json'])).stdout);
  assert.equal(u.n, 4361);
  // Rare rates: unequal variances (issue 18: --p 0.001 used to say 7 per model); --p 0 works; ICC.
  const rare = await cli(['plan', '--mde', '0.05', '--p', '0.001']);
  assert.equal(rare.code, 0, rare.stderr);
  assert.match(rare.stdout, /rates 0\.0010 vs 0\.0510/);
  assert.ok(Number(/n = (\d+)/.exec(rare.stdout)![1]) > 150, rare.stdout);
  assert.equal((await cli(['plan', '--mde', '0.05', '--p', '0'])).code, 0);
  const icc = await cli(['plan', '--mde', '0.1', '--p', '0.3', '--icc', '0.1', '--cluster-size', '11']);
  assert.match(icc.stdout, /design effect 2\.00 applied \(\d+ clusters\)/);
  const badMde = await cli(['plan', '--mde', '0.9', '--p', '0.5']);
  assert.equal(badMde.code, 2);
  assert.match(badMde.stderr, /impossible/);
  const m = await cli(['plan', '--n', '200', '--sigma2', '0.25']);
  assert.match(m.stdout, /smallest detectable δ = 0\.1401/);
  const { a } = runs(tmp());
  const r = await cli(['plan', '--run', a]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /MDE paired \(ρ=0\.5\)/);
  const e = await cli(['plan']);
  assert.equal(e.code, 2);
  assert.match(e.stderr, /--mde/);
});
