import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { loadSigner } from '../../attest/keys.js';
import { emptyTrust, loadTrustFile } from '../../attest/trust.js';
import { assayHome } from '../../home.js';
import { signTamperReport, verifyTamperReport } from '../../tamper/attest.js';
import { AssayError } from '../../common/errors.js';
import { CommandBackend } from '../../tamper/backends/command.js';
import { OpenAIFineTuningBackend } from '../../tamper/backends/openai-fine-tuning.js';
import type { FineTuneBackend } from '../../tamper/backends/types.js';
import { loadGrid } from '../../tamper/grid.js';
import { readTamperLog } from '../../tamper/log.js';
import { buildTamperReport, formatTamperReport, tamperReportJson } from '../../tamper/report.js';
import { runTamperGrid } from '../../tamper/runner.js';
import { int } from '../options.js';

function logPathOf(arg: string): string {
  const path = existsSync(arg) && statSync(arg).isDirectory() ? join(arg, 'tamper.jsonl') : arg;
  if (!existsSync(path)) throw new AssayError('TAMPER_LOG', 'no tamper log here', { file: path });
  return resolve(path);
}

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
    .option('--sign', 'write a signed report (in-toto statement over the tamper log) to --out')
    .option('--key <name|file>', 'signing key for --sign (default: the only key in $ASSAY_HOME/keys)')
    .action((logArg: string, f: { json?: boolean; out?: string; resamples: number; sign?: boolean; key?: string }) => {
      const path = logPathOf(logArg);
      const records = readTamperLog(path);
      const report = buildTamperReport(records, { resamples: f.resamples });
      if (f.sign) {
        if (!f.out) throw new AssayError('USAGE', '--sign writes the signed report to --out <file>');
        const env = signTamperReport(readFileSync(path), records, loadSigner(f.key), { resamples: f.resamples });
        writeFileSync(f.out, JSON.stringify(env, null, 2) + '\n');
        process.stderr.write(`signed tamper report written to ${f.out}\n`);
      } else if (f.out) writeFileSync(f.out, tamperReportJson(report));
      process.stdout.write(f.json ? tamperReportJson(report) : formatTamperReport(report));
    });
  tamper
    .command('verify <signed>')
    .description('Verify a signed tamper report offline: a trusted signature, the tamper log is the signed one, the run logs match it, and the report follows from it')
    .requiredOption('--log <dir|file>', 'the tamper log (or its folder, whose runs/ are checked too)')
    .option('--trust <file>', 'trust file (default: $ASSAY_HOME/trust.json)')
    .action((signed: string, f: { log: string; trust?: string }) => {
      const path = logPathOf(f.log);
      const trustFile = f.trust ? resolve(f.trust) : join(assayHome(), 'trust.json');
      const trust = existsSync(trustFile) ? loadTrustFile(trustFile) : emptyTrust();
      if (!existsSync(signed)) throw new AssayError('TAMPER_SIGNED', 'signed report not found', { file: signed });
      const dir = dirname(path);
      const digestOf = (rel: string) => {
        const p = resolve(dir, rel);
        if (!p.startsWith(dir + sep) || !existsSync(p)) return null; // only files under the log's folder
        return createHash('sha256').update(readFileSync(p)).digest('hex');
      };
      const r = verifyTamperReport(readFileSync(signed), readFileSync(path), readTamperLog(path), trust, digestOf, signed);
      process.stdout.write(r.ok ? `verified: signed by ${r.keyId}; the report follows from ${path}\n` : `NOT VERIFIED (exit ${r.exitCode}):\n${r.problems.map((p) => `  ${p}`).join('\n')}\n`);
      process.exitCode = r.exitCode;
    });
}
