import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState } from 'react';
import { get, type RunDetail, type SamplePage, type SampleRow } from './api';
import { href, useApi } from './hooks';

const PAGE = 200;
const FILTERS = ['q', 'score', 'min', 'max', 'errored', 'unscored', 'group', 'value'] as const;

/**
 * Samples of a run: filtered on the server (text, score range, group, errored, unscored), shown in a
 * virtualised list that fetches 200 rows at a time, so 100,000 samples stay fast. Filters live in the URL.
 */
export function Samples({ id, query }: { id: string; query: URLSearchParams }) {
  const { data: run } = useApi<RunDetail>(`/api/runs/${encodeURIComponent(id)}`);
  const filter = Object.fromEntries(FILTERS.map((k) => [k, query.get(k) ?? '']).filter(([, v]) => v !== '')) as Record<string, string>;
  const qs = new URLSearchParams(filter).toString();
  const [pages, setPages] = useState<Map<number, SampleRow[]>>(new Map());
  const [meta, setMeta] = useState<{ total: number; matched: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const loading = useRef(new Set<number>());
  const parent = useRef<HTMLDivElement>(null);
  const [text, setText] = useState(filter.q ?? '');

  const load = (page: number) => {
    if (loading.current.has(page)) return;
    loading.current.add(page);
    get<SamplePage>(`/api/runs/${encodeURIComponent(id)}/samples?${qs}${qs ? '&' : ''}offset=${page * PAGE}&limit=${PAGE}`)
      .then((p) => {
        setMeta({ total: p.total, matched: p.matched });
        setPages((m) => new Map(m).set(page, p.rows));
      })
      .catch((e: Error) => setError(e.message));
  };
  useEffect(() => {
    loading.current = new Set();
    setPages(new Map());
    setMeta(null);
    setError(null);
    load(0);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id, qs]);

  const v = useVirtualizer({ count: meta?.matched ?? 0, getScrollElement: () => parent.current, estimateSize: () => 34, overscan: 20 });
  const items = v.getVirtualItems();
  useEffect(() => {
    for (const it of items) {
      const p = Math.floor(it.index / PAGE);
      if (!pages.has(p)) load(p);
    }
  });

  const set = (k: string, val: string) => {
    const next = new URLSearchParams(filter);
    if (val) next.set(k, val);
    else next.delete(k);
    window.location.hash = href(['run', id, 'samples'], Object.fromEntries(next));
  };
  const score = filter.score ?? run?.scoreNames[0] ?? '';
  return (
    <section>
      <h1>Samples of <a href={href(['run', id])}>{id}</a></h1>
      <form className="toolbar" onSubmit={(e) => { e.preventDefault(); set('q', text); }} role="search">
        <label>Text <input type="search" value={text} onChange={(e) => setText(e.target.value)} data-testid="samples-search" placeholder="in inputs and outputs" /></label>
        <button type="submit">Search</button>
        <label>Score <select value={filter.score ?? ''} onChange={(e) => set('score', e.target.value)} data-testid="samples-score">
          <option value="">any</option>
          {(run?.scoreNames ?? []).map((s) => <option key={s} value={s}>{s}</option>)}
        </select></label>
        <label>min <input type="number" step="any" value={filter.min ?? ''} onChange={(e) => set('min', e.target.value)} data-testid="samples-min" /></label>
        <label>max <input type="number" step="any" value={filter.max ?? ''} onChange={(e) => set('max', e.target.value)} data-testid="samples-max" /></label>
        <label>Group <select value={filter.group ?? ''} onChange={(e) => set('group', e.target.value)} data-testid="samples-group">
          <option value="">any</option>
          {(run?.groupFields ?? []).map((g) => <option key={g} value={g}>{g}</option>)}
        </select></label>
        {filter.group && <label>= <input value={filter.value ?? ''} onChange={(e) => set('value', e.target.value)} data-testid="samples-group-value" /></label>}
        <label><input type="checkbox" checked={filter.errored === 'true'} onChange={(e) => set('errored', e.target.checked ? 'true' : '')} data-testid="samples-errored" /> errored</label>
        <label><input type="checkbox" checked={filter.unscored === 'true'} onChange={(e) => set('unscored', e.target.checked ? 'true' : '')} data-testid="samples-unscored" /> unscored</label>
      </form>
      {error && <p role="alert" className="error">{error}</p>}
      <p role="status" data-testid="samples-count">{meta ? `${meta.matched} of ${meta.total} records` : 'Loading…'}</p>
      <div className="vlist-head" aria-hidden="true"><span>#</span><span>sample</span><span>{score}</span><span>input</span><span>output</span></div>
      <div ref={parent} className="vlist" data-testid="samples-list" tabIndex={0} aria-label="samples">
        <div style={{ height: v.getTotalSize(), position: 'relative' }}>
          {items.map((it) => {
            const row = pages.get(Math.floor(it.index / PAGE))?.[it.index % PAGE];
            return (
              <div key={it.key} className="vrow" style={{ transform: `translateY(${it.start}px)` }} data-index={it.index}>
                {row ? (
                  <a href={href(['run', id, 'sample', row.key])} data-testid="sample-row" data-key={row.key}>
                    <span>{row.i + 1}</span>
                    <span>{row.sampleId}#{row.epoch}</span>
                    <span className="num">{row.errored ? `error: ${row.outcome}` : row.unscored ? `unscored${row.outcome ? `: ${row.outcome}` : ''}` : score in row.scores ? String(row.scores[score]) : '—'}</span>
                    <span className="clip">{row.input}</span>
                    <span className="clip">{row.output}</span>
                  </a>
                ) : <span className="muted">…</span>}
              </div>
            );
          })}
        </div>
      </div>
    </section>
  );
}
