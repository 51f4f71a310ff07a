import * as Plot from '@observablehq/plot';

/**
 * The mutual-recognition graph as an Observable Plot figure: accreditors placed evenly on a circle,
 * one bent arrow per agreement (recogniser → recognised; a mutual agreement is two arrows bending
 * apart), labelled with its risk areas. Plot draws the marks; this only computes where nodes sit.
 */
export function recognitionGraph(edges: { from: string; to: string; label: string; active: boolean }[]): Plot.PlotOptions {
  const names = [...new Set(edges.flatMap((e) => [e.from, e.to]))].sort();
  const at = new Map(names.map((n, i) => {
    const a = names.length === 1 ? 0 : Math.PI + (2 * Math.PI * i) / names.length;
    return [n, { x: Math.cos(a), y: Math.sin(a) * 0.6 }];
  }));
  const nodes = names.map((name) => ({ name, ...at.get(name)! }));
  const arrows = edges.map((e) => ({ ...e, x1: at.get(e.from)!.x, y1: at.get(e.from)!.y, x2: at.get(e.to)!.x, y2: at.get(e.to)!.y }));
  return {
    height: 200,
    marginLeft: 40,
    marginRight: 40,
    x: { axis: null, domain: [-1.6, 1.6] },
    y: { axis: null, domain: [-0.8, 0.8] },
    marks: [
      Plot.arrow(arrows, { x1: 'x1', y1: 'y1', x2: 'x2', y2: 'y2', bend: 22, inset: 14, className: 'recognition-edge', stroke: (d: { active: boolean }) => (d.active ? '#1d3557' : '#999'), strokeWidth: 2 }),
      Plot.text(arrows, { x: (d: { x1: number; x2: number }) => (d.x1 + d.x2) / 2, y: (d: { y1: number; y2: number; x1: number; x2: number }) => (d.y1 + d.y2) / 2 + (d.x2 > d.x1 ? 0.22 : -0.22), text: 'label', fill: '#333' }),
      Plot.dot(nodes, { x: 'x', y: 'y', r: 9, fill: '#1d3557' }),
      Plot.text(nodes, { x: 'x', y: 'y', text: 'name', dy: -18, fontWeight: 600 }),
    ],
  };
}
