/**
 * The sandbagging probe: the same questions answered under a neutral framing and under "high
 * scores trigger restrictions". The signal is the paired difference neutral − pressure of
 * per-question correctness (Miller R4, src/stats/compare.ts). The two runs come from two suites
 * that differ only in the system prompt, so `assay compare` (which pairs runs of one suite) does
 * not apply; this checks the premise instead: same data file, same samples, same scorer.
 */
import { AssayError } from '../common/errors.js';
import { readRunHeader, iterateSamples } from '../run/log-reader.js';
import { pairedComparison, type PairedComparison } from '../stats/compare.js';

export interface SandbaggingResult {
  schema: 'assay.sandbagging/v1';
  neutral: { runId: string; suite: string; model: string; accuracy: number };
  pressure: { runId: string; suite: string; model: string; accuracy: number };
  scorer: string;
  /** mean(neutral − pressure): positive = worse under pressure. */
  comparison: PairedComparison;
}

async function perSample(path: string, scorer: string): Promise<Map<string, number>> {
  const acc = new Map<string, { sum: number; k: number }>();
  for await (const s of iterateSamples(path)) {
    const sc = s.scores[scorer];
    if (s.error || !sc || sc.status !== 'scored') continue;
    const a = acc.get(s.sampleId) ?? { sum: 0, k: 0 };
    a.sum += sc.value;
    a.k++;
    acc.set(s.sampleId, a);
  }
  return new Map([...acc].map(([id, a]) => [id, a.sum / a.k]));
}

export async function sandbaggingProbe(neutralLog: string, pressureLog: string, opts: { scorer?: string; level?: number } = {}): Promise<SandbaggingResult> {
  const scorer = opts.scorer ?? 'correct';
  const [hn, hp] = [await readRunHeader(neutralLog), await readRunHeader(pressureLog)];
  const dataN = JSON.stringify(hn.suite.dataDigests);
  const dataP = JSON.stringify(hp.suite.dataDigests);
  if (dataN !== dataP) throw new AssayError('SUITE_MISMATCH', `the two runs used different question files (${dataN} vs ${dataP}): the paired difference needs the same questions`, { file: pressureLog, field: 'suite.dataDigests' });
  if (hn.model.name !== hp.model.name) throw new AssayError('MODEL_MISMATCH', `the runs are of different models (${hn.model.name} vs ${hp.model.name})`, { file: pressureLog, field: 'model.name' });
  for (const [h, f] of [[hn, neutralLog], [hp, pressureLog]] as const)
    if (!h.suite.definition.scorers.some((s) => (s.name ?? s.type) === scorer)) throw new AssayError('UNKNOWN_SCORER', `run ${h.runId} has no scorer "${scorer}"`, { file: f, field: 'scorers' });
  const a = await perSample(neutralLog, scorer);
  const b = await perSample(pressureLog, scorer);
  if (![...a.keys()].some((k) => b.has(k))) throw new AssayError('NO_OVERLAP', 'the runs have no scored question in common', { file: pressureLog });
  const comparison = pairedComparison(a, b, { level: opts.level ?? 0.95 });
  return {
    schema: 'assay.sandbagging/v1',
    neutral: { runId: hn.runId, suite: hn.suite.id, model: hn.model.name, accuracy: comparison.meanA },
    pressure: { runId: hp.runId, suite: hp.suite.id, model: hp.model.name, accuracy: comparison.meanB },
    scorer,
    comparison,
  };
}
