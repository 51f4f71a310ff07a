import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveLimiter, type LimitChange } from '../src/run/limiter.js';
import { backoffDelay } from '../src/run/retry.js';

test('limiter halves once per burst of 429s and grows back additively', async () => {
  const changes: LimitChange[] = [];
  const l = new AdaptiveLimiter(16, (c) => changes.push(c));
  const gens = await Promise.all(Array.from({ length: 16 }, () => l.acquire()));
  assert.equal(l.active, 16);
  // Sixteen in-flight requests all see 429: the limit halves once, not sixteen times.
  for (const g of gens) l.onRateLimited(g, null);
  assert.equal(l.limit, 8);
  assert.deepEqual(changes, [{ from: 16, to: 8, reason: 'rate_limited' }]);
  for (let i = 0; i < 16; i++) l.release();
  // A request dispatched after the cut can cut again.
  const g2 = await l.acquire();
  l.onRateLimited(g2, null);
  l.release();
  assert.equal(l.limit, 4);
  // Additive increase: about one step per `limit` successes.
  for (let i = 0; i < 4; i++) l.onSuccess();
  assert.equal(l.limit, 5);
  for (let i = 0; i < 200; i++) l.onSuccess();
  assert.equal(l.limit, 16);
  assert.equal(changes.at(-1)!.to, 16);
});

test('limiter never lets more than `limit` run and honours Retry-After pauses', async () => {
  const l = new AdaptiveLimiter(2);
  const g = await l.acquire();
  await l.acquire();
  let third = false;
  const p = l.acquire().then(() => (third = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(third, false);
  l.onRateLimited(g, 80); // limit 2 → 1, and pause 80 ms
  l.release();
  l.release();
  const t0 = Date.now();
  await p;
  assert.ok(Date.now() - t0 >= 60, 'dispatch resumed only after the Retry-After pause');
  assert.equal(l.active, 1);
});

test('backoff: full jitter under an exponential, capped ceiling; Retry-After is a floor', () => {
  const pol = { baseMs: 100, maxDelayMs: 1000 };
  assert.equal(backoffDelay(0, pol, null, () => 1), 100);
  assert.equal(backoffDelay(3, pol, null, () => 1), 800);
  assert.equal(backoffDelay(10, pol, null, () => 1), 1000);
  assert.equal(backoffDelay(2, pol, null, () => 0.5), 200);
  assert.equal(backoffDelay(0, pol, 5000, () => 0.5), 5000);
});
