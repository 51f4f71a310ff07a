import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { loadSigner } from '../../attest/keys.js';
import { emptyTrust, loadTrustFile } from '../../attest/trust.js';
import { assayHome } from '../../home.js';
import { signTamperReport, tamperBundle, verifyTamperReportLogged } from '../../tamper/attest.js';
import { logReport } from '../../attest/tlog.js';
import { defaultSeenFile } from '../../tlog/seen.js';
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
    .option('--log <dir|url>', 'with --sign: append the signed report to this transparency log and store the inclusion proof in it')
    .option('--log-vkey <vkey>', "the transparency log's verifier key (vkey text or a file holding it); required for a URL")
    .option('--log-token-file <file>', 'bearer token for a remote log (default: $ASSAY_LOG_TOKEN)')
    .action(async (logArg: string, f: { json?: boolean; out?: string; resamples: number; sign?: boolean; key?: string; log?: string; logVkey?: string; logTokenFile?: string }) => {
      const path = logPathOf(logArg);
      const records = readTamperLog(path);
      const report = buildTamperReport(records, { resamples: f.resamples });
      if (f.log && !f.sign) throw new AssayError('USAGE', '--log logs the signed report: use it with --sign');
      if (f.sign) {
        if (!f.out) throw new AssayError('USAGE', '--sign writes the signed report to --out <file>');
        const signer = loadSigner(f.key);
        let bundle = tamperBundle(signTamperReport(readFileSync(path), records, signer, { resamples: f.resamples }), signer);
        let logged = '';
        if (f.log) {
          const token = f.logTokenFile ? readFileSync(f.logTokenFile, 'utf8').trim() : process.env.ASSAY_LOG_TOKEN;
          const vkey = f.logVkey ? (existsSync(f.logVkey) ? readFileSync(f.logVkey, 'utf8').trim() : f.logVkey) : undefined;
          const r = await logReport(bundle, { target: f.log, ...(vkey ? { vkey } : {}), ...(token ? { token } : {}) });
          bundle = r.bundle;
          logged = `; logged as entry ${r.index} of ${r.checkpoint.origin} (checkpoint size ${r.checkpoint.size}), inclusion proof stored in it`;
        }
        writeFileSync(f.out, JSON.stringify(bundle, null, 2) + '\n');
        process.stderr.write(`signed tamper report written to ${f.out}${logged}\n`);
      } else if (f.out) writeFileSync(f.out, tamperReportJson(report));
      process.stdout.write(f.json ? tamperReportJson(report) : formatTamperReport(report));
    });
  tamper
    .command('verify <signed>')
    .description('Verify a signed tamper report offline: a trusted signature, the tamper log is the signed one, the run logs match it, the report follows from it, and its transparency-log inclusion proof (if any) is from a trusted log')
    .addHelpText('after', '\nExit codes: 0 verified, 2 usage/IO, 11 no trusted signature, 13 malformed, 14 the tamper log is not the signed one,\n15 the report does not follow from the log or a run log differs, 17 transparency log (invalid proof, untrusted log with --require-log,\nsplit view, inconsistent checkpoint, rollback). Format: docs/formats/tamper.md')
    .requiredOption('--log <dir|file>', 'the tamper log (or its folder, whose runs/ are checked too)')
    .option('--trust <file>', 'trust file (default: $ASSAY_HOME/trust.json)')
    .option('--require-log', 'fail unless the report carries an inclusion proof from a transparency log in the trust file')
    .option('--tlog <dir|url>', "the transparency log: fetch its current checkpoint and prove it extends the proof's")
    .option('--checkpoint <file>', "a newer signed checkpoint of that log (e.g. from a witness): must extend the proof's (repeatable)", (v: string, acc: string[] = []) => [...acc, v])
    .option('--seen-state <file>', 'largest checkpoint seen per log, for rollback detection (default $ASSAY_HOME/tlog/seen.json)')
    .action(async (signed: string, f: { log: string; trust?: string; requireLog?: boolean; tlog?: string; checkpoint?: string[]; seenState?: string }) => {
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
      const checkpoints = (f.checkpoint ?? []).map((c) => ({ text: readFileSync(c, 'utf8'), source: c }));
      const r = await verifyTamperReportLogged(readFileSync(signed), readFileSync(path), readTamperLog(path), trust, digestOf, { require: !!f.requireLog, checkpoints, ...(f.tlog ? { log: f.tlog } : {}), seenFile: f.seenState ?? defaultSeenFile() }, signed);
      for (const w of r.warnings ?? []) process.stderr.write(`assay: warning: ${w}\n`);
      const logged = r.tlog ? `; included as entry ${r.tlog.index} of ${r.tlog.origin} (checkpoint size ${r.tlog.size}${r.tlog.consistentWith.length ? `, extended by ${r.tlog.consistentWith.map((c) => `${c.source} (${c.size})`).join(', ')}` : ''})` : '';
      process.stdout.write(r.ok ? `verified: signed by ${r.keyId}; the report follows from ${path}${logged}\n` : `NOT VERIFIED (exit ${r.exitCode}):\n${r.problems.map((p) => `  ${p}`).join('\n')}\n`);
      process.exitCode = r.exitCode;
    });
}
