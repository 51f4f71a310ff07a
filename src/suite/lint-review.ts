/**
 * Review-date checks for dated reference answers (`assay suite lint`, issue 30): every
 * time-sensitive item must carry `as_of` (when its facts were checked) and `review_by` (when they
 * must be re-checked), and an item whose `review_by` has passed is flagged — failing a shipped
 * suite, warning for an imported one. Items outside time-sensitive sets that carry `review_by`
 * are checked the same way. `today` is an input so the check is a pure function of the data and a date.
 */
import type { LoadedSuite, Sample } from './types.js';
import type { LintFinding } from './lint.js';

export interface ReviewLint {
  suite: string;
  shipped: boolean;
  items: number;
  dated: number;
  findings: LintFinding[];
  verdict: 'ok' | 'warn' | 'fail';
}

const ISO = /^\d{4}-\d{2}-\d{2}$/;

export function reviewFindings(items: readonly { id: string; metadata: Record<string, unknown> }[], opts: { suite: string; shipped: boolean; today: string }): ReviewLint {
  const bad = opts.shipped ? 'fail' : 'warn';
  const missing: string[] = [];
  const malformed: string[] = [];
  const overdue: string[] = [];
  let dated = 0;
  for (const it of items) {
    const m = it.metadata;
    const ts = m.time_sensitive === true || m.time_sensitive === 'true';
    const review = m.review_by;
    if (review === undefined && !ts) continue;
    dated++;
    if (ts && (m.as_of === undefined || review === undefined)) {
      missing.push(it.id);
      continue;
    }
    if (typeof review !== 'string' || !ISO.test(review) || (m.as_of !== undefined && (typeof m.as_of !== 'string' || !ISO.test(m.as_of)))) {
      malformed.push(it.id);
      continue;
    }
    if (review < opts.today) overdue.push(`${it.id} (review by ${review})`);
  }
  const list = (xs: string[]) => `${xs.slice(0, 8).join(', ')}${xs.length > 8 ? `, … (${xs.length} in all)` : ''}`;
  const findings: LintFinding[] = [
    { check: 'dated items: as_of and review_by', verdict: missing.length ? bad : 'ok', message: missing.length ? `${missing.length} time-sensitive item(s) without as_of or review_by: ${list(missing)}` : `${dated} dated item(s), all with as_of and review_by` },
    { check: 'dated items: date format', verdict: malformed.length ? bad : 'ok', message: malformed.length ? `${malformed.length} item(s) with as_of / review_by not in YYYY-MM-DD: ${list(malformed)}` : 'ok' },
    { check: `dated items: past review (today ${opts.today})`, verdict: overdue.length ? bad : 'ok', message: overdue.length ? `${overdue.length} item(s) past their review date — re-check the reference answers against the official sources: ${list(overdue)}` : 'none past review' },
  ];
  const verdict = findings.some((f) => f.verdict === 'fail') ? 'fail' : findings.some((f) => f.verdict === 'warn') ? 'warn' : 'ok';
  return { suite: opts.suite, shipped: opts.shipped, items: items.length, dated, findings, verdict };
}

/** Null when no item is dated (nothing to check). */
export async function lintReviewDates(suite: LoadedSuite, opts: { shipped: boolean; today: string }): Promise<ReviewLint | null> {
  const items: { id: string; metadata: Record<string, unknown> }[] = [];
  for await (const s of suite.samples() as AsyncIterable<Sample>) items.push({ id: s.id, metadata: s.metadata ?? {} });
  const r = reviewFindings(items, { suite: `${suite.def.id}@${suite.def.version}`, ...opts });
  return r.dated ? r : null;
}
