import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditPlanJsonSchema, auditReportJsonSchema } from '../src/audit/schema.js';
import { runReportJsonSchema } from '../src/attest/predicate.js';
import { startTarget, type RunningTarget } from '../src/target/server.js';
import { arithmeticSuite, auditWorld, makeClaim, runAgainst, type AuditWorld } from './audit-fixture.js';
import { cli, ROOT, tmp } from './helpers.js';

for (const [file, gen] of [
  ['audit-plan.v1.schema.json', auditPlanJsonSchema],
  ['replication-audit.v1.schema.json', auditReportJsonSchema],
  ['run-report.v1.schema.json', runReportJsonSchema],
] as const) {
  test(`schemas/${file} matches the zod schema (UPDATE_SCHEMAS=1 rewrites it)`, () => {
    const path = join(ROOT, 'schemas', file);
    const text = JSON.stringify(gen(), null, 2) + '\n';
    if (process.env.UPDATE_SCHEMAS === '1') writeFileSync(path, text);
    assert.ok(readFileSync(path, 'utf8') === text, 'file differs from what the code generates');
  });
}

test('assay plan --equivalence prints the TOST sample size (closed form) and refuses incomplete options', async () => {
  const r = await cli(['plan', '--equivalence', '0.05', '--sigma2', '0.01', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.n, 35);
  assert.ok(Math.abs(j.nExact - 34.25538940267189) < 1e-9);
  const b = await cli(['plan', '--equivalence', '0.1', '--discordance', '0.02', '--p', '0.8']);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /n = \d+ items \(exact power 0\.8\d\d\)/);
  const bad = await cli(['plan', '--equivalence', '0.05']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--sigma2|--discordance/);
});

let world: AuditWorld;
let target: RunningTarget;
before(async () => {
  world = await auditWorld();
  // Far below the claim's 0.9: the audit's items are drawn from an unpredictable seed (the witnesses'
  // cosignatures), and at 0.6 one draw in ~6 landed within the margin's reach ("inconclusive", a flaky test).
  target = await startTarget({ latencyMs: 0, accuracy: 0.3, seed: 11 });
});
after(async () => {
  await world.close();
  await target.close();
});

