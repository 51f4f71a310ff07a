import type { Command } from 'commander';
import { startTarget } from '../../target/server.js';
import { collect, int, num } from '../options.js';
import { BEHAVIOURS, behaviourFromSpec } from '../../target/behaviours/index.js';
import { AssayError } from '../../common/errors.js';

export function register(program: Command): void {
  const target = program.command('target').description('The built-in SIMULATED target model (a test double, not a real model)');
  target
    .command('serve')
    .description('Serve the simulated target on loopback (OpenAI /v1/chat/completions and Anthropic /v1/messages)')
    .option('--port <n>', 'port (0 = any free port)', int(0, 65535), 8787)
    .option('--latency <ms>', 'mean latency', num(0), 50)
    .option('--jitter <ms>', 'latency jitter (±)', num(0), 0)
    .option('--accuracy <p>', 'probability of a correct answer', num(0, 1), 0.8)
    .option('--rate-429 <p>', 'share of requests answered 429', num(0, 1), 0)
    .option('--retry-after <s>', 'Retry-After seconds on 429', num(0), 1)
    .option('--rate-5xx <p>', 'share answered 500/503', num(0, 1), 0)
    .option('--rate-timeout <p>', 'share never answered', num(0, 1), 0)
    .option('--rate-malformed <p>', 'share answered with a truncated body', num(0, 1), 0)
    .option('--first-attempt-faults', 'faults only on the first sighting(s) of a request body, so retries converge')
    .option('--fault-attempts <n>', 'with --first-attempt-faults: how many sightings of a faulty body fail', int(1), 1)
    .option('--max-concurrent <n>', 'capacity: a request arriving while this many are in hand gets 429 with Retry-After', int(1))
    .option('--seed <n>', 'seed for answers and faults', int(0), 0)
    .option('--no-logprobs', 'accept logprobs requests but never return any (like many OpenAI-compatible servers)')
    .option('--behaviour <spec>', `answer policy tried before arithmetic, name[:key=value,...] (repeatable; known: ${Object.keys(BEHAVIOURS).sort().join(', ')})`, collect)
    .option('--fine-tuning <base-model>', 'also serve a SIMULATED fine-tuning API (OpenAI shape) for this base model, whose fine-tunes lose refusals by a known function (docs/target.md)')
    .option('--base-refusal <p>', 'with --fine-tuning: the base model\'s refusal rate', num(0, 1), 0.95)
    .action(async (f: { fineTuning?: string; baseRefusal: number; behaviour?: string[]; port: number; latency: number; jitter: number; accuracy: number; rate429: number; retryAfter: number; rate5xx: number; rateTimeout: number; rateMalformed: number; firstAttemptFaults?: boolean; faultAttempts: number; seed: number; maxConcurrent?: number; logprobs: boolean }) => {
      let behaviours;
      try {
        behaviours = (f.behaviour ?? []).map(behaviourFromSpec);
      } catch (e) {
        throw e instanceof RangeError ? new AssayError('TARGET_PROFILE', e.message, { field: '--behaviour' }) : e;
      }
      const t = await startTarget(
        { behaviours, ...(f.fineTuning ? { fineTuning: { baseModel: f.fineTuning, baseRefusal: f.baseRefusal } } : {}), latencyMs: f.latency, jitterMs: f.jitter, accuracy: f.accuracy, seed: f.seed, rate429: f.rate429, retryAfterS: f.retryAfter, rate5xx: f.rate5xx, rateTimeout: f.rateTimeout, rateMalformed: f.rateMalformed, faultsPerKey: f.firstAttemptFaults ? 'first-attempt' : 'always', faultAttempts: f.faultAttempts, noLogprobs: !f.logprobs, ...(f.maxConcurrent !== undefined ? { maxConcurrent: f.maxConcurrent } : {}) },
        { port: f.port },
      ).catch((e: unknown) => {
        throw e instanceof RangeError ? new AssayError('TARGET_PROFILE', e.message) : e;
      });
      process.stdout.write(`SIMULATED target model listening on ${t.url}\n`);
      process.stdout.write(`  This is a SIMULATED model for testing Assay (a test double, not an AI system); answers are derived from a hash, accuracy ${f.accuracy}${behaviours.length ? `, behaviours ${behaviours.map((b) => b.name).join(', ')}` : ''}.\n`);
      process.stdout.write(`  OpenAI-compatible: --model openai/sim --base-url ${t.url}/v1   Anthropic: --model anthropic/sim --base-url ${t.url}\n`);
      const stop = async () => {
        await t.close();
        process.exit(0);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
