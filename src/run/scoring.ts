import type { Score, Scorer } from '../score/types.js';
import type { Sample } from '../suite/types.js';
import type { SampleRecord } from './types.js';

/** Scores a recorded output. Used by the engine and by `assay score` (re-scoring from the log alone). */
export async function applyScorers(
  scorers: Scorer[],
  sample: Omit<Sample, 'source'> & { source?: Sample['source'] },
  rec: Pick<SampleRecord, 'output' | 'shownChoices' | 'targetLetter' | 'agent'> & { scores?: SampleRecord['scores'] },
  logprobsAllowed: boolean,
): Promise<Record<string, Score>> {
  const out: Record<string, Score> = {};
  if (!rec.output) return out;
  const withSource = sample.source ? (sample as Sample) : { ...sample, source: { file: '' } };
  const output = { content: rec.output.content, logprobs: rec.output.logprobs };
  for (const s of scorers) {
    if (s.needsLogprobs && !logprobsAllowed) {
      out[s.name] = { status: 'unscored', reason: 'access level does not allow logprobs' };
      continue;
    }
    try {
      out[s.name] = await s.score({
        sample: withSource,
        output,
        ...(rec.shownChoices ? { shownChoices: rec.shownChoices } : {}),
        ...(rec.targetLetter ? { targetLetter: rec.targetLetter } : {}),
        ...(rec.agent ? { agent: rec.agent } : {}),
        // Re-scoring: what this scorer recorded before (a grader's raw answer can be re-parsed).
        ...(rec.scores?.[s.name] ? { recorded: rec.scores[s.name] } : {}),
      });
    } catch (e) {
      // A scorer bug is not the model's fault: record it as unscored with the reason.
      out[s.name] = { status: 'unscored', reason: `scorer error: ${(e as Error).message}` };
    }
  }
  return out;
}
