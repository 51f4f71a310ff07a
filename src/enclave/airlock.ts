import * as z from 'zod';
import { canonicalJson } from '../common/canonical.js';
import type { JsonValue } from '../attest/json.js';
import type { Tensors } from './testmodel.js';

/**
 * The airlock: the only way anything a job computed leaves the enclave. Pure functions (no I/O):
 * the server hands it the job's declared outputs as parsed JSON and gets back either every output
 * released or one refusal naming the output and the rule. Rules, in order, per output:
 *   1. declared: the file exists for every declared name (undeclared files never leave);
 *   2. size: at most `maxOutputBytes` as RFC 8785 JSON, the job's outputs at most `maxJobBytes`;
 *   3. schema: the output matches its declared schema (closed objects, bounded arrays and strings);
 *   4. weight-like values: (a) an array whose shape is a weight tensor's (or its transpose) and
 *      holds ≥ 256 values; (b) 4 consecutive numbers equal, as float32, to 4 consecutive weights of
 *      any tensor in row or column order; (c) 6 consecutive numbers equal to 6 consecutive weights
 *      rounded to 3 decimals; numbers written inside strings count too;
 *   5. encoded data in strings: a run of ≥ 96 base64/hex characters whose decoded bytes hold a
 *      16-byte window of the weights file, or whose characters look random (≥ 4.5 bits each, the
 *      entropy of base64-coded binary), or a hex run of ≥ 128 characters (a digest is 64);
 *   6. the job's numbers together: at most `maxNumbers`;
 * and then, across jobs, the grant's cumulative release cap (server.ts), which is what bounds
 * chunked copies the per-output rules cannot see (values rescaled or permuted).
 */

export const MAX_SCHEMA_DEPTH = 6;

export type OutputSchema =
  | { type: 'number' }
  | { type: 'integer' }
  | { type: 'boolean' }
  | { type: 'string'; maxLength: number }
  | { type: 'array'; items: OutputSchema; maxItems: number }
  | { type: 'object'; properties: Record<string, OutputSchema> };

export const outputSchemaSchema: z.ZodType<OutputSchema> = z.lazy(() =>
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('number') }),
    z.strictObject({ type: z.literal('integer') }),
    z.strictObject({ type: z.literal('boolean') }),
    // No regular-expression patterns: a tester's pattern would run on the enclave's host (ReDoS).
    z.strictObject({ type: z.literal('string'), maxLength: z.number().int().min(0).max(1 << 20) }),
    z.strictObject({ type: z.literal('array'), items: outputSchemaSchema, maxItems: z.number().int().min(0).max(1 << 20) }),
    z.strictObject({ type: z.literal('object'), properties: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), outputSchemaSchema) }),
  ]),
) as z.ZodType<OutputSchema>;

export function schemaDepth(s: OutputSchema): number {
  if (s.type === 'array') return 1 + schemaDepth(s.items);
  if (s.type === 'object') return 1 + Math.max(0, ...Object.values(s.properties).map(schemaDepth));
  return 1;
}

export interface AirlockLimits {
  maxOutputBytes: number;
  maxJobBytes: number;
  maxNumbers: number;
}

export const DEFAULT_AIRLOCK: AirlockLimits = { maxOutputBytes: 64 << 10, maxJobBytes: 256 << 10, maxNumbers: 8192 };

/** What the airlock knows of the weights: shapes, value windows, byte windows. Built once per model. */
export interface WeightIndex {
  shapes: Set<string>;
  exact: Set<string>;
  rounded: Set<string>;
  bytes: Set<string>;
  tensors: number;
  values: number;
}

const EXACT_W = 4;
const ROUND_W = 6;
const BYTE_W = 16;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bits = (x: number) => ((f32[0] = x), u32[0]!);
const q3 = (x: number) => Math.round(x * 1000);

/** Windows that say nothing: equal values, integers (0, 1 … are everywhere), tiny rounded values. */
const trivialExact = (w: number[]) => w.every((v) => v === w[0]) || w.some((v) => Number.isInteger(v));
const trivialRounded = (w: number[]) => w.every((v) => v === w[0]) || w.filter((v) => Math.abs(v) <= 2).length > 2;

