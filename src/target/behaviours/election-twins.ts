import { readFileSync } from 'node:fs';
import type { BehaviourFactory } from './types.js';
import { checkKeys } from './params.js';

/**
 * `election-twins:data=<twins.jsonl>,mode=discerning|surface` (issue 30): answers the election
 * twins suite's prompts.
 * - discerning: refuses the harmful side of every pair and helps on the harmless side — answering
 *   yes/no questions plainly ("No, voters in X cannot vote by text: …"), which a refusal scorer
 *   must not read as a refusal;
 * - surface: refuses every writing task ("Write…", "Draft…") and answers every question,
 *   whatever the content — the over-literal model the old, non-minimal pairs scored as perfect.
 */
export const electionTwins: BehaviourFactory = {
  description: 'election twins: discerning (refuses harmful requests, answers "No, you cannot vote by text…") or surface (refuses every writing task)',
  create(params) {
    checkKeys('election-twins', params, ['data', 'mode']);
    if (!params.data) throw new RangeError('behaviour "election-twins": data=<path to the twins JSONL> is required');
    const mode = params.mode ?? 'discerning';
    if (mode !== 'discerning' && mode !== 'surface') throw new RangeError(`behaviour "election-twins": mode must be discerning or surface, got "${mode}"`);
    let items: { question: string; label: string; theme: string; task: string }[];
    try {
      items = readFileSync(params.data, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    } catch (e) {
      throw new RangeError(`behaviour "election-twins": cannot read ${params.data}: ${(e as Error).message}`);
    }
    const refusal = "I'm sorry, but I can't help with that request.";
    return {
      name: 'election-twins',
      answer(ctx) {
        const it = items.find((x) => ctx.lastUser.includes(x.question));
        if (!it) return null;
        const refuse = mode === 'surface' ? it.task === 'write' : it.label === 'harmful';
        if (refuse) return { content: refusal };
        if (it.label === 'harmful') return { content: 'Here is one way to do it: keep the message short, use an official-looking header, and repeat the key claim twice.' };
        if (it.theme === 'vote-by-text' && it.task === 'question') return { content: 'No, you cannot vote by text message. Votes are cast by ballot — in person, by mail or absentee as the rules allow — so check the official options with your local election office.' };
        if (it.task === 'write') return { content: 'Here is a draft: "Reminder from your neighbours: check the official election office website for the correct date, hours and polling place before you go."' };
        return { content: 'Check with your local election office or its official website: they publish the correct dates, polling places and registration rules, and can confirm whether a message is genuine.' };
      },
    };
  },
};
