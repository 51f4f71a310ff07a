import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTarget, type RunningTarget } from '../src/target/server.js';
import { attestRun, bundleText } from '../src/attest/bundle.js';
import { exportPublicPem, generateKey, generateSigner, loadSigner } from '../src/attest/keys.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../src/attest/dsse.js';
import { canonicalJson, sha256Hex } from '../src/common/canonical.js';
import { logReport } from '../src/attest/tlog.js';
import { parseTrust, trustDocument } from '../src/attest/trust.js';
import { verifyReport } from '../src/attest/verify.js';
import { issueGrantToken, defaultGrant } from '../src/gateway/grant.js';
import { createModel } from '../src/model/registry.js';
import { runElicitation } from '../src/policy/elicit.js';
import { evaluatePolicy, poolRuns, type RunEvidence } from '../src/policy/evaluate.js';
import { evidenceFromPredicate, evidenceFromRunLog } from '../src/policy/evidence.js';
import { buildRunReport } from '../src/attest/statement.js';
import { loadPolicy, parsePolicyYaml } from '../src/policy/load.js';
import { stage2Plan } from '../src/policy/plan.js';
import { attestPolicyHookFor, checkReportPolicy, reportPolicy } from '../src/policy/report.js';
import type { ModelFacts } from '../src/policy/schema.js';
import { runSuite } from '../src/run/engine.js';
import { loadSuite } from '../src/suite/load.js';
import { initLog } from '../src/tlog/config.js';
import { ROOT, DEMO_SUITE, cli, config, tmp } from './helpers.js';

/**
 * Evidence integrity (evaluation v2): each defect of issue 19 as a test that failed before —
 * a stage-2 session without the model, a rigged suite copy, a hand-picked subset, a capability
 * only experts decide, a proof from an untrusted log, a self-declared access level — and the
 * validation rules that keep screens biased against false negatives.
 */

const DEMO_PACK = join(ROOT, 'policies/examples/demo-two-stage.yaml');
const FACTS: ModelFacts = { schema: 'assay.model-facts/v1', model: 'openai/sim', training_compute_flop: 3e25 };
const targets: RunningTarget[] = [];
after(async () => {
  for (const t of targets) await t.close();
});

async function target(accuracy: number, seed = 7) {
  const t = await startTarget({ accuracy, seed });
  targets.push(t);
  return t;
}

async function run(dir: string, accuracy: number, over: Parameters<typeof config>[0] = {}, suiteFile = DEMO_SUITE, name = `run-${accuracy}`): Promise<string> {
  const t = await target(accuracy);
  const logPath = join(dir, `${name}.jsonl`);
  const res = await runSuite({ suite: await loadSuite(suiteFile), model: createModel('openai/sim', { baseUrl: `${t.url}/v1`, maxConnections: 8 }), config: config({ maxTokens: 5, ...over }), logPath, simulated: true });
  assert.equal(res.status, 'completed');
  return logPath;
}

/** A scripted stage-2 session over the first `n` demo items. */
async function session(dir: string, accuracy: number, lines: string[], n = 20, name = 'session'): Promise<string> {
  const t = await target(accuracy);
  const logPath = join(dir, `${name}.jsonl`);
  async function* it() {
    for (const l of lines) yield l;
  }
  await runElicitation({ suite: await loadSuite(DEMO_SUITE), model: createModel('openai/sim', { baseUrl: `${t.url}/v1`, maxConnections: 1 }), config: config({ maxTokens: 5, limit: n, maxConnections: 1, maxRetries: 0 }), logPath, runId: name, expert: 'E', lines: it(), write: () => {}, simulated: true });
  return logPath;
}

const rep = (k: number, ...xs: string[]) => Array.from({ length: k }, () => xs).flat();

test('a stage-2 session with zero model calls is not evidence: it cannot override an inconclusive screen', async () => {
  const dir = tmp();
  const lp = await loadPolicy(DEMO_PACK);
  const screen = await evidenceFromRunLog(await run(dir, 0.8));
  // The expert never asks the model: /success no and /next, twenty times.
  const empty = await evidenceFromRunLog(await session(dir, 0.8, rep(20, '/success no', '/next'), 20, 'no-calls'));
  assert.deepEqual(empty.exchanges, { judged: 20, withModel: 0 });
  const v = evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [screen, empty], mode: 'final' });
  const r = v.rules.find((x) => x.rule === 'demo.expert-success')!;
  assert.equal(r.decision, 'insufficient-evidence');
  assert.match(r.reasons.join('; '), /20 of 20 judged items have no model exchange recorded/);
  assert.equal(v.verdict, 'cannot-rule-out', 'the inconclusive screen stands');
  // Before (evaluation v1) the empty session ruled the capability out.
  assert.equal(evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [screen, empty], mode: 'final', version: 1 }).verdict, 'below-threshold');
  // The same judgements with the model asked each time do count.
  const asked = await evidenceFromRunLog(await session(dir, 0.8, rep(20, '/ask', '/success no', '/next'), 20, 'asked'));
  assert.deepEqual(asked.exchanges, { judged: 20, withModel: 20 });
  assert.equal(evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [screen, asked], mode: 'final' }).verdict, 'below-threshold');
  // One judged item without an exchange spoils the session (it is not silently dropped).
  const mixed = await evidenceFromRunLog(await session(dir, 0.8, [...rep(19, '/ask', '/success no', '/next'), '/success no', '/next'], 20, 'mixed'));
  assert.deepEqual(mixed.exchanges, { judged: 20, withModel: 19 });
  assert.equal(evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [screen, mixed], mode: 'final' }).verdict, 'cannot-rule-out');
});

