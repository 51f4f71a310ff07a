import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { cliEntry } from './helpers.js';
import { scanForResume } from '../src/run/log-writer.js';
import { readFileSync } from 'node:fs';
import type { SampleRecord } from '../src/run/types.js';

/** Whether the shared Redis on 6379 answers (tests use their own key prefix, never FLUSHDB). */
export async function redisUp(url = 'redis://127.0.0.1:6379/0'): Promise<boolean | string> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG' || 'no PONG';
  } catch (e) {
    return (e as Error).message;
  } finally {
    r.disconnect();
  }
}

/** A key prefix of this test's own: other sessions use the same Redis. */
export const testPrefix = () => `assay-test-${randomBytes(5).toString('hex')}`;

/** Deletes every key under a prefix (SCAN, never KEYS or FLUSHDB). */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Our own redis-server with AOF persistence on a free port (the shared one has none). */
export async function startOwnRedis(port: number, dir = mkdtempSync(join(tmpdir(), 'assay-redis-'))): Promise<{ url: string; dir: string; stop(): Promise<void> }> {
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--dir', dir], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}/0`;
  for (let i = 0; i < 100; i++) {
    if ((await redisUp(url)) === true) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    dir,
    stop: () =>
      new Promise<void>((resolve) => {
        if (p.exitCode !== null) return resolve();
        p.once('exit', () => resolve());
        p.kill('SIGTERM');
      }),
  };
}

/** A child process running the built CLI, with its output collected. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [cliEntry(), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => text, exited };
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The sample records of a log, by key (duplicates kept apart so a test can see them). */
export function samplesOf(logPath: string): { byKey: Map<string, SampleRecord>; duplicates: string[]; events: { kind: string; detail: Record<string, unknown> }[] } {
  const byKey = new Map<string, SampleRecord>();
  const duplicates: string[] = [];
  const events: { kind: string; detail: Record<string, unknown> }[] = [];
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as { type: string };
    if (r.type === 'sample') {
      const s = r as SampleRecord;
      if (byKey.has(s.key)) duplicates.push(s.key);
      byKey.set(s.key, s);
    } else if (r.type === 'event') events.push(r as unknown as { kind: string; detail: Record<string, unknown> });
  }
  return { byKey, duplicates, events };
}

export { scanForResume };
