import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { AssayError } from '../common/errors.js';
import { RUN_LOG_SCHEMA, type RunHeader, type RunLogRecord, type SampleRecord } from './types.js';

export interface ReadOptions {
  /**
   * A log cut off by a crash may end in a partial line. By default that torn tail is skipped
   * (it was never acknowledged); a malformed line anywhere else is an error.
   */
  allowTornTail?: boolean;
}

/** Streams the records of a run log in order, validating the header. Constant memory. */
export async function* iterateRunLog(path: string, opts: ReadOptions = {}): AsyncGenerator<RunLogRecord> {
  const allowTorn = opts.allowTornTail ?? true;
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNo = 0;
  let pendingError: AssayError | null = null;
  for await (const line of rl) {
    lineNo++;
    if (pendingError) throw pendingError; // a bad line followed by more lines is corruption, not a torn tail
    if (line.length === 0) continue;
    let rec: RunLogRecord;
    try {
      rec = JSON.parse(line) as RunLogRecord;
    } catch {
      pendingError = new AssayError('RUN_LOG_CORRUPT', 'line is not valid JSON (corrupt run log)', { file: path, line: lineNo });
      continue;
    }
    if (lineNo === 1) checkHeader(rec, path);
    else if (rec.type === 'header') throw new AssayError('RUN_LOG_CORRUPT', 'second header in run log', { file: path, line: lineNo });
    yield rec;
  }
  if (pendingError && !allowTorn) throw pendingError;
  if (lineNo === 0) throw new AssayError('RUN_LOG_EMPTY', 'run log is empty', { file: path });
}

function checkHeader(rec: RunLogRecord, path: string): asserts rec is RunHeader {
  if (rec.type !== 'header') throw new AssayError('RUN_LOG_CORRUPT', 'first line is not a run header', { file: path, line: 1 });
  if (rec.schema !== RUN_LOG_SCHEMA)
    throw new AssayError('RUN_LOG_SCHEMA', `unsupported run log schema "${String(rec.schema)}" (expected ${RUN_LOG_SCHEMA})`, { file: path, line: 1, field: 'schema' });
}

/** Reads the header only. */
export async function readRunHeader(path: string): Promise<RunHeader> {
  for await (const rec of iterateRunLog(path)) return rec as RunHeader;
  throw new AssayError('RUN_LOG_EMPTY', 'run log is empty', { file: path });
}

/**
 * Streams sample records. Each key appears at most once in a well-formed log; if a key is
 * repeated (e.g. a distributed worker wrote twice), the first record wins, matching resume.
 */
export async function* iterateSamples(path: string): AsyncGenerator<SampleRecord> {
  const seen = new Set<string>();
  for await (const rec of iterateRunLog(path)) {
    if (rec.type !== 'sample') continue;
    if (seen.has(rec.key)) continue;
    seen.add(rec.key);
    yield rec;
  }
}
