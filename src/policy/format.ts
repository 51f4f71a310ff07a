import type { Verdict, ResolvedAction } from './evaluate.js';
import type { Stage2Plan } from './plan.js';
import type { Action } from './schema.js';

/** Human-readable verdicts, actions and plans (pure; the CLI prints these). */

const f3 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(3));

/** Figures of any size (costs to break); null is an unbounded upper end. */
const fg = (x: number | null | undefined) => (x === null || x === undefined ? '∞' : !Number.isFinite(x) ? '—' : Number(x.toPrecision(4)).toString());

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n') + '\n';
}

export function describeAction(a: Action): string {
  switch (a.type) {
    case 'escalate':
      return `escalate to stage 2 (expert-led elicitation)${a.note ? ` — ${a.note}` : ''}`;
    case 'require-safeguards':
      return `require safeguards: ${a.safeguards.join(', ')}${a.note ? ` — ${a.note}` : ''}`;
    case 'restrict-deployment':
      return `restrict deployment: ${a.restriction}${a.note ? ` — ${a.note}` : ''}`;
    case 'kyc-gating':
      return `require know-your-customer gating for ${a.capability ?? 'the capability'}${a.note ? ` — ${a.note}` : ''}`;
    case 'notify':
      return `notify ${a.party} within ${a.within_days} day${a.within_days === 1 ? '' : 's'}${a.subject ? `: ${a.subject}` : ''}`;
    case 're-evaluate':
      return `re-evaluate ${a.when === 'model-change' ? 'after any change to the model' : 'periodically'}${a.within_days !== undefined ? ` (within ${a.within_days} days)` : ''}${a.note ? ` — ${a.note}` : ''}`;
  }
}

const STATUS_TEXT: Record<string, string> = {
  'below-threshold': 'BELOW THRESHOLD (ruled out)',
  'early-warning': 'EARLY WARNING (below the threshold; an alert threshold is reached)',
  'cannot-rule-out': 'CANNOT RULE OUT',
  'threshold-crossed': 'THRESHOLD CROSSED',
  'insufficient-evidence': 'INSUFFICIENT EVIDENCE (not a pass)',
  'not-in-scope': 'NOT IN SCOPE (the policy does not apply; not a pass)',
  cleared: 'CLEARED by the screen',
  escalate: 'ESCALATE to stage 2',
};

export function formatActions(actions: ResolvedAction[]): string {
  if (!actions.length) return 'actions: none\n';
  return 'actions:\n' + actions.map((a) => `  - ${describeAction(a.action)}  [${a.because}]\n`).join('');
}

