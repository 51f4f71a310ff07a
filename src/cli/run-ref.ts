import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * A run given as a log path or a run id (or unique prefix). A path needs nothing more; an id is
 * looked up in the run index by the run commands' module, loaded only then, so `assay stats
 * <log>` does not load the engine, the HTTP client and the model adapters (issue 22).
 */
export async function resolveRunRef(ref: string): Promise<string> {
  if (existsSync(ref)) return resolve(ref);
  return (await import('./commands/run.js')).resolveRunLog(ref);
}
