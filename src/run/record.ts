import type { BuiltPrompt } from './prompt.js';
import type { SampleRecord, WorkUnit } from './types.js';

/**
 * The fields every sample record starts from (the engine's single-call records and the agent
 * executor's episodes): identity, the sample without its source location, the prompt as built,
 * the request parameters, and empty result fields for the caller to fill.
 */
export function sampleRecordBase(unit: WorkUnit, prompt: BuiltPrompt, request: SampleRecord['request']): SampleRecord {
  const { source: _source, ...sample } = unit.sample;
  const rec: SampleRecord = {
    type: 'sample',
    key: unit.key,
    sampleId: unit.sample.id,
    epoch: unit.epoch,
    sample,
    messages: prompt.messages,
    // Parameters only: the messages are already recorded above and, exactly as sent, in `sent.body`.
    request,
    sent: null,
    output: null,
    usage: null,
    timing: { startedAt: '', latencyMs: 0, attempts: 0 },
    scores: {},
    error: null,
  };
  if (prompt.shownChoices) rec.shownChoices = prompt.shownChoices;
  if (prompt.targetLetter) rec.targetLetter = prompt.targetLetter;
  return rec;
}
