import * as Plot from '@observablehq/plot';
import { useEffect, useRef } from 'react';

/** Mounts an Observable Plot figure; the chart library draws, this only places it. */
export function PlotFigure({ options, label }: { options: Plot.PlotOptions; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const fig = Plot.plot({ className: 'plot-chart', ...options, ariaLabel: label });
    // Plot puts its default styles in a <style> element; the registry's CSP (style-src 'self')
    // refuses inline styles, so they live in style.css (.plot-chart) and the element goes.
    for (const st of fig.querySelectorAll('style')) st.remove();
    // One labelled image per chart: Plot's per-mark aria-labels on <g> are not allowed there (axe
    // aria-prohibited-attr); the numbers are in the table beside every chart.
    fig.setAttribute('role', 'img');
    for (const g of fig.querySelectorAll('g[aria-label]')) g.removeAttribute('aria-label');
    el.replaceChildren(fig);
    return () => fig.remove();
  }, [options, label]);
  return <div className="plot" ref={ref} />;
}

/** Points with their intervals (horizontal), optionally against a threshold line. */
export function intervalPlot(rows: { label: string; mean: number | null; lo: number | null; hi: number | null; threshold?: number }[], opts: { threshold?: number; x?: string } = {}): Plot.PlotOptions {
  const ok = rows.filter((r) => r.mean !== null);
  return {
    marginLeft: 200,
    height: 40 + 32 * Math.max(1, rows.length),
    x: { label: opts.x ?? 'estimate (95% interval)', grid: true },
    y: { label: null, domain: rows.map((r) => r.label) },
    marks: [
      Plot.ruleY(ok.filter((r) => r.lo !== null && r.hi !== null), { y: 'label', x1: 'lo', x2: 'hi', strokeWidth: 2 }),
      Plot.dot(ok, { y: 'label', x: 'mean', r: 4, fill: 'currentColor' }),
      ...(opts.threshold !== undefined ? [Plot.ruleX([opts.threshold], { stroke: '#b00020', strokeDasharray: '4,3' })] : []),
      // Per-row thresholds (policy rules): a red tick on each rule's own row.
      Plot.tickX(rows.filter((r) => r.threshold !== undefined), { y: 'label', x: 'threshold', stroke: '#b00020', strokeWidth: 3 }),
    ],
  };
}
