import type { BehaviourFactory } from './types.js';
import { checkKeys, numParam, pick } from './params.js';

const OPTION = /^([A-Z])[.)] (.*)$/;

/** The options block (the last run of "A. text" lines) and the text before it. */
function parseOptions(prompt: string): { context: string; options: { letter: string; text: string }[] } | null {
  const lines = prompt.split('\n');
  let end = -1;
  for (let i = lines.length - 1; i >= 0; i--) if (OPTION.test(lines[i]!)) { end = i; break; }
  if (end < 0) return null;
  let start = end;
  while (start > 0 && OPTION.test(lines[start - 1]!)) start--;
  const options = lines.slice(start, end + 1).map((l) => { const m = OPTION.exec(l)!; return { letter: m[1]!, text: m[2]! }; });
  if (options.length < 2) return null;
  return { context: lines.slice(0, start).join('\n'), options };
}

/**
 * `mcq-reader[:accuracy=1,position=<letter>]`: answers multiple-choice prompts whose answer is
 * stated in the prompt itself (the fictional-domain set): the correct option is the one whose
 * text appears in the passage above the options. With probability `accuracy` it gives that
 * letter, otherwise a wrong one (drawn per prompt); `position=A` makes it a position-biased
 * answerer that always says A. Its first-token distribution puts 0.9 on the letter it says,
 * so logprob and generation modes agree by construction. Prompts where no single option appears
 * in the passage pass through (e.g. real-knowledge items reach the arithmetic/guessing answerer).
 */
export const mcqReader: BehaviourFactory = {
  description: 'answers multiple choice whose answer is stated in the prompt, with a given accuracy (or always one position)',
  create(params) {
    checkKeys('mcq-reader', params, ['accuracy', 'position']);
    const accuracy = numParam('mcq-reader', params, 'accuracy', 1, 0, 1);
    const position = params.position;
    if (position !== undefined && !/^[A-Z]$/.test(position)) throw new RangeError(`behaviour "mcq-reader": position must be a letter A–Z, got "${position}"`);
    return {
      name: 'mcq-reader',
      answer(ctx) {
        const parsed = parseOptions(ctx.lastUser);
        if (!parsed) return null;
        const context = parsed.context.toLowerCase();
        const found = parsed.options.filter((o) => context.includes(o.text.toLowerCase()));
        if (found.length !== 1) return null;
        const letters = parsed.options.map((o) => o.letter);
        let letter: string;
        if (position !== undefined && letters.includes(position)) letter = position;
        else if (ctx.unit('mcq-reader:correct') < accuracy) letter = found[0]!.letter;
        else letter = pick(letters.filter((l) => l !== found[0]!.letter), ctx.unit('mcq-reader:wrong'));
        const rest = letters.filter((l) => l !== letter);
        return { content: letter, firstToken: [{ token: letter, p: 0.9 }, ...rest.map((l) => ({ token: l, p: 0.09 / rest.length }))] };
      },
    };
  },
};
