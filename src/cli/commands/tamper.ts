import type { Command } from 'commander';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssayError } from '../../common/errors.js';
import { CommandBackend } from '../../tamper/backends/command.js';
import { OpenAIFineTuningBackend } from '../../tamper/backends/openai-fine-tuning.js';
import type { FineTuneBackend } from '../../tamper/backends/types.js';
import { loadGrid } from '../../tamper/grid.js';
import { readTamperLog } from '../../tamper/log.js';
import { buildTamperReport, formatTamperReport, tamperReportJson } from '../../tamper/report.js';
import { runTamperGrid } from '../../tamper/runner.js';
import { int } from '../options.js';

export function register(program: Command): void {
  const tamper = program.command('tamper').description('Fine-tuning-resistance testing of open-weight models: how much fine-tuning strips a safeguard (docs/formats/tamper.md)');
  tamper
    .command('run <grid>')
    .description('Run a tamper grid: train each attack through the back-end, evaluate each resulting model paired with the base; resumable')
    .requiredOption('--out <dir>', 'folder for the tamper log and the evaluation run logs (re-run with the same folder to resume)')
    .option('--base-url <url>', 'the base model\'s OpenAI-compatible endpoint (default: the back-end\'s url)')
    .option('--retry-failed', 'run again the cells whose job failed, was cancelled or timed out')
    .option('--simulated', 'the endpoints are Assay\'s simulated target (recorded in the run logs)')
    .action(async (gridPath: string, f: { out: string; baseUrl?: string; retryFailed?: boolean; simulated?: boolean }) => {
      const loaded = await loadGrid(gridPath);
      const b = loaded.grid.backend;
      const apiKey = b.type === 'openai-fine-tuning' && b.api_key_env ? process.env[b.api_key_env] : undefined;
      if (b.type === 'openai-fine-tuning' && b.api_key_env && !apiKey) throw new AssayError('TAMPER_BACKEND', `the grid names ${b.api_key_env} for the API key; it is not set`, { file: loaded.file, field: 'backend.api_key_env' });
      const backend: FineTuneBackend = b.type === 'openai-fine-tuning' ? new OpenAIFineTuningBackend(b.url, apiKey, { pollIntervalMs: b.poll_interval_ms, timeoutS: b.timeout_s }) : new CommandBackend(b.command, b.timeout_s);
      const baseEndpoint = f.baseUrl ?? (b.type === 'openai-fine-tuning' ? b.url : undefined);
      if (!baseEndpoint) throw new AssayError('TAMPER_BASE_URL', 'the command back-end needs --base-url for the base model\'s endpoint', { field: '--base-url' });
      const ac = new AbortController();
      let sigints = 0;
      const onSig = () => {
        if (++sigints > 1) process.exit(130);
        process.stderr.write('\nstopping after the current step (Ctrl-C again to quit now); re-run the same command to resume\n');
        ac.abort();
      };
      process.on('SIGINT', onSig);
      try {
        const res = await runTamperGrid({ loaded, backend, outDir: f.out, baseEndpoint, ...(apiKey ? { apiKey } : {}), signal: ac.signal, simulated: f.simulated ?? false, retryFailed: f.retryFailed ?? false, onEvent: (l) => process.stderr.write(`${l}\n`) });
        process.stdout.write(`tamper log ${res.logPath}: ${res.stop} (${res.jobs} jobs, ${res.evaluations} evaluations)\n`);
        if (res.stop === 'budget') process.exitCode = 3;
        if (res.stop === 'interrupted') process.exitCode = 130;
      } finally {
        process.off('SIGINT', onSig);
      }
    });
  tamper
    .command('report <log>')
    .description('Curves of each metric against attack strength with intervals, and the cost to break, from a tamper log (or its folder)')
    .option('--json', 'print the report as JSON (assay.tamper-report/v1)')
    .option('--out <file>', 'also write the JSON report here')
    .option('--resamples <n>', 'bootstrap resamples', int(100, 100_000), 1000)
    .action((logArg: string, f: { json?: boolean; out?: string; resamples: number }) => {
      const path = existsSync(logArg) && statSync(logArg).isDirectory() ? join(logArg, 'tamper.jsonl') : logArg;
      if (!existsSync(path)) throw new AssayError('TAMPER_LOG', 'no tamper log here', { file: path });
      const report = buildTamperReport(readTamperLog(path), { resamples: f.resamples });
      if (f.out) writeFileSync(f.out, tamperReportJson(report));
      process.stdout.write(f.json ? tamperReportJson(report) : formatTamperReport(report));
    });
}
