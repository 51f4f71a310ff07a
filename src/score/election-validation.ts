/**
 * Agreement of the election-facts rules with human labels (suites/election-facts/validation/
 * human-labels.jsonl: answers written and labelled pass/fail by hand, split dev / held-out by a
 * hash of the row id before any measurement). Rules are tuned on dev only; held-out agreement is
 * what METHODOLOGY.md reports.
 */
import { judgeElectionAnswer } from './election.js';

export interface LabelledAnswer {
  id: string;
  item: string;
  kind: string;
  answer: string;
  label: 'pass' | 'fail';
  split: 'dev' | 'heldout';
}

export interface Agreement {
  n: number;
  agree: number;
  rate: number;
  /** Cohen's kappa between rules and humans. */
  kappa: number;
  byKind: Record<string, { n: number; agree: number }>;
  disagreements: { id: string; kind: string; label: string; rules: string }[];
}

export function electionAgreement(rows: readonly LabelledAnswer[], items: ReadonlyMap<string, Record<string, unknown>>): Agreement {
  let agree = 0;
  let hp = 0;
  let rp = 0;
  const byKind: Agreement['byKind'] = {};
  const disagreements: Agreement['disagreements'] = [];
  for (const r of rows) {
    const meta = items.get(r.item);
    if (!meta) throw new RangeError(`labelled answer ${r.id}: unknown item ${r.item}`);
    const v = judgeElectionAnswer(r.answer, meta);
    const rules = v.pass ? 'pass' : 'fail';
    const k = (byKind[r.kind] ??= { n: 0, agree: 0 });
    k.n++;
    if (rules === r.label) (agree++, k.agree++);
    else disagreements.push({ id: r.id, kind: r.kind, label: r.label, rules: `${rules} (${Object.entries(v).filter(([, b]) => b).map(([x]) => x).join(',')})` });
    if (r.label === 'pass') hp++;
    if (rules === 'pass') rp++;
  }
  const n = rows.length;
  const po = agree / n;
  const pe = (hp / n) * (rp / n) + (1 - hp / n) * (1 - rp / n);
  return { n, agree, rate: po, kappa: pe < 1 ? (po - pe) / (1 - pe) : 1, byKind, disagreements };
}
