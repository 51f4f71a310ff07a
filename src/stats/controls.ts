/**
 * Control comparisons for multiple-choice suites (`assay suite control`): a control suite has its own
 * digest (the options are shuffled, or the labels permuted), so `compareRuns` — which insists on
 * the same suite — does not apply. Here the reference and the control are paired by sample id
 * (controls keep the ids) on one scorer's per-sample score, epochs averaged (Miller R4).
 */
import { AssayError } from '../common/errors.js';
import { iterateSamples, readRunHeader } from '../run/log-reader.js';
import { pairedComparison, type PairedComparison } from './compare.js';

async function perSample(log: string, scorer: string): Promise<Map<string, number>> {
  const sums = new Map<string, { s: number; n: number }>();
  const seen = new Set<string>();
  for await (const r of iterateSamples(log)) {
    if (seen.has(r.key)) continue; // first record per key, as every reader
    seen.add(r.key);
    const sc = r.scores[scorer];
    if (!sc || sc.status !== 'scored') continue;
    const e = sums.get(r.sampleId) ?? { s: 0, n: 0 };
    e.s += sc.value;
    e.n++;
    sums.set(r.sampleId, e);
  }
  return new Map([...sums].map(([k, v]) => [k, v.s / v.n]));
}

export interface ControlComparison {
  reference: { runId: string; suite: string };
  control: { runId: string; suite: string };
  scorer: string;
  /** Difference = reference − control, paired by sample id. */
  comparison: PairedComparison;
}

export async function compareControl(referenceLog: string, controlLog: string, scorer: string, level = 0.95): Promise<ControlComparison> {
  const [ha, hb] = [await readRunHeader(referenceLog), await readRunHeader(controlLog)];
  if (!ha.suite.definition.scorers.some((s) => (s.name ?? s.type) === scorer)) throw new AssayError('CONTROL_NO_SCORER', `the reference run has no scorer "${scorer}"`, { file: referenceLog });
  const a = await perSample(referenceLog, scorer);
  const b = await perSample(controlLog, scorer);
  const comparison = pairedComparison(a, b, { level });
  if (comparison.n === 0) throw new AssayError('CONTROL_NO_PAIRS', 'the two runs have no scored sample in common', { file: controlLog });
  return { reference: { runId: ha.runId, suite: ha.suite.id }, control: { runId: hb.runId, suite: hb.suite.id }, scorer, comparison };
}