test('CLI: attest --as developer, verify says SELF-REPORTED; audit plan → run → report (inconsistent, exit 25) → verify recomputes', async () => {
  const home = tmp('assay-audit-cli-');
  const env = { ASSAY_HOME: home };
  const suite = arithmeticSuite(120);
  const claimLog = await runAgainst(suite, { accuracy: 0.9, seed: 11 });
  const trustFile = join(world.home, 'trust.json');
  // The developer signs and logs its claim with the CLI (its own keyring).
  const devHome = tmp('assay-audit-dev-');
  assert.equal((await cli(['keys', 'generate', '--name', 'dev'], { ASSAY_HOME: devHome })).code, 0);
  const claimFile = join(home, 'claim.json');
  const a = await cli(['attest', claimLog, '--as', 'developer', '--seed-delay', '2', '--tester', 'Frontier Dev', '--log', world.logDir, '--out', claimFile], { ASSAY_HOME: devHome });
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /signed CLAIM \(self-reported, developer role, seed delay D = 2\)/);
  const devPub = join(home, 'dev.pem');
  writeFileSync(devPub, (await cli(['keys', 'export-public', 'dev'], { ASSAY_HOME: devHome })).stdout);
  assert.equal((await cli(['trust', 'add', devPub, '--name', 'Frontier Dev', '--as', 'developer', '--file', trustFile])).code, 0);
  const v = await cli(['verify', claimFile, '--trust', trustFile, '--run', claimLog], env);
  assert.match(v.stdout, /SELF-REPORTED CLAIM by the developer Frontier Dev/);
  assert.match(v.stdout, /signature 0 \(developer\)/);
  // Too early for the seed: D = 2 entries after the claim are not there yet.
  const early = await cli(['audit', 'plan', claimFile, '--claim-run', claimLog, '--margin', '0.1', '--log', world.logDir, '--trust', trustFile, '--out', join(home, 'p0.json')], env);
  assert.notEqual(early.code, 0);
  assert.match(early.stderr, /size ≥ \d+/);
  await world.grow(2);
  const cp = join(home, 'checkpoint');
  const { readBundle } = await import('../src/attest/bundle.js');
  writeFileSync(cp, await world.cosigned(readBundle(claimFile)));
  const planFile = join(home, 'plan.json');
  const pl = await cli(['audit', 'plan', claimFile, '--claim-run', claimLog, '--margin', '0.1', '--discordance', '0.02', '--checkpoint', cp, '--log', world.logDir, '--trust', trustFile, '--out', planFile], env);
  assert.equal(pl.code, 0, pl.stderr);
  assert.match(pl.stdout, /cosigned by w1\.example, w2\.example/);
  const plan = JSON.parse(readFileSync(planFile, 'utf8'));
  // The replication through a worse model (the simulated target at 0.3).
  const repl = join(home, 'replication.jsonl');
  const ru = await cli(['audit', 'run', planFile, '--claim-run', claimLog, '--suite', suite, '--model', 'openai/sim-audit', '--base-url', `${target.url}/v1`, '--simulated', '--out', repl], env);
  assert.equal(ru.code, 0, ru.stderr);
  assert.equal((await cli(['keys', 'generate', '--name', 'auditor'], env)).code, 0);
  assert.equal((await cli(['trust', 'add', 'auditor', '--name', 'Audit Lab', '--file', trustFile], env)).code, 0);
  const out = join(home, 'audit.json');
  const rep = await cli(['audit', 'report', planFile, '--claim-run', claimLog, '--run', repl, '--out', out, '--log', world.logDir, ...world.witnessUrls.flatMap((u) => ['--witness-url', u])], env);
  assert.equal(rep.code, 25, rep.stdout + rep.stderr);
  assert.match(rep.stdout, /CONCLUSION: INCONSISTENT/);
  assert.match(rep.stdout, /items whose outcome differs \(\d+\):/);
  const vv = await cli(['verify', out, '--trust', trustFile, '--claim', claimFile, '--claim-run', claimLog, '--run', repl, '--require-log'], env);
  assert.equal(vv.code, 0, vv.stdout + vv.stderr);
  assert.match(vv.stdout, /recomputed: item-by-item comparison and conclusion \(inconsistent\)/);
  assert.equal(plan.items.length, JSON.parse(Buffer.from(JSON.parse(readFileSync(out, 'utf8')).payload, 'base64').toString()).predicate.items.length);
  // An edited claim run log: audit plan refuses before sampling, with verify's exit code (14).
  const edited = join(home, 'edited.jsonl');
  writeFileSync(edited, readFileSync(claimLog, 'utf8').replace('"value":0', '"value":1'));
  const rej = await cli(['audit', 'plan', claimFile, '--claim-run', edited, '--margin', '0.1', '--checkpoint', cp, '--log', world.logDir, '--trust', trustFile, '--out', join(home, 'p2.json')], env);
  assert.equal(rej.code, 14, rej.stderr);
  assert.match(rej.stderr, /nothing is sampled/);
});

test('CLI: audit contamination flags a model that does better on the public split than on the held-out one', async () => {
  // Public split answered at 0.95 (the model has seen it), held-out at 0.7; then both at 0.8.
  const all = arithmeticSuite(200);
  const ids = Array.from({ length: 200 }, (_, i) => `q${String(i + 1).padStart(4, '0')}`);
  const pub = ids.filter((_, i) => i % 2 === 0);
  const held = ids.filter((_, i) => i % 2 === 1);
  const seen = await runAgainst(all, { accuracy: 0.95, seed: 5 }, { sampleIds: pub });
  const fresh = await runAgainst(all, { accuracy: 0.7, seed: 5 }, { sampleIds: held });
  const r = await cli(['audit', 'contamination', seen, fresh, '--by', 'difficulty', '--json']);
  assert.equal(r.code, 27, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.flagged, true);
  assert.deepEqual(j.strata.map((s: { stratum: string }) => s.stratum), ['easy', 'hard']);
  assert.ok(j.difference > 0.1);
  const same = await runAgainst(all, { accuracy: 0.8, seed: 5 }, { sampleIds: pub });
  const same2 = await runAgainst(all, { accuracy: 0.8, seed: 5 }, { sampleIds: held });
  const r2 = await cli(['audit', 'contamination', same, same2, '--by', 'difficulty']);
  assert.equal(r2.code, 0, r2.stdout + r2.stderr);
  assert.match(r2.stdout, /NOT FLAGGED/);
  // Overlapping splits are refused.
  const r3 = await cli(['audit', 'contamination', seen, seen]);
  assert.notEqual(r3.code, 0);
  assert.match(r3.stderr, /share \d+ item/);
});
