import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { signRelease, RELEASE_HEADER } from '../src/gateway/release.js';
import { iterateSamples } from '../src/run/log-reader.js';
import { openRecord, recordSchema } from '../src/gateway/commit.js';
import { formatExport, signHead, verifyExport, verifyOpening } from '../src/gateway/head.js';
import { generateSigner } from '../src/attest/keys.js';
import { DEMO_SUITE, cli, tmp } from './helpers.js';
import { startFixture, type Fixture } from './gateway-fixture.js';

/**
 * The official clients, pointed at the gateway with a grant's access key, work for plain and
 * streaming calls; every answer is stamped with the model-release digest; an Assay run through the
 * gateway gives the same results as a direct run against the same simulated upstream.
 */

describe('gateway with the official clients', () => {
  let f: Fixture;
  let key: string;
  let releaseDigest: string;
  before(async () => {
    const signer = generateSigner();
    const dir = tmp('assay-gw-clients-');
    const rel = signRelease(signer, { model: 'demo', version: '2026-11', weightsDigest: `sha256:${'ab'.repeat(32)}`, developer: 'Example Lab' });
    writeFileSync(join(dir, 'release.json'), rel.text);
    releaseDigest = rel.digest;
    f = await startFixture({ signer, dir, config: { models: { demo: { upstream: 'sim', release: join(dir, 'release.json'), price: { input: 1, output: 2 } } } } });
    key = (await f.grant({ level: 'grey-box', topLogprobsMax: 10 })).key;
  });
  after(() => f.close());

  it('openai: plain call, with logprobs, stamped with the release digest', async () => {
    const client = new OpenAI({ baseURL: `${f.gw.url}/v1`, apiKey: key, maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'What is 12 * 7?' }], max_tokens: 8, logprobs: true, top_logprobs: 3 }).withResponse();
    assert.match(data.choices[0]!.message.content ?? '', /^-?\d+$/);
    assert.ok(data.choices[0]!.logprobs?.content?.length);
    assert.equal(response.headers.get(RELEASE_HEADER), releaseDigest);
    assert.equal(response.headers.get('x-assay-simulated'), 'true');
    assert.match(response.headers.get('x-assay-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal((data as unknown as { _request_id?: string })._request_id, response.headers.get('x-assay-request-id'));
  });

  it('openai: streaming call gives the same answer as the plain call', async () => {
    const client = new OpenAI({ baseURL: `${f.gw.url}/v1`, apiKey: key, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'What is 31 + 11?' }];
    const plain = await client.chat.completions.create({ model: 'demo', messages, max_tokens: 8 });
    const { data: stream, response } = await client.chat.completions.create({ model: 'demo', messages, max_tokens: 8, stream: true, stream_options: { include_usage: true } }).withResponse();
    let text = '';
    let usage = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, plain.choices[0]!.message.content);
    assert.deepEqual(usage, plain.usage);
    assert.equal(response.headers.get(RELEASE_HEADER), releaseDigest);
  });

  it('anthropic: plain and streaming calls (the SDK authenticates with Bearer)', async () => {
    const client = new Anthropic({ baseURL: f.gw.url, apiKey: key, maxRetries: 0 });
    const params = { model: 'demo', max_tokens: 16, system: 'Be brief.', messages: [{ role: 'user' as const, content: 'What is 9 - 4?' }] };
    const { data: plain, response } = await client.messages.create(params).withResponse();
    assert.equal(plain.content[0]?.type, 'text');
    assert.equal(response.headers.get(RELEASE_HEADER), releaseDigest);
    const stream = client.messages.stream(params);
    const final = await stream.finalMessage();
    assert.deepEqual(final.content, plain.content);
    assert.equal(final.usage.output_tokens, plain.usage.output_tokens);
  });

  it('the SDKs surface gateway refusals with their message', async () => {
    const client = new OpenAI({ baseURL: `${f.gw.url}/v1`, apiKey: key, maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'x' }], logit_bias: { '1': 1 } }), (e: Error & { status?: number }) => e.status === 403 && /logit_bias" needs white-box/.test(e.message));
    const a = new Anthropic({ baseURL: f.gw.url, apiKey: 'nope', maxRetries: 0 });
    await assert.rejects(a.messages.create({ model: 'demo', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), (e: Error & { status?: number }) => e.status === 401 && /grant token/.test(e.message));
  });

  it('usage is metered per grant', async () => {
    const g = await f.grant({ level: 'black-box' });
    const client = new OpenAI({ baseURL: `${f.gw.url}/v1`, apiKey: g.key, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'What is 2 + 2?' }] });
    await f.gw.flush();
    const u = await f.store.usageOf(g.claims.jti);
    assert.deepEqual(u, { requests: 1, inputTokens: r.usage!.prompt_tokens, outputTokens: r.usage!.completion_tokens, costUsd: (r.usage!.prompt_tokens * 1 + r.usage!.completion_tokens * 2) / 1e6 });
  });
});

