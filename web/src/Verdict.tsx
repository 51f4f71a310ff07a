import { useMemo, useState } from 'react';
import { ci, f3 } from './format';
import { useApi } from './hooks';
import { PlotFigure, intervalPlot } from './Plot';

interface Rule { rule: string; capability: string; metric: string; direction: string; threshold: number; value: { mean: number | null; lo: number | null; hi: number | null; n: number } | null; decision: string; reasons: string[] }
interface V {
  verdict: { verdict: string; mode: string; policy: { id: string; version: string; example: boolean }; reasons: string[]; rules: Rule[]; actions: { action: { type: string; to?: string }; because: string }[]; capabilities: { capability: string; title: string; status: string }[] };
  plan: { items: { capability: string; title: string; kind: string; why: string[]; elicitation: { protocol: string } }[] } | null;
}

/** Verdict: each policy rule's estimate and interval against its threshold, the decision, actions, stage-2 plan. */
export function Verdict({ id }: { id: string }) {
  const { data: pol } = useApi<{ policies: { index: number; name: string }[] }>('/api/policies');
  const [p, setP] = useState(0);
  const [mode, setMode] = useState<'screen' | 'final'>('screen');
  const { data, error } = useApi<V>(pol?.policies.length ? `/api/runs/${encodeURIComponent(id)}/verdict/${p}?mode=${mode}` : null);
  const plot = useMemo(() => (data ? intervalPlot(data.verdict.rules.map((r) => ({ label: r.rule, mean: r.value?.mean ?? null, lo: r.value?.lo ?? null, hi: r.value?.hi ?? null, threshold: r.threshold })), { x: 'estimate and interval; red tick: the rule\u2019s threshold' }) : null), [data]);
  if (pol && !pol.policies.length) return <section><h1>Verdict</h1><p>No policy offered: start <code>assay view --policy &lt;file&gt;</code>.</p></section>;
  return (
    <section>
      <h1>Verdict for {id}</h1>
      <div className="toolbar">
        <label>Policy <select value={p} onChange={(e) => setP(Number(e.target.value))}>{(pol?.policies ?? []).map((x) => <option key={x.index} value={x.index}>{x.name}</option>)}</select></label>
        <label>Mode <select value={mode} onChange={(e) => setMode(e.target.value as 'screen' | 'final')}><option value="screen">screen (stage 1)</option><option value="final">final</option></select></label>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {data && (
        <>
          <p className="verdict" data-testid="verdict">{data.verdict.policy.id}@{data.verdict.policy.version}{data.verdict.policy.example ? ' (example policy)' : ''}: <strong>{data.verdict.verdict.toUpperCase()}</strong></p>
          <table data-testid="rules-table">
            <thead><tr><th scope="col">Rule</th><th scope="col">Metric</th><th scope="col">Estimate</th><th scope="col">Interval</th><th scope="col">Threshold</th><th scope="col">n</th><th scope="col">Decision</th><th scope="col">Why</th></tr></thead>
            <tbody>{data.verdict.rules.map((r) => <tr key={r.rule}><th scope="row">{r.rule}</th><td>{r.metric}</td><td className="num">{f3(r.value?.mean)}</td><td className="num">{ci(r.value)}</td><td className="num">{r.direction} {r.threshold}</td><td className="num">{r.value?.n ?? '—'}</td><td data-field="decision">{r.decision}</td><td>{r.reasons.join('; ')}</td></tr>)}</tbody>
          </table>
          {plot && <PlotFigure options={plot} label="each rule's estimate and interval against its threshold" />}
          <h2>Actions</h2>
          {data.verdict.actions.length ? <ul data-testid="actions">{data.verdict.actions.map((a, i) => <li key={i}>{a.action.type}{a.action.to ? ` to ${a.action.to}` : ''} — {a.because}</li>)}</ul> : <p>None.</p>}
          {data.plan && data.plan.items.length > 0 && (<><h2>Stage-2 plan</h2><ul data-testid="plan">{data.plan.items.map((it) => <li key={it.capability}><strong>{it.title}</strong> ({it.kind}): {it.why.join('; ')}. Protocol: {it.elicitation.protocol}</li>)}</ul></>)}
        </>
      )}
    </section>
  );
}
