import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { runsDir } from '../../home.js';
import { createModel } from '../../model/registry.js';
import { newRunId, runSuite } from '../../run/engine.js';
import { loadSuite } from '../../suite/load.js';
import { startTarget } from '../../target/server.js';
import { progressReporter } from '../progress.js';
import { resultsTable, summarise } from '../results.js';
import { indexRun } from './run.js';
import { ASSAY_ROOT } from '../../version.js';
import { attestAndVerifyDemo } from '../../attest/index.js';
import { evaluatePolicy } from '../../policy/evaluate.js';
import { evidenceFromRunLog } from '../../policy/evidence.js';
import { formatPlan, formatVerdict } from '../../policy/format.js';
import { loadPolicy } from '../../policy/load.js';
import { stage2Plan } from '../../policy/plan.js';

/**
 * The end-to-end demo on embedded defaults: the built-in SIMULATED target, the demo suite
 * through the OpenAI-compatible adapter, a run log in $ASSAY_HOME, the SQLite index, and a
 * results table with confidence intervals.
 */
export function register(program: Command): void {
  program
    .command('demo')
    .description('Run the built-in demo suite against the built-in SIMULATED target (no network, no keys)')
    .option('--latency <ms>', 'simulated latency', (v) => Number(v), 20)
    .option('--accuracy <p>', 'simulated accuracy', (v) => Number(v), 0.8)
    .option('--registry', 'then the regime: a local registry server with accreditors, a developer, testers and an agency, and this run\'s report taken through an engagement to publication')
    .option('--serve', 'with --registry: keep the registry serving until Ctrl-C')
    .action(async (flags: { latency: number; accuracy: number; registry?: boolean; serve?: boolean }) => {
      const target = await startTarget({ latencyMs: flags.latency, jitterMs: Math.round(flags.latency / 2), accuracy: flags.accuracy, seed: 42, rate429: 0.03, retryAfterS: 0, rate5xx: 0.02, faultsPerKey: 'first-attempt' });
      process.stdout.write(`SIMULATED target model at ${target.url} (a local test double, not a real model; injects a few 429/5xx to show retries)\n`);
      try {
        const suite = await loadSuite(join(ASSAY_ROOT, 'suites/demo-arithmetic/suite.yaml'));
        process.stdout.write(`suite ${suite.def.id}@${suite.def.version} ${suite.digest}\n`);
        const runId = newRunId();
        mkdirSync(runsDir(), { recursive: true });
        const logPath = join(runsDir(), `${runId}.jsonl`);
        const reporter = progressReporter(process.stderr, { intervalMs: 1000 });
        const res = await runSuite({
          suite,
          model: createModel('openai/sim-demo', { baseUrl: `${target.url}/v1`, maxConnections: 16 }),
          runId,
          logPath,
          simulated: true,
          onProgress: (p) => reporter.update(p),
          config: {
            epochs: suite.def.epochs,
            seed: 0,
            limit: null,
            sampleIds: null,
            maxConnections: 16,
            maxTokens: 5,
            temperature: 0,
            timeoutMs: 10_000,
            maxRetries: 6,
            retryBaseMs: 50,
            retryMaxDelayMs: 2_000,
            access: 'grey-box',
            budget: { maxTokensTotal: null, maxCost: null, pricePerMTok: null },
          },
        });
        reporter.stop();
        const summary = await summarise(res.logPath);
        await indexRun(res, summary);
        process.stdout.write(resultsTable(res, summary));
        // Stage 1 of the two-stage regime on this run: the example policy's screen (arithmetic
        // stands in for a dangerous capability). The demo's exit code is not the screen's.
        const lp = await loadPolicy(join(ASSAY_ROOT, 'policies/examples/demo-two-stage.yaml'));
        const facts = { schema: 'assay.model-facts/v1' as const, model: 'openai/sim-demo', training_compute_flop: 3e25 };
        const screen = evaluatePolicy(lp.policy, lp.digest, { facts, runs: [await evidenceFromRunLog(res.logPath)], mode: 'screen' });
        process.stdout.write(`\nscreen with the example policy ${lp.policy.id} (illustrative; not a real framework):\n` + formatVerdict(screen) + formatPlan(stage2Plan(lp.policy, screen)));
        const att = await attestAndVerifyDemo(res.logPath);
        process.stdout.write(
          `\nsigned report: ${att.reportPath} (demo key ${att.keyId}), logged in ${att.tlogDir}\n` +
            `offline verification (trust file ${att.trustPath}):\n${att.summary.replace(/^/gm, '  ').trimEnd()}\n`,
        );
        process.stdout.write(
          `\nrun log: ${res.logPath}\nnext: assay runs show ${res.runId} · assay stats ${res.runId} · assay verify ${att.reportPath} --trust ${att.trustPath} --run ${res.runId} --require-log\n`,
        );
        if (!att.result.ok) process.exitCode = att.result.exitCode;
        if (flags.registry) {
          const { registryDemo } = await import('./registry-demo.js');
          if ((await registryDemo(res.logPath, { serve: flags.serve ?? false })) !== 0) process.exitCode = 1;
        }
      } finally {
        await target.close();
      }
    });
}