describe('an Assay run through the gateway', () => {
  it('gives the same results as a direct run against the same simulated upstream', async () => {
    const f = await startFixture({ profile: { seed: 11, accuracy: 0.7 } });
    try {
      const g = await f.grant({ level: 'grey-box', topLogprobsMax: 10 });
      const home = tmp('assay-gw-run-');
      const direct = join(home, 'direct.jsonl');
      const via = join(home, 'via.jsonl');
      const common = [DEMO_SUITE, '--model', 'openai/demo', '--limit', '40', '--no-progress', '--json', '--max-tokens', '5'];
      const a = await cli(['run', ...common, '--base-url', `${f.target.url}/v1`, '-o', direct], { ASSAY_HOME: home });
      assert.equal(a.code, 0, a.stderr);
      const before = f.upstreamRequests();
      const b = await cli(['run', ...common, '--base-url', `${f.gw.url}/v1`, '--api-key', g.key, '-o', via], { ASSAY_HOME: home });
      assert.equal(b.code, 0, b.stderr);
      assert.equal(f.upstreamRequests() - before, 40, 'every sample went through the gateway to the upstream once');
      const read = async (p: string) => {
        const m = new Map<string, { content: string | undefined; scores: unknown; usage: unknown }>();
        for await (const s of iterateSamples(p)) m.set(s.key, { content: s.output?.content, scores: s.scores, usage: s.usage });
        return m;
      };
      const [da, db] = [await read(direct), await read(via)];
      assert.equal(da.size, 40);
      assert.deepEqual([...db.entries()].sort(), [...da.entries()].sort());
      const sa = JSON.parse(a.stdout).stats;
      const sb = JSON.parse(b.stdout).stats;
      assert.deepEqual(sb.metrics ?? sb, sa.metrics ?? sa);
      // The run's request ids are the gateway's, so the tester can find each call in the access log.
      await f.gw.flush();
      const ids = new Set((await f.store.records()).map((r) => JSON.parse(r.text).requestId));
      for await (const s of iterateSamples(via)) assert.ok(ids.has(s.output!.requestId), `request id ${s.output!.requestId} in the access log`);
      // The tester opens a sample's call from the run log alone (sent body, raw answer, request id) and it verifies.
      const recs = (await f.store.records()).map((r) => recordSchema.parse(JSON.parse(r.text)));
      const signed = signHead(f.signer, { gateway: f.config.id, size: recs.length, head: f.gw.head().head, time: new Date().toISOString() });
      const log = verifyExport(formatExport({ gateway: f.config.id, publicKey: f.signer.publicKey, records: (await f.store.records()).map((r) => r.text), signedHead: signed.envelope }), f.signer.publicKey);
      let opened = 0;
      for await (const s of iterateSamples(via)) {
        const rec = recs.find((r) => r.requestId === s.output!.requestId)!;
        assert.deepEqual(verifyOpening(openRecord(rec, g.commitKey, JSON.stringify(s.sent!.body), JSON.stringify(s.output!.raw)), log), []);
        if (++opened === 5) break;
      }
    } finally {
      await f.close();
    }
  });
});

describe('white-box endpoints', () => {
  it('forwards to an endpoint the upstream declares, only on white-box grants', async () => {
    const { createServer } = await import('node:http');
    let hits = 0;
    const up = createServer((req, res) => {
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => {
        hits++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ path: req.url, got: JSON.parse(b), activations: [[0.1, 0.2]] }));
      });
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(up.address() as { port: number }).port}`;
    const f = await startFixture({ config: { upstreams: { sim: { openai: `${base}/v1`, whiteBox: { activations: '/v1/activations' } } } } });
    try {
      const w = await f.grant({ level: 'white-box' });
      const post = (key: string, name: string) => fetch(`${f.gw.url}/v1/white-box/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'demo', layers: [3], prompt: 'x' }) });
      const ok = await post(w.key, 'activations');
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { path: '/v1/activations', got: { model: 'demo', layers: [3], prompt: 'x' }, activations: [[0.1, 0.2]] });
      const other = await post(w.key, 'gradients');
      assert.equal(other.status, 501);
      assert.match(((await other.json()) as any).error.message, /offers no white-box endpoint "gradients" \(it offers: activations\)/);
      const grey = await f.grant({ level: 'grey-box' });
      assert.equal((await post(grey.key, 'activations')).status, 403);
      assert.equal(hits, 1, 'only the white-box call reached the upstream');
      await f.gw.flush();
      const recs = (await f.store.records()).map((r) => JSON.parse(r.text));
      assert.deepEqual(recs.map((r) => [r.endpoint, r.status]), [['white-box:activations', 200], ['white-box:gradients', 501], ['white-box:activations', 403]]);
    } finally {
      await f.close();
      up.close();
    }
  });
});
