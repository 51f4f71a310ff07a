import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { AssayError } from '../../common/errors.js';
import { loadSuite } from '../load.js';
import type { SuiteFile } from '../schema.js';
import type { ImportOptions, Importer, ImportResult } from './types.js';

/** "sha256:<hex>" of a file's bytes, and the bytes. */
export async function readWithDigest(file: string): Promise<{ bytes: Buffer; sha256: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new AssayError('IMPORT_UNREADABLE', `cannot read: ${(e as Error).message}`, { file });
  }
  return { bytes, sha256: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

/** Python's str.strip() whitespace (str.isspace), which differs from JS trim() in \x1c–\x1f, \x85 and \ufeff. */
const PY_WS = '[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PY_STRIP = new RegExp(`^${PY_WS}+|${PY_WS}+$`, 'g');
export const pyStrip = (s: string) => s.replace(PY_STRIP, '');

/** Refuse to write into a non-empty folder unless forced: an import must not mix with other files. */
async function prepareOut(out: string, force: boolean | undefined): Promise<void> {
  let entries: string[] = [];
  try {
    entries = await readdir(out);
  } catch {
    // absent: created below
  }
  if (entries.length && !force) throw new AssayError('IMPORT_OUT_EXISTS', `output folder is not empty (${entries.length} entries); pass --force to overwrite`, { file: out });
  await mkdir(out, { recursive: true });
}

export interface SuiteToWrite {
  suite: SuiteFile;
  records: Record<string, unknown>[];
  methodology: string;
  /** Written as .gitignore in the folder: imported third-party data must not be committed or redistributed by accident. */
  ignoreAll?: boolean;
}

/** Writes data.jsonl, suite.yaml and METHODOLOGY.md, then loads the suite back and reads every sample (so a bad import fails here). */
export async function writeSuite(opts: ImportOptions, w: SuiteToWrite, notes: string[]): Promise<ImportResult> {
  const out = resolve(opts.out);
  await prepareOut(out, opts.force);
  const dataFile = join(out, 'data.jsonl');
  await writeFile(dataFile, w.records.map((r) => JSON.stringify(r)).join('\n') + (w.records.length ? '\n' : ''));
  await writeFile(join(out, 'METHODOLOGY.md'), w.methodology);
  const suiteFile = join(out, 'suite.yaml');
  await writeFile(suiteFile, `# Written by \`assay suite import\`. Edit freely; the data file is the import.\n${stringify(w.suite, { lineWidth: 0 })}`);
  if (w.ignoreAll) await writeFile(join(out, '.gitignore'), '# Imported third-party data: keep it out of version control and do not redistribute.\n*\n');
  const loaded = await loadSuite(suiteFile);
  let n = 0;
  for await (const _ of loaded.samples()) n++;
  return { suiteFile, dataFile, rows: n, notes };
}

/** A slug segment from a file name: "wmdp-bio.parquet" → "wmdp-bio". */
export function slugFrom(file: string): string {
  return (
    basename(file)
      .replace(/\.[^.]+$/, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'data'
  );
}

/** Rejects --set keys the importer does not read. */
export function checkParams(importer: Pick<Importer, 'params'>, params: Record<string, string>, format: string): void {
  for (const k of Object.keys(params))
    if (!(k in importer.params)) throw new AssayError('IMPORT_BAD_OPTION', `importer "${format}" has no option "${k}" (options: ${Object.keys(importer.params).join(', ') || 'none'})`, { field: `--set ${k}` });
}
