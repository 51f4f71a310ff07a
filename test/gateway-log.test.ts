import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../src/common/canonical.js';
import { digestOfFile } from '../src/attest/digest.js';
import { generateSigner } from '../src/attest/keys.js';
import { GENESIS, checkOpening, openRecord, recordHash, recordSchema, verifyChain, type AccessRecord } from '../src/gateway/commit.js';
import { formatExport, openHead, signHead, verifyExport, verifyOpening } from '../src/gateway/head.js';
import { loadRelease, signRelease } from '../src/gateway/release.js';
import { startGateway } from '../src/gateway/server.js';
import { GatewayStore } from '../src/gateway/store.js';
import { decodeEntry, sha256Prefixed } from '../src/tlog/entry.js';
import { initLog, openConfiguredLog } from '../src/tlog/config.js';
import { parseEnvelope } from '../src/attest/dsse.js';
import { startTarget } from '../src/target/server.js';
import { tmp } from './helpers.js';
import { gatewayConfig, startFixture } from './gateway-fixture.js';

const records = async (s: GatewayStore): Promise<AccessRecord[]> => (await s.records()).map((r) => recordSchema.parse(JSON.parse(r.text)));

describe('the access log', () => {
  it('commits, never stores prompts, and a tester opens a record that a third party verifies', async () => {
    const f = await startFixture();
    try {
      const g = await f.grant();
      const secretPrompt = 'HELD-OUT ITEM 4711: What is 17 * 23?';
      const reqBody = JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: secretPrompt }], max_tokens: 5 });
      const res = await fetch(`${f.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${g.key}` }, body: reqBody });
      const respText = await res.text();
      const requestId = res.headers.get('x-assay-request-id')!;
      // A streamed answer, kept byte for byte by the tester.
      const sres = await fetch(`${f.gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': g.key }, body: JSON.stringify({ model: 'demo', max_tokens: 9, stream: true, messages: [{ role: 'user', content: 'What is 1 + 1?' }] }) });
      const streamBytes = Buffer.from(await sres.arrayBuffer());
      await f.gw.flush();

      const db = readFileSync(join(f.dir, 'gateway.db'));
      assert.ok(!db.includes(Buffer.from('HELD-OUT ITEM 4711')), 'the prompt is not in the database');
      const recs = await records(f.store);
      assert.equal(recs.length, 2);
      const rec = recs.find((r) => r.requestId === requestId)!;
      assert.equal(rec.status, 200);
      assert.equal(rec.grant, g.claims.jti);
      assert.deepEqual(rec.params, ['max_tokens', 'messages', 'model']);
      assert.ok(rec.usage!.input > 0 && rec.usage!.reported);
      assert.ok(!JSON.stringify(recs).includes('4711'));

      // Developer exports and signs; the tester opens; a third party verifies with the gateway's public key only.
      const head = signHead(f.signer, { gateway: f.config.id, size: recs.length, head: f.gw.head().head, time: new Date().toISOString() });
      const exportText = formatExport({ gateway: f.config.id, publicKey: f.signer.publicKey, records: (await f.store.records()).map((r) => r.text), signedHead: head.envelope });
      const opening = openRecord(rec, g.commitKey, reqBody, respText);
      assert.match(opening.request.content, /4711/);
      const log = verifyExport(exportText, f.signer.publicKey);
      assert.deepEqual(verifyOpening(opening, log), []);
      const sopen = openRecord(recs.find((r) => r.stream)!, g.commitKey, JSON.stringify({ model: 'demo', max_tokens: 9, stream: true, messages: [{ role: 'user', content: 'What is 1 + 1?' }] }), streamBytes);
      assert.deepEqual(verifyOpening(sopen, log), []);

      // Wrong content, wrong nonce, wrong key, a record the log does not hold: all fail.
      const bad = structuredClone(opening);
      bad.request.content = bad.request.content.replace('4711', '4712');
      assert.match(checkOpening(bad).join(), /request: nonce and content do not match/);
      const badResp = structuredClone(opening);
      badResp.response!.content = badResp.response!.content.replace(/"content":"[^"]*"/, '"content":"999"');
      assert.match(verifyOpening(badResp, log).join(), /response: nonce and content do not match/);
      assert.throws(() => openRecord(rec, Buffer.alloc(32, 7), reqBody, respText), /do not match/);
      const moved = structuredClone(opening);
      moved.record.status = 500;
      assert.match(verifyOpening(moved, log).join(), /differs from record/);
      // A forged signed head is refused.
      assert.throws(() => verifyExport(exportText, generateSigner().publicKey), /not signed by the trusted gateway key/);
    } finally {
      await f.close();
    }
  });

  it('detects an altered record, and a rewritten tail through the signed head', async () => {
    const f = await startFixture();
    try {
      const g = await f.grant();
      for (let i = 0; i < 5; i++) await fetch(`${f.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${g.key}` }, body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: `What is ${i} + 1?` }] }) });
      await f.gw.flush();
      const stored = await f.store.records();
      assert.deepEqual(verifyChain(stored.map((r) => ({ text: r.text, storedHash: r.hash }))).problems, []);
      const signed = signHead(f.signer, { gateway: f.config.id, size: stored.length, head: stored.at(-1)!.hash, time: new Date().toISOString() });

      // The developer shaves the token count of record 2.
      const r2 = recordSchema.parse(JSON.parse(stored[2]!.text));
      const altered = canonicalJson({ ...r2, usage: { ...r2.usage!, output: 0 } });
      await f.store._rawUpdateRecord(2, altered);
      const after = await f.store.records();
      const chain = verifyChain(after.map((r) => ({ text: r.text, storedHash: r.hash })));
      assert.ok(chain.problems.some((p) => p.seq === 2 && /stored hash .* the record was altered/.test(p.problem)));
      // Without the stored hashes, the next record's link breaks.
      const links = verifyChain(after.map((r) => ({ text: r.text })));
      assert.deepEqual(links.problems.map((p) => p.seq), [3]);
      assert.match(links.problems[0]!.problem, /prev .* does not name the previous record's hash/);

      // Rewriting every later record to re-link the chain still changes the head the signed head names.
      const texts = after.map((r) => r.text);
      let prev = GENESIS;
      const relinked = texts.map((t) => {
        const rec = { ...recordSchema.parse(JSON.parse(t)), prev };
        prev = recordHash(rec);
        return canonicalJson(rec);
      });
      assert.deepEqual(verifyChain(relinked.map((text) => ({ text }))).problems, [], 'a consistent forgery on its own');
      const forged = formatExport({ gateway: f.config.id, publicKey: f.signer.publicKey, records: relinked, signedHead: signed.envelope });
      const v = verifyExport(forged, f.signer.publicKey);
      assert.match(v.problems.map((p) => p.problem).join(), /the signed head says .*records were altered/);
    } finally {
      await f.close();
    }
  });

  it('checkpoints the head into the transparency log', async () => {
    const dir = tmp('assay-gw-tlog-');
    initLog(join(dir, 'log'), 'gw.test/access-log', join(dir, 'log.key'));
    const target = await startTarget();
    const signer = generateSigner();
    const config = gatewayConfig(target.url, { tlog: { dir: join(dir, 'log'), everyRecords: 3, everySeconds: 3600 } });
    const store = await GatewayStore.open(join(dir, 'gw.db'));
    const tlog = await openConfiguredLog(join(dir, 'log'));
    const gw = await startGateway({ config, signer, store, tlog });
    try {
      const { issueGrantToken, defaultGrant, tokenDigest, accessKey } = await import('../src/gateway/grant.js');
      const { token, claims } = issueGrantToken(signer, { tester: 't', audience: config.id, grant: defaultGrant('black-box', ['demo']), ttlSeconds: 600 });
      await store.registerGrant(claims, tokenDigest(token));
      for (let i = 0; i < 3; i++) await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${accessKey(token, Buffer.alloc(32, 1))}` }, body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: `q${i}` }] }) });
      // The third record triggers a checkpoint; wait for it to land.
      for (let i = 0; i < 50 && (await store.heads()).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      const heads = await store.heads();
      assert.equal(heads.length, 1);
      assert.equal(heads[0]!.size, 3);
      assert.equal(heads[0]!.tlogIndex, 0);
      const env = parseEnvelope(heads[0]!.envelopeJson);
      const head = openHead(env, signer.publicKey);
      assert.equal(head.head, gw.head().head);
      const entry = decodeEntry(tlog.entry(0));
      assert.equal(entry.type, 'access-log');
      assert.equal(entry.digest, sha256Prefixed(Buffer.from(env.payload, 'base64')));
      assert.equal(entry.metadata.size, 3);
    } finally {
      await gw.close();
      await store.close();
      tlog.close();
      await target.close();
    }
  });
});