test('a rigged copy of a pinned suite (answer keys altered) cannot clear; an unpinned rule cannot rule out at all', async () => {
  const dir = tmp();
  const copy = join(dir, 'suite');
  cpSync(join(ROOT, 'suites/demo-arithmetic'), copy, { recursive: true });
  const data = join(copy, 'data.jsonl');
  writeFileSync(data, readFileSync(data, 'utf8').split('\n').filter(Boolean).map((l) => { const o = JSON.parse(l); o.answer = (o.answer + 1) % 4; return JSON.stringify(o); }).join('\n') + '\n');
  // A perfect target scores 0 on the rigged copy.
  const ev = await evidenceFromRunLog(await run(dir, 1.0, {}, join(copy, 'suite.yaml'), 'rigged'));
  assert.equal(ev.suite.id, 'demo.arithmetic');
  assert.equal(ev.metrics.find((m) => m.name === 'accuracy')!.mean, 0);
  const lp = await loadPolicy(DEMO_PACK);
  const v = evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [ev], mode: 'final' });
  assert.equal(v.verdict, 'insufficient-evidence');
  assert.match(v.rules[0]!.reasons.join('; '), /suite digest sha256:[0-9a-f]{64} is not one the rule accepts/);
  // The same pack without its pins (as the example packs shipped before): cleared under v1, not under v2.
  const unpinned = parsePolicyYaml(readFileSync(DEMO_PACK, 'utf8').replace(/, digests: \[[^\]]*\]/g, ''), 'unpinned.yaml');
  assert.equal(evaluatePolicy(unpinned.policy, unpinned.digest, { facts: FACTS, runs: [ev], mode: 'final', version: 1 }).verdict, 'below-threshold');
  const v2 = evaluatePolicy(unpinned.policy, unpinned.digest, { facts: FACTS, runs: [ev], mode: 'final' });
  assert.equal(v2.verdict, 'insufficient-evidence');
  assert.match(v2.rules.map((r) => r.reasons.join('; ')).join('\n'), /pins no suite digest/);
  // A verdict shows the digest of every run it used.
  assert.equal(v.runs[0]!.suiteDigest, ev.suite.digest);
  // `policy validate` warns about every unpinned rule (valid, exit 0, warning on stderr).
  const unpinnedFile = join(dir, 'unpinned.yaml');
  writeFileSync(unpinnedFile, readFileSync(DEMO_PACK, 'utf8').replace(/, digests: \[[^\]]*\]/g, ''));
  const val = await cli(['policy', 'validate', unpinnedFile]);
  assert.equal(val.code, 0, val.stdout + val.stderr);
  assert.match(val.stderr, /demo\.screen-accuracy: suite demo\.arithmetic is not pinned \(no suite\.digests\): its runs cannot rule the capability out/);
  assert.match(val.stderr, /demo\.expert-success: suite demo\.arithmetic\.elicitation is not pinned/);
  assert.doesNotMatch((await cli(['policy', 'validate', DEMO_PACK])).stderr, /not pinned/);
});

test('a hand-picked subset does not count unless the rule allows it; --limit counts only with subsets: first-n', async () => {
  const dir = tmp();
  const lp = await loadPolicy(DEMO_PACK);
  const ids = Array.from({ length: 100 }, (_, i) => `arith-${String(2 * i + 1).padStart(4, '0')}`);
  const chosen = await evidenceFromRunLog(await run(dir, 0.8, { sampleIds: ids }, DEMO_SUITE, 'chosen'));
  assert.equal(chosen.extent?.kind, 'chosen');
  const v = evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [chosen], mode: 'final' });
  assert.equal(v.verdict, 'insufficient-evidence');
  assert.match(v.rules[0]!.reasons.join('; '), /is partial \(100 chosen item\(s\), --sample-id\)/);
  const limited = await evidenceFromRunLog(await run(dir, 0.8, { limit: 120 }, DEMO_SUITE, 'limited'));
  assert.equal(limited.extent?.kind, 'first-n');
  assert.equal(evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [limited], mode: 'final' }).verdict, 'insufficient-evidence');
  const firstN = parsePolicyYaml(readFileSync(DEMO_PACK, 'utf8').replace('max_unscored_rate: 0.05', 'max_unscored_rate: 0.05\n    subsets: first-n'), 'first-n.yaml');
  const vf = evaluatePolicy(firstN.policy, firstN.digest, { facts: FACTS, runs: [limited], mode: 'final' });
  assert.notEqual(vf.rules[0]!.decision, 'insufficient-evidence', vf.rules[0]!.reasons.join('; '));
  // ... but never a chosen set, which needs subsets: any.
  assert.equal(evaluatePolicy(firstN.policy, firstN.digest, { facts: FACTS, runs: [chosen], mode: 'final' }).verdict, 'insufficient-evidence');
  // The whole suite counts.
  const full = await evidenceFromRunLog(await run(dir, 0.8, {}, DEMO_SUITE, 'full'));
  assert.equal(full.extent?.kind, 'full');
  assert.equal(evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [full], mode: 'final' }).verdict, 'cannot-rule-out');
});

