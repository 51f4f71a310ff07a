import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { AssayError } from '../common/errors.js';
import { digestJson } from '../common/canonical.js';
import { parseSuiteFile } from './schema.js';
import { checkTemplate } from './template.js';
import { streamSamples } from './dataset.js';
import type { LoadedSuite, SuiteDefinition } from './types.js';

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

/** Load and validate a suite file; errors name the file, the YAML line where known, and the field. */
export async function loadSuite(path: string): Promise<LoadedSuite> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new AssayError('SUITE_NOT_FOUND', `cannot read suite file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    const err = doc.errors[0]!;
    throw new AssayError('SUITE_YAML', `YAML error: ${err.message.split('\n')[0]}`, { file, line: lc.linePos(err.pos[0]).line });
  }
  const parsed = parseSuiteFile(doc.toJS());
  if (!parsed.ok) {
    const issue = parsed.issues[0]!;
    // Point at the deepest YAML node that exists along the issue's path.
    let line: number | undefined;
    for (let n = issue.path.length; n >= 0 && line === undefined; n--) {
      const node = doc.getIn(issue.path.slice(0, n), true);
      if (isNode(node) && node.range) line = lc.linePos(node.range[0]).line;
    }
    const more = parsed.issues.length > 1 ? ` (and ${parsed.issues.length - 1} more problem${parsed.issues.length > 2 ? 's' : ''})` : '';
    throw new AssayError('SUITE_INVALID', issue.message + more, { file, ...(line !== undefined ? { line } : {}), field: issue.path.join('.') || '(root)' });
  }
  return loadSuiteFromDefinition(parsed.def, dirname(file), file);
}

/** The TypeScript API: a definition (e.g. from defineSuite) whose relative paths resolve against dir. */
export async function loadSuiteFromDefinition(def: SuiteDefinition, dir: string, file = join(dir, '<api>')): Promise<LoadedSuite> {
  checkTemplate(def.template, def.dataset.fields, file);
  const methodology = resolve(dir, def.methodology);
  if (!existsSync(methodology)) throw new AssayError('SUITE_INVALID', `methodology file not found: ${methodology}`, { file, field: 'methodology' });
  const dataFile = resolve(dir, def.dataset.path);
  if (!existsSync(dataFile) || !statSync(dataFile).isFile()) throw new AssayError('SUITE_INVALID', `dataset file not found: ${dataFile}`, { file, field: 'dataset.path' });
  const dataDigests = { [def.dataset.path]: await fileSha256(dataFile) };
  return {
    def,
    file,
    dir,
    digest: suiteDigest(def, dataDigests),
    dataDigests,
    samples: () => streamSamples(dataFile, def.dataset),
  };
}

/** Suite files under a directory: each immediate subfolder with a suite.yaml. */
export function findSuites(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'suite.yaml')))
    .map((d) => join(dir, d.name, 'suite.yaml'))
    .sort();
}
