import { useEffect, useMemo, useState } from 'react';
import type { RunDetail } from './api';
import { ci, f3, pct } from './format';
import { href, useApi } from './hooks';
import { PlotFigure, intervalPlot } from './Plot';

/** Run: header facts, every metric with its headline interval on a plot, group breakdowns, epochs, exclusions. */
export function Run({ id }: { id: string }) {
  const [poll, setPoll] = useState(0);
  const { data: r, error } = useApi<RunDetail>(`/api/runs/${encodeURIComponent(id)}`, poll);
  // Live progress: re-read every 2 s while the run is in flight.
  useEffect(() => {
    if (r) setPoll(r.status === 'running' ? 2000 : 0);
  }, [r]);
  const metricPlot = useMemo(() => (r ? intervalPlot(r.stats.metrics.map((m) => ({ label: m.name, mean: m.mean, lo: m.interval.lo, hi: m.interval.hi }))) : null), [r]);
  if (error) return <p role="alert" className="error">{error}</p>;
  if (!r) return <p>Loading…</p>;
  const h = r.header;
  return (
    <section>
      <h1>Run {h.runId}</h1>
      {h.model.simulated && <p className="badge sim" role="note">SIMULATED target — not a real model</p>}
      <dl className="facts" data-testid="run-facts">
        <dt>Suite</dt><dd>{h.suite.id}@{h.suite.version}</dd>
        <dt>Suite digest</dt><dd className="mono">{h.suite.digest}</dd>
        <dt>Model</dt><dd>{h.model.name}</dd>
        <dt>Status</dt><dd data-testid="run-status">{r.status}{r.status === 'running' && <span className="live" role="status"> — in progress, refreshing every 2 s</span>}</dd>
        <dt>Started</dt><dd>{h.startedAt} (assay {h.assayVersion})</dd>
        <dt>Records</dt><dd data-testid="run-records">{r.records}</dd>
        <dt>Settings</dt><dd className="mono">{['access', 'epochs', 'seed', 'temperature', 'maxTokens', 'maxConnections'].map((k) => `${k}=${JSON.stringify(h.config[k] ?? null)}`).join(' · ')}</dd>
      </dl>
      <p><a href={href(['run', id, 'samples'])}>Samples</a> · <a href={href(['verdict', id])}>Verdict</a></p>
      <h2>Metrics ({pct(r.stats.level)} intervals)</h2>
      <table data-testid="metrics-table">
        <thead><tr><th scope="col">Metric</th><th scope="col">Mean</th><th scope="col">Interval</th><th scope="col">Method</th><th scope="col">n</th><th scope="col">Scored</th><th scope="col">Unscored</th><th scope="col">Errored</th><th scope="col">Clustered interval</th><th scope="col">Epochs</th></tr></thead>
        <tbody>
          {r.stats.metrics.map((m) => (
            <tr key={m.name} data-metric={m.name}>
              <th scope="row">{m.name}</th>
              <td className="num" data-field="mean">{f3(m.mean)}</td>
              <td className="num" data-field="interval">{ci(m.interval)}</td>
              <td>{m.interval.method}</td>
              <td className="num" data-field="n">{m.n}</td>
              <td className="num">{m.counts.scored}</td>
              <td className="num">{m.counts.unscored}</td>
              <td className="num">{m.counts.errored}</td>
              <td className="num">{m.clustered ? `${ci(m.clustered.ci)} (${m.clustered.clusters} clusters)` : '—'}</td>
              <td className="num">{m.epochs.max}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {metricPlot && <PlotFigure options={metricPlot} label="metrics with their intervals" />}
      {r.stats.metrics.filter((m) => m.groups).map((m) => (
        <div key={m.name}>
          <h3>{m.name} by {m.groups!.by}</h3>
          <table data-testid={`groups-${m.name}`}>
            <thead><tr><th scope="col">{m.groups!.by}</th><th scope="col">Mean</th><th scope="col">Interval</th><th scope="col">n</th></tr></thead>
            <tbody>{m.groups!.groups.map((g) => <tr key={g.group} data-group={g.group}><th scope="row">{g.group}</th><td className="num" data-field="mean">{f3(g.mean)}</td><td className="num" data-field="interval">{ci(g.interval ?? g.ci)}</td><td className="num" data-field="n">{g.n}</td></tr>)}</tbody>
          </table>
          <PlotFigure options={intervalPlot(m.groups!.groups.map((g) => ({ label: `${m.groups!.by}=${g.group}`, mean: g.mean, lo: (g.interval ?? g.ci).lo, hi: (g.interval ?? g.ci).hi })))} label={`${m.name} by ${m.groups!.by}`} />
        </div>
      ))}
      <h2>Unscored and errored records</h2>
      {Object.keys(r.outcomes).length ? (
        <ul data-testid="outcomes">{Object.entries(r.outcomes).map(([k, n]) => <li key={k}><a href={href(['run', id, 'samples'], { errored: k === 'empty' || k === 'filtered' ? undefined : 'true', unscored: k === 'empty' || k === 'filtered' ? 'true' : undefined })}>{k}</a>: {n}</li>)}</ul>
      ) : <p>None: every record was scored.</p>}
      {r.events.length > 0 && (<><h2>Events</h2><ul className="events">{r.events.slice(0, 50).map((e, i) => <li key={i}>{e.at} {e.kind}</li>)}</ul></>)}
    </section>
  );
}
