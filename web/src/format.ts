/** Numbers as `assay stats` prints them (src/stats/format.ts: three decimals, '—' for none). */
export const f3 = (x: number | null | undefined): string => (x !== null && x !== undefined && Number.isFinite(x) ? x.toFixed(3) : '—');
export const ci = (i: { lo: number | null; hi: number | null } | null | undefined): string => (i ? `[${f3(i.lo)}, ${f3(i.hi)}]` : '—');
export const pct = (level: number): string => `${+(level * 100).toFixed(2)}%`;
