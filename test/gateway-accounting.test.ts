import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import o200k from 'js-tiktoken/ranks/o200k_base';
import { generateSigner } from '../src/attest/keys.js';
import { recordSchema, type AccessRecord } from '../src/gateway/commit.js';
import { accessKey, defaultGrant, deriveCommitKey, issueGrantToken, tokenDigest, type Grant } from '../src/gateway/grant.js';
import { startGateway, type RunningGateway } from '../src/gateway/server.js';
import { GatewayStore } from '../src/gateway/store.js';
import { tmp } from './helpers.js';
import { gatewayConfig } from './gateway-fixture.js';
import { startScripted, streamWords, type Handler, type ScriptedUpstream } from './gateway-upstream.js';

/**
 * Accounting a tester cannot dodge: streams charged from the upstream's final usage report, or
 * from what was delivered when the stream ends early; every output bound reserved; a bound
 * injected when a budgeted request has none; budgets held under concurrency.
 */

interface Rig {
  up: ScriptedUpstream;
  gw: RunningGateway;
  store: GatewayStore;
  grant(over?: Partial<Grant>): Promise<{ key: string; jti: string }>;
  /** Re-issues a grant under the same jti with a new token, as the admin API's extend does. */
  reissue(jti: string): Promise<{ key: string }>;
  records(): Promise<AccessRecord[]>;
  close(): Promise<void>;
}

const rigs: Rig[] = [];
after(async () => {
  for (const r of rigs) await r.close();
});

async function rig(handler: Handler): Promise<Rig> {
  const up = await startScripted(handler);
  const signer = generateSigner();
  const config = gatewayConfig(up.url, { models: { demo: { upstream: 'sim', price: { input: 1, output: 2 } }, gpt: { upstream: 'sim', upstreamModel: 'gpt-4o-2024-08-06' } } });
  const store = await GatewayStore.open(join(tmp('assay-gw-acct-'), 'gateway.db'));
  const gw = await startGateway({ config, signer, store });
  const r: Rig = {
    up, gw, store,
    async grant(over = {}) {
      const grant: Grant = { ...defaultGrant('grey-box', ['demo', 'gpt']), rate: { perSecond: 10_000, burst: 10_000 }, ...over };
      const { token, claims } = issueGrantToken(signer, { tester: 't', audience: config.id, grant, ttlSeconds: 600 });
      await store.registerGrant(claims, tokenDigest(token));
      return { key: accessKey(token, deriveCommitKey(randomBytes(32), claims.jti)), jti: claims.jti };
    },
    async reissue(jti) {
      const old = (await store.getGrant(jti))!.claims;
      const { token, claims } = issueGrantToken(signer, { tester: old.sub, audience: config.id, grant: old.assay, ttlSeconds: 1200, jti });
      await store.updateGrant(claims, tokenDigest(token));
      return { key: accessKey(token, randomBytes(32)) };
    },
    async records() {
      await gw.flush();
      return (await store.records()).map((x) => recordSchema.parse(JSON.parse(x.text)));
    },
    async close() {
      await gw.close();
      await store.close();
      await up.close();
    },
  };
  rigs.push(r);
  return r;
}

const WORDS = ['The', ' answer', ' is', ' three', ' hundred', ' and', ' ninety', '-one', ', exactly', '.'];
const TEXT = WORDS.join('');

/** Reads a streamed answer until `until` has arrived, then closes the connection. */
async function readThenAbort(url: string, headers: Record<string, string>, body: object, until: string): Promise<string> {
  const ac = new AbortController();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal: ac.signal });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let got = '';
  const dec = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    got += dec.decode(value, { stream: true });
    if (got.includes(until)) break;
  }
  ac.abort();
  return got;
}

async function waitRecords(r: Rig, n: number): Promise<AccessRecord[]> {
  for (let i = 0; i < 200; i++) {
    const recs = await r.records();
    if (recs.length >= n) return recs;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`expected ${n} records`);
}

