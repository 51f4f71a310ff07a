import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { referenceForward, type HookValue } from '../src/enclave/reference.js';
import { readSafetensors, tensorF32, writeSafetensors } from '../src/enclave/safetensors.js';
import { TEST_MODEL_CONFIG, makeTestModel, writeTestModel, type Tensors } from '../src/enclave/testmodel.js';
import { ROOT, requireService, tmp } from './helpers.js';

/**
 * The white-box runtime (python/assay_whitebox.py, numpy, float32) against the independent
 * TypeScript reference (src/enclave/reference.ts, float64), on the generated test model.
 * Stated tolerance: |numpy - reference| <= 1e-4 + 1e-4·|reference| for every logit and every
 * captured activation (float32 rounding over two layers is ~1e-6 here; the bound leaves room for
 * BLAS summation order, and is far below any real disagreement such as a wrong GELU or mask).
 */
const PY = '/usr/bin/python3';
const hasNumpy = spawnSync(PY, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
const need = requireService('numpy for /usr/bin/python3', hasNumpy || 'apt-get install python3-numpy');
const RUNTIME = join(ROOT, 'python/assay_whitebox.py');
const TOL = (ref: number) => 1e-4 + 1e-4 * Math.abs(ref);

function loadBack(dir: string): Tensors {
  const f = readSafetensors(readFileSync(join(dir, 'model.safetensors')));
  const t: Tensors = {};
  for (const n of f.tensors.keys()) t[n] = tensorF32(f, n);
  return t;
}

function runtime(dir: string, req: unknown): { logits: number[][]; cache: Record<string, unknown> } {
  const r = spawnSync(PY, ['-s', RUNTIME, dir], { input: JSON.stringify(req), encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Largest |a-b| over nested arrays, failing on any shape difference or a value outside TOL. */
function compare(a: unknown, ref: unknown, where: string): number {
  if (Array.isArray(ref)) {
    assert.ok(Array.isArray(a) && a.length === ref.length, `${where}: shape differs`);
    return Math.max(0, ...ref.map((r, i) => compare((a as unknown[])[i], r, `${where}[${i}]`)));
  }
  const d = Math.abs((a as number) - (ref as number));
  assert.ok(d <= TOL(ref as number), `${where}: runtime ${a} vs reference ${ref} (|d| ${d} > ${TOL(ref as number)})`);
  return d;
}

describe('enclave test model and safetensors', () => {
  it('is deterministic, round-trips through the writer and reader, and names GPT-2 tensors', () => {
    const a = writeSafetensors(makeTestModel());
    const b = writeSafetensors(makeTestModel());
    assert.ok(a.equals(b), 'same seed, same bytes');
    assert.ok(!a.equals(writeSafetensors(makeTestModel(TEST_MODEL_CONFIG, 30))), 'another seed, other weights');
    const f = readSafetensors(a);
    assert.deepEqual(f.tensors.get('h.1.attn.c_attn.weight')!.shape, [32, 96]);
    assert.deepEqual(f.tensors.get('wte.weight')!.shape, [256, 32]);
    assert.equal([...f.tensors.keys()].length, 4 + 12 * TEST_MODEL_CONFIG.n_layer);
    assert.deepEqual(Array.from(tensorF32(f, 'ln_f.bias').data), Array.from(makeTestModel()['ln_f.bias']!.data));
  });

  it('refuses malformed files naming the problem', () => {
    const good = writeSafetensors({ x: { shape: [2], data: new Float32Array([1, 2]) } });
    assert.throws(() => readSafetensors(good.subarray(0, good.length - 1)), /tensor "x": data runs past the end|bytes after/);
    assert.throws(() => readSafetensors(Buffer.concat([good, Buffer.alloc(4)])), /4 bytes after the last tensor/);
    const long = Buffer.from(good);
    long.writeBigUInt64LE(BigInt(1e9));
    assert.throws(() => readSafetensors(long), /header length 1000000000 runs past/);
    const h = Buffer.from(JSON.stringify({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    assert.throws(() => readSafetensors(Buffer.concat([len, h, Buffer.alloc(8)])), /shape \[3\] of F32 needs 12 bytes, data_offsets give 8/);
  });
});

describe('white-box runtime numerics (numpy vs the TypeScript reference)', need, () => {
  const dir = tmp('assay-enclave-model-');
  writeTestModel(dir);
  const w = loadBack(dir);
  const cfg = TEST_MODEL_CONFIG;
  const tokens = [...Buffer.from('The quick brown fox jumps over')];

  it('logits and every hook point agree within the stated tolerance', () => {
    const ref = referenceForward(cfg, w, tokens);
    const names = Object.keys(ref.cache);
    assert.equal(names.length, 2 + 14 * cfg.n_layer + 2);
    const got = runtime(dir, { tokens, capture: names });
    let worst = compare(got.logits, ref.logits, 'logits');
    for (const n of names) worst = Math.max(worst, compare(got.cache[n], ref.cache[n], n));
    // The model is not degenerate: logits spread, attention is causal.
    const row = ref.logits[tokens.length - 1]!;
    assert.ok(Math.max(...row) - Math.min(...row) > 1, 'logits vary across the vocabulary');
    const pat = ref.cache['blocks.0.attn.pattern'] as number[][][];
    assert.equal(pat[0]![0]![1], 0, 'position 0 does not attend to position 1');
    writeFileSync(join(dir, 'worst.txt'), String(worst));
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
  });

  it('steering (adding a vector at chosen positions) and patching agree too, and change the output', () => {
    const vec = Array.from({ length: cfg.n_embd }, (_, j) => Math.sin(j) * 2);
    const addAt = (positions: number[]) => (v: HookValue) => (v as number[][]).map((r, p) => (positions.includes(p) ? r.map((x, j) => x + vec[j]!) : r));
    const ref = referenceForward(cfg, w, tokens, { 'blocks.0.resid_post': addAt([3, 4]) });
    const got = runtime(dir, { tokens, add: { 'blocks.0.resid_post': { vector: vec, positions: [3, 4] } } });
    compare(got.logits, ref.logits, 'steered logits');
    const plain = referenceForward(cfg, w, tokens);
    assert.ok(Math.abs(plain.logits[4]![0]! - ref.logits[4]![0]!) > 1e-3, 'steering moved the logits at position 4');
    assert.deepEqual(plain.logits[2], ref.logits[2], 'positions before the steered ones are untouched (causal)');
    // Patch: a uniform causal attention pattern in block 1.
    const T = tokens.length;
    const uniform = Array.from({ length: cfg.n_head }, () => Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (j <= i ? 1 / (i + 1) : 0))));
    const refP = referenceForward(cfg, w, tokens, { 'blocks.1.attn.pattern': () => uniform });
    const gotP = runtime(dir, { tokens, patch: { 'blocks.1.attn.pattern': uniform }, capture: ['blocks.1.attn.pattern'] });
    compare(gotP.logits, refP.logits, 'patched logits');
    compare(gotP.cache['blocks.1.attn.pattern'], uniform, 'patched pattern is what was captured');
  });
});
