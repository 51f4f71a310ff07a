import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { commitmentOf, nonceFor, nonceForHkdf } from '../src/gateway/commit.js';
import { defaultGrant } from '../src/gateway/grant.js';
import { GrantMeter, TokenBucket } from '../src/gateway/limits.js';
import { POLICY_TABLES, checkRequest, isRefusal } from '../src/gateway/policy.js';

const msgs = [{ role: 'user', content: 'hi' }];

describe('gateway policy (pure)', () => {
  it('each level allows exactly its table, and a higher level keeps the lower ones', () => {
    const levels = ['black-box', 'grey-box', 'white-box'] as const;
    for (const endpoint of ['openai.chat', 'anthropic.messages'] as const) {
      for (const [param, rule] of Object.entries(POLICY_TABLES[endpoint])) {
        if (param === 'model' || param === 'messages') continue;
        for (const level of levels) {
          const r = checkRequest(endpoint, { model: 'm', messages: msgs, [param]: { __bad: [] } }, { ...defaultGrant(level, ['m']), topLogprobsMax: 5 });
          const allowed = levels.indexOf(level) >= levels.indexOf(rule.level);
          // Allowed parameters fail on their value (400), forbidden ones on the level (403).
          assert.ok(isRefusal(r));
          assert.equal(r.status, allowed ? 400 : 403, `${endpoint} ${param} at ${level}: ${r.message}`);
        }
      }
    }
  });

  it('a grant narrows but never widens', () => {
    const g = { ...defaultGrant('grey-box', ['m']), params: ['max_tokens'] };
    const r = checkRequest('openai.chat', { model: 'm', messages: msgs, temperature: 0 }, g);
    assert.ok(isRefusal(r) && r.status === 403 && /not among this grant's allowed parameters/.test(r.message));
    const ok = checkRequest('openai.chat', { model: 'm', messages: msgs, max_tokens: 3 }, g);
    assert.ok(!isRefusal(ok));
    assert.deepEqual(ok, { model: 'm', stream: false, params: ['max_tokens', 'messages', 'model'], maxTokens: 3 });
    const w = checkRequest('openai.chat', { model: 'm', messages: msgs, logit_bias: { '1': 1 } }, { ...defaultGrant('grey-box', ['m']), params: ['logit_bias'] });
    assert.ok(isRefusal(w) && w.status === 403 && /needs white-box/.test(w.message));
  });

  it('refuses a missing model or messages, and non-object bodies', () => {
    const g = defaultGrant('white-box', ['m']);
    for (const body of [null, [], 'x', 1, { messages: msgs }, { model: 'm' }]) assert.ok(isRefusal(checkRequest('openai.chat', body, g)));
  });
});

describe('rate and budget', () => {
  it('token bucket: burst, then one per 1/rate seconds, with the wait until the next token', () => {
    const b = new TokenBucket(2, 3, 0);
    for (let i = 0; i < 3; i++) assert.deepEqual(b.take(0), { ok: true });
    assert.deepEqual(b.take(0), { ok: false, retryAfterMs: 500 });
    assert.deepEqual(b.take(250), { ok: false, retryAfterMs: 250 });
    assert.deepEqual(b.take(500), { ok: true });
  });

  it('reservations count in-flight requests; settling replaces them with real usage', () => {
    const m = new GrantMeter({ ...defaultGrant('black-box', ['m']), budget: { tokens: 100, costUsd: null } }, { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 }, 0);
    const a = m.reserve({ promptTokens: 10, maxTokens: 40 }, undefined);
    assert.ok(a.ok);
    const b = m.reserve({ promptTokens: 10, maxTokens: 40 }, undefined);
    assert.ok(b.ok);
    const c = m.reserve({ promptTokens: 10, maxTokens: 40 }, undefined);
    assert.ok(!c.ok && /0 of 100 tokens used \(\+100 reserved/.test(c.message));
    if (a.ok) m.settle(a.reservation, { inputTokens: 5, outputTokens: 5, costUsd: 0 });
    assert.ok(m.reserve({ promptTokens: 10, maxTokens: 30 }, undefined).ok, '40 freed by the small actual usage');
    assert.equal(m.used.inputTokens + m.used.outputTokens, 10);
  });
});

describe('commitments', () => {
  it('the cached-PRK nonce is HKDF-SHA256 exactly', () => {
    for (let i = 0; i < 20; i++) {
      const k = randomBytes(32);
      const id = `req-${i}-${randomBytes(4).toString('hex')}`;
      for (const dir of ['req', 'resp'] as const) assert.deepEqual(nonceFor(k, dir, id), nonceForHkdf(k, dir, id));
    }
  });
  it('hiding: the same content under different nonces gives unrelated commitments; binding: different content differs', () => {
    const k = randomBytes(32);
    const c1 = commitmentOf(nonceFor(k, 'req', 'a'), Buffer.from('x'));
    const c2 = commitmentOf(nonceFor(k, 'req', 'b'), Buffer.from('x'));
    const c3 = commitmentOf(nonceFor(k, 'req', 'a'), Buffer.from('y'));
    assert.notEqual(c1, c2);
    assert.notEqual(c1, c3);
    assert.notEqual(nonceFor(k, 'req', 'a').toString('hex'), nonceFor(k, 'resp', 'a').toString('hex'));
  });
});

describe('published schemas', () => {
  it('schemas/*.json match the zod schemas (UPDATE_SCHEMAS=1 rewrites them)', async () => {
    const { gatewayJsonSchemas } = await import('../src/gateway/schemas.js');
    const { readFileSync, writeFileSync, existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { ROOT } = await import('./helpers.js');
    for (const [name, schema] of Object.entries(gatewayJsonSchemas())) {
      const path = join(ROOT, 'schemas', name);
      const text = JSON.stringify(schema, null, 2) + '\n';
      if (process.env.UPDATE_SCHEMAS === '1') writeFileSync(path, text);
      assert.ok(existsSync(path), `${name} missing: re-run with UPDATE_SCHEMAS=1`);
      assert.ok(readFileSync(path, 'utf8') === text, `schemas/${name} is stale: re-run this test with UPDATE_SCHEMAS=1`); // a boolean: assert.equal's diff of two large texts can take minutes
    }
  });
});