describe('stream accounting', () => {
  it('anthropic: charged from message_delta, not the provisional usage in message_start', async () => {
    const r = await rig((_b, format, res) => streamWords(res, format, WORDS, { final: true, input: 12, output: 57 }));
    const g = await r.grant();
    const res = await fetch(`${r.gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': g.key }, body: JSON.stringify({ model: 'demo', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'q' }] }) });
    assert.match(await res.text(), /message_stop/);
    const [rec] = await waitRecords(r, 1);
    assert.deepEqual(rec!.usage, { input: 12, output: 57, reported: true });
    assert.equal(rec!.costUsd, (12 * 1 + 57 * 2) / 1e6);
  });

  it('anthropic: a stream closed by the client after the last text is charged what was delivered (bytes upper bound)', async () => {
    const r = await rig((_b, format, res) => streamWords(res, format, WORDS, { final: false, hang: true, input: 12 }));
    const g = await r.grant({ maxTokensPerRequest: 4000 });
    const got = await readThenAbort(`${r.gw.url}/v1/messages`, { 'x-api-key': g.key }, { model: 'demo', max_tokens: 4000, stream: true, messages: [{ role: 'user', content: 'q' }] }, 'exactly');
    assert.ok(got.includes('exactly'));
    const [rec] = await waitRecords(r, 1);
    assert.equal(rec!.refusal, 'client_closed');
    // message_start said output_tokens 1; the delivered text is what counts. No tokenizer is known
    // for "demo", so its UTF-8 bytes (an upper bound on its tokens) are charged.
    assert.equal(rec!.usage!.input, 12, 'the input message_start reported');
    assert.ok(rec!.usage!.output >= Buffer.byteLength(TEXT) - Buffer.byteLength('.'), `charged ${rec!.usage!.output} output tokens for ${Buffer.byteLength(TEXT)} bytes delivered`);
    assert.equal(rec!.usage!.reported, false);
  });

  it('anthropic: an upstream that ends the stream early is charged what was delivered too', async () => {
    const r = await rig((_b, format, res) => streamWords(res, format, WORDS, { final: false, input: 12 }));
    const g = await r.grant();
    const res = await fetch(`${r.gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': g.key }, body: JSON.stringify({ model: 'demo', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'q' }] }) });
    await res.text();
    const [rec] = await waitRecords(r, 1);
    assert.deepEqual(rec!.usage, { input: 12, output: Buffer.byteLength(TEXT), reported: false });
  });

  it('openai: a stream without max_tokens closed early is charged the delivered text in the model family\'s tokens', async () => {
    const r = await rig((_b, format, res) => streamWords(res, format, WORDS, { final: false, hang: true }));
    const g = await r.grant();
    const body = { model: 'gpt', stream: true, messages: [{ role: 'user', content: 'What is 17 * 23?' }] };
    await readThenAbort(`${r.gw.url}/v1/chat/completions`, { authorization: `Bearer ${g.key}` }, body, 'exactly');
    const [rec] = await waitRecords(r, 1);
    const enc = new Tiktoken(o200k);
    // Everything up to the chunk carrying "exactly" was delivered (the last word may or may not be).
    const delivered = enc.encode(WORDS.slice(0, 9).join('')).length;
    assert.ok(rec!.usage!.output >= delivered && rec!.usage!.output <= enc.encode(TEXT).length, `output ${rec!.usage!.output}, delivered ${delivered}`);
    assert.ok(rec!.usage!.input >= enc.encode('What is 17 * 23?').length, 'the prompt is charged, counted by the tokenizer');
    assert.equal(rec!.usage!.reported, false);
  });

  it('openai: charged from the final usage chunk when it comes', async () => {
    const r = await rig((_b, format, res) => streamWords(res, format, WORDS, { final: true, input: 9, output: 33 }));
    const g = await r.grant();
    const res = await fetch(`${r.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${g.key}` }, body: JSON.stringify({ model: 'demo', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'q' }] }) });
    assert.match(await res.text(), /\[DONE\]/);
    const [rec] = await waitRecords(r, 1);
    assert.deepEqual(rec!.usage, { input: 9, output: 33, reported: true });
  });
});

