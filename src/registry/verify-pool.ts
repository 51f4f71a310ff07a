import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { ReportVerifier, VerifyJob, VerifyOutcome } from './report-verifier.js';

/**
 * Report verification on a pool of worker threads (piscina): recomputing a report from its run log
 * is CPU work (~8 ms), and on the event loop it would stall every other request. The run log is
 * transferred, not copied. Under `tsx` (tests) the worker is the .ts source, loaded through tsx.
 */
export function poolVerifier(threads = Math.max(1, Math.min(4, availableParallelism()))): ReportVerifier {
  const js = fileURLToPath(new URL('./verify-worker.js', import.meta.url));
  const built = existsSync(js);
  // From source (tests under tsx), the worker registers the TypeScript loader in its own thread.
  const filename = built ? js : fileURLToPath(new URL('./verify-worker-tsx.mjs', import.meta.url));
  const pool = new Piscina({ filename, minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
  return {
    verify(job: VerifyJob): Promise<VerifyOutcome> {
      if (!job.runLog) return pool.run(job) as Promise<VerifyOutcome>;
      // Copy into a buffer of our own, then move it to the worker.
      const runLog = new Uint8Array(job.runLog);
      return pool.run({ ...job, runLog }, { transferList: [runLog.buffer] }) as Promise<VerifyOutcome>;
    },
    close: () => pool.destroy(),
  };
}
