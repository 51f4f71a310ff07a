import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream';
import { AssayError, type Location } from '../common/errors.js';
import { canonicalJson, sha256Hex } from '../common/canonical.js';
import type { ChatMessage } from '../model/types.js';
import { MAX_CHOICES, resolveTarget } from './choices.js';
import type { DatasetSpec, Sample } from './types.js';
import { utf8Checked } from './utf8.js';

/** A raw record and where it came from: JSONL line, or CSV/JSON 1-based record number (CSV also its line). */
export interface RawRecord {
  value: unknown;
  loc: Location & { file: string };
}

/** A location, or how to build one: the hot path builds none unless a record is bad. */
type Where = Location | (() => Location);
const locate = (w: Where): Location => (typeof w === 'function' ? w() : w);
const invalid = (problem: string, where: Where) => new AssayError('DATASET_INVALID', problem, locate(where));
const cannotRead = (file: string, e: unknown) =>
  new AssayError('DATASET_UNREADABLE', `cannot read data file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });

async function* readJsonl(file: string): AsyncGenerator<RawRecord> {
  const src = createReadStream(file);
  // Invalid UTF-8 is an error naming the line, never replaced with U+FFFD (suite/utf8.ts).
  const input = utf8Checked(file);
  input.setEncoding('utf8');
  const rl = createInterface({ input, crlfDelay: Infinity });
  // readline does not forward its input's errors; its async iterator rejects on the interface's own 'error'.
  // A read or encoding error ends the lines; it is thrown where they stop (not emitted on readline,
  // whose iterator may already have finished).
  let stopped = false;
  let failure: Error | null = null;
  const wrap = (e: unknown) => (e instanceof AssayError ? e : cannotRead(file, e));
  pipeline(src, input, (e) => {
    if (e && !stopped) {
      failure = wrap(e);
      rl.close();
    }
  });
  let line = 0;
  try {
    for await (let text of rl) {
      if (failure) throw failure;
      line++;
      if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        throw invalid(`line is not valid JSON: ${(e as Error).message}`, { file, line });
      }
      yield { value, loc: { file, line } };
    }
    const err = failure ?? input.errored ?? src.errored;
    if (err) throw wrap(err);
  } finally {
    // The consumer may stop early (--limit): release the file now, not at GC.
    stopped = true;
    rl.close();
    src.destroy();
    input.destroy();
  }
}

// The CSV and JSON-array parsers load with the first file that needs them: a JSONL run does not
// carry them (stream-json alone is ~7 MB of RSS).
async function* readCsv(file: string, spec: DatasetSpec): AsyncGenerator<RawRecord> {
  const { parse: csvParse } = await import('csv-parse');
  const wanted = mappedFields(spec.fields);
  const parser = csvParse({
    bom: true,
    info: true,
    skip_empty_lines: true,
    // Check the header once, so a misspelt column fails at line 1 rather than as "missing" on every row.
    columns: (header: string[]) => {
      const seen = new Set<string>();
      for (const h of header) {
        if (seen.has(h)) throw invalid(`duplicate column "${h}" in the header`, { file, line: 1, row: 0 });
        seen.add(h);
      }
      for (const { field, name } of wanted)
        if (!seen.has(name)) throw invalid(`column "${name}" is not in the header (columns: ${header.join(', ')})`, { file, line: 1, field: `dataset.fields.${field}` });
      return header;
    },
  });
  const src = createReadStream(file);
  // pipeline forwards a read error (and early destruction) to the parser, which the iterator then throws.
  pipeline(src, utf8Checked(file), parser, () => {});
  let row = 0;
  try {
    for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      row++;
      yield { value: item.record, loc: { file, row, line: item.info.lines } };
    }
  } catch (e) {
    if (e instanceof AssayError) throw e;
    const err = e as Error & { code?: string; lines?: number; records?: number };
    if (err.code && !err.code.startsWith('CSV_')) throw cannotRead(file, e);
    throw invalid(`CSV error: ${err.message}`, { file, ...(err.lines !== undefined ? { line: err.lines } : {}), ...(err.records !== undefined ? { row: err.records + 1 } : {}) });
  } finally {
    src.destroy();
    parser.destroy();
  }
}

async function* readJsonArray(file: string): AsyncGenerator<RawRecord> {
  const { default: streamArray } = await import('stream-json/streamers/stream-array.js');
  const src = createReadStream(file);
  const items = streamArray.withParserAsStream();
  pipeline(src, utf8Checked(file), items, () => {});
  let row = 0;
  try {
    for await (const item of items as AsyncIterable<{ key: number; value: unknown }>) {
      row = item.key + 1;
      yield { value: item.value, loc: { file, row } };
    }
  } catch (e) {
    if (e instanceof AssayError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code && code.startsWith('E')) throw cannotRead(file, e);
    throw invalid(`JSON error after row ${row} (expected one top-level array of records): ${(e as Error).message}`, { file });
  } finally {
    src.destroy();
    items.destroy();
  }
}

/** Raw records of a data file, streamed in file order. */
export function readRecords(file: string, spec: DatasetSpec): AsyncGenerator<RawRecord> {
  switch (spec.format) {
    case 'jsonl':
      return readJsonl(file);
    case 'csv':
      return readCsv(file, spec);
    case 'json':
      return readJsonArray(file);
  }
}

/** Every dataset column the mapping reads, with the mapping key that names it. */
function mappedFields(fields: DatasetSpec['fields']): { field: string; name: string }[] {
  const out: { field: string; name: string }[] = [];
  for (const k of ['id', 'input', 'target', 'choices', 'cluster'] as const) {
    const name = fields[k];
    if (name !== undefined) out.push({ field: k, name });
  }
  (fields.metadata ?? []).forEach((name, i) => out.push({ field: `metadata[${i}]`, name }));
  return out;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const ROLES = new Set(['system', 'user', 'assistant']);

function parseChoices(v: unknown, loc: Where): string[] {
  let arr = v;
  if (typeof v === 'string') {
    // CSV cells: a JSON array if it looks like one, else "a|b|c".
    const t = v.trim();
    if (t.startsWith('[')) {
      try {
        arr = JSON.parse(t);
      } catch {
        throw invalid('choices look like a JSON array but do not parse', loc);
      }
    } else arr = t.split('|').map((s) => s.trim());
  }
  if (!Array.isArray(arr)) throw invalid('choices must be a list (an array, or in CSV a JSON array or "a|b|c")', loc);
  if (arr.length < 2) throw invalid(`choices must have at least 2 options, got ${arr.length}`, loc);
  if (arr.length > MAX_CHOICES) throw invalid(`choices may have at most ${MAX_CHOICES} options (letters A–Z), got ${arr.length}`, loc);
  return arr.map((c, i) => {
    if (typeof c === 'string') return c;
    if (typeof c === 'number' || typeof c === 'boolean') return String(c);
    throw invalid(`choice ${i} must be a string, got ${describe(c)}`, loc);
  });
}

function parseInput(v: unknown, where: Where): string | ChatMessage[] {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const loc = locate(where);
    if (v.length === 0) throw invalid('input chat has no messages', loc);
    return v.map((m, i) => {
      const at = { ...loc, field: `${loc.field}[${i}]` };
      if (!isObj(m)) throw invalid(`chat message must be an object {role, content}, got ${describe(m)}`, at);
      if (typeof m.role !== 'string' || !ROLES.has(m.role)) throw invalid(`role must be system, user or assistant, got ${JSON.stringify(m.role)}`, { ...at, field: `${at.field}.role` });
      if (typeof m.content !== 'string') throw invalid(`content must be a string, got ${describe(m.content)}`, { ...at, field: `${at.field}.content` });
      return { role: m.role as ChatMessage['role'], content: m.content };
    });
  }
  throw invalid(`input must be a string or a list of {role, content} messages, got ${describe(v)}`, where);
}

function scalar(v: unknown, loc: Where, what = 'a string or number'): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw invalid(`expected ${what}, got ${describe(v)}`, loc);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : typeof v;
}

export interface SampleOptions {
  /** Resolve targets to choice indices ("0".."n-1"), rejecting ones that match no choice (multiple_choice solver). */
  multipleChoice?: boolean;
  /** Metadata fields every record must carry (those the template uses). */
  requiredMetadata?: readonly string[];
}

/** Derived id: "h-" + the first 16 hex digits of SHA-256 over the canonical JSON of the mapped content. */
export function derivedId(content: Omit<Sample, 'id' | 'source'>): string {
  return `h-${sha256Hex(canonicalJson(content)).slice(0, 16)}`;
}

/** Map one record to a Sample per the suite's field mapping; errors name the file, line/row and field. */
export function toSample(rec: RawRecord, fields: DatasetSpec['fields'], opts: SampleOptions = {}): Sample {
  if (!isObj(rec.value)) throw invalid(`record must be an object, got ${describe(rec.value)}`, rec.loc);
  const v = rec.value;
  const at = (field: string) => (): Location => ({ ...rec.loc, field });
  // null and "" count as absent: CSV has no other way to leave a cell out.
  const get = (name: string, required: boolean): unknown => {
    const x = v[name];
    const absent = x === undefined || x === null || x === '';
    if (absent && required) throw invalid(x === undefined ? 'required field is missing' : 'required field is empty', at(name));
    return absent ? undefined : x;
  };
  const content: Omit<Sample, 'id' | 'source'> = { input: parseInput(get(fields.input, true), at(fields.input)), metadata: {} };
  if (fields.choices) content.choices = parseChoices(get(fields.choices, true), at(fields.choices));
  if (fields.target) {
    const name = fields.target;
    const t = get(name, !!opts.multipleChoice && !!content.choices);
    if (t !== undefined) {
      const parts = Array.isArray(t) ? t : [t];
      if (parts.length === 0) throw invalid('target list is empty', at(name));
      const norm = parts.map((x) => {
        if (!opts.multipleChoice || !content.choices) return scalar(x, at(name));
        const r = resolveTarget(x, content.choices);
        if ('problem' in r) throw invalid(r.problem, at(name));
        return String(r.index);
      });
      content.target = Array.isArray(t) ? norm : norm[0]!;
    }
  }
  if (fields.cluster) content.cluster = scalar(get(fields.cluster, true), at(fields.cluster));
  for (const m of fields.metadata ?? []) {
    const x = v[m];
    if (x === undefined && opts.requiredMetadata?.includes(m)) throw invalid('required field is missing (the template uses it)', at(m));
    if (x !== undefined) content.metadata[m] = x;
  }
  // Derived from content, so an item keeps its id across machines, file order and re-encodings.
  const id = fields.id ? scalar(get(fields.id, true), at(fields.id)) : derivedId(content);
  const source: Sample['source'] = { file: rec.loc.file };
  if (rec.loc.line !== undefined) source.line = rec.loc.line;
  if (rec.loc.row !== undefined) source.row = rec.loc.row;
  return { id, ...content, source };
}

/** Streams samples in file order, rejecting duplicate ids. Memory: one record at a time plus the ids seen. */
export async function* streamSamples(file: string, spec: DatasetSpec, opts: SampleOptions = {}): AsyncGenerator<Sample> {
  // id -> where it first appeared (JSONL line, else record number): a number, not an object, per id.
  const seen = new Map<string, number>();
  const unit = spec.format === 'jsonl' ? 'line' : 'row';
  for await (const rec of readRecords(file, spec)) {
    const s = toSample(rec, spec.fields, opts);
    const first = seen.get(s.id);
    if (first !== undefined) {
      if (spec.fields.id) throw invalid(`duplicate sample id "${s.id}" (first at ${unit} ${first})`, { ...rec.loc, field: spec.fields.id });
      throw invalid(`duplicate sample: same content as ${unit} ${first} (derived id ${s.id}); map an id field to keep both`, rec.loc);
    }
    seen.set(s.id, (unit === 'line' ? rec.loc.line : rec.loc.row) ?? 0);
    yield s;
  }
}
