import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigner } from '../src/attest/keys.js';
import { accessKey, defaultGrant, issueGrantToken, tokenDigest } from '../src/gateway/grant.js';
import { startGateway } from '../src/gateway/server.js';
import { GatewayStore } from '../src/gateway/store.js';
import { GATEWAY_ID, gatewayConfig, startFixture, type Fixture } from './gateway-fixture.js';

/**
 * Every refusal: the right status, a message naming the problem, and the upstream (the simulated
 * target) receives nothing — asserted on its request counter around each call.
 */

const Q = [{ role: 'user', content: 'What is 6 * 7?' }];

async function post(f: Fixture, path: string, body: string | object, headers: Record<string, string> = {}) {
  const res = await fetch(`${f.gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Asserts a refusal and that the upstream counter did not move. */
async function refused(f: Fixture, p: Promise<Awaited<ReturnType<typeof post>>>, status: number, code: string, message: RegExp) {
  const before = f.upstreamRequests();
  const r = await p;
  assert.equal(r.status, status, r.text);
  const err = r.json?.error;
  assert.ok(err, `error body: ${r.text}`);
  assert.equal(err.code, code, r.text);
  assert.match(err.message, message);
  assert.equal(f.upstreamRequests(), before, 'the upstream must receive nothing');
  return r;
}

describe('gateway security', () => {
  let f: Fixture;
  let key: string;
  before(async () => {
    f = await startFixture();
    key = (await f.grant({ level: 'black-box' })).key;
  });
  after(() => f.close());

  it('serves a good black-box request (baseline: the upstream counter moves)', async () => {
    const n = f.upstreamRequests();
    const r = await post(f, '/v1/chat/completions', { model: 'demo', messages: Q, max_tokens: 5 }, { authorization: `Bearer ${key}` });
    assert.equal(r.status, 200, r.text);
    assert.equal(f.upstreamRequests(), n + 1);
  });

  it('refuses a request with no credential (401)', async () => {
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q }), 401, 'missing_credential', /no credential/);
  });

  it('refuses malformed tokens (401)', async () => {
    for (const bad of ['not-a-token', 'a.b', 'a.b.c', `${key.split('.')[0]}.!!.x`, 'Basic abc'])
      await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, { 'x-api-key': bad }), 401, 'invalid_token', /grant token|malformed|base64url|JWS/i);
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, { authorization: 'Basic abc' }), 401, 'invalid_token', /Bearer/);
  });

  it('refuses a token signed by another key (401, wrong signature)', async () => {
    const other = generateSigner();
    const { token, claims } = issueGrantToken(other, { tester: 't', audience: GATEWAY_ID, grant: defaultGrant('black-box', ['demo']), ttlSeconds: 600 });
    // Even registered (a confused developer), the signature decides: iss is another key.
    await f.store.registerGrant(claims, tokenDigest(token));
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, { authorization: `Bearer ${accessKey(token, Buffer.alloc(32))}` }), 401, 'invalid_token', /signature|not issued by this gateway/);
    // A good token with its signature bytes altered.
    const parts = key.split('~')[0]!.split('.');
    const sig = Buffer.from(parts[2]!, 'base64url');
    sig[5]! ^= 1;
    const forged = `${parts[0]}.${parts[1]}.${sig.toString('base64url')}~${key.split('~')[1]}`;
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, { authorization: `Bearer ${forged}` }), 401, 'invalid_token', /signature does not verify/);
    // A good signature over a payload with widened claims (level changed to white-box).
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString());
    payload.assay.level = 'white-box';
    const widened = `${parts[0]}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${parts[2]}~${key.split('~')[1]}`;
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, { authorization: `Bearer ${widened}` }), 401, 'invalid_token', /signature does not verify/);
  });

  it('refuses a token for another gateway (aud)', async () => {
    const { token, claims } = issueGrantToken(f.signer, { tester: 't', audience: 'other.gateway', grant: defaultGrant('black-box', ['demo']), ttlSeconds: 600 });
    await f.store.registerGrant(claims, tokenDigest(token));
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, { authorization: `Bearer ${accessKey(token, Buffer.alloc(32))}` }), 401, 'invalid_token', /another gateway/);
  });

  it('refuses an expired grant (401)', async () => {
    const g = await f.grant({ ttlSeconds: 60, now: new Date(Date.now() - 3_600_000) });
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, { authorization: `Bearer ${g.key}` }), 401, 'grant_expired', /expired/);
  });

  it('refuses an unregistered grant, and a token that differs from the registered one', async () => {
    const { token } = issueGrantToken(f.signer, { tester: 't', audience: GATEWAY_ID, grant: defaultGrant('black-box', ['demo']), ttlSeconds: 600 });
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, { authorization: `Bearer ${accessKey(token, Buffer.alloc(32))}` }), 401, 'grant_unknown', /not registered/);
  });

  it('refuses a revoked grant from the very next request', async () => {
    const g = await f.grant();
    const ok = await post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, { authorization: `Bearer ${g.key}` });
    assert.equal(ok.status, 200);
    // Revoked through a second connection to the database, as `assay grant revoke` does.
    const other = await GatewayStore.open(`${f.dir}/gateway.db`);
    assert.equal(await other.revokeGrant(g.claims.jti, 'test'), true);
    await other.close();
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, { authorization: `Bearer ${g.key}` }), 401, 'grant_revoked', /revoked/);
  });

  it('requires a commitment key', async () => {
    const g = await f.grant();
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, { authorization: `Bearer ${g.token}` }), 401, 'commit_key_required', /commitment key/);
    // Sent as a header instead, it works.
    const r = await post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, { authorization: `Bearer ${g.token}`, 'x-assay-commit-key': g.commitKey.toString('base64url') });
    assert.equal(r.status, 200, r.text);
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, { authorization: `Bearer ${g.token}~short` }), 401, 'invalid_token', /43 characters/);
  });

  it('refuses different credentials in Authorization and x-api-key', async () => {
    const g = await f.grant();
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, { authorization: `Bearer ${g.key}`, 'x-api-key': key }), 401, 'invalid_token', /different credentials/);
  });

  it('refuses a model outside the grant (403) and one the gateway does not serve', async () => {
    await refused(f, post(f, '/v1/chat/completions', { model: 'other', messages: Q }, { authorization: `Bearer ${key}` }), 403, 'model_not_granted', /"other" is not covered/);
    const g = await f.grant({ models: ['demo', 'ghost'] });
    await refused(f, post(f, '/v1/chat/completions', { model: 'ghost', messages: Q }, { authorization: `Bearer ${g.key}` }), 404, 'model_not_found', /not served/);
  });

  it('refuses grey-box and white-box parameters on a black-box grant (403), naming the level needed', async () => {
    for (const [p, v, level] of [['logprobs', true, 'grey-box'], ['top_logprobs', 5, 'grey-box'], ['frequency_penalty', 0.5, 'grey-box'], ['logit_bias', { '42': 100 }, 'white-box']] as const)
      await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q, [p]: v }, { authorization: `Bearer ${key}` }), 403, 'parameter_forbidden', new RegExp(`"${p}" needs ${level}`));
    await refused(f, post(f, '/v1/messages', { model: 'demo', max_tokens: 5, messages: Q, top_k: 3 }, { 'x-api-key': key }), 403, 'parameter_forbidden', /"top_k" needs grey-box/);
  });

  it('refuses logit_bias even on grey-box; top_logprobs above the grant cap', async () => {
    const g = await f.grant({ level: 'grey-box', topLogprobsMax: 3 });
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q, logprobs: true, logit_bias: { '1': 5 } }, { authorization: `Bearer ${g.key}` }), 403, 'parameter_forbidden', /logit_bias" needs white-box/);
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q, logprobs: true, top_logprobs: 4 }, { authorization: `Bearer ${g.key}` }), 400, 'invalid_request', /top_logprobs/);
    const ok = await post(f, '/v1/chat/completions', { model: 'demo', messages: Q, logprobs: true, top_logprobs: 3 }, { authorization: `Bearer ${g.key}` });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(ok.json.choices[0].logprobs.content.length > 0);
  });

  it('refuses smuggled fields at any nesting, unknown parameters, echo (400)', async () => {
    const h = { authorization: `Bearer ${key}` };
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q, echo: true }, h), 400, 'unknown_parameter', /"echo"/);
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q, tools: [] }, h), 400, 'unknown_parameter', /"tools"/);
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: [{ role: 'user', content: 'hi', logprobs: true }] }, h), 400, 'unknown_parameter', /"logprobs" at messages\[0\]/);
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', logit_bias: { 1: 1 } }] }] }, h), 400, 'unknown_parameter', /"logit_bias" at messages\[0\]\.content\[0\]/);
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q, stream_options: { include_usage: true, include_logprobs: true } }, h), 400, 'unknown_parameter', /include_logprobs/);
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: [{ role: 'tool', content: 'x' }] }, h), 400, 'invalid_request', /messages\[0\]\.role/);
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, h), 400, /* zod union: the first failing member */ 'invalid_request', /messages\[0\]\.content/);
    await refused(f, post(f, '/v1/messages', { model: 'demo', max_tokens: 5, messages: Q, thinking: { type: 'enabled' } }, { 'x-api-key': key }), 400, 'unknown_parameter', /"thinking"/);
    await refused(f, post(f, '/v1/messages', { model: 'demo', max_tokens: 5, messages: Q, system: [{ type: 'text', text: 's', cache_control: {} }] }, { 'x-api-key': key }), 400, 'unknown_parameter', /cache_control/);
    // A JSON escape in the key still names the forbidden parameter once decoded.
    await refused(f, post(f, '/v1/chat/completions', '{"model":"demo","messages":[{"role":"user","content":"x"}],"\\u006cogprobs":true}', h), 403, 'parameter_forbidden', /"logprobs"/);
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q, n: 3 }, h), 400, 'invalid_request', /n/);
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q, temperature: 9 }, h), 400, 'invalid_request', /temperature/);
    await refused(f, post(f, '/v1/chat/completions', '{"model":"demo","messages":[{"role":"user","content":"x"}],"__proto__":{"logprobs":true}}', h), 400, 'unknown_parameter', /"__proto__"/);
  });

  it('refuses duplicate keys at any depth (400) — the upstream could read either one', async () => {
    const h = { authorization: `Bearer ${key}` };
    await refused(f, post(f, '/v1/chat/completions', '{"model":"demo","model":"other","messages":[{"role":"user","content":"x"}]}', h), 400, 'duplicate_key', /duplicate key "model"/);
    await refused(f, post(f, '/v1/chat/completions', '{"model":"demo","messages":[{"role":"user","content":"a","content":"b"}]}', h), 400, 'duplicate_key', /duplicate key "content"/);
    await refused(f, post(f, '/v1/chat/completions', '{"model":"demo","messages":[{"role":"user","content":"x"}], "max_tokens": 1e400}', h), 400, 'invalid_json', /safe range|number/);
  });

  it('refuses oversized bodies (413) and other media types (415)', async () => {
    const big = JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'x'.repeat(1_100_000) }] });
    await refused(f, post(f, '/v1/chat/completions', big, { authorization: `Bearer ${key}` }), 413, 'request_too_large', /larger than 1048576 bytes/);
    const before = f.upstreamRequests();
    const r = await fetch(`${f.gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(r.status, 415);
    assert.match(((await r.json()) as any).error.message, /application\/json/);
    assert.equal(f.upstreamRequests(), before);
  });

  it('refuses beta headers, white-box endpoints below white-box, and where the upstream has none', async () => {
    await refused(f, post(f, '/v1/messages', { model: 'demo', max_tokens: 5, messages: Q }, { 'x-api-key': key, 'anthropic-beta': 'x' }), 400, 'beta_header', /anthropic-beta/);
    await refused(f, post(f, '/v1/white-box/activations', { model: 'demo', layers: [3] }, { authorization: `Bearer ${key}` }), 403, 'parameter_forbidden', /need white-box access/);
    const w = await f.grant({ level: 'white-box' });
    await refused(f, post(f, '/v1/white-box/activations', { model: 'demo', layers: [3] }, { authorization: `Bearer ${w.key}` }), 501, 'not_offered', /offers no white-box endpoint "activations" \(it offers none/);
  });

  it('over budget: 429 before the upstream is called', async () => {
    const g = await f.grant({ budget: { tokens: 150, costUsd: null } });
    const h = { authorization: `Bearer ${g.key}` };
    let first = await post(f, '/v1/chat/completions', { model: 'demo', messages: Q, max_tokens: 5 }, h);
    assert.equal(first.status, 200);
    // The body is ~80 bytes (its bytes are reserved: no tokenizer makes more tokens) + max_tokens:
    // a request asking for 100 more cannot fit.
    const r = await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q, max_tokens: 100 }, h), 429, 'budget_exhausted', /token budget: \d+ of 150 tokens used/);
    assert.equal(r.headers.get('retry-after'), null, 'waiting does not refill a budget');
    first = await post(f, '/v1/chat/completions', { model: 'demo', messages: Q, max_tokens: 5 }, h);
    assert.equal(first.status, 200, 'a smaller request still fits');
    const c = await f.grant({ budget: { tokens: null, costUsd: 0.00001 } });
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q, max_tokens: 10 }, { authorization: `Bearer ${c.key}` }), 429, 'budget_exhausted', /cost budget/);
  });

  it('caps max_tokens per request and max_completion_tokens too', async () => {
    const g = await f.grant({ maxTokensPerRequest: 16 });
    const h = { authorization: `Bearer ${g.key}` };
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q, max_tokens: 17 }, h), 403, 'parameter_forbidden', /max_tokens 17 is above this grant's cap of 16/);
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q, max_completion_tokens: 5000 }, h), 403, 'parameter_forbidden', /max_completion_tokens 5000 is above this grant's cap of 16/);
    await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q, max_tokens: 5, max_completion_tokens: 17 }, h), 403, 'parameter_forbidden', /max_completion_tokens 17/);
  });

  it('over rate: 429 with Retry-After before the upstream is called', async () => {
    const g = await f.grant({ rate: { perSecond: 0.2, burst: 2 } });
    const h = { authorization: `Bearer ${g.key}` };
    for (let i = 0; i < 2; i++) assert.equal((await post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, h)).status, 200);
    const r = await refused(f, post(f, '/v1/chat/completions', { model: 'demo', messages: Q }, h), 429, 'rate_limited', /0\.2 requests\/s/);
    const ra = Number(r.headers.get('retry-after'));
    assert.ok(ra >= 1 && ra <= 5, `Retry-After ${ra}`);
  });

  it('survives a few hundred generated malformed requests, none reaching the upstream', async () => {
    const g = await f.grant({ level: 'grey-box', topLogprobsMax: 5 });
    const before = f.upstreamRequests();
    // Deterministic generator: mutations of a valid body and header set.
    let s = 12345;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const valid = JSON.stringify({ model: 'demo', messages: Q, max_tokens: 5 });
    const mutations: Array<() => { body: string; headers: Record<string, string>; path?: string }> = [
      () => ({ body: valid.slice(0, Math.floor(rnd() * valid.length)), headers: {} }), // truncated
      () => { const i = Math.floor(rnd() * valid.length); return { body: valid.slice(0, i) + String.fromCharCode(Math.floor(rnd() * 256)) + valid.slice(i + 1), headers: {} }; },
      () => ({ body: JSON.stringify({ model: 'demo', messages: Q, [pick(['logit_bias', 'echo', 'tools', 'functions', 'suffix', 'best_of', 'user', 'response_format', 'seed_', 'Logprobs'])]: pick([true, 1, 'x', {}, [], null]) }), headers: {} }),
      () => ({ body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'x', [pick(['extra', 'tool_calls', 'audio', 'refusal'])]: 1 }] }), headers: {} }),
      () => ({ body: JSON.stringify({ model: pick([1, null, '', 'x'.repeat(300), ['demo'], { a: 1 }]), messages: Q }), headers: {} }),
      () => ({ body: JSON.stringify({ model: 'demo', messages: pick([[], null, 'x', [null], [[]], [{}], [{ role: 'user' }]]) }), headers: {} }),
      () => ({ body: `{"model":"demo","messages":${JSON.stringify(Q)},"max_tokens":${pick(['-1', '0', '1.5', '"5"', '1e999', 'NaN', '99999999999999999999'])}}`, headers: {} }),
      () => ({ body: valid.replace('"model"', '"model":"demo","model"'), headers: {} }),
      () => ({ body: '\ufeff' + valid, headers: {} }),
      () => ({ body: pick(['', 'null', '[]', '"x"', '1', '{', '}', '{"a":', '\u0000', '{"model":"demo","messages":[{"role":"user","content":"\\ud800"}]}']), headers: {} }),
      () => ({ body: valid, headers: { 'content-type': pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']) } }),
      () => ({ body: valid, headers: { authorization: pick(['Bearer', 'Bearer ', 'bearer x.y.z', `Bearer ${g.key}x`, `Bearer ${g.key.slice(1)}`, 'Token abc']) } }),
      () => ({ body: valid, headers: {}, path: pick(['/v1/chat/completions/', '/v1/completions', '/v1/embeddings', '/v1//chat/completions', '/v1/chat/completions?x=1%00', '/../v1/messages', '/v1/white-box/', '/v1/white-box/%2e%2e']) }),
      () => ({ body: JSON.stringify({ model: 'demo', messages: Q, logprobs: true, top_logprobs: pick([6, 20, -1, 2.5]) }), headers: {} }),
    ];
    let served = 0;
    for (let i = 0; i < 300; i++) {
      const m = pick(mutations)();
      const res = await fetch(`${f.gw.url}${m.path ?? '/v1/chat/completions'}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${g.key}`, ...m.headers }, body: m.body });
      const text = await res.text();
      if (res.status === 200) served++;
      else {
        assert.ok(res.status >= 400 && res.status < 500, `status ${res.status} for ${JSON.stringify(m).slice(0, 200)}: ${text}`);
        assert.match(text, /Assay gateway: /);
      }
    }
    // A mutation can land on a still-valid request (e.g. a changed character inside the prompt): only those reach the upstream.
    assert.equal(f.upstreamRequests() - before, served);
    const health = await fetch(`${f.gw.url}/health`);
    assert.equal(health.status, 200);
  });

  it('survives raw garbage on the socket', async () => {
    const net = await import('node:net');
    const { port } = new URL(f.gw.url);
    for (const payload of ['GARBAGE\r\n\r\n', 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n', 'POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nzz\r\n']) {
      await new Promise<void>((resolve) => {
        const s = net.connect(Number(port), '127.0.0.1', () => s.end(payload));
        s.on('data', () => undefined);
        s.on('close', () => resolve());
        s.on('error', () => resolve());
        s.setTimeout(2000, () => s.destroy());
      });
    }
    assert.equal((await fetch(`${f.gw.url}/health`)).status, 200);
  });
});

