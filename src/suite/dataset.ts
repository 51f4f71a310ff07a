import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse as csvParse } from 'csv-parse';
import streamArray from 'stream-json/streamers/stream-array.js';
import { AssayError, type Location } from '../common/errors.js';
import { canonicalJson, sha256Hex } from '../common/canonical.js';
import type { ChatMessage } from '../model/types.js';
import type { DatasetSpec, Sample } from './types.js';

/** A raw record with where it came from. */
interface RawRecord {
  value: unknown;
  loc: Location;
}

async function* readJsonl(file: string): AsyncGenerator<RawRecord> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new AssayError('DATASET_INVALID', `not valid JSON: ${(e as Error).message}`, { file, line });
    }
    yield { value, loc: { file, line } };
  }
}

async function* readCsv(file: string): AsyncGenerator<RawRecord> {
  const parser = createReadStream(file).pipe(csvParse({ columns: true, info: true, bom: true, skip_empty_lines: true, relax_column_count: false }));
  let row = 0;
  try {
    for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      row++;
      yield { value: item.record, loc: { file, row, line: item.info.lines } };
    }
  } catch (e) {
    if (e instanceof AssayError) throw e;
    const err = e as Error & { lines?: number };
    throw new AssayError('DATASET_INVALID', `CSV error: ${err.message}`, { file, ...(err.lines !== undefined ? { line: err.lines } : {}) });
  }
}

async function* readJsonArray(file: string): AsyncGenerator<RawRecord> {
  const stream = createReadStream(file).pipe(streamArray.withParserAsStream());
  try {
    for await (const item of stream as AsyncIterable<{ key: number; value: unknown }>) {
      yield { value: item.value, loc: { file, row: item.key + 1 } };
    }
  } catch (e) {
    if (e instanceof AssayError) throw e;
    throw new AssayError('DATASET_INVALID', `JSON error (expected a top-level array of records): ${(e as Error).message}`, { file });
  }
}

export function readRecords(file: string, format: DatasetSpec['format']): AsyncGenerator<RawRecord> {
  switch (format) {
    case 'jsonl':
      return readJsonl(file);
    case 'csv':
      return readCsv(file);
    case 'json':
      return readJsonArray(file);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseChoices(v: unknown, loc: Location): string[] {
  let arr = v;
  if (typeof v === 'string') {
    const t = v.trim();
    if (t.startsWith('[')) {
      try {
        arr = JSON.parse(t);
      } catch {
        throw new AssayError('DATASET_INVALID', 'choices look like a JSON array but do not parse', loc);
      }
    } else arr = t.split('|').map((s) => s.trim());
  }
  if (!Array.isArray(arr) || arr.length < 2) throw new AssayError('DATASET_INVALID', 'choices must be a list of at least 2 options', loc);
  return arr.map((c, i) => {
    if (typeof c === 'string') return c;
    if (typeof c === 'number' || typeof c === 'boolean') return String(c);
    throw new AssayError('DATASET_INVALID', `choice ${i} is not a string`, loc);
  });
}

function parseInput(v: unknown, loc: Location): string | ChatMessage[] {
  if (typeof v === 'string') {
    if (v.length === 0) throw new AssayError('DATASET_INVALID', 'input is empty', loc);
    return v;
  }
  if (Array.isArray(v) && v.length > 0 && v.every((m) => isObj(m) && ['system', 'user', 'assistant'].includes(m.role as string) && typeof m.content === 'string'))
    return v.map((m) => ({ role: (m as ChatMessage).role, content: (m as ChatMessage).content }));
  throw new AssayError('DATASET_INVALID', 'input must be a non-empty string or a list of {role, content} messages', loc);
}

function scalar(v: unknown, loc: Location): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new AssayError('DATASET_INVALID', 'expected a string or number', loc);
}

/** Map one record to a Sample per the suite's field mapping; errors name the file, line/row and field. */
export function toSample(rec: RawRecord, fields: DatasetSpec['fields']): Sample {
  if (!isObj(rec.value)) throw new AssayError('DATASET_INVALID', 'record is not an object', rec.loc);
  const v = rec.value;
  const at = (field: string): Location => ({ ...rec.loc, field });
  const get = (name: string, required: boolean) => {
    const x = v[name];
    if ((x === undefined || x === null || x === '') && required) throw new AssayError('DATASET_INVALID', 'required field is missing', at(name));
    return x === null || x === '' ? undefined : x;
  };
  const input = parseInput(get(fields.input, true), at(fields.input));
  const sample: Omit<Sample, 'id'> = { input, metadata: {}, source: { file: rec.loc.file!, ...(rec.loc.line !== undefined ? { line: rec.loc.line } : {}), ...(rec.loc.row !== undefined ? { row: rec.loc.row } : {}) } };
  if (fields.target) {
    const t = get(fields.target, false);
    if (t !== undefined) sample.target = Array.isArray(t) ? t.map((x) => scalar(x, at(fields.target!))) : scalar(t, at(fields.target));
  }
  if (fields.choices) sample.choices = parseChoices(get(fields.choices, true), at(fields.choices));
  if (fields.cluster) {
    const c = get(fields.cluster, true);
    sample.cluster = scalar(c, at(fields.cluster));
  }
  for (const m of fields.metadata ?? []) if (v[m] !== undefined) sample.metadata[m] = v[m];
  let id: string;
  if (fields.id) id = scalar(get(fields.id, true), at(fields.id));
  else {
    // Derived from content, so the same item has the same id on every machine and in every order.
    const { source: _s, ...content } = sample;
    id = `h-${sha256Hex(canonicalJson(content)).slice(0, 16)}`;
  }
  return { id, ...sample };
}

/** Streams samples, rejecting duplicate ids (only the ids are kept in memory). */
export async function* streamSamples(file: string, spec: DatasetSpec): AsyncGenerator<Sample> {
  const seen = new Set<string>();
  for await (const rec of readRecords(file, spec.format)) {
    const s = toSample(rec, spec.fields);
    if (seen.has(s.id)) throw new AssayError('DATASET_INVALID', `duplicate sample id "${s.id}"`, { ...rec.loc, field: spec.fields.id ?? 'id' });
    seen.add(s.id);
    yield s;
  }
}