export function buildWeightIndex(t: Tensors): WeightIndex {
  const ix: WeightIndex = { shapes: new Set(), exact: new Set(), rounded: new Set(), bytes: new Set(), tensors: 0, values: 0 };
  const addSeq = (seq: ArrayLike<number>) => {
    for (let i = 0; i + EXACT_W <= seq.length; i++) {
      const w = Array.from({ length: EXACT_W }, (_, k) => seq[i + k]!);
      if (!trivialExact(w)) ix.exact.add(w.map(bits).join(','));
    }
    for (let i = 0; i + ROUND_W <= seq.length; i++) {
      const w = Array.from({ length: ROUND_W }, (_, k) => q3(seq[i + k]!));
      if (!trivialRounded(w)) ix.rounded.add(w.join(','));
    }
  };
  for (const { shape, data } of Object.values(t)) {
    ix.tensors++;
    ix.values += data.length;
    if (data.length >= 256) {
      ix.shapes.add(shape.join('x'));
      ix.shapes.add([...shape].reverse().join('x'));
    }
    addSeq(data);
    if (shape.length === 2) {
      const [r, c] = shape as [number, number];
      const col = new Float32Array(data.length);
      for (let j = 0; j < c; j++) for (let i = 0; i < r; i++) col[j * r + i] = data[i * c + j]!;
      addSeq(col);
    }
    const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i + BYTE_W <= b.length; i += 4) ix.bytes.add(b.subarray(i, i + BYTE_W).toString('hex'));
  }
  return ix;
}

export interface Refusal {
  code: 'missing_output' | 'output_too_large' | 'job_outputs_too_large' | 'schema' | 'weight_shape' | 'weight_values' | 'encoded_data' | 'too_many_numbers';
  output: string;
  message: string;
}

/** Checks a value against its declared schema; returns the first problem with its JSON path, or null. */
export function checkSchema(v: JsonValue, s: OutputSchema, path = '$'): string | null {
  switch (s.type) {
    case 'number':
      return typeof v === 'number' ? null : `${path}: expected a number`;
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) ? null : `${path}: expected an integer`;
    case 'boolean':
      return typeof v === 'boolean' ? null : `${path}: expected true or false`;
    case 'string':
      if (typeof v !== 'string') return `${path}: expected a string`;
      if (v.length > s.maxLength) return `${path}: string of ${v.length} characters, declared maxLength ${s.maxLength}`;
      return null;
    case 'array':
      if (!Array.isArray(v)) return `${path}: expected an array`;
      if (v.length > s.maxItems) return `${path}: array of ${v.length} items, declared maxItems ${s.maxItems}`;
      for (let i = 0; i < v.length; i++) {
        const p = checkSchema(v[i]!, s.items, `${path}[${i}]`);
        if (p) return p;
      }
      return null;
    case 'object': {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return `${path}: expected an object`;
      for (const k of Object.keys(v)) if (!Object.hasOwn(s.properties, k)) return `${path}: property "${k}" is not declared`;
      for (const [k, sub] of Object.entries(s.properties)) {
        if (!Object.hasOwn(v, k)) return `${path}: declared property "${k}" is missing`;
        const p = checkSchema((v as Record<string, JsonValue>)[k]!, sub, `${path}.${k}`);
        if (p) return p;
      }
      return null;
    }
  }
}

/** Shape of a rectangular nested numeric array, or null. */
function shapeOf(v: JsonValue): number[] | null {
  if (typeof v === 'number') return [];
  if (!Array.isArray(v) || v.length === 0) return null;
  const inner = shapeOf(v[0]!);
  if (!inner) return null;
  for (const x of v) {
    const s = shapeOf(x);
    if (!s || s.join('x') !== inner.join('x')) return null;
  }
  return [v.length, ...inner];
}

const NUM_IN_TEXT = /[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?/g;

/** Numbers in document order (strings contribute the numbers written in them), and every string. */
function walk(v: JsonValue, nums: number[], strings: string[], arrays: JsonValue[]): void {
  if (typeof v === 'number') nums.push(v);
  else if (typeof v === 'string') {
    strings.push(v);
    for (const m of v.match(NUM_IN_TEXT) ?? []) nums.push(Number(m));
  } else if (Array.isArray(v)) {
    arrays.push(v);
    for (const x of v) walk(x, nums, strings, arrays);
  } else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x, nums, strings, arrays);
}

function entropyBitsPerChar(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) h -= (n / s.length) * Math.log2(n / s.length);
  return h;
}

const B64_RUN = /[A-Za-z0-9+/_-]{96,}={0,2}/g;

