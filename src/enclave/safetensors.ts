import { AssayError } from '../common/errors.js';

/**
 * A small reader and writer for the safetensors format (Hugging Face): an 8-byte little-endian
 * header length N, N bytes of JSON header `{name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__"?: {string: string}}`, then the tensors' bytes (offsets relative to the end of the
 * header). Only F32 tensors are read as numbers here (the test model's dtype; GPT-2's published
 * weights are F32 too); other dtypes are listed but refused by `tensor()` with the reason.
 */

export interface TensorInfo {
  dtype: string;
  shape: number[];
  /** Byte range in the file (absolute). */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  bytes: Buffer;
}

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const MAX_HEADER = 100 << 20;

/** Parses and checks a safetensors file: header bounds, dtypes, shapes against byte sizes, contiguous non-overlapping data. */
export function readSafetensors(bytes: Buffer, file = '(buffer)'): SafetensorsFile {
  const bad = (m: string): never => {
    throw new AssayError('SAFETENSORS', m, { file });
  };
  if (bytes.length < 8) bad('file shorter than the 8-byte header length');
  const n = bytes.readBigUInt64LE(0);
  if (n > BigInt(Math.min(MAX_HEADER, bytes.length - 8))) bad(`header length ${n} runs past the end of the file (${bytes.length} bytes) or over ${MAX_HEADER}`);
  const hlen = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + hlen).toString('utf8'));
  } catch (e) {
    return bad(`header is not JSON: ${(e as Error).message}`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) return bad('header is not a JSON object');
  const base = 8 + hlen;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!v || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) bad('__metadata__ must map strings to strings');
      metadata = v as Record<string, string>;
      continue;
    }
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!t || typeof t !== 'object') bad(`tensor "${name}": not an object`);
    if (typeof t.dtype !== 'string' || !(t.dtype in DTYPE_BYTES)) bad(`tensor "${name}": unknown dtype ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isInteger(d) || d < 0)) bad(`tensor "${name}": shape must be a list of non-negative integers`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || off.some((d) => !Number.isInteger(d) || d < 0) || off[0] > off[1]) bad(`tensor "${name}": data_offsets must be [begin, end] with 0 <= begin <= end`);
    const [b, e] = off as [number, number];
    const shape = t.shape as number[];
    const want = shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[t.dtype as string]!;
    if (e - b !== want) bad(`tensor "${name}": shape ${JSON.stringify(shape)} of ${t.dtype} needs ${want} bytes, data_offsets give ${e - b}`);
    if (base + e > bytes.length) bad(`tensor "${name}": data runs past the end of the file`);
    tensors.set(name, { dtype: t.dtype as string, shape, begin: base + b, end: base + e });
    ranges.push([b, e, name]);
  }
  ranges.sort((x, y) => x[0] - y[0]);
  let at = 0;
  for (const [b, e, name] of ranges) {
    if (b !== at) bad(`tensor "${name}": data starts at ${b}, expected ${at} (gap or overlap)`);
    at = e;
  }
  if (base + at !== bytes.length) bad(`${bytes.length - base - at} bytes after the last tensor`);
  return { tensors, metadata, bytes };
}

/** One tensor's values as float32 (a copy, aligned). */
export function tensorF32(f: SafetensorsFile, name: string): { shape: number[]; data: Float32Array } {
  const t = f.tensors.get(name);
  if (!t) throw new AssayError('SAFETENSORS', `no tensor named "${name}"`);
  if (t.dtype !== 'F32') throw new AssayError('SAFETENSORS', `tensor "${name}" is ${t.dtype}; this reader reads F32 only`);
  const copy = Buffer.from(f.bytes.subarray(t.begin, t.end));
  return { shape: t.shape, data: new Float32Array(copy.buffer, copy.byteOffset, copy.length / 4) };
}

/** Writes F32 tensors (sorted by name, 8-byte aligned header as the reference implementation pads). */
export function writeSafetensors(tensors: Record<string, { shape: number[]; data: Float32Array }>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let at = 0;
  const names = Object.keys(tensors).sort();
  for (const n of names) {
    const t = tensors[n]!;
    const size = t.data.length * 4;
    if (t.shape.reduce((a, d) => a * d, 1) !== t.data.length) throw new AssayError('SAFETENSORS', `tensor "${n}": shape ${JSON.stringify(t.shape)} does not hold ${t.data.length} values`);
    header[n] = { dtype: 'F32', shape: t.shape, data_offsets: [at, at + size] };
    at += size;
  }
  let h = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (h.length % 8)) % 8;
  if (pad) h = Buffer.concat([h, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  const body = Buffer.alloc(at);
  at = 0;
  for (const n of names) {
    const d = tensors[n]!.data;
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(body, at);
    at += d.byteLength;
  }
  return Buffer.concat([len, h, body]);
}
