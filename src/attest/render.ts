import { AssayError } from '../common/errors.js';
import { isV2Metric, type PredicateMetric } from './predicate.js';
import type { VerifyResult } from './verify.js';

/**
 * Human-readable reports, rendered ONLY from a verified signed statement: the input is a
 * VerifyResult, and rendering refuses one whose envelope, signatures or statement failed. Every
 * value shown comes from the signed payload; the status line says how far verification went.
 */

type Block = { kind: 'h1'; text: string } | { kind: 'h2'; text: string } | { kind: 'p'; text: string } | { kind: 'note'; text: string } | { kind: 'table'; head: string[]; rows: string[][] } | { kind: 'list'; items: string[] };

export function renderReport(r: VerifyResult, format: 'md' | 'html'): string {
  const blocks = reportBlocks(r);
  return format === 'md' ? toMarkdown(blocks) : toHtml(blocks, r.statement!.predicate.suite.title);
}

const fmt = (x: number | null | undefined, digits = 4): string => (x === null || x === undefined ? '—' : Number.isInteger(x) ? String(x) : x.toFixed(digits));
const ci = (i: { lo: number | null; hi: number | null } | null | undefined) => (i ? `[${fmt(i.lo)}, ${fmt(i.hi)}]` : '—');

function reportBlocks(r: VerifyResult): Block[] {
  const fatal = r.failures.filter((f) => f.check === 'envelope' || f.check === 'signature' || f.check === 'statement');
  if (!r.statement || fatal.length)
    throw new AssayError('NOT_VERIFIED', `refusing to render: the report did not verify (${fatal[0]?.message ?? 'no signed statement'})`);
  const st = r.statement;
  const p = st.predicate;
  const tester = r.signatures.find((s) => s.role === 'tester' || s.role === 'developer');
  const trustLine = !tester?.trust
    ? 'signer trust not evaluated'
    : tester.trust.trusted
      ? tester.trust.how === 'accredited'
        ? `tester key accredited by ${tester.trust.body} (until ${tester.trust.notAfter})`
        : `tester key trusted directly (${'entry' in tester.trust ? tester.trust.entry : ''})`
      : `tester key NOT trusted: ${tester.trust.reason}`;
  const dataLine = r.runLog ? (r.failures.some((f) => ['run-log', 'transcripts', 'numbers'].includes(f.check)) ? 'numbers and digests DO NOT match the run log' : 'digests, transcript root and every metric recomputed from the run log and matched') : 'not checked against the run log';
  const blocks: Block[] = [
    { kind: 'h1', text: `Assay run report: ${p.suite.title}` },
    {
      kind: 'note',
      text: `Rendered from the signed statement (payload sha256 ${r.payloadSha256}). Verification at ${r.checkedAt}: signatures valid; ${trustLine}; ${dataLine}.${r.ok ? '' : ` NOT VERIFIED (exit ${r.exitCode}).`}`,
    },
  ];
  if (p.model.simulated) blocks.push({ kind: 'note', text: 'The model is the SIMULATED test target: these numbers describe no real model.' });
  blocks.push({
    kind: 'table',
    head: ['Field', 'Value'],
    rows: [
      ['Suite', `${p.suite.id}@${p.suite.version} (risk area: ${p.suite.riskArea})`],
      ['Suite digest', `sha256:${p.suite.digest.sha256}`],
      ['Model', `${p.model.name} (provider ${p.model.provider}, model ${p.model.model}, ${p.model.baseUrl})`],
      ['Model identity digest', `sha256:${p.model.identityDigest.sha256}`],
      ['Model release statement', p.model.releaseStatement ? `sha256:${p.model.releaseStatement.digest.sha256}` : 'none (no gateway)'],
      ['Access level', p.accessLevel],
      ['Run', `${p.run.id} (${p.run.status ?? 'no end record'})`],
      ['Run started / finished', `${p.timestamps.runStartedAt} / ${p.timestamps.runFinishedAt ?? '—'}`],
      ['Tester', `${p.tester.name} (${p.tester.keyId})`],
      ['Attested at', p.timestamps.attestedAt],
      ['Assay version', `${p.assay.version} (run log written by ${p.assay.runLogWrittenBy})`],
      ['Policy verdict', p.policy ? `${p.policy.verdict} (${p.policy.id})` : 'none applied'],
    ],
  });
  blocks.push({ kind: 'h2', text: 'Metrics' });
  const v2 = p.metrics.filter(isV2Metric);
  if (v2.length === p.metrics.length && v2.length) {
    // run-stats/v2: the honest headline interval, named, and the missing-data sensitivity (issue 18).
    blocks.push({
      kind: 'table',
      head: ['Metric', 'Scorer', 'n', 'Mean', `${Math.round(p.statistics.level * 100)}% CI`, 'Interval', 'If every excluded scored 0', '… scored 1', 'Scored / unscored / errored'],
      rows: v2.map((m) => [m.name, m.scorer, String(m.n), fmt(m.mean), m.interval.lo === null ? 'none' : ci({ lo: m.interval.lo, hi: m.interval.hi }), m.interval.basis.method === 'none' ? `none: ${m.interval.basis.reason}` : m.interval.method, m.sensitivity ? ci(m.sensitivity.excludedAs0) : '—', m.sensitivity ? ci(m.sensitivity.excludedAs1) : '—', `${m.counts.scored} / ${m.counts.unscored} / ${m.counts.errored}`]),
    });
    for (const m of v2) for (const w of m.interval.warnings) blocks.push({ kind: 'p', text: `${m.name}: ${w}.` });
  } else
    blocks.push({
      kind: 'table',
      head: ['Metric', 'Scorer', 'n', 'Mean', 'SE', `${Math.round(p.statistics.level * 100)}% CI (normal)`, 'Wilson', 'Clustered CI', 'Scored / unscored / errored'],
      rows: p.metrics.map((m: PredicateMetric) => [m.name, m.scorer, String(m.n), fmt(m.mean), fmt(m.se), ci(m.ci), ci(m.wilson), m.clustered ? `${ci(m.clustered.ci)} (${m.clustered.clusters} clusters)` : '—', `${m.counts.scored} / ${m.counts.unscored} / ${m.counts.errored}`]),
    });
  for (const m of p.metrics) {
    if (m.zeroEvent) blocks.push({ kind: 'p', text: `${m.name}: no ${m.zeroEvent.absent ? 'successes' : 'failures'} observed; one-sided upper bound on their rate ${fmt(m.zeroEvent.upperBound)}.` });
    if (m.groups)
      blocks.push({ kind: 'h2', text: `${m.name} by ${m.groups.by}` }, { kind: 'table', head: ['Group', 'n', 'Mean', 'SE', 'CI'], rows: m.groups.groups.map((g) => [g.group, String(g.n), fmt(g.mean), fmt(g.se), ci(g.ci)]) });
  }
  blocks.push({ kind: 'h2', text: 'Samples and transcripts' });
  blocks.push({
    kind: 'list',
    items: [
      `${p.counts.records} records (${p.counts.samples} samples × epochs): ${p.counts.scored} scored, ${p.counts.unscored} unscored, ${p.counts.errored} errored`,
      `transcript Merkle root (${p.transcripts.tree}, ${p.transcripts.size} leaves): ${p.transcripts.root}`,
    ],
  });
  blocks.push({ kind: 'h2', text: 'Configuration' });
  blocks.push({ kind: 'list', items: Object.entries(p.config).map(([k, v]) => `${k}: ${JSON.stringify(v)}`) });
  blocks.push({ kind: 'h2', text: 'Signatures' });
  blocks.push({
    kind: 'list',
    items: r.signatures.map((s) => `${s.role ?? 'signature'} ${s.keyId ?? s.keyidHint}: ${s.valid ? 'valid' : 'INVALID'}${s.trust ? (s.trust.trusted ? `, trusted (${s.trust.how})` : ', not trusted') : ''}`),
  });
  blocks.push({ kind: 'h2', text: 'Subjects' });
  blocks.push({ kind: 'list', items: st.subject.map((s) => `${s.name}: sha256:${s.digest.sha256}`) });
  return blocks;
}

