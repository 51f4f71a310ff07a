import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from './safetensors.js';

/**
 * The enclave's test model: a tiny GPT-2 (same architecture and tensor names as Hugging Face's
 * `GPT2Model` safetensors: Conv1D weights stored [in, out], tied output embedding, pre-LayerNorm
 * blocks, GELU (tanh form), learned positions) with deterministic pseudo-random weights. It is
 * generated, never downloaded; `scripts/make-test-model.ts` writes it. Tokens are bytes (vocab 256).
 *
 * Weights: a Mulberry32 stream seeded from `seed`, turned into normals by Box-Muller, scaled per
 * kind (embeddings 0.5, matrices 0.3/sqrt-ish, biases 0.05, LayerNorm gains 1 + 0.1·n).
 */

export interface Gpt2Config {
  model_type: 'gpt2';
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  layer_norm_epsilon: number;
  activation_function: 'gelu_new';
}

export const TEST_MODEL_CONFIG: Gpt2Config = { model_type: 'gpt2', vocab_size: 256, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 4, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new' };

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Tensors = Record<string, { shape: number[]; data: Float32Array }>;

/** The test model's tensors, by Hugging Face GPT-2 name. Same seed, same bytes. */
export function makeTestModel(cfg: Gpt2Config = TEST_MODEL_CONFIG, seed = 29): Tensors {
  const rnd = mulberry32(seed);
  const normal = () => {
    const u = Math.max(rnd(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
  const t: Tensors = {};
  const make = (name: string, shape: number[], f: () => number) => {
    const n = shape.reduce((a, d) => a * d, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = f();
    t[name] = { shape, data };
  };
  const D = cfg.n_embd;
  const s = 1 / Math.sqrt(D);
  make('wte.weight', [cfg.vocab_size, D], () => 0.5 * normal());
  make('wpe.weight', [cfg.n_positions, D], () => 0.2 * normal());
  for (let i = 0; i < cfg.n_layer; i++) {
    const h = `h.${i}`;
    make(`${h}.ln_1.weight`, [D], () => 1 + 0.1 * normal());
    make(`${h}.ln_1.bias`, [D], () => 0.05 * normal());
    make(`${h}.attn.c_attn.weight`, [D, 3 * D], () => 1.5 * s * normal());
    make(`${h}.attn.c_attn.bias`, [3 * D], () => 0.05 * normal());
    make(`${h}.attn.c_proj.weight`, [D, D], () => s * normal());
    make(`${h}.attn.c_proj.bias`, [D], () => 0.05 * normal());
    make(`${h}.ln_2.weight`, [D], () => 1 + 0.1 * normal());
    make(`${h}.ln_2.bias`, [D], () => 0.05 * normal());
    make(`${h}.mlp.c_fc.weight`, [D, 4 * D], () => s * normal());
    make(`${h}.mlp.c_fc.bias`, [4 * D], () => 0.05 * normal());
    make(`${h}.mlp.c_proj.weight`, [4 * D, D], () => 0.5 * s * normal());
    make(`${h}.mlp.c_proj.bias`, [D], () => 0.05 * normal());
  }
  make('ln_f.weight', [D], () => 1 + 0.1 * normal());
  make('ln_f.bias', [D], () => 0.05 * normal());
  return t;
}

/** Writes config.json and model.safetensors into `dir`; returns the weights file's digest. */
export function writeTestModel(dir: string, cfg: Gpt2Config = TEST_MODEL_CONFIG, seed = 29): { weights: string; config: string; digest: string } {
  mkdirSync(dir, { recursive: true });
  const bytes = writeSafetensors(makeTestModel(cfg, seed), { format: 'pt', generator: 'assay scripts/make-test-model.ts', seed: String(seed) });
  const weights = join(dir, 'model.safetensors');
  const config = join(dir, 'config.json');
  writeFileSync(weights, bytes, { mode: 0o644 });
  writeFileSync(config, `${JSON.stringify({ ...cfg, architectures: ['GPT2LMHeadModel'], tokenizer: 'bytes (token id = UTF-8 byte value)' }, null, 2)}\n`, { mode: 0o644 });
  return { weights, config, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}
