import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import { bundleText } from '../src/attest/bundle.js';
import { verifyReport, formatVerifyResult, EXIT } from '../src/attest/verify.js';
import { logReport } from '../src/attest/tlog.js';
import { ClaimRejected, planAudit, type AuditPlan } from '../src/audit/plan.js';
import { buildAuditStatement, formatAudit, formatAuditCheck, signAudit, verifyAuditDocument } from '../src/audit/report.js';
import { runAudit } from '../src/audit/run.js';
import { auditSeed, drawItems } from '../src/audit/seed.js';
import { createModel } from '../src/model/registry.js';
import { readRunHeader } from '../src/run/log-reader.js';
import { perSampleScores } from '../src/stats/from-log.js';
import { loadSuite } from '../src/suite/load.js';
import { startTarget } from '../src/target/server.js';
import { arithmeticSuite, auditor, auditWorld, developer, makeClaim, NOW, runAgainst, type AuditWorld } from './audit-fixture.js';
import { tmp } from './helpers.js';

let world: AuditWorld;
let suiteFile: string;
let claimLog: string;
let claim: Awaited<ReturnType<typeof makeClaim>>;
let seedNote: string;

before(async () => {
  world = await auditWorld();
  suiteFile = arithmeticSuite(300);
  claimLog = await runAgainst(suiteFile, { accuracy: 0.9, seed: 11 });
  claim = await makeClaim(world, claimLog, { seedDelay: 3 });
  await world.grow(3);
  seedNote = await world.cosigned(claim.bundle);
});
after(() => world.close());

const plan = (o: { margin?: number; discordance?: number; claimBytes?: Buffer; claimRun?: string; checkpoint?: string } = {}) =>
  planAudit({
    claim: { bytes: o.claimBytes ?? claim.bytes, source: 'claim.json' },
    claimRunLog: o.claimRun ?? claimLog,
    trust: world.trust,
    checkpoint: { text: o.checkpoint ?? seedNote, source: 'seed-checkpoint' },
    log: world.logDir,
    margin: o.margin ?? 0.1,
    discordance: o.discordance ?? 0.02,
    now: NOW,
  });

/** Re-runs the plan against a simulated target of this profile, then builds, signs, logs and verifies the audit. */
async function audit(p: AuditPlan, profile: { accuracy: number; seed: number }, claimRun = claimLog) {
  const target = await startTarget({ latencyMs: 0, ...profile });
  const model = createModel('openai/sim-audit', { baseUrl: `${target.url}/v1`, maxConnections: 8 });
  const logPath = join(tmp('assay-audit-repl-'), 'replication.jsonl');
  try {
    const r = await runAudit({ plan: p, claimHeader: await readRunHeader(claimRun), suite: await loadSuite(suiteFile), model, logPath, simulated: true });
    const st = await buildAuditStatement({ plan: p, claimRunLog: claimRun, replicationLog: logPath, runRecord: r.record, auditor: { name: 'Audit Lab', keyId: auditor.keyId }, now: NOW });
    const logged = await logReport(signAudit(st, auditor), { target: world.logDir, witnesses: { urls: world.witnessUrls, required: 2 } });
    const bytes = Buffer.from(bundleText(logged.bundle));
    return { st, logPath, bytes, record: r.record };
  } finally {
    await target.close();
  }
}

test('a claim verifies as SELF-REPORTED, signed in the developer role', async () => {
  const r = await verifyReport(claim.bytes, { trust: { ...world.trust, logs: world.trust.logs.map((l) => ({ ...l, witnessesRequired: 0 })) }, runLogPath: claimLog, tlog: { require: true }, now: NOW });
  assert.equal(r.ok, true, formatVerifyResult(r));
  assert.equal(r.signatures[0]!.role, 'developer');
  const text = formatVerifyResult(r);
  assert.match(text, /SELF-REPORTED CLAIM by the developer Frontier Dev/);
  assert.match(text, /trusted: developer "Frontier Dev"/);
  // A developer key is not a tester: the same key listed only as a tester does not make a claim trusted.
  const asTester = { ...world.trust, cosigners: [], testers: [{ ...world.trust.cosigners[0]!, role: undefined }] };
  const r2 = await verifyReport(claim.bytes, { trust: asTester, now: NOW });
  assert.equal(r2.exitCode, EXIT.untrusted, formatVerifyResult(r2));
});

