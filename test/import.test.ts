import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attestRun, bundleText } from '../src/attest/bundle.js';
import { generateSigner } from '../src/attest/keys.js';
import { parseTrust, trustDocument } from '../src/attest/trust.js';
import { formatVerifyResult, verifyReport } from '../src/attest/verify.js';
import { parseInspectLog } from '../src/external/inspect.js';
import { parseLmEval } from '../src/external/lmeval.js';
import { importedRunLog } from '../src/external/runlog.js';
import { readRunHeader } from '../src/run/log-reader.js';
import { statsForRun } from '../src/stats/from-log.js';
import { cli, ROOT, tmp } from './helpers.js';

const FIX = join(ROOT, 'test/fixtures/harness-logs');
const INSPECT = join(FIX, 'inspect-popularity.json');
const LM_RESULTS = join(FIX, 'results_2026-10-01T23-15-32.942677.json');
const LM_SAMPLES = join(FIX, 'samples_copa_2026-10-01T23-15-32.942677.jsonl');

const writeLog = (text: string) => {
  const p = join(tmp('assay-import-'), 'run.jsonl');
  writeFileSync(p, text);
  return p;
};

test('Inspect: a real log imports with provenance, and the imported accuracy and stderr equal what the log reports about itself', async () => {
  const run = parseInspectLog(readFileSync(INSPECT), INSPECT);
  assert.deepEqual(run.metrics, ['match']);
  assert.equal(run.samples.length, 3);
  assert.equal(run.provenance.harness.version, '0.3.95.dev16+g6527d0861');
  const log = writeLog(importedRunLog(run));
  const h = (await readRunHeader(log)) as Awaited<ReturnType<typeof readRunHeader>> & { provenance: { executedByAssay: boolean; harness: { name: string }; statement: string } };
  assert.equal(h.provenance.executedByAssay, false);
  assert.equal(h.provenance.harness.name, 'inspect_ai');
  assert.match(h.provenance.statement, /not executed by Assay/);
  const s = await statsForRun(log, { resamples: 0 });
  const m = s.metrics.find((x) => x.name === 'match')!;
  // The log's own figures: results.scores[match].metrics.accuracy / stderr.
  assert.equal(m.mean, 0.6666666666666666);
  assert.ok(Math.abs(m.se - 0.33333333333333337) < 1e-12, String(m.se));
  assert.equal(m.domain, 'binary');
  assert.equal(m.interval.method, 'clopper-pearson');
  // Inspect's status was "cancelled": the run log says interrupted, and a note says why.
  assert.match(readFileSync(log, 'utf8'), /"status":"interrupted"/);
  assert.ok(run.provenance.notes.some((n) => /cancelled/.test(n)));
});

test('lm-evaluation-harness: results + samples import; acc and its stderr equal the results file', async () => {
  const run = parseLmEval({ bytes: readFileSync(LM_RESULTS), file: LM_RESULTS }, { bytes: readFileSync(LM_SAMPLES), file: LM_SAMPLES });
  assert.deepEqual(run.metrics, ['acc,none']);
  assert.equal(run.samples.length, 20);
  assert.equal(run.provenance.harness.version, '0.4.13');
  assert.equal(run.model.name, 'hf/sshleifer/tiny-gpt2');
  const log = writeLog(importedRunLog(run));
  const s = await statsForRun(log, { resamples: 0 });
  const m = s.metrics[0]!;
  assert.equal(m.mean, 0.6);
  assert.ok(Math.abs(m.se - 0.11239029738980327) < 1e-12, String(m.se));
  assert.equal(m.n, 20);
});

test('an imported run can be signed and verified against its log like any other', async () => {
  const log = writeLog(importedRunLog(parseLmEval({ bytes: readFileSync(LM_RESULTS), file: LM_RESULTS }, { bytes: readFileSync(LM_SAMPLES), file: LM_SAMPLES })));
  const signer = generateSigner();
  const { bundle } = await attestRun(log, { signer, testerName: 'Importer Lab', claim: { seedDelay: 4 } });
  const trust = parseTrust(JSON.stringify(trustDocument({ cosigners: [{ name: 'Dev', publicKey: signer.publicKey, role: 'developer' }] })));
  const r = await verifyReport(Buffer.from(bundleText(bundle)), { trust, runLogPath: log });
  assert.equal(r.ok, true, formatVerifyResult(r));
  assert.match(formatVerifyResult(r), /SELF-REPORTED CLAIM/);
});

