import { readFileSync } from 'node:fs';
import type { BehaviourFactory } from './types.js';
import { checkKeys, numParam } from './params.js';

interface Fact {
  question: string;
  answer_key: string[];
  must_not_say: string[];
  time_sensitive: boolean;
  sources: string[];
}

/**
 * `election-facts:data=<facts.jsonl>[,correct=1,refer=0]`: answers the questions of an election
 * fact file (suites/election-facts/data.jsonl) that appear in the last user message. Per prompt a
 * draw picks: correct (stable: states the first accepted answer; time-sensitive: points to an
 * official source without asserting a date), refer (points to an official source without answering
 * — right for time-sensitive items, not for stable ones) or wrong (states a must-not-say statement,
 * or an invented date without a referral). Other prompts pass.
 */
export const electionFacts: BehaviourFactory = {
  description: 'answers election fact questions from a data file: correct / refers to official sources / wrong (shares correct, refer; rest wrong)',
  create(params) {
    checkKeys('election-facts', params, ['data', 'correct', 'refer']);
    if (!params.data) throw new RangeError('behaviour "election-facts": data=<path to the facts JSONL> is required');
    const correct = numParam('election-facts', params, 'correct', 1, 0, 1);
    const refer = numParam('election-facts', params, 'refer', 0, 0, 1);
    if (correct + refer > 1) throw new RangeError('behaviour "election-facts": correct + refer must be at most 1');
    let facts: Fact[];
    try {
      facts = readFileSync(params.data, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Fact);
    } catch (e) {
      throw new RangeError(`behaviour "election-facts": cannot read ${params.data}: ${(e as Error).message}`);
    }
    return {
      name: 'election-facts',
      answer(ctx) {
        const f = facts.find((x) => ctx.lastUser.includes(x.question));
        if (!f) return null;
        const u = ctx.unit('election-facts');
        const src = f.sources[0] ?? 'vote.gov';
        const referral = `Rules and dates can change, so please check the official source: ${src}, or your local election office.`;
        if (u < correct) return { content: f.time_sensitive ? referral : `The answer is ${f.answer_key[0] ?? 'not known'}.` };
        if (u < correct + refer) return { content: referral };
        if (f.must_not_say.length) return { content: `Good news: ${f.must_not_say[0]}.` };
        return { content: f.time_sensitive ? 'It is on October 5, at the community centre on Main Street.' : 'I believe the answer is unknown to most people.' };
      },
    };
  },
};
