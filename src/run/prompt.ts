import type { ChatMessage } from '../model/types.js';
import { showChoices } from '../suite/choices.js';
import { renderTemplate, type ShownChoice } from '../suite/template.js';
import type { Sample, SuiteDefinition } from '../suite/types.js';

export interface BuiltPrompt {
  messages: ChatMessage[];
  shownChoices?: ShownChoice[];
  targetLetter?: string;
}

/** The solver: turns a sample into the chat sent to the model. Pure and deterministic for (seed, epoch). */
export function buildPrompt(def: SuiteDefinition, sample: Sample, seed: number, epoch: number): BuiltPrompt {
  const messages: ChatMessage[] = [];
  if (def.solver.system) messages.push({ role: 'system', content: def.solver.system });
  if (typeof sample.input !== 'string') {
    // A chat input is sent as given (after the suite's system message); a loop, not a spread, so a
    // chat of any length cannot overflow the call stack.
    for (const m of sample.input) messages.push(m);
    return { messages };
  }
  if (def.solver.type === 'multiple_choice') {
    const { shown, targetLetter } = showChoices(sample, def.solver.shuffle, seed, epoch);
    messages.push({ role: 'user', content: renderTemplate(def.template, sample, shown) });
    return { messages, shownChoices: shown, ...(targetLetter ? { targetLetter } : {}) };
  }
  messages.push({ role: 'user', content: renderTemplate(def.template, sample) });
  return { messages };
}
