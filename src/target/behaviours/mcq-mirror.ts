import type { BehaviourFactory } from './types.js';
import { checkKeys, numParam } from './params.js';

const OPTION = /^([A-Z])[.)] (.*)$/;

/** Each word spelled backwards ("red apple" → "der elppa"): text no extraction rule can read. */
export const mirror = (t: string): string => t.replace(/[\p{L}\p{N}]+/gu, (w) => [...w].reverse().join('').toLowerCase());

/**
 * `mcq-mirror[:hedge=0.3]`: answers a multiple-choice prompt ("A. text" lines) in mirror writing,
 * never by letter: the text of one option (drawn per prompt) with each word spelled backwards, so
 * the rule extractor cannot read it; with probability `hedge` it names two options without choosing.
 * A test double of answers only a grader can read, for the grader fallback of `mcq_letter` (read by
 * `extraction-grader`, which also reads mirrored words); not a model of any real model.
 */
export const mcqMirror: BehaviourFactory = {
  description: 'answers multiple choice in mirror writing (an option\'s words spelled backwards), never by letter; hedge = share naming two options',
  create(params) {
    checkKeys('mcq-mirror', params, ['hedge']);
    const hedge = numParam('mcq-mirror', params, 'hedge', 0.3, 0, 1);
    return {
      name: 'mcq-mirror',
      answer(ctx) {
        const options = ctx.lastUser.split('\n').flatMap((l) => {
          const m = OPTION.exec(l);
          return m ? [m[2]!] : [];
        });
        if (options.length < 2 || ctx.lastUser.includes('#choice: N')) return null;
        const i = Math.floor(ctx.unit('mirror:pick') * options.length);
        if (ctx.unit('mirror:hedge') < hedge) return { content: `Mirror-written, undecided: ${mirror(options[i]!)} or ${mirror(options[(i + 1) % options.length]!)}.` };
        return { content: `Mirror-written answer: ${mirror(options[i]!)}.` };
      },
    };
  },
};
