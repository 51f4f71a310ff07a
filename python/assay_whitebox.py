"""Assay white-box runtime: a GPT-2-family forward pass in numpy with hooks.

Runs inside the enclave's sandbox (docs/enclave.md), next to weights mounted read-only. A job:

    import assay_whitebox as wb
    m = wb.load_model()                      # /model (config.json + model.safetensors)
    r = m.run(m.encode("hello"), capture=["blocks.1.resid_post"])
    r.logits                                 # [T, vocab] float32
    r.cache["blocks.1.resid_post"]           # [T, n_embd]
    m.run(toks, add={"blocks.0.resid_post": steer_vector})          # steering (all positions)
    m.run(toks, add={"blocks.0.resid_post": (vec, [3, 4])})         # ... at positions 3 and 4
    m.run(toks, patch={"blocks.1.attn.pattern": other_pattern})     # replace an activation
    m.run(toks, hooks={"blocks.0.mlp.post": lambda x, name: x * 0}) # any function
    wb.emit("accuracy", 0.93)                # a declared output (checked by the airlock)

Hook points (T tokens, D = n_embd, H heads, d = D / H): embed, pos_embed, blocks.i.resid_pre,
blocks.i.ln1, blocks.i.attn.q|k|v [H,T,d], blocks.i.attn.pattern [H,T,T], blocks.i.attn.z,
blocks.i.attn_out, blocks.i.resid_mid, blocks.i.ln2, blocks.i.mlp.pre|post [T,4D], blocks.i.mlp_out,
blocks.i.resid_post, ln_final, logits [T,V]. Order per run: hooks, then patch, then add, then capture.

Independent of src/enclave/reference.ts (TypeScript, float64); test/enclave-runtime.test.ts
compares the two. Standard library + numpy only.
"""
import json
import math
import os
import struct
import sys

import numpy as np

__all__ = ["load_model", "read_safetensors", "Model", "emit", "inputs", "HOOK_POINTS"]

