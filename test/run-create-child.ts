/** Child of run-interrupt.test.ts: creates run logs in a loop until killed (argv: dir, mode). */
import { join } from 'node:path';
import { RunLogWriter } from '../src/run/log-writer.js';
import { RUN_LOG_SCHEMA, type RunLogRecord } from '../src/run/types.js';

const [dir, mode = 'atomic'] = process.argv.slice(2) as [string, string?];
const header = { type: 'header', schema: RUN_LOG_SCHEMA, runId: 'r-child', padding: 'x'.repeat(64 * 1024) } as unknown as RunLogRecord;
for (let i = 0; ; i++) {
  const path = join(dir, `log-${i}.jsonl`);
  // "legacy": the pattern the engine used before (create, then write the header): the test shows it can leave an empty log.
  const w = mode === 'legacy' ? await RunLogWriter.create(path) : await RunLogWriter.create(path, { header });
  if (mode === 'legacy') w.write(header);
  await w.close();
  if (i === 0) process.stdout.write('ready\n');
}