describe('gateway state survives a restart', () => {
  it('keeps grants, revocations, budgets and the log chain', async () => {
    const f = await startFixture();
    const g = await f.grant({ budget: { tokens: 120, costUsd: null } });
    const h = { authorization: `Bearer ${g.key}` };
    assert.equal((await post(f, '/v1/chat/completions', { model: 'demo', messages: Q, max_tokens: 5 }, h)).status, 200);
    const revoked = await f.grant();
    await f.store.revokeGrant(revoked.claims.jti, null);
    const head = f.gw.head();
    await f.gw.close();
    await f.store.close();

    const store = await GatewayStore.open(`${f.dir}/gateway.db`);
    const gw = await startGateway({ config: gatewayConfig(f.target.url), signer: f.signer, store });
    try {
      const f2 = { ...f, gw, store } as Fixture;
      assert.deepEqual(gw.head(), head, 'the chain continues from the stored head');
      const used = (await store.usageOf(g.claims.jti)).inputTokens + (await store.usageOf(g.claims.jti)).outputTokens;
      assert.ok(used > 0);
      await refused(f2, post(f2, '/v1/chat/completions', { model: 'demo', messages: Q, max_tokens: 100 }, h), 429, 'budget_exhausted', new RegExp(`${used} of 120 tokens used`));
      await refused(f2, post(f2, '/v1/chat/completions', { model: 'demo', messages: Q }, { authorization: `Bearer ${revoked.key}` }), 401, 'grant_revoked', /revoked/);
      await gw.flush();
      const recs = await store.records();
      // The budget refusal is logged (authenticated); the revoked credential is not a grant's request.
      assert.equal(recs.length, head.size + 1);
      assert.equal(JSON.parse(recs[head.size]!.text).prev, head.head);
    } finally {
      await gw.close();
      await store.close();
      await f.target.close();
    }
  });
});
