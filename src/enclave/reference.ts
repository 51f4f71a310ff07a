import type { Gpt2Config, Tensors } from './testmodel.js';

/**
 * An independent GPT-2 forward pass in TypeScript, in float64, written separately from the
 * Python/numpy runtime (python/assay_whitebox.py) so each checks the other (test/enclave-runtime.test.ts).
 * Same hook-point names as the runtime; slow and simple on purpose (loops, no batching).
 *
 * Hook points (T tokens, D = n_embd, H heads, d = D/H): `embed`, `pos_embed`, then per block i
 * `blocks.i.resid_pre` [T,D], `blocks.i.ln1` [T,D], `blocks.i.attn.q|k|v` [H,T,d],
 * `blocks.i.attn.pattern` [H,T,T] (softmax over keys, causal), `blocks.i.attn.z` [T,D] (heads
 * concatenated), `blocks.i.attn_out` [T,D], `blocks.i.resid_mid` [T,D], `blocks.i.ln2` [T,D],
 * `blocks.i.mlp.pre` [T,4D], `blocks.i.mlp.post` [T,4D], `blocks.i.mlp_out` [T,D],
 * `blocks.i.resid_post` [T,D]; then `ln_final` [T,D] and `logits` [T,V].
 */

type M = number[][];
export type HookValue = M | M[];
export type Hook = (value: HookValue, name: string) => HookValue | void;

const get = (w: Tensors, name: string) => {
  const t = w[name];
  if (!t) throw new Error(`reference: missing tensor ${name}`);
  return t;
};

function matmulW(x: M, w: Tensors, name: string, biasName: string): M {
  const W = get(w, name);
  const [din, dout] = W.shape as [number, number];
  const b = get(w, biasName).data;
  return x.map((row) => {
    const out = new Array<number>(dout);
    for (let j = 0; j < dout; j++) {
      let s = b[j]!;
      for (let i = 0; i < din; i++) s += row[i]! * W.data[i * dout + j]!;
      out[j] = s;
    }
    return out;
  });
}

function layerNorm(x: M, w: Tensors, prefix: string, eps: number): M {
  const g = get(w, `${prefix}.weight`).data;
  const b = get(w, `${prefix}.bias`).data;
  return x.map((row) => {
    const mean = row.reduce((a, v) => a + v, 0) / row.length;
    const varc = row.reduce((a, v) => a + (v - mean) ** 2, 0) / row.length;
    const inv = 1 / Math.sqrt(varc + eps);
    return row.map((v, j) => (v - mean) * inv * g[j]! + b[j]!);
  });
}

const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

export function referenceForward(cfg: Gpt2Config, w: Tensors, tokens: number[], hooks: Record<string, Hook> = {}): { logits: M; cache: Record<string, HookValue> } {
  const cache: Record<string, HookValue> = {};
  const at = <V extends HookValue>(name: string, v: V): V => {
    const h = hooks[name];
    const r = h ? ((h(v, name) as V | undefined) ?? v) : v;
    cache[name] = r;
    return r;
  };
  const T = tokens.length;
  const D = cfg.n_embd;
  const H = cfg.n_head;
  const dh = D / H;
  if (T < 1 || T > cfg.n_positions) throw new Error(`reference: ${T} tokens (1..${cfg.n_positions})`);
  const wte = get(w, 'wte.weight').data;
  const wpe = get(w, 'wpe.weight').data;
  const embed = at('embed', tokens.map((t) => Array.from(wte.subarray(t * D, t * D + D))));
  const pos = at('pos_embed', tokens.map((_, p) => Array.from(wpe.subarray(p * D, p * D + D))));
  let x: M = embed.map((r, p) => r.map((v, j) => v + pos[p]![j]!));
  for (let i = 0; i < cfg.n_layer; i++) {
    const h = `h.${i}`;
    const n = `blocks.${i}`;
    x = at(`${n}.resid_pre`, x);
    const a = at(`${n}.ln1`, layerNorm(x, w, `${h}.ln_1`, cfg.layer_norm_epsilon));
    const qkv = matmulW(a, w, `${h}.attn.c_attn.weight`, `${h}.attn.c_attn.bias`);
    const split = (off: number): M[] => Array.from({ length: H }, (_, hh) => qkv.map((r) => r.slice(off + hh * dh, off + (hh + 1) * dh)));
    const q = at(`${n}.attn.q`, split(0));
    const k = at(`${n}.attn.k`, split(D));
    const v = at(`${n}.attn.v`, split(2 * D));
    const pattern: M[] = q.map((qh, hh) =>
      qh.map((qr, ti) => {
        const s = Array.from({ length: T }, (_, tj) => (tj <= ti ? qr.reduce((acc, qv, d) => acc + qv * k[hh]![tj]![d]!, 0) / Math.sqrt(dh) : -Infinity));
        const mx = Math.max(...s);
        const e = s.map((z) => (z === -Infinity ? 0 : Math.exp(z - mx)));
        const sum = e.reduce((acc, z) => acc + z, 0);
        return e.map((z) => z / sum);
      }),
    );
    const pat = at(`${n}.attn.pattern`, pattern);
    const z: M = Array.from({ length: T }, (_, ti) => {
      const row = new Array<number>(D).fill(0);
      for (let hh = 0; hh < H; hh++) for (let tj = 0; tj < T; tj++) for (let d = 0; d < dh; d++) row[hh * dh + d]! += pat[hh]![ti]![tj]! * v[hh]![tj]![d]!;
      return row;
    });
    const zz = at(`${n}.attn.z`, z);
    const attnOut = at(`${n}.attn_out`, matmulW(zz, w, `${h}.attn.c_proj.weight`, `${h}.attn.c_proj.bias`));
    const mid = at(`${n}.resid_mid`, x.map((r, p) => r.map((val, j) => val + attnOut[p]![j]!)));
    const b = at(`${n}.ln2`, layerNorm(mid, w, `${h}.ln_2`, cfg.layer_norm_epsilon));
    const pre = at(`${n}.mlp.pre`, matmulW(b, w, `${h}.mlp.c_fc.weight`, `${h}.mlp.c_fc.bias`));
    const post = at(`${n}.mlp.post`, pre.map((r) => r.map(gelu)));
    const mlpOut = at(`${n}.mlp_out`, matmulW(post, w, `${h}.mlp.c_proj.weight`, `${h}.mlp.c_proj.bias`));
    x = at(`${n}.resid_post`, mid.map((r, p) => r.map((val, j) => val + mlpOut[p]![j]!)));
  }
  const f = at('ln_final', layerNorm(x, w, 'ln_f', cfg.layer_norm_epsilon));
  const V = cfg.vocab_size;
  const logits = at(
    'logits',
    f.map((r) => {
      const out = new Array<number>(V);
      for (let t = 0; t < V; t++) {
        let s = 0;
        for (let j = 0; j < D; j++) s += r[j]! * wte[t * D + j]!;
        out[t] = s;
      }
      return out;
    }),
  );
  return { logits, cache };
}
