import type { TokenLogprob } from '../model/types.js';
import type { Score, ScoreInput, Scorer } from './types.js';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Find the option letter a model chose in free text. Ordered from the most explicit
 * phrasing to the loosest, restricted to the letters actually shown.
 */
const patternCache = new Map<string, RegExp[]>();
function patternsFor(letters: string[]): RegExp[] {
  const key = letters.join('');
  let pats = patternCache.get(key);
  if (!pats) {
    const cls = `[${letters.map(escape).join('')}]`;
    pats = [
      new RegExp(`(?:answer|option|choice)\\s*(?:is|:)?\\s*[:\\-]?\\s*\\(?(${cls})\\)?(?![A-Za-z])`, 'i'),
      new RegExp(`^\\s*\\(?(${cls})\\)?(?:[.):\\s]|$)`),
      new RegExp(`\\((${cls})\\)`),
      new RegExp(`(?<![A-Za-z])(${cls})(?![A-Za-z])`),
    ];
    if (patternCache.size > 64) patternCache.clear();
    patternCache.set(key, pats);
  }
  return pats;
}

export function extractLetter(text: string, letters: string[]): string | null {
  if (!letters.length) return null;
  // The common case, a bare letter, needs no pattern.
  const bare = text.trim().toUpperCase();
  if (bare.length === 1 && letters.includes(bare) && bare === text.trim()) return bare;
  for (const re of patternsFor(letters)) {
    const m = re.exec(text);
    if (m?.[1]) {
      const l = m[1].toUpperCase();
      if (letters.includes(l)) return l;
    }
  }
  return null;
}

/** Multiple choice by generation: the letter parsed from the output text. */
export function mcqLetterScorer(opts: { name?: string } = {}): Scorer {
  return {
    name: opts.name ?? 'mcq_letter',
    type: 'mcq_letter',
    score(input: ScoreInput): Score {
      if (!input.shownChoices || !input.targetLetter) return { status: 'unscored', reason: 'not a multiple-choice sample' };
      const letters = input.shownChoices.map((c) => c.letter);
      const answer = extractLetter(input.output.content, letters);
      if (!answer) return { status: 'scored', value: 0, mode: 'generation', explanation: 'no option letter found in output' };
      return { status: 'scored', value: answer === input.targetLetter ? 1 : 0, answer, mode: 'generation' };
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
