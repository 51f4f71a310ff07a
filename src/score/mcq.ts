import type { TokenLogprob } from '../model/types.js';
import type { Score, ScoreInput, Scorer, ScorerContext } from './types.js';

import { extractAnswer, extractLetterFrom, EXTRACTOR_VERSION } from './extract.js';

/**
 * The option letter a model chose in free text, or null when it refused or gave no readable
 * answer. Kept for callers that only need the letter; scorers use `extractAnswer` (score/extract.ts),
 * which also says why and how.
 */
export function extractLetter(text: string, letters: string[]): string | null {
  return extractLetterFrom(text, letters);
}

/**
 * Multiple choice by generation: the answer read from the output text by `extractAnswer`.
 * A refusal or an unreadable answer is not a wrong answer: it is unscored with outcome `refused`
 * or `unreadable`, counted and shown beside the metric. Every score records how it was read.
 *
 * `fallback: 'grader'`: an answer the rules leave `unreadable` is read by the run's grader, when it
 * has one (score/mcq-grader.ts, loaded only then); answers the rules read never reach the grader.
 * Without a grader (and no recorded grader answer to re-parse) the scorer is the rules alone.
 */
export function mcqLetterScorer(opts: { name?: string; fallback?: 'grader'; ctx?: ScorerContext } = {}): Scorer {
  const ctx = opts.ctx ?? {};
  return {
    name: opts.name ?? 'mcq_letter',
    type: 'mcq_letter',
    ...(opts.fallback === 'grader' ? { usesGrader: true } : {}),
    score(input: ScoreInput): Score | Promise<Score> {
      if (!input.shownChoices || !input.targetLetter) return { status: 'unscored', reason: 'not a multiple-choice sample' };
      const e = extractAnswer(input.output.content, input.shownChoices);
      const extraction = { extractor: EXTRACTOR_VERSION, rule: e.rule, span: e.span, matched: e.matched };
      if (e.outcome !== 'answer') {
        const rules: Score = { status: 'unscored', outcome: e.outcome, reason: e.outcome === 'refused' ? `the model refused to answer (${e.rule})` : `no answer could be read (${e.rule})`, extraction };
        if (e.outcome === 'unreadable' && opts.fallback === 'grader' && (ctx.grader || input.recorded?.grader)) {
          const mcq = { ...input, shownChoices: input.shownChoices, targetLetter: input.targetLetter };
          return import('./mcq-grader.js').then(async (m) => (await m.graderFallback(mcq, { ...e, outcome: 'unreadable' }, extraction, ctx)) ?? rules);
        }
        return rules;
      }
      return { status: 'scored', value: e.letter === input.targetLetter ? 1 : 0, answer: e.letter, mode: 'generation', explanation: `read by rule "${e.rule}": ${JSON.stringify(e.matched)}`, detail: { extraction } };
    },
  };
}

/** Normalise a token to an option letter: " B", "B.", "(B" all read as "B". */
function tokenLetter(token: string, letters: string[]): string | null {
  const t = token.trim().replace(/^[(\[]/, '').replace(/[.):\]]$/, '');
  return t.length === 1 && letters.includes(t.toUpperCase()) ? t.toUpperCase() : null;
}

/**
 * Multiple choice by logprob: among the shown letters, the one with the highest probability
 * at the first answer position (the first generated token that is not whitespace).
 */
export function mcqLogprobScorer(opts: { name?: string } = {}): Scorer {
  return {
    name: opts.name ?? 'mcq_logprob',
    type: 'mcq_logprob',
    needsLogprobs: true,
    score(input: ScoreInput): Score {
      if (!input.shownChoices || !input.targetLetter) return { status: 'unscored', reason: 'not a multiple-choice sample' };
      const lps = input.output.logprobs;
      if (!lps || lps.length === 0) return { status: 'unscored', reason: 'no logprobs in output (needs grey-box access)' };
      const letters = input.shownChoices.map((c) => c.letter);
      const pos = lps.find((t: TokenLogprob) => t.token.trim().length > 0) ?? lps[0]!;
      const best = new Map<string, number>();
      for (const cand of [{ token: pos.token, logprob: pos.logprob }, ...pos.top]) {
        const l = tokenLetter(cand.token, letters);
        if (l && (best.get(l) ?? -Infinity) < cand.logprob) best.set(l, cand.logprob);
      }
      if (best.size === 0) return { status: 'unscored', reason: 'no option letter among the top logprobs' };
      let answer = '';
      let lp = -Infinity;
      for (const [l, v] of best) if (v > lp) [answer, lp] = [l, v];
      // Probability mass on the correct letter, normalised over the letters seen: a variance-free item score.
      const z = [...best.values()].reduce((s, v) => s + Math.exp(v), 0);
      const pTarget = Math.exp(best.get(input.targetLetter) ?? -Infinity) / z;
      return {
        status: 'scored',
        value: answer === input.targetLetter ? 1 : 0,
        answer,
        mode: 'logprob',
        explanation: `p(target)=${pTarget.toFixed(4)} over ${best.size} letters`,
      };
    },
  };
}
