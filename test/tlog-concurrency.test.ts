import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tmp } from './helpers.js';
import { LocalLog } from '../src/tlog/storage.js';
import { logSource } from '../src/tlog/client.js';
import { auditLog } from '../src/tlog/audit.js';
import { ed25519Signer } from '../src/tlog/note.js';
import { parseEntryBundle, entriesPath } from '../src/tlog/tiles.js';

const ORIGIN = 'concurrency.example/log';
const key = generateKeyPairSync('ed25519').privateKey;
const VKEY = ed25519Signer(ORIGIN, key).vkey;

/**
 * A writer process: appends `count` single entries "<name>-<k>" (or forever when count is 0),
 * printing "<index> <entry>" after each append returned, i.e. after the log acknowledged it.
 */
function writer(dir: string, keyFile: string, name: string, count: number) {
  const script = `
    import { createPrivateKey } from 'node:crypto';
    import { readFileSync } from 'node:fs';
    import { LocalLog } from ${JSON.stringify(join(ROOT, 'src/tlog/storage.ts'))};
    const log = await LocalLog.open(${JSON.stringify(dir)}, { origin: ${JSON.stringify(ORIGIN)}, signerKey: createPrivateKey(readFileSync(${JSON.stringify(keyFile)})), lockTimeoutMs: 120000 });
    for (let k = 0; ${count} === 0 || k < ${count}; k++) {
      const e = '{"w":"${name}-' + k + '"}';
      const r = await log.append([Buffer.from(e)]);
      process.stdout.write(r.indices[0] + ' ' + e + '\\n');
    }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let errText = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => child.on('exit', (code, signal) => ok({ code, signal })));
  /** Acknowledged appends: only complete lines count (a kill may cut the last one). */
  const acked = () => out.split('\n').slice(0, -1).map((l) => {
    const sp = l.indexOf(' ');
    return { index: Number(l.slice(0, sp)), entry: l.slice(sp + 1) };
  });
  return { child, done, acked, stderr: () => errText };
}

test('several processes × hundreds of appends into one log, with writers killed (-9) mid-append: no acknowledged entry lost, every tile and the root recompute from the bundles', { timeout: 600_000 }, async () => {
  const dir = join(tmp('tlog-conc-'), 'log');
  const keyFile = `${dir}.pem`;
  writeFileSync(keyFile, key.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  (await LocalLog.open(dir, { origin: ORIGIN, signerKey: key })).close();

  const steady = ['a', 'b', 'c'].map((n) => writer(dir, keyFile, n, 150));
  // Victims append without end and are killed with SIGKILL at arbitrary moments.
  const victims: ReturnType<typeof writer>[] = [];
  for (let v = 0; v < 4; v++) {
    const w = writer(dir, keyFile, `v${v}`, 0);
    victims.push(w);
    // Wait until it has appended a few entries, then kill it a random few ms later: it is almost
    // always inside an append (holding the lock, or writing tiles, or publishing).
    await new Promise<void>((ok) => {
      void w.done.then(() => {
        clearInterval(t);
        ok(); // died on its own (a failure, asserted below)
      });
      const t = setInterval(() => {
        if (w.acked().length >= 3 + v * 5) {
          clearInterval(t);
          setTimeout(() => {
            w.child.kill('SIGKILL');
            ok();
          }, Math.floor(Math.random() * 15));
        }
      }, 2);
    });
  }
  const results = await Promise.all(steady.map((w) => w.done));
  results.forEach((r, i) => assert.equal(r.code, 0, `writer ${i} failed: ${steady[i]!.stderr()}`));
  for (const v of victims) assert.equal((await v.done).signal, 'SIGKILL', `victim died on its own: ${v.stderr()}`);

  // Every acknowledged append is in the log at the index it was given.
  const log = await LocalLog.open(dir, { origin: ORIGIN, signerKey: key });
  const acked = [...steady, ...victims].flatMap((w) => w.acked());
  assert.equal(steady.reduce((n, w) => n + w.acked().length, 0), 450);
  assert.ok(log.size >= acked.length, `log has ${log.size} entries, ${acked.length} were acknowledged`);
  const seenIdx = new Set<number>();
  for (const a of acked) {
    assert.ok(!seenIdx.has(a.index), `index ${a.index} given twice`);
    seenIdx.add(a.index);
    assert.equal(Buffer.from(log.entry(a.index)).toString(), a.entry, `entry at index ${a.index}`);
  }
  // No journal left over, and the recomputation from the bundles agrees with every published file.
  assert.ok(!existsSync(join(dir, '.pending')));
  const audit = await auditLog(logSource(dir), VKEY, { localDir: dir });
  assert.deepEqual(audit.problems, []);
  assert.equal(audit.size, log.size);
  // Every entry is one of the writers' (nothing foreign, nothing duplicated).
  const all = new Set<string>();
  for (let n = 0; n * 256 < log.size; n++) {
    const width = Math.min(256, log.size - n * 256);
    for (const e of parseEntryBundle(readFileSync(join(dir, entriesPath(n, width))))) all.add(Buffer.from(e).toString());
  }
  assert.equal(all.size, log.size);
  // And the log keeps working.
  const r = await log.append([Buffer.from('{"w":"after"}')]);
  assert.equal(r.indices[0], audit.size);
});