test('the seed: fixed by the claim digest and the cosigned checkpoint; the draw is reproducible and order-free', async () => {
  const p = await plan();
  assert.ok(p.seed.size >= p.claim.log.index + p.claim.seedDelay);
  assert.deepEqual(p.seed.witnesses, ['w1.example', 'w2.example']);
  const log = world.trust.logs[0]!;
  const again = auditSeed({ claimPayloadSha256: p.claim.report.sha256, checkpointNote: seedNote, witnessVkeys: log.witnesses, witnessesRequired: 2 });
  assert.equal(again.value, p.seed.value);
  // Another claim digest, or the same checkpoint without one witness's cosignature, gives another seed or none.
  assert.notEqual(auditSeed({ claimPayloadSha256: '0'.repeat(64), checkpointNote: seedNote, witnessVkeys: log.witnesses, witnessesRequired: 2 }).value, p.seed.value);
  const oneWitness = seedNote.split('\n').filter((l) => !l.startsWith('— w2.example')).join('\n');
  assert.throws(() => auditSeed({ claimPayloadSha256: p.claim.report.sha256, checkpointNote: oneWitness, witnessVkeys: log.witnesses, witnessesRequired: 2 }), /1 of the required 2/);
  const ids = (await perSampleScores(claimLog)).sampleIds;
  assert.deepEqual(drawItems(p.seed.value, [...ids].reverse(), p.items.length), p.items);
  assert.equal(new Set(p.items).size, p.items.length);
  // Too early: a checkpoint below index + D is refused.
  const early = await makeClaim(world, claimLog, { seedDelay: 50 });
  await assert.rejects(
    planAudit({ claim: { bytes: early.bytes, source: 'early.json' }, claimRunLog: claimLog, trust: world.trust, checkpoint: { text: await world.cosigned(early.bundle), source: 'cp' }, log: world.logDir, margin: 0.1, now: NOW }),
    (e: Error & { code?: string }) => e.code === 'SEED_NOT_READY' && /size ≥ \d+/.test(e.message),
  );
});

test('faithful claim: the replication through the same model agrees item by item → CONSISTENT; the signed audit verifies and recomputes', async () => {
  const p = await plan();
  assert.equal(p.design.shortfall, false);
  assert.ok(p.items.length >= 20 && p.items.length < 300, `sample of ${p.items.length}`);
  const a = await audit(p, { accuracy: 0.9, seed: 11 });
  const c = a.st.predicate.comparison;
  assert.equal(a.st.predicate.conclusion, 'consistent', formatAudit(a.st.predicate));
  assert.equal(c.agreement.agree, p.items.length);
  assert.equal(c.differing.length, 0);
  assert.ok(c.agreement.interval.lo! > 0.9);
  assert.equal(a.st.predicate.claim.report.sha256, p.claim.report.sha256);
  const v = await verifyAuditDocument(a.bytes, { trust: world.trust, claim: { bytes: claim.bytes, source: 'claim.json' }, claimRunLog: claimLog, replicationLog: a.logPath, tlog: { require: true }, now: NOW });
  assert.equal(v.ok, true, formatAuditCheck(v));
  assert.ok(v.recomputed.some((x) => /comparison and conclusion \(consistent\)/.test(x)), v.recomputed.join('; '));
  // The replication log edited afterwards: the audit no longer verifies.
  writeFileSync(a.logPath, readFileSync(a.logPath, 'utf8').replace('"value":1', '"value":0'));
  const v2 = await verifyAuditDocument(a.bytes, { trust: world.trust, claim: { bytes: claim.bytes, source: 'claim.json' }, claimRunLog: claimLog, replicationLog: a.logPath, now: NOW });
  assert.equal(v2.exitCode, 14, formatAuditCheck(v2));
});