MODEL_DIR = os.environ.get("ASSAY_MODEL_DIR", "/model")
OUTPUT_DIR = os.environ.get("ASSAY_OUTPUT_DIR", "/workspace/outputs")
INPUTS_FILE = os.environ.get("ASSAY_INPUTS_FILE", "/workspace/inputs.json")

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """name -> float32 numpy array (read-only views are copied). Checks offsets and sizes."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        dt = _DTYPES.get(t["dtype"])
        if dt is None:
            raise ValueError(f"{path}: tensor {name}: dtype {t['dtype']} not supported")
        b, e = t["data_offsets"]
        shape = tuple(t["shape"])
        count = int(np.prod(shape)) if shape else 1
        if e - b != count * np.dtype(dt).itemsize or base + e > len(data):
            raise ValueError(f"{path}: tensor {name}: data_offsets do not match shape {shape}")
        out[name] = np.frombuffer(data, dtype=dt, count=count, offset=base + b).reshape(shape).astype(np.float32)
    return out


def _layer_norm(x, g, b, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * g + b


def _gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(np.float32(math.sqrt(2.0 / math.pi)) * (x + np.float32(0.044715) * x ** 3)))


def hook_points(n_layer):
    names = ["embed", "pos_embed"]
    for i in range(n_layer):
        p = f"blocks.{i}."
        names += [p + s for s in ("resid_pre", "ln1", "attn.q", "attn.k", "attn.v", "attn.pattern", "attn.z", "attn_out", "resid_mid", "ln2", "mlp.pre", "mlp.post", "mlp_out", "resid_post")]
    return names + ["ln_final", "logits"]


HOOK_POINTS = hook_points


class RunResult:
    def __init__(self, logits, cache):
        self.logits = logits
        self.cache = cache


class Model:
    def __init__(self, config, weights):
        if config.get("model_type", "gpt2") != "gpt2":
            raise ValueError(f"model_type {config.get('model_type')!r}: this runtime runs GPT-2-family models")
        self.config = config
        self.w = weights
        self.n_layer = int(config["n_layer"])
        self.n_head = int(config["n_head"])
        self.n_embd = int(config["n_embd"])
        self.vocab_size = int(config["vocab_size"])
        self.n_positions = int(config["n_positions"])
        self.eps = float(config.get("layer_norm_epsilon", 1e-5))
        self.hook_points = hook_points(self.n_layer)
        prefix = "transformer." if "transformer.wte.weight" in weights else ""
        self._p = prefix

    def W(self, name):
        return self.w[self._p + name]

    def encode(self, text):
        """The test model's tokenizer: UTF-8 bytes (token id = byte value)."""
        return list(text.encode("utf-8"))

    def run(self, tokens, capture=None, hooks=None, patch=None, add=None):
        """Forward pass over one sequence. capture: list of hook points (or True for all)."""
        tokens = [int(t) for t in tokens]
        T = len(tokens)
        if not 1 <= T <= self.n_positions:
            raise ValueError(f"{T} tokens: this model takes 1..{self.n_positions}")
        if any(t < 0 or t >= self.vocab_size for t in tokens):
            raise ValueError(f"token ids must be in 0..{self.vocab_size - 1}")
        for group in (hooks or {}, patch or {}, add or {}):
            for k in group:
                if k not in self.hook_points:
                    raise KeyError(f"unknown hook point {k!r} (see Model.hook_points)")
        if capture is True:
            capture = list(self.hook_points)
        capture = set(capture or [])
        for k in capture:
            if k not in self.hook_points:
                raise KeyError(f"unknown hook point {k!r} (see Model.hook_points)")
        cache = {}

        def at(name, v):
            if hooks and name in hooks:
                r = hooks[name](v, name)
                if r is not None:
                    v = np.asarray(r, dtype=np.float32)
            if patch and name in patch:
                p = np.asarray(patch[name], dtype=np.float32)
                if p.shape != v.shape:
                    raise ValueError(f"patch for {name}: shape {p.shape}, activation is {v.shape}")
                v = p
            if add and name in add:
                a = add[name]
                if isinstance(a, tuple):
                    vec, positions = a
                    v = v.copy()
                    v[..., list(positions), :] += np.asarray(vec, dtype=np.float32)
                else:
                    v = v + np.asarray(a, dtype=np.float32)
            if name in capture:
                cache[name] = v.copy()
            return v

        D, H = self.n_embd, self.n_head
        dh = D // H
        x = at("embed", self.W("wte.weight")[tokens])
        x = x + at("pos_embed", self.W("wpe.weight")[:T])
        mask = np.triu(np.ones((T, T), dtype=bool), k=1)
        for i in range(self.n_layer):
            h, n = f"h.{i}.", f"blocks.{i}."
            x = at(n + "resid_pre", x)
            a = at(n + "ln1", _layer_norm(x, self.W(h + "ln_1.weight"), self.W(h + "ln_1.bias"), self.eps))
            qkv = a @ self.W(h + "attn.c_attn.weight") + self.W(h + "attn.c_attn.bias")
            q, k, v = (qkv[:, j * D : (j + 1) * D].reshape(T, H, dh).transpose(1, 0, 2) for j in range(3))
            q, k, v = at(n + "attn.q", q), at(n + "attn.k", k), at(n + "attn.v", v)
            s = (q @ k.transpose(0, 2, 1)) / np.float32(math.sqrt(dh))
            s = np.where(mask, -np.inf, s)
            s = s - s.max(axis=-1, keepdims=True)
            e = np.exp(s)
            pat = at(n + "attn.pattern", (e / e.sum(axis=-1, keepdims=True)).astype(np.float32))
            z = at(n + "attn.z", (pat @ v).transpose(1, 0, 2).reshape(T, D))
            ao = at(n + "attn_out", z @ self.W(h + "attn.c_proj.weight") + self.W(h + "attn.c_proj.bias"))
            mid = at(n + "resid_mid", x + ao)
            b = at(n + "ln2", _layer_norm(mid, self.W(h + "ln_2.weight"), self.W(h + "ln_2.bias"), self.eps))
            pre = at(n + "mlp.pre", b @ self.W(h + "mlp.c_fc.weight") + self.W(h + "mlp.c_fc.bias"))
            post = at(n + "mlp.post", _gelu_new(pre))
            mo = at(n + "mlp_out", post @ self.W(h + "mlp.c_proj.weight") + self.W(h + "mlp.c_proj.bias"))
            x = at(n + "resid_post", mid + mo)
        f = at("ln_final", _layer_norm(x, self.W("ln_f.weight"), self.W("ln_f.bias"), self.eps))
        logits = at("logits", f @ self.W("wte.weight").T)
        return RunResult(logits.astype(np.float32), cache)


def load_model(path=None):
    """Loads <path>/config.json and <path>/model.safetensors (default: the enclave's /model)."""
    path = path or MODEL_DIR
    with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    return Model(config, read_safetensors(os.path.join(path, "model.safetensors")))


def _plain(v):
    if isinstance(v, np.ndarray):
        return _plain(v.tolist())
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return v


def emit(name, value):
    """Writes one declared output (JSON) for the airlock. Names: [a-z][a-z0-9_]{0,63}."""
    if not isinstance(name, str) or not name or len(name) > 64 or not (name[0].isascii() and name[0].islower()) or not all(c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in name):
        raise ValueError(f"output name {name!r}: use [a-z][a-z0-9_]{{0,63}}")
    os.makedirs(OUTPUT_DIR, exist_ok=True)
    with open(os.path.join(OUTPUT_DIR, name + ".json"), "w", encoding="utf-8") as f:
        json.dump(_plain(value), f, allow_nan=False)


def inputs():
    """The job's `inputs` object (empty dict when none were sent)."""
    try:
        with open(INPUTS_FILE, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


if __name__ == "__main__":
    # Numerics harness for the tests: `python3 assay_whitebox.py <model dir>` with a JSON request on
    # stdin {tokens, capture: [names], add: {name: {vector, positions?}}, patch: {name: array}}; prints logits + captures.
    req = json.load(sys.stdin)
    m = load_model(sys.argv[1])
    add = {k: (tuple((v["vector"], v["positions"])) if "positions" in v else v["vector"]) for k, v in req.get("add", {}).items()}
    patch = {k: np.asarray(v, dtype=np.float32) for k, v in req.get("patch", {}).items()}
    r = m.run(req["tokens"], capture=req.get("capture"), add=add, patch=patch)
    json.dump({"logits": r.logits.tolist(), "cache": {k: v.tolist() for k, v in r.cache.items()}}, sys.stdout)
