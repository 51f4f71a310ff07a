import { AssayError } from '../common/errors.js';
import type { Score, ScoreInput, Scorer } from './types.js';

function targets(input: ScoreInput): string[] {
  const t = input.sample.target;
  if (t === undefined) return [];
  return Array.isArray(t) ? t : [t];
}

function noTarget(): Score {
  return { status: 'unscored', reason: 'sample has no target' };
}

export interface MatchOptions {
  name?: string;
  /** Compare case-insensitively (default true). */
  ignoreCase?: boolean;
}

const norm = (s: string, ignoreCase: boolean) => {
  const t = s.trim().replace(/\s+/g, ' ');
  return ignoreCase ? t.toLowerCase() : t;
};

/** Output equals a target after trimming and whitespace folding. */
export function exactScorer(opts: MatchOptions = {}): Scorer {
  const ic = opts.ignoreCase ?? true;
  return {
    name: opts.name ?? 'exact',
    type: 'exact',
    score(input) {
      const ts = targets(input);
      if (!ts.length) return noTarget();
      const out = norm(input.output.content, ic);
      const hit = ts.find((t) => norm(t, ic) === out);
      return { status: 'scored', value: hit !== undefined ? 1 : 0, answer: input.output.content.trim() };
    },
  };
}

/** Output contains a target. */
export function includesScorer(opts: MatchOptions = {}): Scorer {
  const ic = opts.ignoreCase ?? true;
  return {
    name: opts.name ?? 'includes',
    type: 'includes',
    score(input) {
      const ts = targets(input);
      if (!ts.length) return noTarget();
      const out = norm(input.output.content, ic);
      const hit = ts.find((t) => out.includes(norm(t, ic)));
      return { status: 'scored', value: hit !== undefined ? 1 : 0, ...(hit !== undefined ? { answer: hit } : {}) };
    },
  };
}

export interface RegexOptions {
  name?: string;
  /** Pattern whose first capture group (or whole match) is the answer, compared with the target. */
  pattern: string;
  flags?: string;
}

/** Extract an answer with a regex and compare it with the target (case-insensitive, trimmed). */
export function regexScorer(opts: RegexOptions): Scorer {
  let re: RegExp;
  try {
    re = new RegExp(opts.pattern, opts.flags ?? 'i');
  } catch (e) {
    throw new AssayError('SCORER_INVALID', `invalid regex: ${(e as Error).message}`, { field: 'scorers.pattern' });
  }
  return {
    name: opts.name ?? 'regex',
    type: 'regex',
    score(input) {
      const ts = targets(input);
      if (!ts.length) return noTarget();
      const m = re.exec(input.output.content);
      if (!m) return { status: 'scored', value: 0, explanation: 'pattern did not match' };
      const answer = (m[1] ?? m[0]).trim();
      const hit = ts.some((t) => norm(t, true) === norm(answer, true));
      return { status: 'scored', value: hit ? 1 : 0, answer };
    },
  };
}
