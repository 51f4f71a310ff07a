import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTarget, type RunningTarget, type TargetProfile } from '../src/target/server.js';
import { createModel, redact } from '../src/model/registry.js';
import { createPool, exchange, parseRetryAfter } from '../src/model/http.js';
import { ModelCallError, type GenerateRequest, type ModelAdapter } from '../src/model/types.js';
import { AssayError } from '../src/common/errors.js';

const KEY = 'sk-test-VERY-SECRET-abc123';
const open: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const o of open.reverse()) await o.close();
});

async function target(profile: TargetProfile = {}): Promise<RunningTarget> {
  const t = await startTarget(profile);
  open.push(t);
  return t;
}
function model(name: string, baseUrl: string, maxConnections = 4): ModelAdapter {
  const m = createModel(name, { baseUrl, apiKey: KEY, maxConnections, env: {} });
  open.push(m);
  return m;
}
const openai = (t: RunningTarget, c?: number) => model('openai/sim-test', `${t.url}/v1`, c);
const anthropic = (t: RunningTarget, c?: number) => model('anthropic/sim-test', t.url, c);

const MCQ = 'Question: What is 11 + 60?\nA. 72\nB. 70\nC. 81\nD. 71\nAnswer:';
const ask = (content: string, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({ messages: [{ role: 'system', content: 'Reply with the letter only.' }, { role: 'user', content }], ...extra });

/** The call must fail with a ModelCallError of this kind; the key must not leak into it. */
async function failsWith(p: Promise<unknown>, kind: string, check?: (e: ModelCallError) => void): Promise<ModelCallError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ModelCallError, `expected ModelCallError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    assert.equal(e.message.includes(KEY), false, 'API key in an error message');
    assert.equal(String(e.stack).includes(KEY), false, 'API key in a stack');
    check?.(e);
    return e;
  }
  assert.fail(`expected a ${kind} error`);
}

test('OpenAI adapter round-trips through the target; the body holds only the parameters set', async () => {
  const t = await target({ accuracy: 1, seed: 1 });
  const m = openai(t);
  const r = await m.generate(ask(MCQ));
  assert.equal(r.content, 'D');
  assert.equal(r.sent.url, `${t.url}/v1/chat/completions`);
  assert.deepEqual(Object.keys(r.sent.body).sort(), ['messages', 'model']);
  assert.equal(r.sent.body.model, 'sim-test');
  assert.equal(r.logprobs, null);
  assert.equal(r.finishReason, 'stop');
  assert.match(r.requestId ?? '', /^simreq-/);
  assert.equal(r.model, 'sim-test');
  assert.equal(r.simulated, true, 'the target labels itself');
  assert.ok(r.usage.inputTokens > 10 && r.usage.outputTokens === 1);
  assert.deepEqual(JSON.parse(r.wireText!.request), r.sent.body);
  assert.deepEqual(JSON.parse(r.wireText!.response), r.raw);

  const full = await m.generate(ask(MCQ, { maxTokens: 7, temperature: 0, seed: 3, stop: ['\n'] }));
  assert.deepEqual(full.sent.body, { model: 'sim-test', messages: ask(MCQ).messages, max_tokens: 7, temperature: 0, seed: 3, stop: ['\n'] });
  // temperature 0 is a value, not "unset": it is sent; an unset one is absent.
  assert.equal('temperature' in r.sent.body, false);
  for (const x of [r, full]) {
    assert.equal(JSON.stringify(x.sent).includes(KEY), false);
    assert.equal(JSON.stringify(x.raw).includes(KEY), false);
  }
});

test('OpenAI logprobs are requested under their own names and parsed per token', async () => {
  const t = await target({ accuracy: 1, seed: 1 });
  const r = await openai(t).generate(ask(MCQ, { logprobs: true, topLogprobs: 3 }));
  assert.equal(r.sent.body.logprobs, true);
  assert.equal(r.sent.body.top_logprobs, 3);
  assert.ok(r.logprobs && r.logprobs.length === 1);
  const first = r.logprobs[0]!;
  assert.equal(first.token, r.content);
  assert.equal(first.top.length, 3);
  assert.equal(first.top[0]!.token, r.content, 'the chosen letter ranks first');
  assert.ok(first.top.every((a) => typeof a.logprob === 'number' && a.logprob < 0));
});

test('Anthropic adapter round-trips: system hoisted, stop → stop_sequences, no invented parameters', async () => {
  const t = await target({ accuracy: 1, seed: 1 });
  const m = anthropic(t);
  assert.equal(m.supportsLogprobs, false);
  const r = await m.generate(ask(MCQ, { maxTokens: 5, temperature: 0.5, stop: ['\n\n'] }));
  assert.equal(r.content, 'D');
  assert.equal(r.sent.url, `${t.url}/v1/messages`);
  assert.deepEqual(r.sent.body, { model: 'sim-test', max_tokens: 5, messages: [{ role: 'user', content: MCQ }], system: 'Reply with the letter only.', temperature: 0.5, stop_sequences: ['\n\n'] });
  assert.equal(r.finishReason, 'end_turn');
  assert.match(r.requestId ?? '', /^simreq-/);
  assert.equal(r.logprobs, null);
  assert.ok(r.usage.inputTokens > 0 && r.usage.outputTokens > 0);
  assert.equal(t.stats().byFormat.anthropic, 1);
  assert.equal(JSON.stringify([r.sent, r.raw]).includes(KEY), false);
  // The same conversation gets the same answer in either wire format.
  const o = await openai(t).generate(ask(MCQ));
  assert.equal(o.content, r.content);
});

test('Anthropic refuses logprobs and a missing max_tokens with messages that say what to do, before sending', async () => {
  const t = await target();
  const m = anthropic(t);
  const e1 = await failsWith(m.generate(ask(MCQ, { maxTokens: 5, logprobs: true, topLogprobs: 5 })), 'client');
  assert.match(e1.message, /no logprobs/);
  assert.equal(e1.retryable, false);
  const e2 = await failsWith(m.generate(ask(MCQ)), 'client');
  assert.match(e2.message, /requires max_tokens.*--max-tokens/);
  assert.equal(t.stats().requests, 0, 'nothing was sent');
});

test('429 with Retry-After → rate_limit with retryAfterMs (seconds and HTTP-date)', async () => {
  const t = await target({ rate429: 1, retryAfterS: 7 });
  const e = await failsWith(openai(t).generate(ask(MCQ)), 'rate_limit');
  assert.equal(e.status, 429);
  assert.equal(e.retryAfterMs, 7000);
  assert.match(e.message, /rate limited/);
  assert.equal(e.retryable, true);
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('1.5', now), 1500);
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter(undefined, now), null);
});

test('5xx → server (retryable), malformed 2xx → malformed, both through both adapters', async () => {
  const s = await target({ rate5xx: 1 });
  const e = await failsWith(openai(s).generate(ask(MCQ)), 'server');
  assert.ok(e.status === 500 || e.status === 503);
  await failsWith(anthropic(s).generate(ask(MCQ, { maxTokens: 5 })), 'server');
  const bad = await target({ rateMalformed: 1 });
  await failsWith(openai(bad).generate(ask(MCQ)), 'malformed', (x) => assert.equal(x.status, 200));
  await failsWith(anthropic(bad).generate(ask(MCQ, { maxTokens: 5 })), 'malformed');
});

test('a wrongly-shaped 2xx, a 529 and a 4xx echoing the key are classified and redacted', async () => {
  let reply: { status: number; body: string } = { status: 200, body: '{}' };
  const srv: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  open.push({ close: () => new Promise<void>((r) => (srv.closeAllConnections(), srv.close(() => r()))) });
  const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const m = model('openai/x', `${base}/v1`);
  reply = { status: 200, body: '{"choices":[]}' };
  await failsWith(m.generate(ask('hi')), 'malformed');
  reply = { status: 200, body: '{"choices":[{"message":{"content":"A"},"logprobs":{"content":[{"token":"A","logprob":"high"}]}}]}' };
  await failsWith(m.generate(ask('hi')), 'malformed');
  reply = { status: 529, body: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' };
  await failsWith(model('anthropic/x', base).generate(ask('hi', { maxTokens: 3 })), 'server', (e) => assert.match(e.message, /529.*Overloaded/));
  reply = { status: 401, body: JSON.stringify({ error: { message: `Incorrect API key provided: ${KEY}. ${'x'.repeat(1000)}` } }) };
  const e = await failsWith(m.generate(ask('hi')), 'client');
  assert.equal(e.retryable, false);
  assert.match(e.message, /^401 .*Incorrect API key provided: \[REDACTED\]/);
  assert.ok(e.message.length < 400, 'truncated');
});

test('timeouts: a hanging target → timeout within a short timeoutMs; the target cleans up on close', async () => {
  const t = await startTarget({ rateTimeout: 1 });
  const m = openai(t);
  const t0 = Date.now();
  await failsWith(m.generate(ask(MCQ), { timeoutMs: 200 }), 'timeout');
  const took = Date.now() - t0;
  assert.ok(took >= 150 && took < 3000, `took ${took} ms`);
  // A hanging request is still open when the target closes: close must not wait for it.
  const pending = m.generate(ask('still hanging'), { timeoutMs: 10_000 }).catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 50));
  const c0 = Date.now();
  await t.close();
  assert.ok(Date.now() - c0 < 1000);
  const err = await pending;
  assert.ok(err instanceof ModelCallError && err.kind === 'connection', String(err));
});

test('an external abort signal cancels the call', async () => {
  const t = await target({ latencyMs: 5_000 });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  await failsWith(openai(t).generate(ask(MCQ), { signal: ac.signal, timeoutMs: 10_000 }), 'connection', (e) => assert.match(e.message, /aborted/));
});

test('exchange: informational 1xx skipped, repeated headers kept, body in pieces joined, a UTF-8 BOM dropped, an already-aborted call never sent', async () => {
  let seen = 0;
  const server: Server = createServer((req, res) => {
    seen++;
    req.resume();
    req.on('end', () => {
      res.writeProcessing(); // 102, then the real answer
      res.writeHead(200, [['content-type', 'application/json'], ['x-multi', 'one'], ['X-Multi', 'two'], ['x-request-id', 'rq-1']]);
      res.write(Buffer.from([0xef, 0xbb, 0xbf]));
      res.write('{"a":"ünï');
      setTimeout(() => res.end('cödé"}'), 20);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const pool = createPool(2);
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/x?y=1`;
    const r = await exchange(pool, url, {}, '{}', 5_000);
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers['x-multi'], ['one', 'two']);
    assert.equal(r.headers['x-request-id'], 'rq-1');
    assert.equal(r.text, '{"a":"ünïcödé"}');
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(exchange(pool, url, {}, '{}', 5_000, ac.signal), (e: Error) => e.name === 'AbortError');
    assert.equal(seen, 1, 'the aborted call never reached the server');
  } finally {
    await pool.close();
    await new Promise((r) => server.close(r));
  }
});

