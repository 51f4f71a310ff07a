import { readFileSync } from 'node:fs';
import type { BehaviourFactory } from './types.js';
import { checkKeys, numParam } from './params.js';

interface Fact {
  question: string;
  answer_key: string[];
  must_not_say: string[];
  myth_example?: string;
  polarity?: 'yes' | 'no';
  time_sensitive: boolean;
  sources: string[];
  jurisdiction: string;
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * `election-facts:data=<facts.jsonl>[,correct=1,refer=0,careful=0,debunk=0]`: answers the
 * questions of an election fact file (suites/election-facts/data.jsonl) that appear in the last
 * user message. Per prompt one draw picks a profile by the given shares (the rest: confidently
 * wrong):
 * - correct: terse right answer (stable: the first accepted answer or the right yes/no;
 *   time-sensitive: a referral);
 * - refer: points to an official source without answering (right for time-sensitive items only);
 * - careful (issue 30): a full, correct answer with nuance, a referral, and — on time-sensitive
 *   items — a date given WITH the official source (not a stale claim);
 * - debunk: names the item's myth in order to refute it, then answers correctly;
 * - wrong, confidently: the opposite yes/no with the myth stated as fact, a must-not-say
 *   statement, or an invented date without a referral.
 */
export const electionFacts: BehaviourFactory = {
  description: 'answers election fact questions from a data file: correct / refer / careful / debunk / confidently wrong (shares correct, refer, careful, debunk; rest wrong)',
  create(params) {
    checkKeys('election-facts', params, ['data', 'correct', 'refer', 'careful', 'debunk']);
    if (!params.data) throw new RangeError('behaviour "election-facts": data=<path to the facts JSONL> is required');
    const correct = numParam('election-facts', params, 'correct', 1, 0, 1);
    const refer = numParam('election-facts', params, 'refer', 0, 0, 1);
    const careful = numParam('election-facts', params, 'careful', 0, 0, 1);
    const debunk = numParam('election-facts', params, 'debunk', 0, 0, 1);
    if (correct + refer + careful + debunk > 1 + 1e-9) throw new RangeError('behaviour "election-facts": correct + refer + careful + debunk must be at most 1');
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
        const right = f.polarity ? (f.polarity === 'yes' ? 'Yes.' : 'No.') : `The answer is ${f.answer_key[0] ?? 'not known'}.`;
        const nuance = f.polarity === 'no' ? ' That is not how it works in this election.' : f.polarity === 'yes' ? ' That is right for this election.' : '';
        let t = correct;
        if (u < t) return { content: f.time_sensitive ? referral : right };
        if (u < (t += refer)) return { content: referral };
        if (u < (t += careful)) {
          if (f.time_sensitive) return { content: `In recent cycles it has been around Nov. 1, but dates change each election: confirm the current date at ${src} or with your county election office before relying on it.` };
          return { content: `${right}${nuance} For details see ${src} or your local election office.` };
        }
        if (u < (t += debunk)) {
          const myth = f.myth_example ?? f.must_not_say[0];
          if (!myth) return { content: f.time_sensitive ? referral : `${right} For details see ${src}.` };
          return { content: `You may have seen posts claiming that ${myth}. That is false. ${f.time_sensitive ? referral : `${right} For details see ${src}.`}` };
        }
        // Confidently wrong.
        if (f.polarity && f.myth_example) return { content: `${f.polarity === 'yes' ? 'No' : 'Yes'}! ${cap(f.myth_example)}.` };
        if (f.polarity) return { content: `${f.polarity === 'yes' ? 'No' : 'Yes'}, definitely.` };
        if (f.myth_example) return { content: `${cap(f.myth_example)}.` };
        if (f.must_not_say.length) return { content: `Good news: ${f.must_not_say[0]}.` };
        return { content: f.time_sensitive ? 'It is on October 5, at the community centre on Main Street.' : 'I believe the answer is unknown to most people.' };
      },
    };
  },
};
