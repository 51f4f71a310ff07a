import { createReadStream } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { AssayError } from '../common/errors.js';
import { runsDir } from '../home.js';
import { accessAtLeast } from '../model/types.js';
import { createScorers } from '../score/registry.js';
import type { GraderModel } from '../score/types.js';
import { loadSuite } from '../suite/load.js';
import { ASSAY_VERSION } from '../version.js';
import { applyScorers, newRunId } from './engine.js';
import { iterateRunLog } from './log-reader.js';
import { RunLogWriter } from './log-writer.js';
import type { EndRecord, RunHeader } from './types.js';

async function fileDigest(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

export interface RescoreResult {
  runId: string;
  logPath: string;
  rescoreOf: string;
  status: EndRecord['status'];
  totalSamples: number;
  errored: number;
}

/**
 * Re-scores every sample record of a log from the log alone (no model calls) and writes a
 * new log whose header links to the source run by id and log digest. The source is untouched.
 */
export async function rescoreRun(srcPath: string, opts: { suiteFile?: string; out?: string; grader?: GraderModel } = {}): Promise<RescoreResult> {
  const logDigest = await fileDigest(srcPath);
  let srcHeader: RunHeader | null = null;
  let writer: RunLogWriter | null = null;
  let runId = '';
  let logPath = '';
  let total = 0;
  let errored = 0;
  let scorers: ReturnType<typeof createScorers> = [];
  let logprobsAllowed = false;
  // A re-scoring covers exactly what the source recorded, so it inherits the source's status.
  let srcStatus: EndRecord['status'] = 'interrupted';
  for await (const rec of iterateRunLog(srcPath)) {
    if (rec.type === 'header') {
      srcHeader = rec;
      let definition = rec.suite.definition;
      let digest = rec.suite.digest;
      if (opts.suiteFile) {
        const suite = await loadSuite(opts.suiteFile);
        const same = JSON.stringify(suite.dataDigests) === JSON.stringify(rec.suite.dataDigests);
        if (!same) throw new AssayError('RESCORE_DATA_MISMATCH', `suite ${opts.suiteFile} reads different data than the run (${JSON.stringify(rec.suite.dataDigests)})`, { file: opts.suiteFile });
        definition = suite.def;
        digest = suite.digest;
      }
      // Without a grader, model-graded scorers re-parse the grader answers recorded in the source log.
      scorers = createScorers(definition.scorers, opts.grader ? { grader: opts.grader } : {});
      logprobsAllowed = accessAtLeast(rec.config.access, 'grey-box');
      runId = newRunId();
      logPath = opts.out ?? join(runsDir(), `${runId}.jsonl`);
      mkdirSync(dirname(logPath), { recursive: true });
      writer = await RunLogWriter.create(logPath);
      const header: RunHeader = {
        ...rec,
        runId,
        rescoreOf: { runId: rec.runId, logDigest },
        suite: { ...rec.suite, definition, digest },
        ...(opts.grader ? { grader: opts.grader.identity } : {}),
        assayVersion: ASSAY_VERSION,
        startedAt: new Date().toISOString(),
      };
      writer.write(header);
      continue;
    }
    if (rec.type === 'end') srcStatus = rec.status;
    if (rec.type !== 'sample' || !writer) continue;
    const scores = rec.error ? {} : await applyScorers(scorers, rec.sample, rec, logprobsAllowed);
    writer.write({ ...rec, scores });
    total++;
    if (rec.error) errored++;
  }
  if (!writer || !srcHeader) throw new AssayError('RUN_LOG_EMPTY', 'run log has no header', { file: srcPath });
  writer.write({ type: 'end', at: new Date().toISOString(), status: srcStatus, counts: { samples: total, errored } });
  await writer.close();
  return { runId, logPath, rescoreOf: srcHeader.runId, status: srcStatus, totalSamples: total, errored };
}
