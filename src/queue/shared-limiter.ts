import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AdaptiveLimiter } from '../run/limiter.js';

/**
 * The engine's adaptive concurrency (AIMD on 429 / Retry-After, src/run/limiter.ts) with its state in
 * Redis, shared by every worker of a run: the endpoint's limits are global, so one 429 halves the
 * run's concurrency everywhere and a Retry-After pauses every worker, instead of each worker
 * running its own copy (N workers = N× the limit). Same rules as the local limiter:
 *   - a slot is a lease in a sorted set, scored by its expiry (a SIGKILLed worker's slots come back);
 *   - a 429 halves the limit once per generation and sets a pause until Retry-After;
 *   - each success grows the limit by 1/limit, up to the run's --max-connections.
 * Times come from the Redis server's clock (TIME), so workers' clocks need not agree.
 */
const NOW = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS: state hash, lease zset. ARGV: max, lease id, lease ttl ms, key ttl ms.
// Returns {granted (0/1), generation, wait hint ms}.
const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local max = tonumber(ARGV[1])
local lim = tonumber(redis.call('HGET', KEYS[1], 'limit') or max)
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused') or '0')
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if now < paused then return {0, gen, paused - now} end
if redis.call('ZCARD', KEYS[2]) >= math.max(1, math.floor(lim)) then return {0, gen, 0} end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {1, gen, 0}`;

// KEYS: state hash. ARGV: max, key ttl. Returns the new limit (floor) as a string.
const SUCCESS = `local max = tonumber(ARGV[1])
local lim = tonumber(redis.call('HGET', KEYS[1], 'limit') or max)
local f = math.max(1, math.floor(lim))
lim = math.min(max, lim + 1 / f)
redis.call('HSET', KEYS[1], 'limit', tostring(lim))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return tostring(math.floor(lim))`;

// KEYS: state hash. ARGV: max, generation seen, retry-after ms, key ttl. Returns {halved 0/1, new limit}.
const RATE_LIMITED = `${NOW}
local max = tonumber(ARGV[1])
local ra = tonumber(ARGV[3])
if ra > 0 then
  local paused = tonumber(redis.call('HGET', KEYS[1], 'paused') or '0')
  if now + ra > paused then redis.call('HSET', KEYS[1], 'paused', now + ra) end
end
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
local lim = tonumber(redis.call('HGET', KEYS[1], 'limit') or max)
local halved = 0
if tonumber(ARGV[2]) == gen then
  lim = math.max(1, math.floor(lim / 2))
  redis.call('HSET', KEYS[1], 'limit', tostring(lim), 'gen', gen + 1)
  redis.call('HINCRBY', KEYS[1], 'cuts', 1)
  halved = 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {halved, math.floor(lim)}`;

/** Keys of a run's shared limiter state live this long after their last use. */
const KEY_TTL_MS = 7 * 24 * 3600 * 1000;

export class SharedLimiter extends AdaptiveLimiter {
  private readonly state: string;
  private readonly leases: string;
  private readonly mine: string[] = [];
  private sharedLimit: number;
  private stopped = false;
  private wakers = new Set<() => void>();

  /**
   * @param leaseTtlMs how long a slot stays taken without release (a call's whole deadline and then some):
   *   a worker that dies holding slots gives them back after this.
   */
  constructor(private readonly redis: Redis, prefix: string, runId: string, max: number, private readonly leaseTtlMs: number, private readonly onError: (e: Error) => void = () => {}) {
    super(max);
    this.state = `${prefix}:assay:limit:${runId}`;
    this.leases = `${prefix}:assay:leases:${runId}`;
    this.sharedLimit = this.max;
  }

  override get limit(): number {
    return this.sharedLimit;
  }
  override get active(): number {
    return this.mine.length;
  }

  override async acquire(): Promise<number> {
    let backoff = 2;
    for (;;) {
      if (this.stopped) {
        this.mine.push(''); // the caller releases it like a slot; removing '' is a no-op
        return -1;
      }
      const id = randomBytes(8).toString('hex');
      const [granted, gen, hint] = (await this.redis.eval(ACQUIRE, 2, this.state, this.leases, this.max, id, this.leaseTtlMs, KEY_TTL_MS)) as [number, number, number];
      if (granted === 1) {
        this.mine.push(id);
        return gen;
      }
      // Full: poll with growing backoff (a local release wakes us at once); paused: sleep to the pause's end.
      const wait = hint > 0 ? hint : backoff * (0.5 + Math.random());
      backoff = Math.min(backoff * 2, 50);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.wakers.delete(done);
          resolve();
        };
        const t = setTimeout(done, wait);
        this.wakers.add(done);
      });
    }
  }

  override release(): void {
    const id = this.mine.pop();
    if (id === undefined) return;
    this.redis.zrem(this.leases, id).catch((e: Error) => this.onError(e));
    for (const w of [...this.wakers]) w();
  }

  override onSuccess(): void {
    this.redis
      .eval(SUCCESS, 1, this.state, this.max, KEY_TTL_MS)
      .then((v) => (this.sharedLimit = Number(v)))
      .catch((e: Error) => this.onError(e));
  }

  override onRateLimited(gen: number, retryAfterMs: number | null): void {
    this.redis
      .eval(RATE_LIMITED, 1, this.state, this.max, gen, Math.max(0, Math.round(retryAfterMs ?? 0)), KEY_TTL_MS)
      .then((v) => (this.sharedLimit = Number((v as [number, number])[1])))
      .catch((e: Error) => this.onError(e));
  }

  override abortWaits(): void {
    this.stopped = true;
    for (const w of [...this.wakers]) w();
  }

  /** The shared state, for tests and the coordinator's progress: current limit and how many times it was halved. */
  static async read(redis: Redis, prefix: string, runId: string): Promise<{ limit: number | null; cuts: number; inUse: number }> {
    const [lim, cuts] = await redis.hmget(`${prefix}:assay:limit:${runId}`, 'limit', 'cuts');
    const inUse = await redis.zcard(`${prefix}:assay:leases:${runId}`);
    return { limit: lim === null ? null : Math.floor(Number(lim)), cuts: Number(cuts ?? 0), inUse };
  }
}