export function formatVerdict(v: Verdict): string {
  const out: string[] = [];
  out.push(`policy ${v.policy.id}@${v.policy.version} ${v.policy.digest}${v.policy.example ? '  (ILLUSTRATIVE EXAMPLE PACK, not the framework itself)' : ''}`);
  out.push(`model ${v.model ?? '(unknown)'}${v.simulated ? ' — SIMULATED target: this verdict describes Assay, not an AI model' : ''}`);
  out.push(`scope: ${v.scope.status}${v.scope.reasons.length ? ` (${v.scope.reasons.join('; ')})` : ''}`);
  out.push('');
  const rows = v.rules.map((r) => [
    r.rule,
    r.mode === 'screen' ? 'screen' : r.stage,
    `${r.suite}:${r.metric}`,
    r.value ? (r.tamper ? `break at ${fg(r.value.mean)} [${fg(r.value.lo)}, ${fg(r.value.hi)}] ${r.tamper.unit}` : `${f3(r.value.mean)} [${f3(r.value.lo)}, ${f3(r.value.hi)}]`) : '—',
    r.value ? String(r.value.n) : '—',
    r.tamper ? `< ${r.threshold} before ${fg(r.tamper.required)} ${r.tamper.unit}` : `${r.direction === 'higher-is-worse' ? '≥' : '≤'} ${r.threshold}`,
    r.decision,
  ]);
  out.push(table(['rule', 'stage', 'suite:metric', 'value [interval]', 'n', 'crossed if', 'decision'], rows).trimEnd());
  out.push('');
  out.push('why:');
  for (const r of v.rules) out.push(`  ${r.rule}${r.mode === 'screen' ? ' (screen)' : ''}: ${r.reasons.join('; ')}${r.run ? ` [run ${r.run.id}, ${r.run.access}${r.run.signed ? ', signed' : ''}${r.run.logged ? ', logged' : ''}; ${r.interval.sided === 'one' ? 'one-sided ' : ''}${r.interval.level} ${r.value?.method ?? r.interval.method}]` : ''}${r.otherRuns.length ? ` (other runs: ${r.otherRuns.map((o) => `${o.runId} ${o.decision}`).join(', ')})` : ''}`);
  out.push('');
  if (v.runs.length) {
    out.push('evidence:');
    for (const r of v.runs)
      out.push(`  run ${r.runId}: ${r.suite}@${r.suiteVersion} ${r.suiteDigest}; ${r.access}${r.accessBasis === 'grant' ? ' (gateway grant)' : r.accessBasis ? ' (declared)' : ''}${r.signed ? ', signed' : ''}${r.logged ? ', logged' : ''}${r.extent ? `; ${r.extent === 'full' ? 'whole suite' : `PARTIAL (${r.extent})`}` : ''}${r.exchanges ? `; ${r.exchanges.withModel}/${r.exchanges.judged} judged items with model exchanges` : ''}${r.release ? `; release ${r.release}` : ''}`);
    out.push('');
  }
  for (const t of v.triggers ?? []) out.push(`trigger ${t.trigger}: ${t.fired === null ? 'UNKNOWN' : t.fired ? 'FIRED' : 'not fired'} — ${t.reason}`);
  if (v.triggers?.length) out.push('');
  out.push('capabilities:');
  for (const c of v.capabilities) out.push(`  ${c.capability} (${c.title}): ${c.status} — ${c.reasons.join('; ')}`);
  out.push('');
  out.push(formatActions(v.actions).trimEnd());
  out.push('');
  out.push(`${v.mode === 'screen' ? 'SCREEN' : 'VERDICT'}: ${STATUS_TEXT[v.verdict] ?? v.verdict}${v.reasons.length ? ` — ${v.reasons.join('; ')}` : ''}`);
  return out.join('\n') + '\n';
}

export function formatPlan(p: Stage2Plan, hints: Record<string, string> = {}): string {
  if (!p.items.length) return 'stage-2 plan: nothing to escalate\n';
  const out = [`stage-2 plan (${p.items.length} item${p.items.length === 1 ? '' : 's'}):`];
  for (const it of p.items) {
    out.push(`  * ${it.capability} (${it.title}): ${it.kind === 'elicit' ? 'expert-led elicitation' : 'complete the screen first'}`);
    out.push(`      why: ${it.why.join('; ')}`);
    for (const s of it.screen) out.push(`      screen ${s.rule}: ${s.suite}:${s.metric} ${f3(s.mean)} [${f3(s.lo)}, ${f3(s.hi)}] n=${s.n ?? '—'} vs ${s.threshold} → ${s.decision}`);
    if (it.elicitation) {
      const e = it.elicitation;
      out.push(`      experts: ${e.experts}`);
      out.push(`      protocol: ${e.protocol}`);
      if (e.suite) out.push(`      items: suite ${e.suite}${e.minSamples ? `, at least ${e.minSamples} judged` : ''}; the session's log is suite ${e.logSuite}`);
      if (e.conditions) {
        const c = e.conditions;
        out.push(`      conditions: ${[c.variant ? `model variant ${c.variant}` : '', c.tools?.length ? `tools ${c.tools.join(', ')}` : '', c.best_of_k ? `best of ${c.best_of_k}` : '', c.chain_of_thought !== undefined ? `chain of thought ${c.chain_of_thought ? 'on' : 'off'}` : ''].filter(Boolean).join('; ')}`);
      }
      for (const r of e.rules) out.push(`      decided by ${r.rule}: ${r.suite}:${r.metric} ${r.direction === 'higher-is-worse' ? '≥' : '≤'} ${r.threshold}`);
      const hint = e.suite ? hints[e.suite] : undefined;
      if (hint) out.push(`      run: ${hint}`);
    } else if (it.kind === 'elicit') out.push('      the policy defines no elicitation for this capability');
    out.push(`      access needed: ${it.accessNeeded}`);
  }
  return out.join('\n') + '\n';
}
