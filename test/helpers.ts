import { test as nodeTest } from 'node:test';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import type { RunConfig } from '../src/run/types.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const DEMO_SUITE = join(ROOT, 'suites/demo-arithmetic/suite.yaml');
export const tmp = (prefix = 'assay-test-') => mkdtempSync(join(tmpdir(), prefix));

export function config(over: Partial<RunConfig> = {}): RunConfig {
  return {
    epochs: 1,
    seed: 0,
    limit: null,
    sampleIds: null,
    maxConnections: 8,
    maxTokens: null,
    temperature: null,
    timeoutMs: 5_000,
    maxRetries: 8,
    retryBaseMs: 5,
    retryMaxDelayMs: 50,
    access: 'grey-box',
    budget: { maxTokensTotal: null, maxCost: null, pricePerMTok: null },
    ...over,
  };
}

/** How many sample records a run log holds so far (0 while it does not exist yet); a torn last one counts. */
export function sampleLines(log: string): number {
  try {
    return readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"type":"sample"')).length;
  } catch {
    return 0;
  }
}

/**
 * The built CLI entry. CLI tests spawn the program users run (bin/assay.js loads this bundle;
 * `npm test` builds it first): the same code the sources compile to, without a TypeScript loader in
 * every child (~0.7 s each), bundled as it ships.
 */
const CLI_ENTRY = join(ROOT, 'dist-cli/main.js');
let built = false;

/** The built CLI's entry file, after checking that the build is not older than the sources. */
export function cliEntry(): string {
  if (!built) assertBuilt();
  built = true;
  return CLI_ENTRY;
}

/** Fails fast, naming the fix, when a source file is newer than the build the CLI tests would run. */
function assertBuilt(): void {
  let builtAt: number;
  try {
    builtAt = statSync(CLI_ENTRY).mtimeMs;
  } catch {
    throw new Error(`${CLI_ENTRY} is missing: run \`npm run build\` (npm test does it)`);
  }
  const stale = (dir: string): string | null => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const f = join(dir, e.name);
      if (e.isDirectory()) {
        const s = stale(f);
        if (s) return s;
      } else if (f.endsWith('.ts') && statSync(f).mtimeMs > builtAt) return f;
    }
    return null;
  };
  const s = stale(join(ROOT, 'src'));
  if (s) throw new Error(`${s} is newer than dist-cli/: run \`npm run build\` (npm test does it)`);
}

/** Run the built CLI in a child process; `input`, when given, is its standard input. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [cliEntry(), ...args], { env: { ...process.env, ...env }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d) => (stdout += d));
    p.stderr!.on('data', (d) => (stderr += d));
    p.on('exit', (code) => res({ code, stdout, stderr }));
    if (input !== undefined) p.stdin!.end(input);
  });
}

/**
 * Tests that need an outside service (PostgreSQL, Redis, Chromium, bubblewrap, cgroups) pass this
 * as their options: `test('…', requireService('Redis', await redisUp()), async () => …)`.
 * Available → run. Missing → skipped with the reason printed (never silently), except under
 * `ASSAY_CI=1` (set by .ci/run, which provides every service), where a missing service is a failing
 * test of its own, so CI cannot go green by skipping.
 */
export function requireService(name: string, available: boolean | string): { skip: string | false } {
  if (available === true) return { skip: false };
  const why = `${name} unavailable${typeof available === 'string' && available ? ` (${available})` : ''}`;
  if (process.env.ASSAY_CI === '1') {
    if (!failedServices.has(name)) {
      failedServices.add(name);
      nodeTest(`required service: ${name} (ASSAY_CI=1)`, () => {
        throw new Error(`${why}: under ASSAY_CI=1 a missing service is a failure, not a skip`);
      });
    }
  } else process.stderr.write(`skipping: ${why}\n`);
  return { skip: why };
}
const failedServices = new Set<string>();

/** What the faulty proxy does with one request: forward it, or misbehave. */
export type Fault =
  | 'pass'
  | 'hang'
  | 'reset'
  | { status: number; headers?: Record<string, string>; body?: string }
  /** 200 with `body` sent one byte every `everyMs` (each byte resets a per-byte timer). */
  | { trickle: string; everyMs: number };

/**
 * A small HTTP proxy in front of the simulated target for hostile endpoint behaviours: `decide`
 * gets the request's sequence number (from 0), path and body, and says what to do.
 */
export async function faultyProxy(upstream: string, decide: (n: number, path: string, body: string) => Fault): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  let n = 0;
  const open = new Set<import('node:net').Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const f = decide(n++, req.url ?? '/', body);
      if (f === 'hang') return;
      if (f === 'reset') return void req.socket.destroy();
      if (f === 'pass') {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length' && k !== 'connection') headers[k] = v;
        fetch(upstream + (req.url ?? '/'), { method: req.method ?? 'POST', headers, body })
          .then(async (r) => {
            const text = await r.text();
            const out: Record<string, string> = {};
            r.headers.forEach((v, k) => {
              if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection' && k !== 'keep-alive') out[k] = v;
            });
            res.writeHead(r.status, out).end(text);
          })
          .catch(() => req.socket.destroy());
        return;
      }
      if ('trickle' in f) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(f.trickle)) });
        let i = 0;
        const t = setInterval(() => {
          if (i >= f.trickle.length || res.destroyed) {
            clearInterval(t);
            return void res.end();
          }
          res.write(f.trickle[i++]!);
        }, f.everyMs);
        res.on('close', () => clearInterval(t));
        return;
      }
      res.writeHead(f.status, { 'content-type': 'application/json', ...(f.headers ?? {}) }).end(f.body ?? '{}');
    });
  });
  server.on('connection', (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => n,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}

/** An OpenAI chat completion body with the given message (content may be null) and finish reason. */
export const openaiBody = (message: Record<string, unknown>, finishReason = 'stop') =>
  JSON.stringify({ id: 'chatcmpl-x', model: 'm', choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finishReason }], usage: { prompt_tokens: 3, completion_tokens: 1 } });