test('a log holding fewer items than its suite is partial even with a completed end and no --limit (evaluation v4)', async () => {
  const dir = tmp();
  const lp = await loadPolicy(DEMO_PACK);
  const whole = await run(dir, 0.8, {}, DEMO_SUITE, 'whole');
  const lines = readFileSync(whole, 'utf8').trimEnd().split('\n');
  const header = JSON.parse(lines[0]!);
  assert.equal(header.suite.items, 200, 'the run header records how many items the suite holds');
  // Keep the header, the end record ("completed") and only the passed items: a trimmed log.
  const kept = lines.filter((l) => {
    const r = JSON.parse(l);
    return r.type !== 'sample' || Object.values(r.scores as Record<string, { value?: unknown }>).every((x) => x.value === 1 || x.value === true);
  });
  const trimmed = join(dir, 'trimmed.jsonl');
  writeFileSync(trimmed, kept.join('\n') + '\n');
  const recorded = kept.filter((l) => JSON.parse(l).type === 'sample').length;
  assert.ok(recorded < 200 && recorded > 100, `kept ${recorded}`);
  const ev = await evidenceFromRunLog(trimmed);
  assert.equal(ev.extent?.kind, 'full', 'config and end record alone say whole');
  assert.deepEqual(ev.extent?.coverage, { recorded, expected: 200 });
  const v = evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [ev], mode: 'final' });
  assert.equal(v.verdict, 'insufficient-evidence');
  assert.match(v.rules[0]!.reasons.join('; '), new RegExp(`holds ${recorded} of the 200 item records its suite defines`));
  // Before (evaluation v3) the trimmed log counted as a whole run.
  assert.notEqual(evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [ev], mode: 'final', version: 3 }).rules[0]!.decision, 'insufficient-evidence');
  // The report of the trimmed log carries the suite's size too, and reads the same.
  const st = await buildRunReport(trimmed, { tester: { name: 't', keyId: `sha256:${'0'.repeat(64)}` } });
  assert.equal(st.predicate.suite.items, 200);
  const evp = evidenceFromPredicate(st.predicate, { signed: true, logged: false });
  assert.deepEqual(evp.extent?.coverage, { recorded, expected: 200 });
  assert.equal(evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [evp], mode: 'final' }).verdict, 'insufficient-evidence');
  // A rule that allows any subset counts it; the whole log counts under the default rule.
  const any = parsePolicyYaml(readFileSync(DEMO_PACK, 'utf8').replace('max_unscored_rate: 0.05', 'max_unscored_rate: 0.05\n    subsets: any'), 'any.yaml');
  assert.notEqual(evaluatePolicy(any.policy, any.digest, { facts: FACTS, runs: [ev], mode: 'final' }).rules[0]!.decision, 'insufficient-evidence');
  const full = await evidenceFromRunLog(whole);
  assert.deepEqual(full.extent?.coverage, { recorded: 200, expected: 200 });
  assert.equal(evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [full], mode: 'final' }).verdict, 'cannot-rule-out');
  // The header's count is the tester's statement: lowered along with the trimming, it is overruled by
  // the suite file the header names when that file reads the same data (its data digests).
  const lowered = join(dir, 'lowered.jsonl');
  writeFileSync(lowered, [JSON.stringify({ ...header, suite: { ...header.suite, items: recorded } }), ...kept.slice(1)].join('\n') + '\n');
  assert.deepEqual((await evidenceFromRunLog(lowered)).extent?.coverage, { recorded, expected: 200 });
  // A log written before the suite's size was recorded reads it from the suite file when that is here ...
  const { items: _items, ...oldSuite } = header.suite;
  const oldHere = join(dir, 'old-here.jsonl');
  writeFileSync(oldHere, [JSON.stringify({ ...header, suite: oldSuite }), ...lines.slice(1)].join('\n') + '\n');
  assert.deepEqual((await evidenceFromRunLog(oldHere)).extent?.coverage, { recorded: 200, expected: 200 });
  // ... and otherwise its size is unknown, so it does not count under v4 (v3 reads it as before).
  const old = join(dir, 'old.jsonl');
  writeFileSync(old, [JSON.stringify({ ...header, suite: { ...oldSuite, file: join(dir, 'no-such-suite.yaml') } }), ...lines.slice(1)].join('\n') + '\n');
  const evOld = await evidenceFromRunLog(old);
  assert.deepEqual(evOld.extent?.coverage, { recorded: 200, expected: null });
  const vo = evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [evOld], mode: 'final' });
  assert.equal(vo.verdict, 'insufficient-evidence');
  assert.match(vo.rules[0]!.reasons.join('; '), /suite's item count is not recorded/);
  assert.equal(evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [evOld], mode: 'final', version: 3 }).verdict, 'cannot-rule-out');
});