test('connection refused on a closed port → connection', async () => {
  const t = await startTarget();
  const url = t.url;
  await t.close();
  await failsWith(model('openai/sim', `${url}/v1`).generate(ask(MCQ)), 'connection', (e) => assert.match(e.message, /ECONNREFUSED/));
});

test('the pool honours maxConnections: the target never sees more in flight', async () => {
  const t = await target({ latencyMs: 20 });
  const m = openai(t, 3);
  await Promise.all(Array.from({ length: 40 }, (_, i) => m.generate(ask(`What is ${i} + 1?`))));
  const s = t.stats();
  assert.equal(s.requests, 40);
  assert.equal(s.maxInFlight, 3);
});

test('createModel: names, env fallbacks, keys required off loopback, unknown providers listed', () => {
  const env = { OPENAI_API_KEY: 'sk-env-key-1234', ANTHROPIC_BASE_URL: 'http://localhost:9999' };
  const a = createModel('openai/meta-llama/Llama-3-8B', { maxConnections: 2, env });
  assert.equal(a.provider, 'openai');
  assert.equal(a.model, 'meta-llama/Llama-3-8B');
  assert.equal(a.baseUrl, 'https://api.openai.com/v1');
  const b = createModel('anthropic/claude-x', { maxConnections: 2, env });
  assert.equal(b.baseUrl, 'http://localhost:9999', 'no key needed on loopback');
  void a.close();
  void b.close();
  assert.throws(() => createModel('anthropic/claude-x', { maxConnections: 2, env: {} }), (e: unknown) => e instanceof AssayError && /ANTHROPIC_API_KEY/.test(e.message));
  assert.throws(() => createModel('gemini/pro', { maxConnections: 2, env }), /provider one of: openai, anthropic/);
  assert.throws(() => createModel('openai/', { maxConnections: 2, env }), /<provider>\/<model>/);
  assert.throws(() => createModel('openai/x', { baseUrl: 'not a url', maxConnections: 2, env }), /not a URL/);
  assert.equal(redact(`key=${KEY}; again ${KEY}`, [KEY, undefined]), 'key=[REDACTED]; again [REDACTED]');
});
