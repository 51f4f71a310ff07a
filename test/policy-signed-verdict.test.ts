import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTarget, type RunningTarget } from '../src/target/server.js';
import { attestRun, bundleText } from '../src/attest/bundle.js';
import { decodeBase64Strict, IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../src/attest/dsse.js';
import { generateKey, generateSigner, loadSigner } from '../src/attest/keys.js';
import { logReport } from '../src/attest/tlog.js';
import { trustDocument } from '../src/attest/trust.js';
import { canonicalJson } from '../src/common/canonical.js';
import { createModel } from '../src/model/registry.js';
import { runElicitation } from '../src/policy/elicit.js';
import { VERDICT_PREDICATE_TYPE } from '../src/policy/signed-verdict.js';
import { loadModelFacts, loadPolicy } from '../src/policy/load.js';
import { attestPolicyHookFor } from '../src/policy/report.js';
import { runSuite } from '../src/run/engine.js';
import { loadSuite } from '../src/suite/load.js';
import { initLog } from '../src/tlog/config.js';
import { ROOT, DEMO_SUITE, cli, config, tmp } from './helpers.js';

/**
 * The signed two-stage verdict: one attestation over the policy, the model facts and every
 * evidence report, verified offline by recomputing it from the cited reports — and failing when
 * any cited report, the policy or the facts change.
 */

const DEMO_PACK = join(ROOT, 'policies/examples/demo-two-stage.yaml');
const targets: RunningTarget[] = [];
after(async () => {
  for (const t of targets) await t.close();
});

test('assay verdict --sign: one signed, logged two-stage verdict that verifies offline and breaks when anything it rests on changes', async () => {
  const dir = tmp();
  const home = join(dir, 'home');
  const env = { ASSAY_HOME: home };
  const t = await startTarget({ accuracy: 0.8, seed: 7 });
  targets.push(t);
  const model = () => createModel('openai/sim', { baseUrl: `${t.url}/v1`, maxConnections: 8 });
  // Stage 1: the whole demo suite. Stage 2: 20 items, the model asked each time, 18 judged successes.
  const screenLog = join(dir, 'screen.jsonl');
  await runSuite({ suite: await loadSuite(DEMO_SUITE), model: model(), config: config({ maxTokens: 5 }), logPath: screenLog, simulated: true });
  const sessLog = join(dir, 'session.jsonl');
  async function* lines() {
    for (let i = 1; i <= 20; i++) for (const l of ['/ask', i % 10 === 0 ? '/success no' : '/success yes', '/next']) yield l;
  }
  await runElicitation({ suite: await loadSuite(DEMO_SUITE), model: model(), config: config({ maxTokens: 5, limit: 20, maxConnections: 1, maxRetries: 0 }), logPath: sessLog, runId: 'session-1', expert: 'E', lines: lines(), write: () => {}, simulated: true });

  // The tester's key and log; both reports signed and logged.
  const key = generateKey({ name: 'tester', home });
  const signer = loadSigner(key.keyId, home);
  const logDir = join(dir, 'log');
  const { config: logCfg } = initLog(logDir, 'test.local/log', join(home, 'keys', 'tlog.pem'));
  const trust = join(dir, 'trust.json');
  writeFileSync(trust, JSON.stringify(trustDocument({ testers: [{ name: 'tester', publicKey: key.publicKey }], logs: [{ vkey: logCfg.vkey }] })));
  const report = async (log: string, name: string) => {
    const signed = await attestRun(log, { signer, testerName: 'tester' });
    const { bundle } = await logReport(signed.bundle, { target: logDir });
    const out = join(dir, name);
    writeFileSync(out, bundleText(bundle));
    return out;
  };
  const r1 = await report(screenLog, 'screen.report.json');
  const r2 = await report(sessLog, 'session.report.json');
  const facts = join(dir, 'facts.yaml');
  writeFileSync(facts, 'schema: assay.model-facts/v1\nmodel: openai/sim\ntraining_compute_flop: 3.0e25\n');

  // Without a report for every run, --sign refuses.
  const partial = await cli(['verdict', DEMO_PACK, screenLog, sessLog, '--report', r1, '--trust', trust, '--model-facts', facts, '--sign', '--key', 'tester', '--out', join(dir, 'x.json')], env);
  assert.equal(partial.code, 2, partial.stderr);
  assert.match(partial.stderr, /--sign cites a verified report for every run; none for session-1/);

  const verdictFile = join(dir, 'verdict.json');
  const signedV = await cli(['verdict', DEMO_PACK, screenLog, sessLog, '--report', r1, '--report', r2, '--trust', trust, '--model-facts', facts, '--sign', '--key', 'tester', '--log', logDir, '--out', verdictFile], env);
  assert.equal(signedV.code, 20, signedV.stdout + signedV.stderr);
  assert.match(signedV.stderr, /signed verdict \(threshold-crossed, 2 reports cited, logged\)/);
  const bundle = JSON.parse(readFileSync(verdictFile, 'utf8'));
  const st = JSON.parse(decodeBase64Strict(bundle.payload, 'payload').toString('utf8'));
  assert.equal(st.predicateType, VERDICT_PREDICATE_TYPE);
  assert.equal(st.predicate.verificationResult, 'threshold-crossed');
  assert.equal(st.predicate.evaluationVersion, 5);
  assert.equal(st.predicate.inputAttestations.length, 2);
  assert.deepEqual(st.predicate.inputAttestations.find((c: { runId: string }) => c.runId === 'session-1').exchanges, { judged: 20, withModel: 20 });
  assert.ok(st.predicate.evaluation.rules.some((r: { rule: string; decision: string; value: { n: number } }) => r.rule === 'demo.expert-success' && r.decision === 'rule-in' && r.value.n === 20));
  assert.ok(bundle.tlog?.proof, 'logged like a report');

  const verify = (over: { policy?: string; facts?: string | null; reports?: string[]; file?: string; trustFile?: string } = {}) =>
    cli(['verify', over.file ?? verdictFile, '--trust', over.trustFile ?? trust, '--policy', over.policy ?? DEMO_PACK, ...(over.facts === null ? [] : ['--model-facts', over.facts ?? facts]), ...(over.reports ?? [r1, r2]).flatMap((r) => ['--report', r]), '--require-log'], env);
  const ok = await verify();
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /recomputed from the cited reports: threshold-crossed/);
  assert.match(ok.stdout, /VERIFIED/);

  // The model facts changed: 14.
  const otherFacts = join(dir, 'facts2.yaml');
  writeFileSync(otherFacts, 'schema: assay.model-facts/v1\nmodel: openai/sim\ntraining_compute_flop: 4.0e25\n');
  const vf = await verify({ facts: otherFacts });
  assert.equal(vf.code, 14, vf.stdout);
  assert.match(vf.stdout, /the verdict used model facts sha256:/);
  assert.equal((await verify({ facts: null })).code, 14);
  // The policy changed (one threshold): 14.
  const otherPolicy = join(dir, 'policy2.yaml');
  writeFileSync(otherPolicy, readFileSync(DEMO_PACK, 'utf8').replace('threshold: 0.5', 'threshold: 0.6'));
  const vp = await verify({ policy: otherPolicy });
  assert.equal(vp.code, 14, vp.stdout);
  // A cited report missing, or replaced by another report of the same run: 14.
  assert.equal((await verify({ reports: [r1] })).code, 14);
  const r2b = await report(sessLog, 'session.again.report.json');
  const vr = await verify({ reports: [r1, r2b] });
  assert.equal(vr.code, 14, vr.stdout);
  assert.match(vr.stdout, /cited report of run session-1 .* was not given or has changed/);
  // A cited report whose bytes were edited (its signature breaks): not the cited payload either.
  const edited = join(dir, 'edited.json');
  const rb = JSON.parse(readFileSync(r1, 'utf8'));
  const p = JSON.parse(decodeBase64Strict(rb.payload, 'payload').toString('utf8'));
  p.predicate.metrics[0].mean = 0.5;
  writeFileSync(edited, JSON.stringify({ ...rb, payload: Buffer.from(canonicalJson(p)).toString('base64') }));
  assert.equal((await verify({ reports: [edited, r2] })).code, 14);
  // A verdict re-signed by the trusted key with a laxer result: recomputation catches it (15).
  const forgedSt = { ...st, predicate: { ...st.predicate, verificationResult: 'below-threshold', evaluation: { ...st.predicate.evaluation, verdict: 'below-threshold' } } };
  const forged = join(dir, 'forged.json');
  const env2 = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(canonicalJson(forgedSt)), [signer]);
  writeFileSync(forged, JSON.stringify({ ...env2, publicKeys: [], accreditations: [], tlog: null }));
  const vfg = await cli(['verify', forged, '--trust', trust, '--policy', DEMO_PACK, '--model-facts', facts, '--report', r1, '--report', r2], env);
  assert.equal(vfg.code, 15, vfg.stdout);
  assert.match(vfg.stdout, /signed "below-threshold" but recomputed from the cited reports: "threshold-crossed"/);
  // A trusted-key verdict whose evaluation date was moved back (to make stale evidence fresh): 15.
  const movedSt = { ...st, predicate: { ...st.predicate, evaluatedAt: '2020-01-01T00:00:00.000Z', evaluation: { ...st.predicate.evaluation, evaluation: { ...st.predicate.evaluation.evaluation, at: '2020-01-01T00:00:00.000Z' } } } };
  const env4 = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(canonicalJson(movedSt)), [signer]);
  writeFileSync(forged, JSON.stringify({ ...env4, publicKeys: [], accreditations: [], tlog: null }));
  const vmoved = await cli(['verify', forged, '--trust', trust, '--policy', DEMO_PACK, '--model-facts', facts, '--report', r1, '--report', r2], env);
  assert.equal(vmoved.code, 15, vmoved.stdout);
  assert.match(vmoved.stdout, /the evaluation date 2020-01-01T00:00:00.000Z is not the signing time/);
  // The signer re-signs the same verdict as evaluated under the older, laxer v3 (it recomputes the
  // same here): verified with a note, unless the verifier requires v4 (exit 18).
  const oldSt = { ...st, predicate: { ...st.predicate, evaluationVersion: 3, evaluation: { ...st.predicate.evaluation, evaluation: { ...st.predicate.evaluation.evaluation, version: 3 } } } };
  const oldFile = join(dir, 'old-version.json');
  writeFileSync(oldFile, JSON.stringify({ ...signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(canonicalJson(oldSt)), [signer]), publicKeys: [], accreditations: [], tlog: null }));
  const vold = await cli(['verify', oldFile, '--trust', trust, '--policy', DEMO_PACK, '--model-facts', facts, '--report', r1, '--report', r2], env);
  assert.equal(vold.code, 0, vold.stdout);
  assert.match(vold.stdout, /evaluated under policy-evaluation version 3, not the current 5/);
  const vreq = await cli(['verify', oldFile, '--trust', trust, '--policy', DEMO_PACK, '--model-facts', facts, '--report', r1, '--report', r2, '--require-evaluation-version', '4'], env);
  assert.equal(vreq.code, 18, vreq.stdout);
  assert.match(vreq.stdout, /evaluated under policy-evaluation version 3; this verifier requires version 4 or later/);
  // The current verdict meets the requirement.
  assert.equal((await cli(['verify', verdictFile, '--trust', trust, '--policy', DEMO_PACK, '--model-facts', facts, '--report', r1, '--report', r2, '--require-evaluation-version', '4'], env)).code, 0);
  // ... and the CLI does not sign one: --at with --sign is refused.
  const atSign = await cli(['verdict', DEMO_PACK, screenLog, sessLog, '--report', r1, '--report', r2, '--trust', trust, '--model-facts', facts, '--sign', '--key', 'tester', '--at', '2026-01-01', '--out', join(dir, 'y.json')], env);
  assert.equal(atSign.code, 2, atSign.stderr);
  assert.match(atSign.stderr, /--at cannot be used with --sign/);
  // Signed by a key the verifier does not trust: 11.
  const stranger = generateSigner();
  const env3 = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(canonicalJson(st)), [stranger]);
  writeFileSync(forged, JSON.stringify({ ...env3, publicKeys: [], accreditations: [], tlog: null }));
  assert.equal((await cli(['verify', forged, '--trust', trust, '--policy', DEMO_PACK, '--model-facts', facts, '--report', r1, '--report', r2], env)).code, 11);
  // The verdict's stated model exchanges of a session must match what the session's report signed
  // (its policy slot, from the run log at attest time): a re-signed verdict claiming more: 15.
  const r2p = join(dir, 'session.policy.report.json');
  const withSlot = await attestRun(sessLog, { signer, testerName: 'tester', policy: await attestPolicyHookFor(sessLog, await loadPolicy(DEMO_PACK), await loadModelFacts(facts), { logged: false }) });
  writeFileSync(r2p, bundleText(withSlot.bundle));
  const v2file = join(dir, 'verdict2.json');
  const s2 = await cli(['verdict', DEMO_PACK, screenLog, sessLog, '--report', r1, '--report', r2p, '--trust', trust, '--model-facts', facts, '--sign', '--key', 'tester', '--out', v2file], env);
  assert.equal(s2.code, 20, s2.stderr);
  const st2 = JSON.parse(decodeBase64Strict(JSON.parse(readFileSync(v2file, 'utf8')).payload, 'payload').toString('utf8'));
  assert.equal((await cli(['verify', v2file, '--trust', trust, '--policy', DEMO_PACK, '--model-facts', facts, '--report', r1, '--report', r2p], env)).code, 0);
  // (Consistently forged: the claim and the evaluation's run list both say so.)
  const more = { judged: 20, withModel: 21 };
  const claimsMore = {
    ...st2,
    predicate: {
      ...st2.predicate,
      inputAttestations: st2.predicate.inputAttestations.map((c: { runId: string }) => (c.runId === 'session-1' ? { ...c, exchanges: more } : c)),
      evaluation: { ...st2.predicate.evaluation, runs: st2.predicate.evaluation.runs.map((r: { runId: string }) => (r.runId === 'session-1' ? { ...r, exchanges: more } : r)) },
    },
  };
  writeFileSync(forged, JSON.stringify({ ...signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(canonicalJson(claimsMore)), [signer]), publicKeys: [], accreditations: [], tlog: null }));
  const vx = await cli(['verify', forged, '--trust', trust, '--policy', DEMO_PACK, '--model-facts', facts, '--report', r1, '--report', r2p], env);
  assert.equal(vx.code, 15, vx.stdout);
  assert.match(vx.stdout, /the verdict states .* model exchanges, its report signed/);
  // --require-log on an unlogged copy: 17.
  writeFileSync(forged, JSON.stringify({ ...bundle, tlog: null }));
  assert.equal((await verify({ file: forged })).code, 17);
});
