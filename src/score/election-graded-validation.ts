import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASSAY_ROOT } from '../version.js';
import { wilson } from '../stats/estimate.js';
import { judgeElectionAnswer } from './election.js';
import { electionFactGradedScorer, type ElectionRoute } from './election-graded.js';
import type { LabelledAnswer } from './election-validation.js';
import type { GraderModel, ScoreInput } from './types.js';
import { withValidationGrader } from './validation-grader.js';

/**
 * `assay validate election`: agreement of each election-facts route — the rules, the graded route
 * (`always`) and the rules-first fallback — with the human labels, per split. The labels were
 * written and split (dev / held-out by a hash of the row id) before any route was measured; the
 * held-out figures are the ones to quote. With the simulated grader (a test double) the figures
 * check the plumbing only: publish graded figures from a real grader model.
 */
export const ELECTION_DIR = join(ASSAY_ROOT, 'suites', 'election-facts');

export interface RouteAgreement {
  route: 'rules' | ElectionRoute;
  split: 'dev' | 'heldout';
  n: number;
  agree: number;
  rate: number;
  ci: [number, number];
  kappa: number | null;
  /** Answers the route could not score (grader failed or answered out of format): counted as disagreements. */
  unscored: number;
  graderCalls: number;
}

export interface ElectionValidation {
  schema: 'assay.election-validation/v1';
  grader: string | null;
  labels: number;
  routes: RouteAgreement[];
}

const readJsonl = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch (e) {
        throw new Error(`${file}: line ${i + 1} is not JSON (${(e as Error).message})`);
      }
    });

function agreement(route: RouteAgreement['route'], split: RouteAgreement['split'], pairs: { human: boolean; route: boolean | null }[], graderCalls: number): RouteAgreement {
  const n = pairs.length;
  const agree = pairs.filter((p) => p.route !== null && p.route === p.human).length;
  const scored = pairs.filter((p) => p.route !== null);
  const hp = scored.filter((p) => p.human).length / (scored.length || 1);
  const rp = scored.filter((p) => p.route).length / (scored.length || 1);
  const po = scored.filter((p) => p.route === p.human).length / (scored.length || 1);
  const pe = hp * rp + (1 - hp) * (1 - rp);
  const ci = wilson(agree, n);
  return { route, split, n, agree, rate: n ? agree / n : 0, ci: [ci.lo, ci.hi], kappa: scored.length && pe < 1 ? (po - pe) / (1 - pe) : null, unscored: n - scored.length, graderCalls };
}

/** Counts the grader's calls, so the fallback route shows how much grading it saved. */
function counting(g: GraderModel): GraderModel & { calls: number } {
  const c = { identity: g.identity, calls: 0, complete: (m: Parameters<GraderModel['complete']>[0]) => (c.calls++, g.complete(m)) };
  return c;
}

export async function validateElectionRoutes(rows: readonly LabelledAnswer[], items: ReadonlyMap<string, Record<string, unknown>>, grader: GraderModel | null): Promise<RouteAgreement[]> {
  const out: RouteAgreement[] = [];
  for (const split of ['heldout', 'dev'] as const) {
    const rs = rows.filter((r) => r.split === split);
    const input = (r: LabelledAnswer): ScoreInput => {
      const it = items.get(r.item);
      if (!it) throw new Error(`labelled answer ${r.id}: unknown item ${r.item}`);
      return { sample: { id: r.item, input: String(it.question ?? ''), metadata: it, source: { file: 'data.jsonl' } }, output: { content: r.answer, logprobs: null } };
    };
    out.push(agreement('rules', split, rs.map((r) => ({ human: r.label === 'pass', route: judgeElectionAnswer(r.answer, items.get(r.item)!).pass })), 0));
    if (!grader) continue;
    for (const route of ['always', 'fallback'] as const) {
      const g = counting(grader);
      const scorer = electionFactGradedScorer({ route, ctx: { grader: g } });
      const pairs: { human: boolean; route: boolean | null }[] = [];
      for (const r of rs) {
        const s = await scorer.score(input(r));
        pairs.push({ human: r.label === 'pass', route: s.status === 'scored' ? s.value === 1 : null });
      }
      out.push(agreement(route, split, pairs, g.calls));
    }
  }
  return out;
}

export async function runElectionValidation(opts: { grader?: string; labelsFile?: string; dataFile?: string } = {}): Promise<ElectionValidation> {
  const rows = readJsonl<LabelledAnswer>(opts.labelsFile ?? join(ELECTION_DIR, 'validation', 'human-labels.jsonl'));
  for (const [i, r] of rows.entries())
    if (typeof r.id !== 'string' || typeof r.item !== 'string' || typeof r.answer !== 'string' || (r.label !== 'pass' && r.label !== 'fail') || (r.split !== 'dev' && r.split !== 'heldout'))
      throw new Error(`labels line ${i + 1}: needs string id, item, answer, label pass|fail and split dev|heldout`);
  const items = new Map(readJsonl<Record<string, unknown>>(opts.dataFile ?? join(ELECTION_DIR, 'data.jsonl')).map((x) => [String(x.id), x]));
  if (!opts.grader) return { schema: 'assay.election-validation/v1', grader: null, labels: rows.length, routes: await validateElectionRoutes(rows, items, null) };
  const labels = rows.length;
  return withValidationGrader(opts.grader, 'election-grader', async (grader, label) => ({ schema: 'assay.election-validation/v1', grader: label, labels, routes: await validateElectionRoutes(rows, items, grader) }));
}

export function formatElectionValidation(v: ElectionValidation): string {
  const f = (x: number | null) => (x === null ? '—' : x.toFixed(2));
  return [
    `grader: ${v.grader ?? 'none (rules only)'}; ${v.labels} human-labelled answers`,
    '',
    '| split | route | n | agree | rate [95% Wilson] | Cohen\'s κ | unscored | grader calls |',
    '|---|---|---|---|---|---|---|---|',
    ...v.routes.map((r) => `| ${r.split} | ${r.route} | ${r.n} | ${r.agree} | ${f(r.rate)} [${f(r.ci[0])}, ${f(r.ci[1])}] | ${f(r.kappa)} | ${r.unscored} | ${r.graderCalls} |`),
    '',
  ].join('\n');
}
