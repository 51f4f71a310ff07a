// Shared by run-ops.test.ts and run-ops-faults.test.ts: the simulated target (closed after the file's tests),
// the run log's records, a CLI child that can be waited on by its stderr, and a demo suite with other data.
import { after } from 'node:test';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startTarget } from '../src/target/server.js';
import { iterateRunLog } from '../src/run/log-reader.js';
import type { RunLogRecord, SampleRecord } from '../src/run/types.js';
import { ROOT, DEMO_SUITE, cliEntry, tmp } from './helpers.js';

export const closers: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const c of closers) await c.close();
});
export async function records(path: string): Promise<RunLogRecord[]> {
  const out: RunLogRecord[] = [];
  for await (const r of iterateRunLog(path)) out.push(r);
  return out;
}
export const samplesOf = (recs: RunLogRecord[]) => recs.filter((r): r is SampleRecord => r.type === 'sample');
export async function target(profile: Parameters<typeof startTarget>[0] = {}) {
  const t = await startTarget({ seed: 4, accuracy: 0.8, ...profile });
  closers.push(t);
  return t;
}
/** Spawns the CLI; resolves when stderr matches `until` (or the child exits). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [cliEntry(), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const waitFor = async (re: RegExp, ms = 60_000) => {
    const t0 = Date.now();
    while (!re.test(stderr)) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${re}; stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return stderr.match(re)!;
  };
  return { child, exited, waitFor, out: () => ({ stdout, stderr }) };
}
/** A copy of the demo suite in a fresh folder, with its data replaced by `data`. */
export function suiteWithData(data: Buffer | string): string {
  const dir = tmp();
  copyFileSync(join(ROOT, 'suites/demo-arithmetic/METHODOLOGY.md'), join(dir, 'METHODOLOGY.md'));
  writeFileSync(join(dir, 'data.jsonl'), data);
  writeFileSync(join(dir, 'suite.yaml'), readFileSync(DEMO_SUITE, 'utf8'));
  return join(dir, 'suite.yaml');
}

