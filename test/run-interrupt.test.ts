import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { spawn } from 'node:child_process';
import { startTarget, type RunningTarget } from '../src/target/server.js';
import { DEMO_SUITE, cli, cliEntry, tmp } from './helpers.js';

/**
 * Issue 22: the first Ctrl-C stops gracefully with a resumable log; a second one exits at once —
 * and still leaves a log that resumes to a complete run (every sample exactly once), or no log at
 * all. The CLI is spawned and sent SIGINT twice at the worst moments we can aim at: during the
 * pre-flight probe, the moment the log is created, in the middle of the run with both signals
 * back to back, after the graceful stop has begun, and during a resume.
 */

const TOTAL = 200; // demo-arithmetic, one epoch
let t: RunningTarget;
const targets: RunningTarget[] = [];
after(async () => {
  for (const x of targets) await x.close();
});

function spawnRun(args: string[], home: string) {
  const child = spawn(process.execPath, [cliEntry(), ...args], { env: { ...process.env, ASSAY_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const waitFor = async (cond: () => boolean, what: string, ms = 90_000) => {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const twice = async (gapMs: number) => {
    child.kill('SIGINT');
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    child.kill('SIGINT');
  };
  return { child, exited, waitFor, twice, stderr: () => stderr };
}

// Complete lines only: polled while the run writes, the last line may be half written (a test race seen in CI).
const sampleKeys = (log: string): string[] =>
  readFileSync(log, 'utf8')
    .split('\n')
    .slice(0, -1)
    .filter((l) => l.includes('"type":"sample"'))
    .map((l) => (JSON.parse(l) as { key: string }).key);

/** After the interruption: either no log, or one that resumes to a complete run with every sample once. */
async function assertRecoverable(log: string, home: string, stderr: string, exit: { code: number | null; signal: NodeJS.Signals | null }): Promise<'resumed' | 'no-log'> {
  assert.equal(exit.signal, null, `the process exited by itself, not killed by the signal: ${stderr}`);
  assert.ok(exit.code === 130 || exit.code === 3, `exit code ${exit.code} (130 after the second Ctrl-C, 3 when the graceful stop won the race): ${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  if (!existsSync(log)) {
    // Nothing was written: the same command starts cleanly.
    const again = await cli(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', `${t.url}/v1`, '--out', log, '-c', '4', '--no-progress'], { ASSAY_HOME: home });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(new Set(sampleKeys(log)).size, TOTAL);
    return 'no-log';
  }
  const r = await cli(['run', '--resume', log, '--no-progress', '-c', '4'], { ASSAY_HOME: home });
  assert.equal(r.code, 0, `resume after a double Ctrl-C: ${r.stderr}`);
  const keys = sampleKeys(log);
  assert.equal(keys.length, TOTAL, 'every sample recorded');
  assert.equal(new Set(keys).size, TOTAL, 'no sample recorded twice');
  // Each line of the final log is a complete JSON record (a torn tail was dropped on resume).
  for (const l of readFileSync(log, 'utf8').split('\n').filter(Boolean)) JSON.parse(l);
  const again = await cli(['run', '--resume', log, '--no-progress'], { ASSAY_HOME: home });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr + again.stdout, /already complete|nothing to do/i);
  return 'resumed';
}

describe('a second Ctrl-C exits at once and still leaves a resumable log', { timeout: 600_000 }, () => {
  it('starts a target', async () => {
    t = await startTarget({ seed: 4, accuracy: 0.8, latencyMs: 15 });
    targets.push(t);
  });

  const run = (dir: string, log: string) => spawnRun(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', `${t.url}/v1`, '--out', log, '-c', '4', '--no-progress'], join(dir, 'home'));

  it('during the pre-flight probe (before the log exists)', async () => {
    const dir = tmp();
    const log = join(dir, 'a.jsonl');
    const before = t.stats().requests;
    const p = run(dir, log);
    await p.waitFor(() => t.stats().requests > before, 'the probe request');
    await p.twice(0);
    await assertRecoverable(log, join(dir, 'home'), p.stderr(), await p.exited);
  });

  it('the moment the log is created, both signals back to back', async () => {
    const outcomes = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const dir = tmp();
      const log = join(dir, 'b.jsonl');
      const p = run(dir, log);
      await p.waitFor(() => existsSync(log), 'the log file', 90_000);
      await p.twice(0);
      outcomes.add(await assertRecoverable(log, join(dir, 'home'), p.stderr(), await p.exited));
    }
    assert.ok(outcomes.size >= 1);
  });

  it('mid-run, both signals back to back (the second lands during the graceful close)', async () => {
    for (const gap of [0, 2, 10]) {
      const dir = tmp();
      const log = join(dir, 'c.jsonl');
      const p = run(dir, log);
      await p.waitFor(() => existsSync(log) && sampleKeys(log).length >= 20, '20 samples');
      await p.twice(gap);
      const exit = await p.exited;
      assert.equal(await assertRecoverable(log, join(dir, 'home'), p.stderr(), exit), 'resumed');
    }
  });

  it('after the graceful stop has begun (its message printed)', async () => {
    const dir = tmp();
    const log = join(dir, 'd.jsonl');
    const p = run(dir, log);
    await p.waitFor(() => existsSync(log) && sampleKeys(log).length >= 10, '10 samples');
    p.child.kill('SIGINT');
    await p.waitFor(() => /received: stopping/.test(p.stderr()), 'the stop message');
    p.child.kill('SIGINT');
    assert.equal(await assertRecoverable(log, join(dir, 'home'), p.stderr(), await p.exited), 'resumed');
  });

  it('during a resume of an interrupted run', async () => {
    const dir = tmp();
    const home = join(dir, 'home');
    const log = join(dir, 'e.jsonl');
    const p = run(dir, log);
    await p.waitFor(() => existsSync(log) && sampleKeys(log).length >= 10, '10 samples');
    await p.twice(0);
    await p.exited;
    const n = sampleKeys(log).length;
    const r = spawnRun(['run', '--resume', log, '--no-progress', '-c', '4'], home);
    await r.waitFor(() => /resuming run/.test(r.stderr()) && sampleKeys(log).length >= n + 5, 'the resume to record 5 more samples');
    await r.twice(0);
    assert.equal(await assertRecoverable(log, home, r.stderr(), await r.exited), 'resumed');
  });
});

describe('a run log never exists without its complete header', { timeout: 300_000 }, () => {
  /** Kills a child that creates logs in a loop at random moments; returns the logs it left that lack a complete header. */
  async function headerless(mode: 'atomic' | 'legacy', kills: number): Promise<string[]> {
    const bad: string[] = [];
    for (let k = 0; k < kills; k++) {
      const dir = tmp();
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'run-create-child.ts'), dir, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((r) => child.stdout!.once('data', () => r()));
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 60));
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.jsonl'))) {
        const text = readFileSync(join(dir, f), 'utf8');
        const nl = text.indexOf('\n');
        let ok = nl > 0;
        try {
          ok &&= (JSON.parse(text.slice(0, nl)) as { type?: string }).type === 'header';
        } catch {
          ok = false;
        }
        if (!ok) bad.push(join(dir, f));
      }
    }
    return bad;
  }

  it('killed at random moments while creating logs: every log present has its header (no temp file takes a log name)', async () => {
    assert.deepEqual(await headerless('atomic', 12), []);
  });
});

describe('the run-log lock cannot be dodged by naming the log another way', { timeout: 300_000 }, () => {
  it('a resume through a symlink to the log (or a symlinked folder) of a live run is refused; nothing is duplicated', async () => {
    const t2 = await startTarget({ seed: 4, accuracy: 0.8, latencyMs: 40 });
    targets.push(t2);
    const dir = tmp();
    const home = join(dir, 'home');
    const log = join(dir, 'live.jsonl');
    const p = spawnRun(['run', DEMO_SUITE, '--model', 'openai/sim', '--base-url', `${t2.url}/v1`, '--out', log, '-c', '2', '--no-progress'], home);
    await p.waitFor(() => existsSync(log) && sampleKeys(log).length >= 5, '5 samples');
    symlinkSync(log, join(dir, 'alias.jsonl'));
    symlinkSync(dir, join(dir, '..', `${basename(dir)}-link`));
    for (const other of [join(dir, 'alias.jsonl'), join(dir, '..', `${basename(dir)}-link`, 'live.jsonl')]) {
      const r = await cli(['run', '--resume', other, '--no-progress'], { ASSAY_HOME: home });
      assert.notEqual(r.code, 0, `a second writer through ${other} was let in: ${r.stderr}`);
      assert.match(r.stderr, /RUN_LOCKED|in use by another assay process/);
    }
    p.child.kill('SIGINT');
    await p.exited;
    rmSync(join(dir, '..', `${basename(dir)}-link`));
    const r = await cli(['run', '--resume', join(dir, 'alias.jsonl'), '--no-progress', '-c', '4'], { ASSAY_HOME: home });
    assert.equal(r.code, 0, r.stderr);
    const keys = sampleKeys(log);
    assert.equal(keys.length, TOTAL);
    assert.equal(new Set(keys).size, TOTAL);
  });
});
