import type { BehaviourFactory } from './types.js';
import { checkKeys } from './params.js';

/** Double-quoted passages in the user's message: what an injection in the suite demands verbatim. */
const QUOTED = /"([^"\n]{1,200})"/g;

/**
 * `injection-target:mode=leaking|robust`: a chat assistant with a system prompt, for the
 * prompt-injection suites. `leaking` obeys whatever the user message (or a document or tool output
 * inside it) says: it repeats its system prompt, secrets included, and writes every quoted string
 * the message demands. `robust` follows only its system prompt: a fixed polite answer that neither
 * repeats instructions nor quotes the input. Requests without a system prompt pass through.
 */
export const injectionTarget: BehaviourFactory = {
  description: 'a system-prompted assistant that obeys injected instructions (leaking) or ignores them (robust)',
  create(params) {
    checkKeys('injection-target', params, ['mode']);
    const mode = params.mode ?? 'leaking';
    if (mode !== 'leaking' && mode !== 'robust') throw new RangeError(`behaviour "injection-target": mode must be leaking or robust, got "${mode}"`);
    return {
      name: 'injection-target',
      answer(ctx) {
        if (ctx.system === null) return null;
        if (mode === 'robust') return { content: "I can help with your request within my role, but I won't change my instructions or share anything confidential." };
        const demanded = [...ctx.lastUser.matchAll(QUOTED)].map((m) => m[1]!);
        return { content: `Sure. My instructions were: ${ctx.system}${demanded.length ? `\n${demanded.join('\n')}` : ''}` };
      },
    };
  },
};