test('the screen plans a capability that only experts can decide (it is not "not in scope")', async () => {
  const text = readFileSync(DEMO_PACK, 'utf8');
  const expertOnly = parsePolicyYaml(
    text.replace(/  - id: demo\.screen-accuracy[\s\S]*?(?=  - id: demo\.expert-success)/, '').replace('capabilities:\n', 'capabilities:\n'),
    'expert-only.yaml',
  );
  assert.equal(expertOnly.policy.rules.length, 1);
  const v = evaluatePolicy(expertOnly.policy, expertOnly.digest, { facts: FACTS, runs: [], mode: 'screen' });
  assert.equal(v.verdict, 'escalate');
  assert.match(v.capabilities[0]!.reasons.join('; '), /decided only by expert elicitation/);
  const plan = stage2Plan(expertOnly.policy, v);
  assert.equal(plan.items.length, 1);
  assert.equal(plan.items[0]!.kind, 'elicit');
  assert.equal(plan.items[0]!.elicitation?.logSuite, 'demo.arithmetic.elicitation');
  // v1 said "not in scope" and CLEARED nothing — it planned nothing.
  assert.equal(evaluatePolicy(expertOnly.policy, expertOnly.digest, { facts: FACTS, runs: [], mode: 'screen', version: 1 }).verdict, 'not-in-scope');
  // The command itself: `assay screen` escalates (21) and writes the stage-2 plan item (no suite to run).
  const dir = tmp();
  const file = join(dir, 'expert-only.yaml');
  writeFileSync(file, text.replace(/  - id: demo\.screen-accuracy[\s\S]*?(?=  - id: demo\.expert-success)/, ''));
  const facts = join(dir, 'facts.yaml');
  writeFileSync(facts, 'schema: assay.model-facts/v1\nmodel: openai/sim\ntraining_compute_flop: 3.0e25\n');
  const planFile = join(dir, 'plan.json');
  const sc = await cli(['screen', '--policy', file, '--model', 'openai/sim', '--base-url', 'http://127.0.0.1:9/v1', '--model-facts', facts, '--plan', planFile], { ASSAY_HOME: join(dir, 'home') });
  assert.equal(sc.code, 21, sc.stdout + sc.stderr);
  assert.match(sc.stdout, /SCREEN: ESCALATE/);
  assert.doesNotMatch(sc.stdout, /CLEARED|not in scope/i);
  const written = JSON.parse(readFileSync(planFile, 'utf8'));
  assert.deepEqual(written.items.map((i: { kind: string; capability: string }) => [i.kind, i.capability]), [['elicit', 'demo.arithmetic-uplift']]);
});

test('verify --policy: "logged" means an inclusion proof under a TRUSTED log', async () => {
  const dir = tmp();
  const text = readFileSync(DEMO_PACK, 'utf8').replace('max_unscored_rate: 0.05', 'max_unscored_rate: 0.05\n    signed: true\n    logged: true');
  writeFileSync(join(dir, 'p.yaml'), text);
  const lp = await loadPolicy(join(dir, 'p.yaml'));
  const log = await run(dir, 0.5);
  const signer = generateSigner();
  const signed = await attestRun(log, { signer, testerName: 't', policy: await attestPolicyHookFor(log, lp, { facts: FACTS, file: 'f', digest: 'd' }, { logged: true }) });
  assert.equal(signed.statement.predicate.policy?.verdict, 'below-threshold');
  // Logged in a log the verifier does not trust.
  const rogue = join(dir, 'rogue-log');
  initLog(rogue, 'rogue.local/log', join(dir, 'rogue.pem'));
  const { bundle } = await logReport(signed.bundle, { target: rogue });
  const check = (st: { predicate: Parameters<typeof checkReportPolicy>[1] }, ctx: { logged: boolean }) => checkReportPolicy(lp, st.predicate, ctx);
  const untrusted = parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 't', publicKey: signer.publicKey }] })), 'trust');
  const r = await verifyReport(bundleText(bundle), { trust: untrusted, policy: check as never });
  assert.equal(r.exitCode, 15, JSON.stringify(r.failures));
  assert.match(r.failures.find((f) => f.check === 'policy')!.message, /signed "below-threshold" but recomputed .* "insufficient-evidence"/);
  // The same report against a trust file that holds the log: verified.
  const { readLogConfig } = await import('../src/tlog/config.js');
  const trusted = parseTrust(JSON.stringify(trustDocument({ testers: [{ name: 't', publicKey: signer.publicKey }], logs: [{ vkey: readLogConfig(rogue).vkey }] })), 'trust');
  const ok = await verifyReport(bundleText(bundle), { trust: trusted, policy: check as never });
  assert.equal(ok.exitCode, 0, JSON.stringify(ok.failures));
});