describe('model-release statements', () => {
  it('sign, load with the signer key only, and the stamped digest is what assay attest --model-release computes', async () => {
    const dir = tmp('assay-gw-rel-');
    const signer = generateSigner();
    const r = signRelease(signer, { model: 'demo', version: 'v7', servingConfigDigest: `sha256:${'cd'.repeat(32)}`, developer: 'Lab' });
    const file = join(dir, 'release.json');
    writeFileSync(file, r.text);
    const loaded = loadRelease(file, signer.publicKey);
    assert.equal(loaded.digest, r.digest);
    assert.equal(`sha256:${(await digestOfFile(file)).sha256}`, r.digest);
    assert.equal(loaded.statement.predicate.servingConfig!.digest, `sha256:${'cd'.repeat(32)}`);
    assert.throws(() => loadRelease(file, generateSigner().publicKey), /not signed by/);
    assert.throws(() => signRelease(signer, { model: 'demo', version: 'v7', developer: 'Lab' }), /at least one of/);
    // A gateway refuses to start with a release signed by another key, or for another model.
    const target = await startTarget();
    const store = await GatewayStore.open(':memory:');
    try {
      await assert.rejects(startGateway({ config: gatewayConfig(target.url, { models: { demo: { upstream: 'sim', release: file } } }), signer: generateSigner(), store }), /not signed by/);
      await assert.rejects(startGateway({ config: gatewayConfig(target.url, { models: { other: { upstream: 'sim', release: file } } }), signer, store }), /declares model "demo", not "other"/);
    } finally {
      await store.close();
      await target.close();
    }
  });
});
