import { createReadStream } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Node as YamlNode } from 'yaml';
import { AssayError } from '../common/errors.js';
import { digestJson } from '../common/canonical.js';
import { issuesError, parseSuiteFile, toSuiteFile, type SchemaIssue } from './schema.js';
import { templatePlaceholders } from './template.js';
import { streamSamples, type SampleOptions } from './dataset.js';
import type { LoadedSuite, SuiteDefinition } from './types.js';

/** "sha256:<hex>" of a file's bytes, read as a stream. */
export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

/**
 * The suite digest: SHA-256 over the RFC 8785 canonical JSON of
 * {"definition": <validated definition>, "data": {<path as written>: "sha256:<hex of file bytes>"}}.
 * YAML formatting, key order and comments do not change it; any change to data or definition does.
 */
export function suiteDigest(def: SuiteDefinition, dataDigests: Record<string, string>): string {
  return digestJson({ definition: def, data: dataDigests });
}

/** 1-based line of the deepest YAML node along a path: the key's line for a mapping entry. */
function yamlLine(contents: unknown, path: readonly (string | number)[], lc: LineCounter): number | undefined {
  let node: unknown = contents;
  let line = isNodeWithRange(node) ? lc.linePos(node.range[0]).line : undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) break;
      if (isNodeWithRange(pair.key)) line = lc.linePos(pair.key.range[0]).line;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (isNodeWithRange(node)) line = lc.linePos(node.range[0]).line;
    } else break;
  }
  return line;
}

function isNodeWithRange(n: unknown): n is YamlNode & { range: [number, number, number] } {
  return typeof n === 'object' && n !== null && Array.isArray((n as { range?: unknown }).range);
}

/** Parse and validate a suite file's text; errors name the file, the YAML line where known, and the field. */
export function parseSuiteYaml(text: string, file: string): SuiteDefinition {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    const err = doc.errors[0]!;
    throw new AssayError('SUITE_YAML', `YAML error: ${err.message.split('\n')[0]}`, { file, line: lc.linePos(err.pos[0]).line });
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new AssayError('SUITE_YAML', `YAML error: ${(e as Error).message}`, { file });
  }
  if (raw === null || raw === undefined) throw new AssayError('SUITE_INVALID', 'the suite file is empty', { file });
  const parsed = parseSuiteFile(raw);
  if (!parsed.ok) throw issuesError(parsed.issues, file, (path: SchemaIssue['path']) => yamlLine(doc.contents, path, lc));
  return parsed.def;
}

/** Load and validate a suite file: definition, data file digest, and a streaming sample reader. */
export async function loadSuite(path: string): Promise<LoadedSuite> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new AssayError('SUITE_NOT_FOUND', `cannot read suite file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
  return prepare(parseSuiteYaml(text, file), dirname(file), file);
}

/**
 * The TypeScript API: a definition (e.g. from defineSuite) whose relative paths resolve against dir.
 * It is validated again as if it had been written in YAML, so hand-built objects get the same checks.
 */
export async function loadSuiteFromDefinition(def: SuiteDefinition, dir: string, file = join(resolve(dir), '<api>')): Promise<LoadedSuite> {
  const parsed = parseSuiteFile(toSuiteFile(def));
  if (!parsed.ok) throw issuesError(parsed.issues, file);
  return prepare(parsed.def, resolve(dir), file);
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Reader options that follow from the definition (and are applied to every read of the data). */
export function sampleOptions(def: SuiteDefinition): SampleOptions {
  const used = new Set(templatePlaceholders(def.template));
  return { multipleChoice: def.solver.type === 'multiple_choice', requiredMetadata: (def.dataset.fields.metadata ?? []).filter((m) => used.has(m)) };
}

async function prepare(def: SuiteDefinition, dir: string, file: string): Promise<LoadedSuite> {
  const methodology = resolve(dir, def.methodology);
  if (!(await isFile(methodology))) throw new AssayError('SUITE_FILE_MISSING', `methodology file not found: ${methodology}`, { file, field: 'methodology' });
  const dataFile = resolve(dir, def.dataset.path);
  if (!(await isFile(dataFile))) throw new AssayError('SUITE_FILE_MISSING', `data file not found: ${dataFile}`, { file, field: 'dataset.path' });
  const dataDigests = { [def.dataset.path]: await fileSha256(dataFile) };
  const opts = sampleOptions(def);
  const samples = () => streamSamples(dataFile, def.dataset, opts);
  return {
    def,
    file,
    dir,
    digest: suiteDigest(def, dataDigests),
    dataDigests,
    samples,
    countSamples: (max?: number) => countRecords(dataFile, def.dataset.format, samples, max),
  };
}

/**
 * Count records; for JSONL, non-blank lines by a byte scan (no parsing), else by streaming.
 * Stops early at `max` (a run's --limit needs no more).
 */
async function countRecords(file: string, format: string, stream: () => AsyncIterable<unknown>, max = Infinity): Promise<number> {
  let n = 0;
  if (format === 'jsonl') {
    // indexOf finds line ends natively; only the start of each line is inspected for content,
    // so the cost is per line, not per byte.
    let content = false;
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      const buf = chunk as Buffer;
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(0x0a, start);
        const end = nl < 0 ? buf.length : nl;
        for (let i = start; !content && i < end; i++) {
          const b = buf[i]!;
          if (b !== 0x20 && b !== 0x09 && b !== 0x0d) content = true;
        }
        if (nl < 0) break;
        if (content && ++n >= max) return n;
        content = false;
        start = nl + 1;
      }
    }
    return content ? Math.min(n + 1, max) : n;
  }
  for await (const _ of stream()) if (++n >= max) break;
  return n;
}

/** Suite files under a directory: each immediate subfolder holding a suite.yaml, sorted by path. */
export async function findSuites(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: string[] = [];
  for (const d of entries) {
    const f = join(dir, d.name, 'suite.yaml');
    if (d.isDirectory() && (await isFile(f))) out.push(f);
  }
  return out.sort();
}
