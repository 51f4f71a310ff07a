import type { Command } from 'commander';
import { int, num } from '../options.js';

/** `assay worker`: runs units of distributed runs from a BullMQ queue (src/queue/worker.ts). */
export function register(program: Command): void {
  program
    .command('worker')
    .description('Run the units of distributed runs (`assay run --queue`) from a BullMQ queue in Redis')
    .requiredOption('--queue <url>', 'Redis URL of the queue (redis://host:6379/0, rediss:// for TLS)')
    .option('--queue-prefix <prefix>', 'Redis key prefix of the queue', 'assay')
    .option('--concurrency <n>', 'units run at once by this worker', int(1, 4096), 16)
    .option('--base-url <url>', 'the model endpoint this worker may send its key to (default: OPENAI_BASE_URL / ANTHROPIC_BASE_URL or the provider default); runs naming another are refused')
    .option('--api-key <key>', 'API key (default: OPENAI_API_KEY / ANTHROPIC_API_KEY); never sent to Redis')
    .option('--grader-base-url <url>', 'the grader endpoint this worker may send its grader key to')
    .option('--grader-api-key <key>', 'API key of the grader model')
    .option('--lock-duration <s>', 'job lock: a killed worker\'s unit goes to another worker after about this long', num(0.5), 30)
    .option('--artefact-dir <dir>', 'where agentic episodes keep artefacts, one folder per run (default $ASSAY_HOME/worker-artefacts); point it at a shared file system to keep them beside the log')
    .action(async (flags: { queue: string; queuePrefix: string; concurrency: number; baseUrl?: string; apiKey?: string; graderBaseUrl?: string; graderApiKey?: string; lockDuration: number; artefactDir?: string }) => {
      const { parseQueueUrl } = await import('../../queue/connection.js');
      const { startWorker } = await import('../../queue/worker.js');
      const target = parseQueueUrl(flags.queue, flags.queuePrefix);
      const log = (line: string) => process.stderr.write(`assay worker: ${line}\n`);
      const w = await startWorker({
        target, concurrency: flags.concurrency, log,
        lockDurationMs: Math.round(flags.lockDuration * 1000),
        ...(flags.baseUrl ? { baseUrl: flags.baseUrl } : {}), ...(flags.apiKey ? { apiKey: flags.apiKey } : {}),
        ...(flags.graderBaseUrl ? { graderBaseUrl: flags.graderBaseUrl } : {}), ...(flags.graderApiKey ? { graderApiKey: flags.graderApiKey } : {}),
        ...(flags.artefactDir ? { artefactDir: flags.artefactDir } : {}),
      });
      log(`ready on ${target.display} (prefix ${target.prefix}, concurrency ${flags.concurrency})`);
      // First signal: finish the units in hand, then exit. Second: stop at once (those units run again elsewhere).
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (sig: NodeJS.Signals) => {
          if (stopping) {
            log(`${sig} again: stopping now`);
            void w.close(true).finally(resolve);
            return;
          }
          stopping = true;
          log(`${sig}: finishing the units in hand (${sig} again stops at once)`);
          void w.close(false).finally(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      process.exit(0);
    });
}