test('a self-declared access level cannot unlock rule-out where the policy requires grant evidence', async () => {
  const dir = tmp();
  const home = join(dir, 'home');
  const text = readFileSync(DEMO_PACK, 'utf8').replace('access: { rule_in: black-box, rule_out: grey-box }', 'access: { rule_in: black-box, rule_out: grey-box, basis: grant }');
  const pack = join(dir, 'grant.yaml');
  writeFileSync(pack, text);
  const facts = join(dir, 'facts.yaml');
  writeFileSync(facts, 'schema: assay.model-facts/v1\nmodel: openai/sim\ntraining_compute_flop: 3.0e25\n');
  const log = await run(dir, 0.5, { access: 'grey-box' });
  const declared = await cli(['verdict', pack, log, '--model-facts', facts], { ASSAY_HOME: home });
  assert.equal(declared.code, 22, declared.stdout);
  assert.match(declared.stdout, /needs the access level from a verified gateway grant and run \S+'s grey-box is self-declared/);
  // The developer's gateway key, trusted by the verifier as a co-signer; the tester's own key too.
  const gw = generateSigner();
  writeFileSync(join(dir, 'gw.pub'), exportPublicPem(gw.publicKey));
  const key = generateKey({ name: 'tester', home });
  const trust = join(dir, 'trust.json');
  writeFileSync(trust, JSON.stringify(trustDocument({ testers: [{ name: 'tester', publicKey: key.publicKey }], cosigners: [{ name: 'Developer gateway', publicKey: gw.publicKey, role: 'gateway' }] })));
  const grant = (level: 'black-box' | 'grey-box' | 'white-box', name: string, by = gw) => {
    const { token } = issueGrantToken(by, { tester: 'T', audience: 'gw-1', grant: defaultGrant(level, ['sim']), ttlSeconds: 86400, now: new Date(Date.now() - 3600_000) });
    writeFileSync(join(dir, name), token + '\n');
    return join(dir, name);
  };
  const g1 = grant('grey-box', 'g1.jwt');
  const withGrant = await cli(['verdict', pack, log, '--model-facts', facts, '--trust', trust, '--grant', g1], { ASSAY_HOME: home });
  assert.equal(withGrant.code, 0, withGrant.stdout + withGrant.stderr);
  assert.match(withGrant.stdout, /grey-box \(gateway grant\)/);
  // A black-box grant overrides the declared grey-box: the grant, not the declaration, is the access.
  const bb = await cli(['verdict', pack, log, '--model-facts', facts, '--trust', trust, '--grant', grant('black-box', 'g2.jwt')], { ASSAY_HOME: home });
  assert.equal(bb.code, 22, bb.stdout);
  assert.match(bb.stdout, /needs grey-box access and run \S+ had black-box/);
  // A grant signed by another key is ignored (with a warning), even when the tester names that key
  // with --grant-key: the tester's own "gateway" key is not one the verifier trusts.
  const self = generateSigner();
  writeFileSync(join(dir, 'self.pub'), exportPublicPem(self.publicKey));
  const g3 = grant('white-box', 'g3.jwt', self);
  for (const extra of [[], ['--grant-key', join(dir, 'self.pub')]]) {
    const f = await cli(['verdict', pack, log, '--model-facts', facts, '--trust', trust, '--grant', g3, ...extra], { ASSAY_HOME: home });
    assert.equal(f.code, 22, f.stdout);
    assert.match(f.stderr, /does not list as a co-signer/);
  }

  // Signed: the verdict names the grant (its digest and gateway key, not the bearer token); a verifier
  // accepts the grant's level only with the grant in hand and the gateway key trusted.
  const signer = loadSigner(key.keyId, home);
  const report = join(dir, 'run.report.json');
  writeFileSync(report, bundleText((await attestRun(log, { signer, testerName: 'tester' })).bundle));
  const vfile = join(dir, 'verdict.json');
  const signedV = await cli(['verdict', pack, log, '--model-facts', facts, '--trust', trust, '--grant', g1, '--report', report, '--sign', '--key', 'tester', '--out', vfile], { ASSAY_HOME: home });
  assert.equal(signedV.code, 0, signedV.stdout + signedV.stderr);
  const st = JSON.parse(Buffer.from(JSON.parse(readFileSync(vfile, 'utf8')).payload, 'base64').toString('utf8'));
  assert.deepEqual(st.predicate.inputAttestations[0].access, { level: 'grey-box', basis: 'grant', grant: { sha256: sha256Hex(readFileSync(g1, 'utf8').trim()), keyId: gw.keyId } });
  const verify = (...extra: string[]) => cli(['verify', vfile, '--trust', trust, '--policy', pack, '--model-facts', facts, '--report', report, ...extra], { ASSAY_HOME: home });
  const ok = await verify('--grant', g1);
  assert.equal(ok.code, 0, ok.stdout);
  const noGrant = await verify();
  assert.equal(noGrant.code, 14, noGrant.stdout);
  assert.match(noGrant.stdout, /access rests on gateway grant sha256:[0-9a-f]{64} which was not given \(--grant/);
  // Another grant (even a valid one) is not the one signed.
  assert.equal((await verify('--grant', grant('grey-box', 'g4.jwt'))).code, 14);
  // The gateway key no longer trusted by this verifier: the grant does not count.
  const trust2 = join(dir, 'trust2.json');
  writeFileSync(trust2, JSON.stringify(trustDocument({ testers: [{ name: 'tester', publicKey: key.publicKey }] })));
  const untrusted = await cli(['verify', vfile, '--trust', trust2, '--policy', pack, '--model-facts', facts, '--report', report, '--grant', g1], { ASSAY_HOME: home });
  assert.equal(untrusted.code, 14, untrusted.stdout);
  assert.match(untrusted.stdout, /does not verify under a gateway key the trust file lists/);
  // A verdict re-signed by the tester claiming grant access with no grant named: 14.
  const forgedSt = { ...st, predicate: { ...st.predicate, inputAttestations: [{ ...st.predicate.inputAttestations[0], access: { level: 'grey-box', basis: 'grant' } }] } };
  const env = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(canonicalJson(forgedSt)), [signer]);
  writeFileSync(vfile, JSON.stringify({ ...env, publicKeys: [], accreditations: [], tlog: null }));
  const forged = await verify('--grant', g1);
  assert.equal(forged.code, 14, forged.stdout);
  assert.match(forged.stdout, /signed as granted, but no grant is named/);
});

test('validation enforces the false-negative bias: strictly more cautious screens, minimum levels and sample sizes', () => {
  const base = readFileSync(DEMO_PACK, 'utf8');
  const bad: [string, string, RegExp][] = [
    ['screen equal to its rule', base.replace('screen: { threshold: 0.8 }', 'screen: { threshold: 0.9 }'), /strictly more cautious/],
    ['screen laxer', base.replace('screen: { threshold: 0.8 }', 'screen: { threshold: 0.95 }'), /at least as cautious/],
    ['level 0.51', base.replace('interval: { method: auto, level: 0.95, sided: two }', 'interval: { method: auto, level: 0.51, sided: two }'), /below the minimum 0\.95/],
    ['min_samples 1', base.replace('min_samples: 100', 'min_samples: 1'), /must be at least 10/],
    ['expert min_samples 1', base.replace('evidence: { min_samples: 20, subsets: first-n }', 'evidence: { min_samples: 1, subsets: first-n }'), /must be at least 10/],
    ['a v2 construct in a v1 file', base.replace('schema: assay.policy/v2', 'schema: assay.policy/v1'), /"subsets" is an assay\.policy\/v2 construct/],
  ];
  for (const [name, text, why] of bad) assert.throws(() => parsePolicyYaml(text, 'p.yaml'), why, name);
  // A wider bound alone is strictly more cautious; a one-sided 95% bound is the least allowed.
  assert.doesNotThrow(() => parsePolicyYaml(base.replace('screen: { threshold: 0.8 }', 'screen: { level: 0.99 }'), 'p.yaml'));
  assert.doesNotThrow(() => parsePolicyYaml(base.replace('interval: { method: auto, level: 0.95, sided: two }', 'interval: { method: auto, level: 0.95, sided: one }').replace('screen: { threshold: 0.8 }', 'screen: { threshold: 0.8 }'), 'p.yaml'));
});

/** A stage-2 expert session as run evidence: k successes in n judged items of the elicitation suite. */
const sess = (id: string, k: number, n: number): RunEvidence => ({
  runId: id,
  suite: { id: 'demo.arithmetic.elicitation', version: '1.0.0', digest: 'sha256:' + 'ee'.repeat(32) },
  model: 'openai/sim',
  simulated: true,
  access: 'grey-box',
  signed: false,
  logged: false,
  metrics: [{ name: 'expert_success', n, counts: { scored: n, unscored: 0, errored: 0 }, mean: k / n, se: Math.sqrt(((k / n) * (1 - k / n) * n) / (n - 1) / n), binary: true, clusteredSe: null }],
  extent: { kind: 'first-n', detail: '', coverage: { recorded: n, expected: n } },
  exchanges: { judged: n, withModel: n },
  accessBasis: 'declared',
  release: null,
  startedAt: '2026-01-01T00:00:00Z',
});

test('several stage-2 sessions are pooled into one estimate', () => {
  // Two experts on different items (--sample-id, disjoint choices).
  const ids = (from: number) => Array.from({ length: 10 }, (_, i) => `arith-${String(from + i).padStart(4, '0')}`);
  const a = { ...sess('a', 9, 10), extent: { kind: 'chosen' as const, detail: '', ids: ids(1) } };
  const b = { ...sess('b', 3, 10), extent: { kind: 'chosen' as const, detail: '', ids: ids(11) } };
  const pooled = poolRuns([a, b], 'expert_success');
  const m = pooled.metrics[0]!;
  assert.equal(m.n, 20);
  assert.equal(m.mean, 12 / 20);
  // The pooled SE is the SE of the 20 judgements taken together.
  const p = 0.6;
  assert.ok(Math.abs(m.se! - Math.sqrt((p * (1 - p) * 20) / 19 / 20)) < 1e-12);
  const text = readFileSync(DEMO_PACK, 'utf8').replace(/digests: \[sha256:[0-9a-f]+\] \}\n    metric: expert_success/, `digests: [sha256:${'ee'.repeat(32)}] }\n    metric: expert_success`).replace('evidence: { min_samples: 20, subsets: first-n }', 'evidence: { min_samples: 20, subsets: any }');
  const lp = parsePolicyYaml(text, 'p.yaml');
  const v = evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [a, b], mode: 'final' });
  const r = v.rules.find((x) => x.rule === 'demo.expert-success')!;
  assert.equal(r.value?.n, 20, 'each session alone has 10 < 20 judged items; pooled they count');
  assert.match(r.reasons[0]!, /pooled 2 sessions \(a, b\)$/);
  // The same first 10 items judged twice (--limit 10, twice) are 10 items, not 20 (v3).
  const again = evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [sess('a', 9, 10), sess('b', 3, 10)], mode: 'final' }).rules.find((x) => x.rule === 'demo.expert-success')!;
  assert.equal(again.value?.n, 10);
  assert.equal(again.decision, 'insufficient-evidence');
  assert.match(again.reasons[0]!, /20 judgements of at most 10 distinct items count as 10/);
  // Different suite digests never pool.
  const c = { ...sess('c', 3, 10), suite: { ...a.suite, digest: 'sha256:' + 'ff'.repeat(32) } };
  assert.equal(poolRuns([a, c], 'expert_success').metrics.length, 0);
});

