import { mkdtempSync } from 'node:fs';
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

/** Run the CLI from source in a child process. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => res({ code, stdout, stderr }));
  });
}