test('a model worse than claimed (accuracy 0.9 claimed, 0.6 served) → INCONSISTENT, naming exactly the items whose outcome changed', async () => {
  const p = await plan();
  const a = await audit(p, { accuracy: 0.6, seed: 11 });
  const pr = a.st.predicate;
  assert.equal(pr.conclusion, 'inconsistent', formatAudit(pr));
  const m = pr.comparison.metrics.find((x) => x.name === 'accuracy')!;
  assert.equal(m.decision, 'different');
  assert.ok(m.tost.interval.hi! < -0.1);
  // Independent check from the two logs: the differing items are those right in the claim and wrong now.
  const cl = (await perSampleScores(claimLog)).metrics[0]!.values;
  const rp = (await perSampleScores(a.logPath)).metrics[0]!.values;
  const expected = p.items.filter((id) => cl.get(id) !== rp.get(id)).sort();
  assert.deepEqual(pr.comparison.differing.map((d) => d.id).sort(), expected);
  assert.ok(expected.length > 0.15 * p.items.length, `${expected.length} of ${p.items.length} differ`);
  // Same seed: the simulated target's correct answers at 0.6 are a subset of those at 0.9, so every change is 1 → 0.
  for (const d of pr.comparison.differing) assert.deepEqual(d.metrics[0], { name: 'accuracy', claim: 1, replication: 0 });
  assert.match(formatAudit(pr), /CONCLUSION: INCONSISTENT/);
  const v = await verifyAuditDocument(a.bytes, { trust: world.trust, claim: { bytes: claim.bytes, source: 'claim.json' }, claimRunLog: claimLog, replicationLog: a.logPath, now: NOW });
  assert.equal(v.ok, true, formatAuditCheck(v));
  // A trusted auditor signing a false conclusion is caught by recomputation (15).
  const forged = structuredClone(a.st);
  forged.predicate.conclusion = 'consistent';
  forged.predicate.comparison.conclusion = 'consistent';
  const fv = await verifyAuditDocument(Buffer.from(bundleText(signAudit(forged, auditor))), { trust: world.trust, claim: { bytes: claim.bytes, source: 'claim.json' }, claimRunLog: claimLog, replicationLog: a.logPath, now: NOW });
  assert.equal(fv.exitCode, 15, formatAuditCheck(fv));
  // The developer cannot audit its own claim: an audit signed with the developer key fails (11).
  const own = structuredClone(a.st);
  own.predicate.auditor = { name: 'Frontier Dev', keyId: developer.keyId, role: 'auditor' };
  const ov = await verifyAuditDocument(Buffer.from(bundleText(signAudit(own, developer))), { trust: world.trust, now: NOW });
  assert.equal(ov.exitCode, 11, formatAuditCheck(ov));
  assert.match(formatAuditCheck(ov), /must be independent/);
});

test('a claim whose run log was edited after signing is rejected before any sampling', async () => {
  const edited = join(tmp('assay-audit-edit-'), 'claim.jsonl');
  // Flip one wrong answer to right: the developer improves its claim after the fact.
  const lines = readFileSync(claimLog, 'utf8').split('\n');
  const k = lines.findIndex((l) => l.includes('"type":"sample"') && l.includes('"value":0'));
  lines[k] = lines[k]!.replace('"value":0', '"value":1');
  writeFileSync(edited, lines.join('\n'));
  await assert.rejects(plan({ claimRun: edited }), (e: unknown) => {
    assert.ok(e instanceof ClaimRejected, String(e));
    assert.equal(e.result.exitCode, EXIT.dataMismatch);
    assert.match(e.message, /nothing is sampled/);
    return true;
  });
  // An edited claim file (payload changed, signature kept) is rejected too.
  const b = JSON.parse(claim.bytes.toString('utf8'));
  const st = JSON.parse(Buffer.from(b.payload, 'base64').toString('utf8'));
  st.predicate.metrics[0].mean = 0.99;
  b.payload = Buffer.from(JSON.stringify(st)).toString('base64');
  await assert.rejects(plan({ claimBytes: Buffer.from(JSON.stringify(b)) }), (e: unknown) => e instanceof ClaimRejected && e.result.exitCode === EXIT.badSignature);
});

test('too few items for the margin → the whole claim is re-run and the audit is INCONCLUSIVE with the items needed', async () => {
  const small = arithmeticSuite(15);
  const smallLog = await runAgainst(small, { accuracy: 0.9, seed: 11 });
  const c = await makeClaim(world, smallLog, { seedDelay: 2 });
  await world.grow(2);
  const note = await world.cosigned(c.bundle);
  const p = await planAudit({ claim: { bytes: c.bytes, source: 'small.json' }, claimRunLog: smallLog, trust: world.trust, checkpoint: { text: note, source: 'cp' }, log: world.logDir, margin: 0.05, discordance: 0.02, now: NOW });
  assert.equal(p.design.shortfall, true);
  assert.equal(p.items.length, 15);
  assert.ok(p.design.needed! > 15);
  const prevSuite = suiteFile;
  suiteFile = small;
  try {
    const a = await audit(p, { accuracy: 0.9, seed: 11 }, smallLog);
    assert.equal(a.st.predicate.conclusion, 'inconclusive', formatAudit(a.st.predicate));
    assert.equal(a.st.predicate.comparison.agreement.agree, 15);
    assert.ok(a.st.predicate.nNeeded !== null && a.st.predicate.nNeeded > 15, String(a.st.predicate.nNeeded));
    assert.match(formatAudit(a.st.predicate), /about \d+ items are needed/);
  } finally {
    suiteFile = prevSuite;
  }
});