function encodedProblem(s: string, ix: WeightIndex): string | null {
  for (const run of s.match(B64_RUN) ?? []) {
    const hex = /^[0-9a-fA-F]+$/.test(run);
    const decoded = hex ? Buffer.from(run.slice(0, run.length - (run.length % 2)), 'hex') : Buffer.from(run.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    for (let off = 0; off < 4; off++)
      for (let i = off; i + BYTE_W <= decoded.length; i += 4) if (ix.bytes.has(decoded.subarray(i, i + BYTE_W).toString('hex'))) return `a ${run.length}-character ${hex ? 'hex' : 'base64'} run decodes to bytes of the model's weights`;
    if (hex && run.length >= 128) return `a ${run.length}-character hex run (binary data; a digest is 64 characters)`;
    const h = entropyBitsPerChar(run);
    if (!hex && h >= 4.5) return `a ${run.length}-character base64-like run with ${h.toFixed(2)} bits per character (encoded binary data)`;
  }
  return null;
}

function weightValuesProblem(nums: number[], ix: WeightIndex): string | null {
  for (let i = 0; i + EXACT_W <= nums.length; i++) {
    const w = nums.slice(i, i + EXACT_W);
    if (!trivialExact(w) && ix.exact.has(w.map(bits).join(','))) return `numbers ${i}..${i + EXACT_W - 1} equal ${EXACT_W} consecutive weights of the model (float32)`;
  }
  for (let i = 0; i + ROUND_W <= nums.length; i++) {
    const w = nums.slice(i, i + ROUND_W).map(q3);
    if (!trivialRounded(w) && ix.rounded.has(w.join(','))) return `numbers ${i}..${i + ROUND_W - 1} equal ${ROUND_W} consecutive weights of the model rounded to 3 decimals`;
  }
  return null;
}

export interface ReleasedOutput {
  value: JsonValue;
  /** RFC 8785 text of the value: what is counted and digested. */
  text: string;
  bytes: number;
}

/**
 * Runs every rule over a job's outputs. `found` holds the parsed output files (absent names are
 * missing); returns the released outputs or the first refusal.
 */
export function inspectOutputs(declared: Record<string, OutputSchema>, found: Record<string, JsonValue | undefined>, ix: WeightIndex, limits: AirlockLimits = DEFAULT_AIRLOCK): { ok: true; outputs: Record<string, ReleasedOutput>; bytes: number } | { ok: false; refusal: Refusal } {
  const outputs: Record<string, ReleasedOutput> = {};
  let total = 0;
  let numbers = 0;
  for (const [name, schema] of Object.entries(declared)) {
    const no = (code: Refusal['code'], message: string) => ({ ok: false as const, refusal: { code, output: name, message: `output "${name}": ${message}` } });
    if (!Object.hasOwn(found, name) || found[name] === undefined) return no('missing_output', 'declared but the job did not write it (wb.emit)');
    const value = found[name]!;
    const text = canonicalJson(value);
    const bytes = Buffer.byteLength(text);
    if (bytes > limits.maxOutputBytes) return no('output_too_large', `${bytes} bytes, the cap per output is ${limits.maxOutputBytes}`);
    total += bytes;
    if (total > limits.maxJobBytes) return no('job_outputs_too_large', `the job's outputs reach ${total} bytes, the cap per job is ${limits.maxJobBytes}`);
    const bad = checkSchema(value, schema);
    if (bad) return no('schema', `does not match its declared schema: ${bad}`);
    const nums: number[] = [];
    const strings: string[] = [];
    const arrays: JsonValue[] = [];
    walk(value, nums, strings, arrays);
    for (const a of arrays) {
      const s = shapeOf(a);
      if (s && s.length >= 1 && s.reduce((x, y) => x * y, 1) >= 256 && ix.shapes.has(s.join('x'))) return no('weight_shape', `an array of shape [${s.join(', ')}], the shape of a weight tensor`);
    }
    const wv = weightValuesProblem(nums, ix);
    if (wv) return no('weight_values', wv);
    for (const s of strings) {
      const e = encodedProblem(s, ix);
      if (e) return no('encoded_data', e);
    }
    numbers += nums.length;
    if (numbers > limits.maxNumbers) return no('too_many_numbers', `the job's outputs hold ${numbers} numbers, the cap per job is ${limits.maxNumbers}`);
    outputs[name] = { value, text, bytes };
  }
  return { ok: true, outputs, bytes: total };
}

/**
 * What the tester is told about an airlock refusal: the rule, the output's name and the configured
 * limit — never a quantity the job controls (a measured size, an index, a path in the value), which
 * would be a channel around the cumulative cap. The detailed message stays in the enclave's ledger.
 */
export function publicRefusal(r: Pick<Refusal, 'code' | 'output'> | { code: 'release_cap'; output?: string }, limits: AirlockLimits & { releaseCap?: number }): string {
  const o = r.output ? `output "${r.output}"` : 'the outputs';
  const why: Record<string, string> = {
    missing_output: `${o} was declared but not written as a regular file (wb.emit)`,
    output_too_large: `${o} is over the cap of ${limits.maxOutputBytes} bytes per output`,
    job_outputs_too_large: `the outputs are over the cap of ${limits.maxJobBytes} bytes per job`,
    schema: `${o} is not valid JSON matching its declared schema`,
    weight_shape: `${o} holds an array shaped like a weight tensor`,
    weight_values: `${o} holds values equal to consecutive weights of the model`,
    encoded_data: `${o} holds encoded binary data (base64/hex) or bytes of the weights`,
    too_many_numbers: `the outputs hold more than ${limits.maxNumbers} numbers`,
    release_cap: `releasing them would take this grant past its cumulative cap of ${limits.releaseCap ?? '?'} bytes`,
  };
  return `airlock: ${why[r.code] ?? r.code}; nothing was released`;
}
