import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { acquireLock, withLock } from '../src/common/lock.js';

const lockModule = fileURLToPath(new URL('../src/common/lock.ts', import.meta.url));

/** A child process that takes the lock, prints "held", and holds it until killed or for `holdMs`. */
function holder(lockPath: string, holdMs: number) {
  const code = `
    const { acquireLock } = await import(${JSON.stringify(lockModule)});
    const l = await acquireLock(${JSON.stringify(lockPath)}, { timeoutMs: 20000 });
    process.stdout.write('held\\n');
    setTimeout(() => { l.release(); process.exit(0); }, ${holdMs});`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const held = new Promise<void>((res, rej) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && res());
    child.on('exit', (c) => rej(new Error(`holder exited ${c} before holding`)));
  });
  return { child, held };
}

test('lock: in-process holders are serialised and a zero timeout fails fast', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'assay-lock-'));
  const p = join(dir, '.lock.db');
  const order: string[] = [];
  const a = await acquireLock(p);
  const bP = withLock(p, () => order.push('b'));
  await assert.rejects(acquireLock(p, { timeoutMs: 0 }), (e: Error & { code?: string }) => e.code === 'LOCKED');
  await assert.rejects(acquireLock(p, { timeoutMs: 30 }), (e: Error & { code?: string }) => e.code === 'LOCKED');
  order.push('a');
  a.release();
  a.release(); // idempotent
  await bP;
  assert.deepEqual(order, ['a', 'b']);
  const again = await acquireLock(p, { timeoutMs: 0 });
  again.release();
});

test('lock: another process cannot take a live holder\'s lock, and gets it when the holder dies (kill -9)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'assay-lock-'));
  const p = join(dir, '.lock.db');
  const h = holder(p, 60_000);
  await h.held;
  // Even an empty or tampered lock file is not "stale": the kernel lock decides.
  await assert.rejects(acquireLock(p, { timeoutMs: 200 }), (e: Error & { code?: string }) => e.code === 'LOCKED');
  const waiting = acquireLock(p, { timeoutMs: 15_000 });
  h.child.kill('SIGKILL');
  const l = await waiting;
  l.release();
});

test('lock: many processes incrementing a shared counter under the lock lose no update', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'assay-lock-'));
  const p = join(dir, '.lock.db');
  const counter = join(dir, 'counter');
  writeFileSync(counter, '0');
  const n = 4;
  const per = 25;
  const code = `
    const { withLock } = await import(${JSON.stringify(lockModule)});
    const fs = await import('node:fs');
    for (let i = 0; i < ${per}; i++) {
      await withLock(${JSON.stringify(p)}, async () => {
        const v = Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8'));
        await new Promise((r) => setTimeout(r, 1));
        fs.writeFileSync(${JSON.stringify(counter)}, String(v + 1));
        fs.appendFileSync(${JSON.stringify(join(dir, 'trace'))}, process.pid + '\\n');
      }, { timeoutMs: 60000 });
    }`;
  const kids = Array.from({ length: n }, () => spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: 'inherit' }));
  // This process competes too.
  for (let i = 0; i < per; i++) {
    await withLock(p, () => {
      const v = Number(readFileSync(counter, 'utf8'));
      writeFileSync(counter, String(v + 1));
      appendFileSync(join(dir, 'trace'), 'parent\n');
    }, { timeoutMs: 60_000 });
  }
  const codes = await Promise.all(kids.map((k) => new Promise<number | null>((r) => k.on('exit', r))));
  assert.deepEqual(codes, Array(n).fill(0));
  assert.equal(Number(readFileSync(counter, 'utf8')), (n + 1) * per);
});

test('lock: an aborted wait rejects and leaves the lock usable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'assay-lock-'));
  const p = join(dir, '.lock.db');
  const a = await acquireLock(p);
  const ac = new AbortController();
  const w = acquireLock(p, { signal: ac.signal });
  ac.abort(new Error('stop'));
  await assert.rejects(w, /stop/);
  a.release();
  (await acquireLock(p, { timeoutMs: 0 })).release();
});
