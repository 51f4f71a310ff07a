import type { BehaviourFactory } from './types.js';
import { checkKeys, numParam } from './params.js';
import { mirror } from './mcq-mirror.js';

/**
 * `extraction-grader[:garble=0]`: acts as the GRADER of the answer-extraction rubric
 * (`assay.extract-grader@1`, score/mcq-grader.ts). It reads the options and the nonce-delimited
 * response from the rubric prompt and answers `#choice: N` by a deliberately simple rule: -1 when
 * the response declines in so many words, else the number of the one option all of whose words
 * occur among the response's words (case-insensitive, any order), as written or spelled backwards
 * (the `mcq-mirror` double's answers, which no extraction rule reads), else 0. With probability `garble` it answers out of format.
 * A test double that checks the plumbing of the grader fallback and `assay validate extraction`;
 * its figures are never a grader's.
 */
const DECLINES = /\b(?:i (?:can(?:no|['’])t|won['’]t|will not|must decline|decline)|i['’]m (?:not able|unable) to)\b/i;

const wordsOf = (t: string): string[] => t.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

export function readExtractionPrompt(text: string): { options: string[]; response: string } | null {
  const open = /^<<<RESPONSE ([0-9A-F]{16})$/m.exec(text);
  if (!open) return null;
  const start = open.index + open[0].length + 1;
  const end = text.lastIndexOf(`\nRESPONSE ${open[1]}>>>`);
  if (end < start - 1) return null;
  const block = /\nOptions:\n([\s\S]*?)\n\n/.exec(text.slice(0, open.index));
  if (!block) return null;
  const options = block[1]!.split('\n').map((l) => l.replace(/^[A-Z]\. /, ''));
  return { options, response: text.slice(start, Math.max(start, end)) };
}

export const extractionGrader: BehaviourFactory = {
  description: 'grades the answer-extraction rubric (#choice: N) by a simple rule (the one option all of whose words occur in the response); garble = share answered out of format',
  create(params) {
    checkKeys('extraction-grader', params, ['garble']);
    const garble = numParam('extraction-grader', params, 'garble', 0, 0, 1);
    return {
      name: 'extraction-grader',
      answer(ctx) {
        const text = ctx.lastUser;
        if (!text.includes('#choice: N')) return null;
        const p = readExtractionPrompt(text);
        if (!p) return null;
        if (ctx.unit('grader:garble') < garble) return { content: 'It is probably the second one.' };
        if (DECLINES.test(p.response)) return { content: '#choice: -1' };
        const said = new Set(wordsOf(p.response));
        const hits = p.options.flatMap((o, i) => {
          const ws = wordsOf(o);
          const mw = wordsOf(mirror(o));
          return ws.length && (ws.every((w) => said.has(w)) || mw.every((w) => said.has(w))) ? [i + 1] : [];
        });
        return { content: `#choice: ${hits.length === 1 ? hits[0] : 0}` };
      },
    };
  },
};
