import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import Database from 'better-sqlite3';
import { canonicalJson } from '../src/common/canonical.js';
import { digestOfFile } from '../src/attest/digest.js';
import { exportPublicPem, generateSigner } from '../src/attest/keys.js';
import { GENESIS, checkOpening, openRecord, recordHash, recordSchema, verifyChain, type AccessRecord } from '../src/gateway/commit.js';
import { formatExport, openHead, signHead, verifyExport, verifyOpening } from '../src/gateway/head.js';
import { RELEASE_HEADER, loadRelease, signRelease } from '../src/gateway/release.js';
import { startGateway } from '../src/gateway/server.js';
import { GatewayStore } from '../src/gateway/store.js';
import { decodeEntry, sha256Prefixed } from '../src/tlog/entry.js';
import { initLog, openConfiguredLog } from '../src/tlog/config.js';
import { parseEnvelope } from '../src/attest/dsse.js';
import { startTarget } from '../src/target/server.js';
import { ROOT, cli, tmp } from './helpers.js';
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
    const tlog = openConfiguredLog(join(dir, 'log'));
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

describe('gateway CLI end to end', () => {
  it('keys, release, grant, serve, call, revoke, export, open, verify-opening, tamper check', async () => {
    const home = tmp('assay-gw-cli-');
    const env = { ASSAY_HOME: home };
    const target = await startTarget({ seed: 3 });
    let server: ReturnType<typeof spawn> | null = null;
    try {
      assert.equal((await cli(['keys', 'generate', '--name', 'dev'], env)).code, 0);
      const rel = await cli(['release', 'sign', '-m', 'demo', '--model-version', '1.0', '--weights-digest', `sha256:${'12'.repeat(32)}`, '--developer', 'Example Lab', '--key', 'dev', '-o', join(home, 'release.json')], env);
      assert.equal(rel.code, 0, rel.stderr);
      const relDigest = /digest (sha256:[0-9a-f]{64})/.exec(rel.stdout)![1]!;
      writeFileSync(join(home, 'gw.yaml'), `schema: assay.gateway-config/v1\nid: gw.cli/test\nkey: dev\nlisten: { host: 127.0.0.1, port: 0 }\nupstreams:\n  sim: { openai: ${target.url}/v1, anthropic: ${target.url} }\nmodels:\n  demo: { upstream: sim, release: release.json, price: { input: 1, output: 1 } }\n`);
      const gi = await cli(['grant', 'issue', '--config', join(home, 'gw.yaml'), '--tester', 'acme', '-m', 'demo', '--level', 'black-box', '--expires', '2h', '--max-tokens-total', '100000', '-o', join(home, 'grant.jwt')], env);
      assert.equal(gi.code, 0, gi.stderr);
      const jti = /grant (g_[0-9a-f]{32})/.exec(gi.stdout)![1]!;
      const ak = await cli(['grant', 'access-key', '--token', join(home, 'grant.jwt'), '--secret', join(home, 'tester.secret'), '--create-secret'], env);
      assert.equal(ak.code, 0, ak.stderr);
      const key = ak.stdout.trim();
      writeFileSync(join(home, 'access.key'), key);

      server = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'gateway', 'serve', '--config', join(home, 'gw.yaml')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      const url = await new Promise<string>((resolve, reject) => {
        let outText = '';
        server!.stdout!.on('data', (d) => {
          outText += d;
          const m = /listening on (http:\/\/\S+)/.exec(outText);
          if (m) resolve(m[1]!);
        });
        server!.stderr!.on('data', (d) => process.stderr.write(d));
        server!.once('exit', (c) => reject(new Error(`gateway exited ${c}`)));
      });
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
      const body = { model: 'demo', messages: [{ role: 'user' as const, content: 'What is 5 * 5?' }], max_tokens: 4 };
      const { data, response } = await client.chat.completions.create(body).withResponse();
      assert.equal(response.headers.get(RELEASE_HEADER), relDigest);
      writeFileSync(join(home, 'req.json'), JSON.stringify(body));
      writeFileSync(join(home, 'resp.json'), JSON.stringify(data));

      const list = await cli(['grant', 'list', '--config', join(home, 'gw.yaml'), '--json'], env);
      assert.equal(JSON.parse(list.stdout)[0].usage.requests, 1);
      const rv = await cli(['grant', 'revoke', jti, '--config', join(home, 'gw.yaml'), '--reason', 'engagement over'], env);
      assert.equal(rv.code, 0, rv.stderr);
      await assert.rejects(client.chat.completions.create(body), (e: Error & { status?: number }) => e.status === 401 && /revoked/.test(e.message));

      const ex = await cli(['gateway', 'log', 'export', '--config', join(home, 'gw.yaml'), '-o', join(home, 'log.jsonl')], env);
      assert.equal(ex.code, 0, ex.stderr);
      const op = await cli(['gateway', 'open', '--log', join(home, 'log.jsonl'), '--access-key', join(home, 'access.key'), '--request', join(home, 'req.json'), '--response', join(home, 'resp.json'), '-o', join(home, 'opening.json')], env);
      assert.equal(op.code, 0, op.stderr);
      const pub = join(home, 'gw.pub');
      const { loadSigner } = await import('../src/attest/keys.js');
      writeFileSync(pub, exportPublicPem(loadSigner('dev', home).publicKey));
      const vo = await cli(['gateway', 'verify-opening', join(home, 'opening.json'), '--log', join(home, 'log.jsonl'), '--gateway-key', pub], env);
      assert.equal(vo.code, 0, vo.stderr);
      assert.match(vo.stdout, /opening verified: record 0/);
      const dev = await cli(['gateway', 'log', 'list', '--config', join(home, 'gw.yaml')], env);
      assert.match(dev.stdout, /openai\.chat\s+demo\s+200/);
      assert.doesNotMatch(dev.stdout, /5 \* 5/);

      const lv = await cli(['gateway', 'log', 'verify', '--config', join(home, 'gw.yaml')], env);
      assert.equal(lv.code, 0, lv.stderr);
      // Alter a record in the database: log verify fails with 14 and names it.
      const sqlite = new Database(join(home, 'gateway.db'));
      const row = sqlite.prepare('select text from records where seq = 0').get() as { text: string };
      sqlite.prepare('update records set text = ? where seq = 0').run(row.text.replace('"status":200', '"status":201'));
      sqlite.close();
      const lv2 = await cli(['gateway', 'log', 'verify', '--config', join(home, 'gw.yaml')], env);
      assert.equal(lv2.code, 14, lv2.stdout);
      assert.match(lv2.stderr, /record 0: stored hash .* altered/);
      assert.match(lv2.stderr, /signed head of size 1 /);
      // An opening against an edited export fails with 16.
      const exp = readFileSync(join(home, 'log.jsonl'), 'utf8').replace('"status":200', '"status":201');
      writeFileSync(join(home, 'log-edited.jsonl'), exp);
      const vo2 = await cli(['gateway', 'verify-opening', join(home, 'opening.json'), '--log', join(home, 'log-edited.jsonl'), '--gateway-key', pub], env);
      assert.equal(vo2.code, 16, vo2.stdout);
      // The digest assay attest --model-release would record is the stamp.
      assert.equal(`sha256:${(await digestOfFile(join(home, 'release.json'))).sha256}`, relDigest);
    } finally {
      server?.kill('SIGTERM');
      await target.close();
    }
  });
});
