import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateSigner } from '../src/attest/keys.js';
import { parseTrust, trustDocument } from '../src/attest/trust.js';
import { commitContent, commitmentOf, nonceFor, openRecord, recordSchema, type Opening } from '../src/gateway/commit.js';
import { defaultGrant, accessKey, deriveCommitKey, issueGrantToken, tokenDigest } from '../src/gateway/grant.js';
import { startGateway } from '../src/gateway/server.js';
import { GatewayStore } from '../src/gateway/store.js';
import { sha256Hex } from '../src/common/canonical.js';
import { createModel } from '../src/model/registry.js';
import { runElicitation } from '../src/policy/elicit.js';
import { evaluatePolicy } from '../src/policy/evaluate.js';
import { evidenceFromRunLog, withAccessRecords } from '../src/policy/evidence.js';
import { loadPolicy } from '../src/policy/load.js';
import type { ModelFacts } from '../src/policy/schema.js';
import { iterateSamples } from '../src/run/log-reader.js';
import { loadSuite } from '../src/suite/load.js';
import { startTarget } from '../src/target/server.js';
import { initLog, openConfiguredLog } from '../src/tlog/config.js';
import { ROOT, DEMO_SUITE, cli, config, tmp } from './helpers.js';
import { writeFileSync } from 'node:fs';
import { gatewayConfig } from './gateway-fixture.js';
import { randomBytes } from 'node:crypto';

/**
 * Evaluation v4: a stage-2 session whose access rests on a gateway grant counts only when its model
 * exchanges match openings of the gateway's committed, anchored access log (issue 19).
 */

const DEMO_PACK = join(ROOT, 'policies/examples/demo-two-stage.yaml');
const FACTS: ModelFacts = { schema: 'assay.model-facts/v1', model: 'openai/demo', training_compute_flop: 3e25 };
const closers: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