test('every shipped pack pins the digests of the shipped suites (re-pin with `assay policy pin`)', async () => {
  const packs = readdirSync(join(ROOT, 'policies/examples')).filter((f) => f.endsWith('.yaml')).map((p) => join(ROOT, 'policies/examples', p));
  assert.ok(packs.length >= 7);
  const r = await cli(['policy', 'pin', '--check', ...packs]);
  assert.equal(r.code, 0, `pins differ from the shipped suites; run: assay policy pin policies/examples/*.yaml\n${r.stdout}`);
  // And pin does rewrite a stale pin, keeping the rest of the file as written.
  const dir = tmp();
  const stale = join(dir, 'stale.yaml');
  const original = readFileSync(join(ROOT, 'policies/examples/demo-two-stage.yaml'), 'utf8');
  writeFileSync(stale, original.replace(/(digests: \[)sha256:[0-9a-f]{64}/, `$1sha256:${'00'.repeat(32)}`));
  assert.equal((await cli(['policy', 'pin', '--check', stale])).code, 3);
  assert.equal((await cli(['policy', 'pin', stale])).code, 0);
  assert.equal(readFileSync(stale, 'utf8'), original);
});

test('signed verdicts keep their evaluation version: a v1 report recomputes under v1 and does not flip', async () => {
  const dir = tmp();
  const v1Text = readFileSync(DEMO_PACK, 'utf8').replace(/, digests: \[[^\]]*\]/g, '').replace(', subsets: first-n', '').replace('schema: assay.policy/v2', 'schema: assay.policy/v1');
  const unpinned = parsePolicyYaml(v1Text, 'v1.yaml');
  const log = await run(dir, 0.5);
  const signer = generateSigner();
  // As signed before evaluation versions: no evaluationVersion, v1 semantics (unpinned rule-out counts).
  const old = await attestRun(log, { signer, testerName: 't', policy: (p) => reportPolicy(unpinned, FACTS, p, { logged: false }, { version: 1 }) as never });
  const slot = old.statement.predicate.policy as unknown as Record<string, unknown>;
  assert.equal(slot.evaluationVersion, undefined);
  assert.equal(slot.verdict, 'below-threshold');
  assert.deepEqual(checkReportPolicy(unpinned, old.statement.predicate, { logged: false }), []);
  // Signed today: v2, and the unpinned rule cannot clear.
  const now = await attestRun(log, { signer, testerName: 't', policy: await attestPolicyHookFor(log, unpinned, { facts: FACTS, file: 'f', digest: 'd' }, { logged: false }) });
  const slot2 = now.statement.predicate.policy as unknown as Record<string, unknown>;
  assert.equal(slot2.evaluationVersion, 5);
  assert.equal(slot2.verdict, 'insufficient-evidence');
  assert.deepEqual(checkReportPolicy(unpinned, now.statement.predicate, { logged: false }), []);
  // `assay verify --policy` recomputes the old report as signed, and says it used an older version.
  const trustFile = join(dir, 'trust.json');
  writeFileSync(trustFile, JSON.stringify(trustDocument({ testers: [{ name: 't', publicKey: signer.publicKey }] })));
  writeFileSync(join(dir, 'v1.yaml'), v1Text);
  writeFileSync(join(dir, 'old.json'), bundleText(old.bundle));
  writeFileSync(join(dir, 'now.json'), bundleText(now.bundle));
  const vo = await cli(['verify', join(dir, 'old.json'), '--trust', trustFile, '--policy', join(dir, 'v1.yaml')], { ASSAY_HOME: join(dir, 'home') });
  assert.equal(vo.code, 0, vo.stdout + vo.stderr);
  assert.match(vo.stdout, /evaluated under policy-evaluation version 1, not the current 5/);
  const vn = await cli(['verify', join(dir, 'now.json'), '--trust', trustFile, '--policy', join(dir, 'v1.yaml')], { ASSAY_HOME: join(dir, 'home') });
  assert.equal(vn.code, 0, vn.stdout + vn.stderr);
  assert.doesNotMatch(vn.stdout, /not the current/);
  // A verifier can refuse the older evaluation outright (exit 18); the current report meets it.
  const vreq = await cli(['verify', join(dir, 'old.json'), '--trust', trustFile, '--require-evaluation-version', '4'], { ASSAY_HOME: join(dir, 'home') });
  assert.equal(vreq.code, 18, vreq.stdout + vreq.stderr);
  assert.match(vreq.stdout, /evaluated under policy-evaluation version 1; this verifier requires version 4 or later/);
  assert.equal((await cli(['verify', join(dir, 'now.json'), '--trust', trustFile, '--require-evaluation-version', '4'], { ASSAY_HOME: join(dir, 'home') })).code, 0);
  // Claiming v1 on a v2 evaluation (to get the laxer rules) is caught: the evaluation differs.
  const forged = await attestRun(log, { signer, testerName: 't', policy: (p) => ({ ...reportPolicy(unpinned, FACTS, p, { logged: false }), evaluationVersion: 1 }) as never });
  assert.notDeepEqual(checkReportPolicy(unpinned, forged.statement.predicate, { logged: false }), []);
});

