import { Option, type Command } from 'commander';
import { AssayError } from '../../common/errors.js';
import { formatComparison, formatPlan, formatRunPlan, formatRunStats } from '../../stats/format.js';
import { compareRuns, planForRun, statsForRun } from '../../stats/from-log.js';
import { minDetectableEffect, sampleSizeFor, type PowerInputs } from '../../stats/power.js';
import { int, num } from '../options.js';
import { resolveRunRef as resolveRunLog } from '../run-ref.js';

const level = num(0.5, 0.9999);
const json = (v: unknown): void => void process.stdout.write(JSON.stringify(v, null, 2) + '\n');

export function register(program: Command): void {
  program
    .command('stats')
    .description('Estimates, standard errors and confidence intervals for every metric of a run, from its log')
    .argument('<run>', 'run log path or run id')
    .option('--json', 'print the statistics as JSON')
    .option('--level <p>', 'confidence level', level, 0.95)
    .option('--group-by <field>', 'group every metric by this sample field (metadata key)')
    .addOption(new Option('--versus <what>', 'compare each group with').choices(['rest', 'overall']).default('rest'))
    .option('--seed <n>', 'bootstrap seed', int(0, 2 ** 32 - 1), 0)
    .option('--resamples <n>', 'bootstrap resamples (0: no bootstrap; default 1000, none for unclustered metrics over 20,000 samples)', int(0, 1_000_000))
    .action(async (log: string, o: { json?: boolean; level: number; groupBy?: string; versus: 'rest' | 'overall'; seed: number; resamples?: number }) => {
      const s = await statsForRun(await resolveRunLog(log), { level: o.level, seed: o.seed, versus: o.versus, ...(o.resamples !== undefined ? { resamples: o.resamples } : {}), ...(o.groupBy ? { groupBy: o.groupBy } : {}) });
      if (o.json) return json(s);
      process.stdout.write(`${s.suite.id}@${s.suite.version} on ${s.model}${s.simulated ? ' (SIMULATED target — not a real model)' : ''}, run ${s.runId}\n\n` + formatRunStats(s));
    });

  program
    .command('compare')
    .description('Paired comparison of two runs of the same suite (difference A − B per metric)')
    .argument('<runA>', 'run log path or run id of model A')
    .argument('<runB>', 'run log path or run id of model B')
    .option('--metric <name>', 'only this metric')
    .option('--level <p>', 'confidence level', level, 0.95)
    .option('--json', 'print the comparison as JSON')
    .action(async (a: string, b: string, o: { metric?: string; level: number; json?: boolean }) => {
      const c = await compareRuns(await resolveRunLog(a), await resolveRunLog(b), { level: o.level, ...(o.metric ? { metric: o.metric } : {}) });
      if (o.json) return json(c);
      process.stdout.write(formatComparison(c));
    });

  program
    .command('plan')
    .description('Power analysis: samples needed to detect an effect (--mde), the smallest effect n samples detect (--n), or that of an existing run (--run)')
    .option('--mde <delta>', 'minimum detectable effect, as a difference in mean score (0.03 = 3 points)', num(0))
    .option('--n <n>', 'samples available: print the smallest detectable effect instead', int(1))
    .option('--run <run>', 'smallest detectable effect of each metric of this run (log path or run id)')
    .option('--alpha <a>', 'two-sided significance level', num(0, 1), 0.05)
    .option('--power <p>', 'power, 1 − β', num(0, 1), 0.8)
    .option('--p <rate>', 'expected rate of a binary score (variance p(1 − p))', num(0, 1))
    .option('--sigma2 <v>', 'per-sample score variance', num(0))
    .option('--paired', 'both models answer the same samples')
    .option('--correlation <rho>', 'correlation of the two models\u2019 per-sample scores (paired)', num(-1, 1))
    .option('--deff <d>', 'design effect of a clustered suite (≥ 1): n is multiplied by it', num(1))
    .option('--icc <rho>', 'intra-cluster correlation (with --cluster-size): deff = 1 + (m − 1)·ICC', num(0, 1))
    .option('--cluster-size <m>', 'samples per cluster (with --icc)', num(1))
    .option('--epochs <k>', 'epochs per sample (with --within-variance)', int(1))
    .option('--within-variance <v>', 'residual within-sample variance E[σ²] (Miller R3; from `assay stats`)', num(0))
    .option('--equivalence <margin>', 'equivalence (TOST) instead: items needed to show the difference is within ±margin (replication audits); --alpha is then per one-sided test', num(0))
    .option('--discordance <q>', 'with --equivalence, binary scores: share of items two runs disagree on (exact power of the Newcombe TOST rule)', num(0, 1))
    .option('--true-difference <d>', 'with --equivalence and --sigma2: the true difference planned for (default 0)', num(-1, 1))
    .option('--json', 'print the plan as JSON')
    .action(async (o: { equivalence?: number; discordance?: number; trueDifference?: number; mde?: number; n?: number; run?: string; alpha: number; power: number; p?: number; sigma2?: number; paired?: boolean; correlation?: number; deff?: number; icc?: number; clusterSize?: number; epochs?: number; withinVariance?: number; json?: boolean }) => {
      if (o.equivalence !== undefined) {
        const eq = await import('../../stats/equivalence.js');
        try {
          if (o.discordance !== undefined) {
            const b = eq.binaryAuditSampleSize({ p: o.p ?? 0.5, discordance: o.discordance, margin: o.equivalence, alpha: o.alpha, power: o.power, ...(o.deff !== undefined ? { deff: o.deff } : {}) });
            if (o.json) return json(b);
            return void process.stdout.write(
              `equivalence (TOST, paired binary, Newcombe interval) within ±${o.equivalence} at α = ${o.alpha} per side, power ${o.power}, discordance ${o.discordance}, rate ${o.p ?? 0.5}${o.p === undefined ? ' (assumed; give --p)' : ''}\n` +
                `  n = ${b.n} items (exact power ${b.power.toFixed(3)}); normal formula ${b.normal.formula}: ${b.normal.n}; all-agree floor ${b.floor}\n`,
            );
          }
          if (o.sigma2 === undefined) throw new AssayError('BAD_OPTIONS', '--equivalence needs --sigma2 (variance of one item\'s paired difference) or, for binary scores, --discordance');
          const e = eq.equivalenceSampleSize({ margin: o.equivalence, sigma2: o.sigma2, alpha: o.alpha, power: o.power, ...(o.trueDifference !== undefined ? { trueDifference: o.trueDifference } : {}), ...(o.deff !== undefined ? { deff: o.deff } : {}) });
          if (o.json) return json(e);
          return void process.stdout.write(`equivalence (TOST) within ±${e.margin} at α = ${e.alpha} per side, power ${e.power}, σ_d² = ${e.sigma2}, true difference ${e.trueDifference}\n  ${e.formula} = ${e.nExact.toFixed(2)} → n = ${e.n}${e.deff !== 1 ? ` (× design effect ${e.deff})` : ''}\n`);
        } catch (err) {
          if (err instanceof RangeError) throw new AssayError('BAD_OPTIONS', err.message);
          throw err;
        }
      }
      if (o.run) {
        const plan = await planForRun(await resolveRunLog(o.run), { alpha: o.alpha, power: o.power, ...(o.correlation !== undefined ? { correlation: o.correlation } : {}) });
        return o.json ? json(plan) : void process.stdout.write(formatRunPlan(plan));
      }
      if (o.p !== undefined && o.sigma2 !== undefined) throw new AssayError('BAD_OPTIONS', 'give --p or --sigma2, not both');
      if (o.correlation !== undefined && !o.paired) throw new AssayError('BAD_OPTIONS', '--correlation applies to paired designs: add --paired');
      if ((o.mde === undefined) === (o.n === undefined)) throw new AssayError('BAD_OPTIONS', 'give exactly one of --mde (to get n) or --n (to get the smallest detectable effect), or --run <log>');
      const assumed = o.p === undefined && o.sigma2 === undefined;
      if ((o.icc === undefined) !== (o.clusterSize === undefined)) throw new AssayError('BAD_OPTIONS', '--icc and --cluster-size go together');
      if (o.deff !== undefined && o.icc !== undefined) throw new AssayError('BAD_OPTIONS', 'give --deff or --icc with --cluster-size, not both');
      if (o.epochs !== undefined && o.withinVariance === undefined) throw new AssayError('BAD_OPTIONS', '--epochs needs --within-variance (the residual noise more epochs average away)');
      const inputs: PowerInputs = {
        alpha: o.alpha,
        power: o.power,
        paired: !!o.paired,
        ...(o.sigma2 !== undefined ? { sigma2: o.sigma2 } : { p: o.p ?? 0.5 }),
        ...(o.correlation !== undefined ? { correlation: o.correlation } : {}),
        ...(o.deff !== undefined ? { deff: o.deff } : {}),
        ...(o.icc !== undefined ? { icc: o.icc, clusterSize: o.clusterSize! } : {}),
        ...(o.withinVariance !== undefined ? { withinVariance: o.withinVariance, epochs: o.epochs ?? 1 } : {}),
      };
      let plan;
      try {
        plan = o.mde !== undefined ? sampleSizeFor({ ...inputs, mde: o.mde }) : minDetectableEffect({ ...inputs, n: o.n! });
      } catch (err) {
        if (err instanceof RangeError) throw new AssayError('BAD_OPTIONS', err.message);
        throw err;
      }
      if (o.json) return json(plan);
      process.stdout.write((assumed ? 'assuming binary scores at p = 0.5 (the largest variance); give --p or --sigma2 to change\n' : '') + formatPlan(plan, o.mde !== undefined ? 'n' : 'mde'));
    });
}