test('bad input: errors name the file and the field or line', () => {
  const bad = JSON.parse(readFileSync(INSPECT, 'utf8'));
  bad.samples[1].scores.match.value = 'X';
  assert.throws(() => parseInspectLog(Buffer.from(JSON.stringify(bad)), 'bad.json'), (e: Error & { code?: string }) => e.code === 'IMPORT_SCORE' && /samples\[1\]\.scores\.match\.value/.test(e.message));
  const v1 = { ...bad, version: 1 };
  assert.throws(() => parseInspectLog(Buffer.from(JSON.stringify(v1)), 'v1.json'), /version 1 is not supported/);
  const noSamples = { ...bad };
  delete noSamples.samples;
  assert.throws(() => parseInspectLog(Buffer.from(JSON.stringify(noSamples)), 'n.json'), /log_samples=False/);
  const lines = readFileSync(LM_SAMPLES, 'utf8').split('\n');
  const rec = JSON.parse(lines[3]!);
  delete rec.metrics;
  lines[3] = JSON.stringify(rec);
  assert.throws(() => parseLmEval({ bytes: readFileSync(LM_RESULTS), file: 'r.json' }, { bytes: Buffer.from(lines.join('\n')), file: 'samples_copa_2026-10-01T23-15-32.942677.jsonl' }), /line 4: metrics/);
  assert.throws(() => parseLmEval({ bytes: readFileSync(LM_RESULTS), file: 'r.json' }, { bytes: readFileSync(LM_SAMPLES), file: 'x.jsonl' }, { task: 'arc' }), /no task "arc"/);
});

test('CLI: assay import prints the harness figures next to the imported ones; a log whose samples disagree with its own aggregate exits 4', async () => {
  const out = join(tmp('assay-import-cli-'), 'imp.jsonl');
  const r = await cli(['import', 'lm-eval', LM_RESULTS, '--samples', LM_SAMPLES, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /NOT executed by Assay/);
  assert.match(r.stdout, /acc,none: harness reported 0\.6 .* imported 0\.6 .*: same/);
  const st = await cli(['stats', out, '--json']);
  assert.equal(JSON.parse(st.stdout).metrics[0].mean, 0.6);
  const lie = JSON.parse(readFileSync(INSPECT, 'utf8'));
  lie.results.scores[0].metrics.accuracy.value = 0.9;
  const f = join(tmp('assay-import-cli-'), 'lie.json');
  writeFileSync(f, JSON.stringify(lie));
  const r2 = await cli(['import', 'inspect', f, '--out', join(tmp('assay-import-cli-'), 'lie.jsonl')]);
  assert.equal(r2.code, 4, r2.stdout + r2.stderr);
  assert.match(r2.stdout, /match: harness reported 0\.9 .*DIFFERENT/);
});

test('a policy can name an imported suite (imported.<harness>.<task>) and decide on the imported run', async () => {
  const dir = tmp('assay-import-policy-');
  const log = join(dir, 'run.jsonl');
  writeFileSync(log, importedRunLog(parseLmEval({ bytes: readFileSync(LM_RESULTS), file: LM_RESULTS }, { bytes: readFileSync(LM_SAMPLES), file: LM_SAMPLES })));
  const h = await readRunHeader(log);
  assert.equal(h.suite.id, 'imported.lm-evaluation-harness.copa');
  // lm-eval ran 20 of COPA's 100 items (--limit 20, n-samples.original 100): a partial run, which
  // counts only where a policy allows subsets.
  assert.equal(h.suite.items, 100);
  const policy = (threshold: number, subsets = true) =>
    [
      'schema: assay.policy/v2',
      'id: examples.imported-copa',
      'version: 1.0.0',
      'title: Policy over an imported lm-eval run (test)',
      'example: true',
      'disclaimer: Test only.',
      'description: A rule over a suite imported from lm-evaluation-harness.',
      'defaults:',
      '  interval: { method: auto, level: 0.95, sided: two }',
      `  evidence: { min_samples: 10, max_unscored_rate: 0.05, access: { rule_in: black-box, rule_out: black-box }${subsets ? ', subsets: any' : ''} }`,
      'capabilities:',
      '  - id: test.copa',
      '    title: COPA (stand-in)',
      '    actions:',
      '      threshold-crossed: [ { type: notify, party: test, within_days: 1, subject: crossed } ]',
      '      below-threshold: [ { type: re-evaluate, when: model-change } ]',
      'rules:',
      '  - id: test.copa-acc',
      '    capability: test.copa',
      '    title: COPA accuracy',
      `    suite: { id: imported.lm-evaluation-harness.copa, digests: [${h.suite.digest}] }`,
      '    metric: acc,none',
      `    threshold: ${threshold}`,
      '    rationale: test',
      '',
    ].join('\n');
  writeFileSync(join(dir, 'p.yaml'), policy(0.9, false));
  const whole = await cli(['verdict', join(dir, 'p.yaml'), log]);
  assert.match(whole.stdout, /insufficient-evidence/, whole.stdout + whole.stderr);
  assert.match(whole.stdout, /partial|subset/i, whole.stdout);
  writeFileSync(join(dir, 'p.yaml'), policy(0.9));
  const below = await cli(['verdict', join(dir, 'p.yaml'), log]);
  assert.equal(below.code, 0, below.stdout + below.stderr); // 0.6 [0.36, 0.82] is below 0.9
  writeFileSync(join(dir, 'p.yaml'), policy(0.3));
  const crossed = await cli(['verdict', join(dir, 'p.yaml'), log]);
  assert.equal(crossed.code, 20, crossed.stdout + crossed.stderr); // and above 0.3
});
