import { useMemo } from 'react';
import type { RunRow } from './api';
import { ci, f3, pct } from './format';
import { href, useApi } from './hooks';
import { PlotFigure, intervalPlot } from './Plot';

interface Cmp {
  comparison: { suite: { id: string; version: string }; a: { runId: string; model: string }; b: { runId: string; model: string }; level: number; metrics: { name: string; n: number; meanA: number; meanB: number; diff: number; ci: { lo: number; hi: number }; p: number; tHolm: number }[] };
  items: { metric: string; improved: number; regressed: number; same: number; changed: { sampleId: string; a: number; b: number }[] }[];
}

/** Compare two runs of one suite: paired difference A − B with its interval (`assay compare`), per-item changes. */
export function Compare({ a, b }: { a?: string; b?: string }) {
  const { data: runs } = useApi<{ runs: RunRow[] }>('/api/runs');
  const { data, error } = useApi<Cmp>(a && b ? `/api/compare/${encodeURIComponent(a)}/${encodeURIComponent(b)}` : null);
  const plot = useMemo(() => (data ? intervalPlot(data.comparison.metrics.map((m) => ({ label: m.name, mean: m.diff, lo: m.ci.lo, hi: m.ci.hi })), { threshold: 0, x: 'difference A − B' }) : null), [data]);
  const pick = (which: 'a' | 'b', v: string) => (window.location.hash = href(['compare', which === 'a' ? v : (a ?? ''), which === 'b' ? v : (b ?? '')]));
  return (
    <section>
      <h1>Compare runs</h1>
      <div className="toolbar">
        {(['a', 'b'] as const).map((w) => (
          <label key={w}>Run {w.toUpperCase()} <select value={(w === 'a' ? a : b) ?? ''} onChange={(e) => pick(w, e.target.value)}>
            <option value="">choose…</option>
            {(runs?.runs ?? []).map((r) => <option key={r.runId} value={r.runId}>{r.runId} — {r.suiteId} — {r.model}</option>)}
          </select></label>
        ))}
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {data && (
        <>
          <p>{data.comparison.suite.id}@{data.comparison.suite.version}: A = {data.comparison.a.model} ({data.comparison.a.runId}), B = {data.comparison.b.model} ({data.comparison.b.runId}); {pct(data.comparison.level)} intervals.</p>
          <table data-testid="compare-table">
            <thead><tr><th scope="col">Metric</th><th scope="col">n paired</th><th scope="col">A</th><th scope="col">B</th><th scope="col">A − B</th><th scope="col">Interval</th><th scope="col">p (Holm)</th><th scope="col">Improved</th><th scope="col">Regressed</th><th scope="col">Same</th></tr></thead>
            <tbody>{data.comparison.metrics.map((m) => {
              const it = data.items.find((x) => x.metric === m.name);
              return <tr key={m.name} data-metric={m.name}><th scope="row">{m.name}</th><td className="num">{m.n}</td><td className="num">{f3(m.meanA)}</td><td className="num">{f3(m.meanB)}</td><td className="num" data-field="diff">{f3(m.diff)}</td><td className="num" data-field="interval">{ci(m.ci)}</td><td className="num">{m.tHolm.toPrecision(3)}</td><td className="num" data-field="improved">{it?.improved}</td><td className="num" data-field="regressed">{it?.regressed}</td><td className="num">{it?.same}</td></tr>;
            })}</tbody>
          </table>
          {plot && <PlotFigure options={plot} label="paired differences with intervals" />}
          {data.items[0] && data.items[0].changed.length > 0 && (
            <>
              <h2>Changed items ({data.items[0].metric})</h2>
              <table data-testid="changed-items"><thead><tr><th scope="col">Sample</th><th scope="col">A</th><th scope="col">B</th><th scope="col">Change</th></tr></thead>
                <tbody>{data.items[0].changed.slice(0, 200).map((c) => <tr key={c.sampleId}><td>{c.sampleId}</td><td className="num">{f3(c.a)}</td><td className="num">{f3(c.b)}</td><td>{c.a > c.b ? 'improved' : 'regressed'}</td></tr>)}</tbody></table>
            </>
          )}
        </>
      )}
    </section>
  );
}