test('the replication must come from the claimed model release: answers stamped with another release are refused', async () => {
  const release = { sha256: 'ab'.repeat(32) };
  const c = await makeClaim(world, claimLog, { seedDelay: 1, release });
  await world.grow(1);
  const note = await world.cosigned(c.bundle);
  const p = await planAudit({ claim: { bytes: c.bytes, source: 'rel.json' }, claimRunLog: claimLog, trust: world.trust, checkpoint: { text: note, source: 'cp' }, log: world.logDir, margin: 0.1, discordance: 0.02, now: NOW });
  assert.equal(p.claim.model.releaseStatement, `sha256:${release.sha256}`);
  const target = await startTarget({ latencyMs: 0, accuracy: 0.9, seed: 11 });
  // A stand-in for the gateway's stamping: a proxy adding x-assay-model-release to every answer.
  const stamp = async (value: string) => {
    const srv = createServer((req, res) => {
      const up = request(`${target.url}${req.url}`, { method: req.method, headers: req.headers }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, { ...ur.headers, 'x-assay-model-release': value });
        ur.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(srv.address() as { port: number }).port}/v1`, close: () => new Promise((r) => srv.close(r)) };
  };
  const go = async (value: string) => {
    const px = await stamp(value);
    const model = createModel('openai/sim-audit', { baseUrl: px.url, maxConnections: 4 });
    try {
      return await runAudit({ plan: p, claimHeader: await readRunHeader(claimLog), suite: await loadSuite(suiteFile), model, logPath: join(tmp('assay-audit-rel-'), 'r.jsonl'), simulated: true });
    } finally {
      await px.close();
    }
  };
  try {
    await assert.rejects(go(`sha256:${'cd'.repeat(32)}`), (e: Error & { code?: string }) => e.code === 'RELEASE_MISMATCH' && e.message.includes('cd'.repeat(32)));
    const ok = await go(`sha256:${release.sha256}`);
    assert.equal(ok.record.releaseMatches, true);
    assert.deepEqual(Object.keys(ok.record.releases), [`sha256:${release.sha256}`]);
  } finally {
    await target.close();
  }
});

test('through a real gateway grant: the replication carries the claimed release stamp on every answer → CONSISTENT', async () => {
  const { signRelease } = await import('../src/gateway/release.js');
  const { startFixture } = await import('./gateway-fixture.js');
  const { generateSigner } = await import('../src/attest/keys.js');
  const gwSigner = generateSigner();
  const dir = tmp('assay-audit-gw-');
  const rel = signRelease(gwSigner, { model: 'demo', version: '2026-11', weightsDigest: `sha256:${'cd'.repeat(32)}`, developer: 'Frontier Dev' });
  writeFileSync(join(dir, 'release.json'), rel.text);
  const f = await startFixture({ signer: gwSigner, dir, profile: { accuracy: 0.9, seed: 11, latencyMs: 0 }, config: { models: { demo: { upstream: 'sim', release: join(dir, 'release.json') } } } });
  try {
    // The developer's claim names the release its gateway stamps.
    const c = await makeClaim(world, claimLog, { seedDelay: 1, release: { sha256: rel.digest.slice('sha256:'.length) } });
    await world.grow(1);
    const p = await planAudit({ claim: { bytes: c.bytes, source: 'gw-claim.json' }, claimRunLog: claimLog, trust: world.trust, checkpoint: { text: await world.cosigned(c.bundle), source: 'cp' }, log: world.logDir, margin: 0.1, discordance: 0.02, now: NOW });
    const { key } = await f.grant({ level: 'black-box' });
    const model = createModel('openai/demo', { baseUrl: `${f.gw.url}/v1`, apiKey: key, maxConnections: 4 });
    const logPath = join(tmp('assay-audit-gwrun-'), 'r.jsonl');
    const r = await runAudit({ plan: p, claimHeader: await readRunHeader(claimLog), suite: await loadSuite(suiteFile), model, logPath });
    assert.deepEqual(r.record.releases, { [rel.digest]: p.items.length });
    assert.equal(r.record.releaseMatches, true);
    const st = await buildAuditStatement({ plan: p, claimRunLog: claimLog, replicationLog: logPath, runRecord: r.record, auditor: { name: 'Audit Lab', keyId: auditor.keyId }, now: NOW });
    assert.equal(st.predicate.conclusion, 'consistent', formatAudit(st.predicate));
    assert.equal(st.predicate.replication.releaseMatches, true);
    // Without the run record, a claim naming a release cannot be audited (the stamps are unchecked).
    await assert.rejects(buildAuditStatement({ plan: p, claimRunLog: claimLog, replicationLog: logPath, runRecord: null, auditor: { name: 'Audit Lab', keyId: auditor.keyId } }), /RELEASE_UNCHECKED|release stamps are checked/);
  } finally {
    await f.close();
  }
});
