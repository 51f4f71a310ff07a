/**
 * Transparency log benchmark: batched appends per second to a crash-safe local tiles log (every
 * batch fsyncs its tiles, bundles and checkpoint), inclusion-proof verification time, and proof
 * size against log size. Writes its section of docs/benchmarks.md.
 *
 *   node --import tsx bench/tlog.ts            full run, writes docs/benchmarks.md
 *   node --import tsx bench/tlog.ts --quick    small run, prints only
 */
import { generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { attestationEntry } from '../src/tlog/entry.js';
import { MemoryTree, leafHash, verifyInclusion } from '../src/tlog/merkle.js';
import { ed25519Verifier } from '../src/tlog/note.js';
import { openCheckpoint } from '../src/tlog/checkpoint.js';
import { LocalLog } from '../src/tlog/storage.js';
import { formatTlogProof, verifyTlogProof } from '../src/tlog/client.js';
import { ROOT, writeBenchSection } from './harness.js';

const quick = process.argv.includes('--quick');

// Works both from source (tsx) and compiled into dist-bench/.

const ORIGIN = 'bench.example/log';
const key = generateKeyPairSync('ed25519').privateKey;

async function appendBench(total: number, batch: number): Promise<{ perSec: number; ms: number; bytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'assay-tlog-bench-'));
  const entries = Array.from({ length: total }, (_, i) => attestationEntry(Buffer.from(`envelope ${i} ${batch}`), { kind: 'eval-run' }));
  const bytes = entries.reduce((s, e) => s + e.length, 0) / total;
  const log = await LocalLog.open(dir, { origin: ORIGIN, signerKey: key });
  const t0 = performance.now();
  for (let at = 0; at < total; at += batch) await log.append(entries.slice(at, at + batch));
  const ms = performance.now() - t0;
  log.close();
  rmSync(dir, { recursive: true, force: true });
  return { perSec: total / (ms / 1000), ms, bytes };
}

function verifyBench(size: number): { sizeHashes: number; proofBytes: number; verifyUs: number; fullUs: number } {
  const leaves = Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
  const tree = new MemoryTree(leaves);
  const root = tree.root();
  const samples = 2000;
  const idx = Array.from({ length: samples }, (_, i) => Math.floor(((i * 2654435761) % 2 ** 32) / 2 ** 32 * size));
  const proofs = idx.map((i) => tree.inclusionProof(i));
  const t0 = performance.now();
  for (let k = 0; k < samples; k++) if (!verifyInclusion(leaves[idx[k]!]!, idx[k]!, size, proofs[k]!, root)) throw new Error('proof failed');
  const verifyUs = ((performance.now() - t0) / samples) * 1000;
  const maxLen = Math.max(...proofs.map((p) => p.length));
  return { sizeHashes: maxLen, proofBytes: maxLen * 32, verifyUs, fullUs: NaN };
}

/** Offline verification of a tlog-proof: parse, checkpoint signature, inclusion. */
async function fullVerifyBench(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'assay-tlog-bench-'));
  const log = await LocalLog.open(dir, { origin: ORIGIN, signerKey: key });
  const entries = Array.from({ length: 100_000 }, (_, i) => attestationEntry(Buffer.from(`e${i}`)));
  await log.append(entries);
  const text = formatTlogProof({ index: 77_777, hashes: log.inclusionProof(77_777), checkpoint: log.checkpoint() });
  openCheckpoint(log.checkpoint(), [ed25519Verifier(log.vkey)]);
  const n = 1000;
  const t0 = performance.now();
  for (let k = 0; k < n; k++) verifyTlogProof(text, entries[77_777]!, { logVkey: log.vkey });
  const us = ((performance.now() - t0) / n) * 1000;
  log.close();
  rmSync(dir, { recursive: true, force: true });
  return us;
}

const appendSettings = quick ? [{ total: 20_000, batch: 1000 }] : [{ total: 20_000, batch: 100 }, { total: 100_000, batch: 1000 }, { total: 200_000, batch: 10_000 }];
const sizes = quick ? [1_000, 100_000] : [1_000, 10_000, 100_000, 1_000_000];

const appendRows = [];
for (const s of appendSettings) appendRows.push({ ...s, ...(await appendBench(s.total, s.batch)) });
const verifyRows = sizes.map((size) => ({ size, ...verifyBench(size) }));
const fullUs = await fullVerifyBench();

let commit = 'uncommitted';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
} catch {
  // not a checkout
}
const cpu = cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

const md = `<!-- bench:tlog:start -->
## Transparency log (local tiles, crash-safe appends)

Command: \`npm run bench\` (tlog part: \`node dist-bench/bench/tlog.js\`) · commit ${commit} · ${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${cpus().length} × ${cpu} · ${Math.round(totalmem() / 2 ** 30)} GiB

Appends: \`LocalLog.append\` of \`assay.tlog-entry/v1\` attestation entries (~${Math.round(appendRows[0]!.bytes)} bytes each) into a fresh log in the OS temp directory. Every batch journals, writes tiles and entry bundles to temp files with fsync, renames, fsyncs directories, and signs and durably writes a checkpoint (Ed25519) — the whole commit protocol, nothing skipped.

| entries | batch | wall ms | appends/s |
|---|---|---|---|
${appendRows.map((r) => `| ${fmt(r.total)} | ${fmt(r.batch)} | ${fmt(r.ms)} | **${fmt(r.perSec)}** |`).join('\n')}

Inclusion proofs: RFC 9162 verification (\`verifyInclusion\`), mean of 2,000 proofs at spread-out indices; proof size is the longest audit path seen.

| log size | proof hashes | proof bytes | verify µs |
|---|---|---|---|
${verifyRows.map((r) => `| ${fmt(r.size)} | ${r.sizeHashes} | ${fmt(r.proofBytes)} | **${fmt(r.verifyUs, 1)}** |`).join('\n')}

Full offline check of a \`c2sp.org/tlog-proof@v1\` file (parse, Ed25519 checkpoint signature, inclusion) at log size 100,000: **${fmt(fullUs, 1)} µs**.
Proof size grows with log₂(size): ×1,000 more entries adds ~10 hashes (320 bytes).

Targets (issue 5): ≥ 5,000 batched appends/s, inclusion-proof verification < 1 ms, logarithmic proof size.
<!-- bench:tlog:end -->`;

process.stdout.write(`${md}\n`);
if (!quick) writeBenchSection('tlog', md);
