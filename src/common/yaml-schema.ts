import { LineCounter, parseDocument, isMap, isScalar, isSeq } from 'yaml';
import type * as z from 'zod';
import { AssayError } from './errors.js';

/**
 * YAML files validated by a zod schema (policies, model facts, tamper grids): every problem is
 * located by file, YAML line and field, unknown keys first (a misspelt key usually explains the
 * "missing" one).
 */
type Path = readonly (string | number)[];

/** Friendlier wording for type errors; YAML reads 1.0 as a number and yes/no as booleans. */
export const yamlErrorMap: z.core.$ZodErrorMap = (iss) => {
  if (iss.code === 'invalid_type') {
    if (iss.input === undefined) return 'required field is missing';
    const got = iss.input === null ? 'null' : Array.isArray(iss.input) ? 'array' : typeof iss.input;
    const hint = iss.expected === 'string' && (got === 'number' || got === 'boolean') ? ` (quote it in YAML: "${String(iss.input)}")` : '';
    return `expected ${iss.expected}, got ${got}${hint}`;
  }
  return undefined;
};

/** 1-based line of the deepest YAML node along a path (the key's line for a mapping entry). */
function lineOf(contents: unknown, path: Path, lc: LineCounter): number | undefined {
  const rangeStart = (n: unknown): number | undefined => {
    const r = (n as { range?: unknown } | null)?.range;
    return Array.isArray(r) ? (r[0] as number) : undefined;
  };
  let node: unknown = contents;
  let at = rangeStart(node);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) break;
      at = rangeStart(pair.key) ?? at;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      at = rangeStart(node) ?? at;
    } else break;
  }
  return at === undefined ? undefined : lc.linePos(at).line;
}

/** Parses YAML text and validates it with a schema; every problem is located (file:line, field). */
export function parseYamlWith<S extends z.ZodType>(schema: S, text: string, file: string, code: string, what: string, errorMap: z.core.$ZodErrorMap = yamlErrorMap): z.output<S> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    const err = doc.errors[0]!;
    throw new AssayError(`${code}_YAML`, `YAML error: ${err.message.split('\n')[0]}`, { file, line: lc.linePos(err.pos[0]).line });
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new AssayError(`${code}_YAML`, `YAML error: ${(e as Error).message}`, { file });
  }
  if (raw === null || raw === undefined) throw new AssayError(`${code}_INVALID`, `the ${what} file is empty`, { file });
  const r = schema.safeParse(raw, { error: errorMap });
  if (r.success) return r.data;
  // Unknown keys first: a misspelt key usually explains the "missing" one.
  const issues = r.error.issues
    .flatMap((i) => {
      const path = i.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      if (i.code === 'unrecognized_keys') return i.keys.map((k) => ({ path: [...path, k], message: `unknown key "${k}"`, unknown: true }));
      return [{ path, message: i.message, unknown: false }];
    })
    .sort((a, b) => Number(b.unknown) - Number(a.unknown));
  const loc = (p: Path) => {
    const line = lineOf(doc.contents, p, lc);
    return { file, ...(line !== undefined ? { line } : {}), field: p.join('.') || '(root)' };
  };
  const [first, ...rest] = issues;
  const more = rest.map((i) => {
    const l = loc(i.path);
    return `\n  also ${l.line !== undefined ? `line ${l.line}, ` : ''}field "${l.field}": ${i.message}`;
  });
  throw new AssayError(`${code}_INVALID`, `${first!.message}${more.join('')}`, loc(first!.path));
}

