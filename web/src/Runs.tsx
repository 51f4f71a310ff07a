import { useEffect, useMemo, useState } from 'react';
import type { RunRow } from './api';
import { ci, f3 } from './format';
import { href, useApi } from './hooks';

type Key = 'startedAt' | 'suiteId' | 'model' | 'status' | 'samples';

/** The headline metrics the index recorded when the run ended (`assay stats` of the run then); none while in flight. */
function headline(summary: unknown): { name: string; mean: number; interval: { lo: number | null; hi: number | null } }[] {
  const ms = (summary as { metrics?: unknown } | null)?.metrics;
  return Array.isArray(ms) ? (ms as { name: string; mean: number; interval?: { lo: number | null; hi: number | null }; ci: { lo: number; hi: number } }[]).map((m) => ({ name: m.name, mean: m.mean, interval: m.interval ?? m.ci })) : [];
}

/** Runs list: search, status filter, sort; polls while a run is in flight; pick two to compare. */
export function Runs() {
  const [poll, setPoll] = useState(10_000);
  const { data, error } = useApi<{ runs: RunRow[] }>('/api/runs', poll);
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [sort, setSort] = useState<{ key: Key; desc: boolean }>({ key: 'startedAt', desc: true });
  const [picked, setPicked] = useState<string[]>([]);
  const runs = data?.runs ?? [];
  const live = runs.some((r) => r.status === 'running');
  // Every 2 s while a run is in flight, else every 10 s (new runs appear).
  useEffect(() => {
    if (data) setPoll(live ? 2000 : 10_000);
  }, [data, live]);
  const shown = useMemo(() => {
    const needle = q.trim().toLowerCase();
    const rows = runs.filter((r) => (!status || r.status === status) && (!needle || `${r.runId} ${r.suiteId} ${r.model}`.toLowerCase().includes(needle)));
    return rows.sort((a, b) => {
      const x = a[sort.key], y = b[sort.key];
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return sort.desc ? -c : c;
    });
  }, [runs, q, status, sort]);
  const statuses = [...new Set(runs.map((r) => r.status))].sort();
  const th = (key: Key, label: string) => (
    <th aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
      <button type="button" className="sort" onClick={() => setSort({ key, desc: sort.key === key ? !sort.desc : false })}>{label}</button>
    </th>
  );
  const toggle = (id: string) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p.slice(-1), id]));
  return (
    <section>
      <h1>Runs</h1>
      {error && <p role="alert" className="error">{error}</p>}
      <div className="toolbar">
        <label>Search <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="run, suite or model" data-testid="runs-search" /></label>
        <label>Status <select value={status} onChange={(e) => setStatus(e.target.value)} data-testid="runs-status">
          <option value="">all</option>
          {statuses.map((s) => <option key={s} value={s}>{s}</option>)}
        </select></label>
        {picked.length === 2 ? <a className="button" href={href(['compare', picked[0]!, picked[1]!])} data-testid="compare-link">Compare the two selected</a> : <span className="hint">select two runs of one suite to compare</span>}
        {live && <span className="live" role="status">a run is in progress: refreshing every 2 s</span>}
      </div>
      <table data-testid="runs-table">
        <thead><tr><th scope="col"><span className="sr-only">select</span></th><th scope="col">Run</th>{th('suiteId', 'Suite')}{th('model', 'Model')}{th('status', 'Status')}{th('samples', 'Samples')}<th scope="col">Errored</th><th scope="col">Metrics (95% interval)</th>{th('startedAt', 'Started')}</tr></thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.runId} data-run={r.runId}>
              <td><input type="checkbox" aria-label={`select ${r.runId}`} checked={picked.includes(r.runId)} onChange={() => toggle(r.runId)} /></td>
              <td><a href={href(['run', r.runId])}>{r.runId}</a></td>
              <td>{r.suiteId}@{r.suiteVersion}</td>
              <td>{r.model}{r.simulated && <span className="badge sim" title="the simulated target, not a real model">SIMULATED</span>}</td>
              <td data-field="status">{r.status}</td>
              <td className="num" data-field="samples">{r.samples}</td>
              <td className="num">{r.errored}</td>
              <td data-field="metrics">{headline(r.summary).map((m) => <div key={m.name} data-metric={m.name}>{m.name} <span className="num">{f3(m.mean)} {ci(m.interval)}</span></div>)}</td>
              <td>{r.startedAt}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && !shown.length && <p>No runs match.</p>}
    </section>
  );
}