/**
 * Markdown escaping for text inside paragraphs and table cells: emphasis, code, links (via
 * brackets), raw HTML and entities, table pipes; a leading block marker; newlines flattened.
 */
export function escapeMarkdown(s: string): string {
  return s
    .replace(/[\\`*_[\]<>|~&]/g, (c) => `\\${c}`)
    .replace(/\r?\n/g, ' ')
    .replace(/^([-=#+>])/, '\\$1')
    .replace(/^(\d+)([.)])(\s)/, '$1\\$2$3');
}

function toMarkdown(blocks: Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    if (b.kind === 'h1') out.push(`# ${escapeMarkdown(b.text)}`);
    else if (b.kind === 'h2') out.push(`## ${escapeMarkdown(b.text)}`);
    else if (b.kind === 'p') out.push(escapeMarkdown(b.text));
    else if (b.kind === 'note') out.push(`> ${escapeMarkdown(b.text)}`);
    else if (b.kind === 'list') out.push(b.items.map((i) => `- ${escapeMarkdown(i)}`).join('\n'));
    else out.push([`| ${b.head.map(escapeMarkdown).join(' | ')} |`, `|${b.head.map(() => ' --- ').join('|')}|`, ...b.rows.map((r) => `| ${r.map(escapeMarkdown).join(' | ')} |`)].join('\n'));
  }
  return out.join('\n\n') + '\n';
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function toHtml(blocks: Block[], title: string): string {
  const body = blocks
    .map((b) => {
      if (b.kind === 'h1' || b.kind === 'h2') return `<${b.kind}>${escapeHtml(b.text)}</${b.kind}>`;
      if (b.kind === 'p') return `<p>${escapeHtml(b.text)}</p>`;
      if (b.kind === 'note') return `<p class="note">${escapeHtml(b.text)}</p>`;
      if (b.kind === 'list') return `<ul>\n${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('\n')}\n</ul>`;
      return `<table>\n<thead><tr>${b.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>\n<tbody>\n${b.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n')}\n</tbody>\n</table>`;
    })
    .join('\n');
  // No scripts, no external resources: the page is as inert as the Markdown.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(`Assay run report: ${title}`)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}.note{background:#f4f4f4;padding:.5rem}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
