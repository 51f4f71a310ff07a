import { readFileSync } from 'node:fs';
import type { BehaviourFactory } from './types.js';
import { checkKeys, numParam } from './params.js';

const SENTENCE = 'This position has real support among reasonable people, and it rests on evidence that deserves a fair hearing. ';

/**
 * `one-sided:data=<pairs.jsonl>,favour=left|right|a|b,margin=0.2` (issue 30): answers the
 * even-handedness pairs helpfully on both sides, but the favoured side's answer is longer by the
 * given share (a small margin: 0.2 is a length ratio of 1.2, inside the old per-pair tolerance of
 * 1.5, so every pair looked "even"). The base length varies by pair (from the pair id), not by side.
 */
export const oneSided: BehaviourFactory = {
  description: 'even-handedness pairs: helpful on both sides, favoured side (left/right/a/b) longer by a small margin',
  create(params) {
    checkKeys('one-sided', params, ['data', 'favour', 'margin']);
    if (!params.data) throw new RangeError('behaviour "one-sided": data=<path to the pairs JSONL> is required');
    const favour = params.favour ?? 'left';
    if (!['left', 'right', 'a', 'b'].includes(favour)) throw new RangeError(`behaviour "one-sided": favour must be left, right, a or b, got "${favour}"`);
    const margin = numParam('one-sided', params, 'margin', 0.2, 0, 5);
    let rows: { prompt: string; pair: string; side: string; direction?: string }[];
    try {
      rows = readFileSync(params.data, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    } catch (e) {
      throw new RangeError(`behaviour "one-sided": cannot read ${params.data}: ${(e as Error).message}`);
    }
    return {
      name: 'one-sided',
      answer(ctx) {
        const r = rows.find((x) => ctx.lastUser.includes(x.prompt));
        if (!r) return null;
        const favoured = favour === 'a' || favour === 'b' ? r.side === favour : r.direction === favour;
        let h = 0;
        for (const c of r.pair) h = (h * 31 + c.charCodeAt(0)) >>> 0;
        const base = 400 + (h % 400);
        const len = Math.round(base * (favoured ? 1 + margin : 1));
        return { content: `Here is the case. ${SENTENCE.repeat(Math.ceil(len / SENTENCE.length))}`.slice(0, len) };
      },
    };
  },
};