test('a grant-backed stage-2 session counts only with its exchanges opened from the gateway\'s anchored access log', async () => {
  const dir = tmp();
  initLog(join(dir, 'log'), 'gw.test/access-log', join(dir, 'log.key'));
  const target = await startTarget({ seed: 5, accuracy: 0.8 });
  closers.push(() => target.close());
  const signer = generateSigner();
  const cfg = gatewayConfig(target.url, { tlog: { dir: join(dir, 'log'), everyRecords: 1000, everySeconds: 3600 } });
  const store = await GatewayStore.open(join(dir, 'gw.db'));
  const tlog = await openConfiguredLog(join(dir, 'log'));
  const gw = await startGateway({ config: cfg, signer, store, tlog });
  closers.push(async () => {
    await gw.close();
    await store.close();
    tlog.close();
  });
  const { token, claims } = issueGrantToken(signer, { tester: 'lab', audience: cfg.id, grant: { ...defaultGrant('grey-box', ['demo']), rate: { perSecond: 1000, burst: 1000 } }, ttlSeconds: 3600 });
  await store.registerGrant(claims, tokenDigest(token));
  const ck = deriveCommitKey(randomBytes(32), claims.jti);
  const key = accessKey(token, ck);

  // The expert asks the model through the gateway on each of 20 items and judges each a failure.
  const logPath = join(dir, 'session.jsonl');
  async function* lines() {
    for (let i = 0; i < 20; i++) yield* ['/ask', '/success no', '/next'];
  }
  await runElicitation({ suite: await loadSuite(DEMO_SUITE), model: createModel('openai/demo', { baseUrl: `${gw.url}/v1`, apiKey: key, maxConnections: 1 }), config: config({ maxTokens: 5, limit: 20, maxConnections: 1, maxRetries: 0 }), logPath, runId: 'gw-session', expert: 'E', lines: lines(), write: () => {}, simulated: true });

  // The tester's records with inclusion proofs under a signed head anchored in the transparency log.
  const bundle = await (await fetch(`${gw.url}/v1/assay/log/proofs`, { headers: { authorization: `Bearer ${key}` } })).text();
  const records = (JSON.parse(bundle) as { records: { text: string }[] }).records.map((r) => recordSchema.parse(JSON.parse(r.text)));
  const openings: Opening[] = [];
  for await (const s of iterateSamples(logPath)) {
    if (!s.sent || !s.output) continue;
    const req = commitContent(JSON.stringify(s.sent.body), 'jcs').bytes;
    const rec = records.find((r) => commitmentOf(nonceFor(ck, 'req', r.requestId), req) === r.request.commitment);
    assert.ok(rec, `a record commits to item ${s.key}'s request`);
    openings.push(openRecord(rec!, ck, JSON.stringify(s.sent.body), JSON.stringify(s.output.raw)));
  }
  assert.equal(openings.length, 20);

  const lp = await loadPolicy(DEMO_PACK);
  const trust = parseTrust(JSON.stringify(trustDocument({ cosigners: [{ name: 'developer', publicKey: signer.publicKey, role: 'gateway' }], logs: [{ vkey: tlog.vkey }] })));
  const grant = { level: 'grey-box' as const, ref: { sha256: sha256Hex(token), keyId: signer.keyId } };
  const session = await evidenceFromRunLog(logPath, { signed: false, logged: false, grant });
  assert.equal(session.accessBasis, 'grant');
  const rule = (ev: typeof session, version?: number) => evaluatePolicy(lp.policy, lp.digest, { facts: FACTS, runs: [ev], mode: 'final', ...(version ? { version } : {}) }).rules.find((r) => r.rule === 'demo.expert-success')!;
  const warnings: string[] = [];
  const check = (openingsGiven: Opening[], t = trust) => withAccessRecords(session, logPath, { tokens: [token], trust: t, gatewayLog: { text: bundle }, openings: openingsGiven, warn: (s) => warnings.push(s) });

  // Not checked against the gateway: v4 does not count the session (v3 did).
  const unchecked = rule(session);
  assert.equal(unchecked.decision, 'insufficient-evidence');
  assert.match(unchecked.reasons.join('; '), /rests on a gateway grant, but its model exchanges were not checked against the gateway's access log/);
  assert.equal(rule(session, 3).decision, 'rule-out');
  // Every exchange opened: it counts.
  const all = await check(openings);
  assert.deepEqual(all.accessRecords, { of: 20, opened: 20 });
  assert.equal(rule(all).decision, 'rule-out', rule(all).reasons.join('; '));
  // One exchange without its opening: the session does not count.
  const missing = await check(openings.slice(1));
  assert.deepEqual(missing.accessRecords, { of: 20, opened: 19 });
  assert.match(rule(missing).reasons.join('; '), /19 of 20 judged items' model exchanges match openings/);
  assert.equal(rule(missing).decision, 'insufficient-evidence');
  // An opening whose response is not what the session recorded (the answer was edited in the log, or the opening is of another answer): not counted.
  const other = structuredClone(openings);
  other[0] = structuredClone(openings[1]!);
  assert.equal((await check(other)).accessRecords!.opened, 19);
  // The gateway log's head is not in a transparency log the verifier trusts: nothing counts.
  const noLog = parseTrust(JSON.stringify(trustDocument({ cosigners: [{ name: 'developer', publicKey: signer.publicKey, role: 'gateway' }] })));
  assert.deepEqual((await check(openings, noLog)).accessRecords, { of: 20, opened: 0 });
  assert.ok(warnings.some((w) => /not in a transparency log the trust file lists/.test(w)));
  // The gateway key is not a trusted co-signer: nothing counts.
  const noKey = parseTrust(JSON.stringify(trustDocument({ logs: [{ vkey: tlog.vkey }] })));
  assert.deepEqual((await check(openings, noKey)).accessRecords, { of: 20, opened: 0 });

  // The command: assay verdict --grant … --gateway-log … --opening … (one per item).
  const files = {
    trust: join(dir, 'trust.json'), grant: join(dir, 'grant.jwt'), log: join(dir, 'proofs.json'), facts: join(dir, 'facts.yaml'),
  };
  writeFileSync(files.trust, JSON.stringify(trustDocument({ cosigners: [{ name: 'developer', publicKey: signer.publicKey, role: 'gateway' }], logs: [{ vkey: tlog.vkey }] })));
  writeFileSync(files.grant, token);
  writeFileSync(files.log, bundle);
  writeFileSync(files.facts, 'schema: assay.model-facts/v1\nmodel: openai/demo\ntraining_compute_flop: 3.0e25\n');
  const openingFiles = openings.map((o, i) => {
    const f = join(dir, `opening-${i}.json`);
    writeFileSync(f, JSON.stringify(o));
    return f;
  });
  const verdict = async (extra: string[]) => {
    const r = await cli(['verdict', DEMO_PACK, logPath, '--model-facts', files.facts, '--trust', files.trust, '--grant', files.grant, '--json', ...extra], { ASSAY_HOME: join(dir, 'home') });
    return { r, rule: (JSON.parse(r.stdout) as { rules: { rule: string; decision: string; reasons: string[] }[] }).rules.find((x) => x.rule === 'demo.expert-success')! };
  };
  assert.equal((await verdict(['--gateway-log', files.log, ...openingFiles.flatMap((f) => ['--opening', f])])).rule.decision, 'rule-out');
  const some = await verdict(['--gateway-log', files.log, ...openingFiles.slice(2).flatMap((f) => ['--opening', f])]);
  assert.equal(some.rule.decision, 'insufficient-evidence');
  assert.match(some.r.stderr, /no opening of the gateway log shows its request/);
  assert.equal((await verdict([])).rule.decision, 'insufficient-evidence');
  const usage = await cli(['verdict', DEMO_PACK, logPath, '--opening', openingFiles[0]!], { ASSAY_HOME: join(dir, 'home') });
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--opening needs --gateway-log/);
});