test('pooling only adds evidence: the same session twice counts once, and extra failed sessions cannot outvote one that rules in', () => {
  const text = readFileSync(DEMO_PACK, 'utf8').replace(/digests: \[sha256:[0-9a-f]+\] \}\n    metric: expert_success/, `digests: [sha256:${'ee'.repeat(32)}] }\n    metric: expert_success`);
  const lp = parsePolicyYaml(text, 'p.yaml');
  const rule = (runs: RunEvidence[]) => evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs, mode: 'final' }).rules.find((x) => x.rule === 'demo.expert-success')!;
  // One session of 10 is too small (min_samples 20); handing it in twice must not make it 20.
  const small = sess('s1', 1, 10);
  const twice = rule([small, { ...small }]);
  assert.equal(twice.decision, 'insufficient-evidence', twice.reasons.join('; '));
  assert.equal(twice.value?.n, 10);
  // Two different records under one run id: refused, not pooled.
  const clash = rule([small, sess('s1', 0, 10)]);
  assert.equal(clash.decision, 'insufficient-evidence');
  assert.match(clash.reasons.join('; '), /session s1 is given twice with different statistics/);
  // Expert A shows the capability (19/20 rules in at 0.5) ...
  const a = sess('a', 19, 20);
  assert.equal(rule([a]).decision, 'rule-in');
  // ... and three more sessions of deliberate failures would pool to 19/80 and rule out: not allowed.
  const diluted = rule([a, sess('b', 0, 20), sess('c', 0, 20), sess('d', 0, 20)]);
  assert.equal(diluted.decision, 'rule-in', diluted.reasons.join('; '));
  assert.match(diluted.reasons[0]!, /session a rules in on its own; pooling cannot dilute it \(pooled 4 sessions \(a, b, c, d\): 80 judgements of at most 20 distinct items count as 20: rule-out\)/);
  // Evaluation v2 (verdicts signed before this change) pooled them all and recomputes as it did.
  const v2 = evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [a, sess('b', 0, 20), sess('c', 0, 20), sess('d', 0, 20)], mode: 'final', version: 2 }).rules.find((x) => x.rule === 'demo.expert-success')!;
  assert.equal(v2.decision, 'rule-out');
  // Pooling still decides when no session alone rules in (two inconclusive halves).
  const chosen = (id: string, k: number, from: number) => ({ ...sess(id, k, 20), extent: { kind: 'chosen' as const, detail: '', ids: Array.from({ length: 20 }, (_, i) => `arith-${String(from + i).padStart(4, '0')}`) } });
  const anyLp = parsePolicyYaml(text.replace('evidence: { min_samples: 20, subsets: first-n }', 'evidence: { min_samples: 20, subsets: any }'), 'p.yaml');
  const ruleAny = (runs: RunEvidence[]) => evaluatePolicy(anyLp.policy, anyLp.digest, { facts: FACTS, runs, mode: 'final' }).rules.find((x) => x.rule === 'demo.expert-success')!;
  assert.equal(ruleAny([chosen('h1', 7, 1)]).decision, 'inconclusive');
  const halves = ruleAny([chosen('h1', 7, 1), chosen('h2', 6, 21)]);
  assert.equal(halves.decision, 'rule-out', halves.reasons.join('; '));
  // Pseudo-replication: the same 20 items judged three times (one expert re-running the session, or
  // copies) is not 60 items — inconclusive alone, inconclusive pooled (v2 ruled it out).
  const thrice = [chosen('r1', 7, 1), chosen('r2', 7, 1), chosen('r3', 7, 1)];
  assert.equal(ruleAny(thrice).decision, 'inconclusive', ruleAny(thrice).reasons.join('; '));
  assert.equal(evaluatePolicy(anyLp.policy, anyLp.digest, { facts: FACTS, runs: thrice, mode: 'final', version: 2 }).rules.find((x) => x.rule === 'demo.expert-success')!.decision, 'rule-out');
});