describe('reservations', () => {
  const json = (res: import('node:http').ServerResponse, body: Record<string, unknown>, format: 'openai' | 'anthropic', out: number) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(format === 'openai' ? { id: 'c', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: out } } : { id: 'm', type: 'message', content: [{ type: 'text', text: 'x' }], usage: { input_tokens: 10, output_tokens: out } }));
    void body;
  };

  it('max_completion_tokens is reserved like max_tokens (and a server honouring it cannot pass the budget)', async () => {
    const r = await rig((b, f, res) => json(res, b, f, Number(b.max_completion_tokens ?? b.max_tokens ?? 50)));
    const g = await r.grant({ budget: { tokens: 1000, costUsd: null } });
    const h = { 'content-type': 'application/json', authorization: `Bearer ${g.key}` };
    const big = await fetch(`${r.gw.url}/v1/chat/completions`, { method: 'POST', headers: h, body: JSON.stringify({ model: 'demo', max_completion_tokens: 5000, messages: [{ role: 'user', content: 'q' }] }) });
    assert.equal(big.status, 429, await big.text());
    assert.equal(r.up.bodies.length, 0, 'refused before the upstream');
    // Both bounds present: the larger is the worst case (a server may honour either).
    const both = await fetch(`${r.gw.url}/v1/chat/completions`, { method: 'POST', headers: h, body: JSON.stringify({ model: 'demo', max_tokens: 5, max_completion_tokens: 5000, messages: [{ role: 'user', content: 'q' }] }) });
    assert.equal(both.status, 429, await both.text());
    assert.equal(r.up.bodies.length, 0, 'refused before the upstream');
    const ok = await fetch(`${r.gw.url}/v1/chat/completions`, { method: 'POST', headers: h, body: JSON.stringify({ model: 'demo', max_completion_tokens: 500, messages: [{ role: 'user', content: 'q' }] }) });
    assert.equal(ok.status, 200);
  });

  it('a budgeted request without a bound gets one injected: the grant cap, else what the budget has left', async () => {
    const r = await rig((b, f, res) => json(res, b, f, 5));
    const capped = await r.grant({ maxTokensPerRequest: 64 });
    await fetch(`${r.gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': capped.key }, body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'q' }] }) });
    assert.equal(r.up.bodies.at(-1)!.max_tokens, 64);
    const budgeted = await r.grant({ budget: { tokens: 1000, costUsd: null } });
    const body = JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'q' }] });
    await fetch(`${r.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${budgeted.key}` }, body });
    assert.equal(r.up.bodies.at(-1)!.max_tokens, 1000 - Buffer.byteLength(body), 'the budget left after the prompt bound');
    const free = await r.grant();
    await fetch(`${r.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${free.key}` }, body });
    assert.equal(r.up.bodies.at(-1)!.max_tokens, undefined, 'no budget, no cap: nothing injected');
  });

  it('100 parallel requests without max_tokens cannot spend past a 2,000-token budget', async () => {
    // The upstream writes min(max_tokens, 50) tokens and reports them honestly.
    const r = await rig((b, f, res) => setTimeout(() => json(res, b, f, Math.min(Number(b.max_tokens ?? 50), 50)), 20));
    const g = await r.grant({ budget: { tokens: 2000, costUsd: null } });
    const statuses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        fetch(`${r.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${g.key}` }, body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: `question ${i}` }] }) }).then(async (x) => (await x.text(), x.status)),
      ),
    );
    assert.ok(statuses.every((s) => s === 200 || s === 429), statuses.join());
    assert.ok(statuses.includes(200));
    await r.gw.flush();
    const u = await r.store.usageOf(g.jti);
    assert.ok(u.inputTokens + u.outputTokens <= 2000, `spent ${u.inputTokens + u.outputTokens} of 2000`);
    // Sequential requests then use up what is left, still never past it.
    for (let i = 0; i < 40; i++) await fetch(`${r.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${g.key}` }, body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: `q${i}` }] }) }).then((x) => x.text());
    await r.gw.flush();
    const u2 = await r.store.usageOf(g.jti);
    assert.ok(u2.inputTokens + u2.outputTokens <= 2000, `spent ${u2.inputTokens + u2.outputTokens} of 2000`);
    // A cost budget holds the same way (demo: $1 / $2 per million input / output tokens).
    const c = await r.grant({ budget: { tokens: null, costUsd: 0.003 } });
    await Promise.all(Array.from({ length: 60 }, (_, i) => fetch(`${r.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${c.key}` }, body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: `cost ${i}` }] }) }).then((x) => x.text())));
    await r.gw.flush();
    const uc = await r.store.usageOf(c.jti);
    assert.ok(uc.requests > 0 && uc.costUsd <= 0.003 + 1e-12, `spent $${uc.costUsd} of $0.003`);
  });
});

describe('budgets under concurrent cut streams', () => {
  // An upstream that honours max_tokens (one word = one token) but ends every stream before its
  // final usage report: the gateway counts what it delivered. Words of 9 bytes make the bytes
  // count (the upper bound for families without a tokenizer) 9× the real tokens.
  const words = (n: number) => Array.from({ length: n }, (_, i) => ` word${String(i % 1000).padStart(3, '0')}`);
  for (const format of ['anthropic', 'openai'] as const) {
    it(`${format}: 60 parallel streams ended early, half cut by the client too, cannot spend past a 2,000-token budget by more than one request's cap`, async () => {
      const r = await rig((b, f, res) => setTimeout(() => streamWords(res, f, words(Math.min(Number(b.max_tokens ?? 50), 50)), { final: false, input: 10 }), 10));
      const g = await r.grant({ budget: { tokens: 2000, costUsd: null } });
      const url = `${r.gw.url}${format === 'anthropic' ? '/v1/messages' : '/v1/chat/completions'}`;
      const headers: Record<string, string> = format === 'anthropic' ? { 'x-api-key': g.key } : { authorization: `Bearer ${g.key}` };
      let largestReservation = 0;
      const statuses = await Promise.all(
        Array.from({ length: 60 }, async (_, i) => {
          const body = { model: 'demo', max_tokens: 20, stream: true, messages: [{ role: 'user', content: `question ${i}` }] };
          largestReservation = Math.max(largestReservation, Buffer.byteLength(JSON.stringify(body)) + 20);
          if (i % 2 === 0) {
            const ac = new AbortController();
            const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal: ac.signal });
            if (res.status !== 200) return (await res.text(), res.status);
            const reader = res.body!.getReader();
            await reader.read();
            ac.abort();
            return 200;
          }
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
          await res.text();
          return res.status;
        }),
      );
      assert.ok(statuses.every((s) => s === 200 || s === 429), statuses.join());
      assert.ok(statuses.filter((s) => s === 200).length >= 5, statuses.join());
      // Let the aborted streams settle, then read the grant's usage.
      for (let i = 0; i < 100 && (await r.records()).length < statuses.length; i++) await new Promise((x) => setTimeout(x, 20));
      await r.gw.flush();
      const u = await r.store.usageOf(g.jti);
      const spent = u.inputTokens + u.outputTokens;
      assert.ok(spent <= 2000 + largestReservation, `spent ${spent} of 2000 (one request's worst case: ${largestReservation})`);
      // And the usage the grant endpoint reports is what the records charged.
      const recs = (await r.records()).filter((x) => x.grant === g.jti && x.usage);
      assert.equal(recs.reduce((a, x) => a + x.usage!.input + x.usage!.output, 0), spent);
    });
  }
});

describe('a grant re-issued while its requests are in flight', () => {
  it('the new token does not reserve again what the old token\'s requests in flight hold (extend under load)', async () => {
    // The upstream takes 1.5 s and writes max_tokens tokens, reported honestly.
    const r = await rig((b, _f, res) =>
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'c', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: Number(b.max_tokens) } }));
      }, 1500),
    );
    const g = await r.grant({ budget: { tokens: 2000, costUsd: null } });
    const send = (key: string, i: number) => fetch(`${r.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'demo', max_tokens: 150, messages: [{ role: 'user', content: `q${i}` }] }) }).then(async (x) => (await x.text(), x.status));
    const first = Array.from({ length: 15 }, (_, i) => send(g.key, i));
    // Wait until the old token's requests hold their reservations (they reached the upstream).
    while (r.up.bodies.length < 8) await new Promise((x) => setTimeout(x, 10));
    // The developer extends the grant (same jti, new token) while those are in flight.
    const next = await r.reissue(g.jti);
    const second = Array.from({ length: 15 }, (_, i) => send(next.key, 100 + i));
    const statuses = await Promise.all([...first, ...second]);
    // 401: old-token requests that arrived after the re-issue (the old token stops at once).
    assert.ok(statuses.every((s) => s === 200 || s === 429 || s === 401), statuses.join());
    assert.ok(statuses.includes(200) && statuses.includes(429), statuses.join());
    await r.gw.flush();
    const u = await r.store.usageOf(g.jti);
    assert.ok(u.inputTokens + u.outputTokens <= 2000, `spent ${u.inputTokens + u.outputTokens} of 2000 across the re-issue`);
  });
});
