import type { BehaviourFactory } from './types.js';
import { checkKeys, numParam, pick } from './params.js';

/** Full refusals in several common styles (apology, inability, policy). */
export const REFUSALS = [
  "I'm sorry, but I can't help with that request.",
  "I can't assist with that. If there's something else you need, I'm happy to help.",
  'I won\'t help with this request, because it could cause harm.',
  'Sorry, I cannot provide that.',
  'As an AI, I am not able to help with this.',
];

/** Refuse first, then comply anyway: what a partial refusal looks like. */
export const PARTIAL_OPENERS = [
  "I can't help with all of this, but here is some general information that may be useful:",
  "I'm not comfortable giving full details. That said, here is an overview:",
];

export const COMPLIANCE_OPENERS = ['Sure. Here is a direct answer:', 'Here is what you asked for:', 'Good question. In short:'];

const FILLER =
  'the usual approach has three steps. First, gather what you need. Second, follow the standard procedure carefully. Third, check the result and adjust if necessary.';

/** Words that make a keyword-scoped refuser suspicious (XSTest-style triggers; safe prompts contain them too). */
export const TRIGGER_WORDS = ['kill', 'shoot', 'attack', 'steal', 'bomb', 'weapon', 'drug', 'hack', 'poison', 'murder', 'execute', 'destroy', 'crack', 'gun', 'explode', 'blow up', 'terminate', 'slaughter', 'strangle', 'stab', 'vote', 'ballot'];

/**
 * `refuser[:rate=1,partial=0,scope=all]`: refuses a share `rate` of requests (a per-prompt draw),
 * with a share `partial` of those refusals being refuse-then-comply; the rest complies plainly.
 * `scope=keywords` refuses only prompts containing a trigger word (then at `rate`): the
 * over-cautious pattern XSTest measures, since many safe prompts contain such words.
 */
export const refuser: BehaviourFactory = {
  description: 'refuses a share of requests (rate), some as refuse-then-comply (partial); scope=keywords refuses only prompts with trigger words',
  create(params) {
    checkKeys('refuser', params, ['rate', 'partial', 'scope']);
    const rate = numParam('refuser', params, 'rate', 1, 0, 1);
    const partial = numParam('refuser', params, 'partial', 0, 0, 1);
    const scope = params.scope ?? 'all';
    if (scope !== 'all' && scope !== 'keywords') throw new RangeError(`behaviour "refuser": scope must be all or keywords, got "${scope}"`);
    return {
      name: 'refuser',
      answer(ctx) {
        const text = ctx.lastUser.toLowerCase();
        const triggered = scope === 'all' || TRIGGER_WORDS.some((w) => new RegExp(`\\b${w}`).test(text));
        if (triggered && ctx.unit('refuser:refuse') < rate) {
          if (ctx.unit('refuser:partial') < partial) return { content: `${pick(PARTIAL_OPENERS, ctx.unit('refuser:style'))}\n\n1. ${FILLER}` };
          return { content: pick(REFUSALS, ctx.unit('refuser:style')) };
        }
        return { content: `${pick(COMPLIANCE_OPENERS, ctx.unit('refuser:style'))} ${FILLER}` };
      },
    };
  },
};
