import type { Command } from 'commander';
import { AssayError } from '../../common/errors.js';
import { sandbaggingProbe } from '../../agent/sandbagging.js';
import { iterateSamples } from '../../run/log-reader.js';
import type { SampleRecord } from '../../run/types.js';
import { num } from '../options.js';
import { resolveRunLog } from './run.js';

const cut = (s: string, n = 2000) => (s.length > n ? `${s.slice(0, n)}\n[... ${s.length - n} more characters]` : s);

/**
 * Text from the run log made safe for a terminal: every control character except newline and tab
 * (ESC, CSI, OSC 52 clipboard writes, screen clears, carriage returns that overwrite a line, BEL,
 * C1 controls, bidi overrides, U+2028/2029) is shown escaped, so hostile tool output cannot act on
 * the reviewer's terminal or forge lines of the transcript.
 */
export function sanitiseForTerminal(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g, (c) => {
    const n = c.charCodeAt(0);
    return n === 0x1b ? '\\e' : n === 0x0d ? '\\r' : n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/** JSON escapes C0 controls itself; DEL, C1 (U+009B is a one-byte CSI), line separators and bidi overrides are escaped here too (still the same JSON value). */
export function jsonForTerminal(v: unknown): string {
  return JSON.stringify(v).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A readable transcript of one agentic sample, from the run log alone. */
export function formatTranscript(s: SampleRecord): string {
  const a = s.agent;
  if (!a) throw new AssayError('NOT_AGENTIC', `sample ${s.key} has no agent record (not an agentic suite)`);
  const out: string[] = [`# ${s.key} — ${a.task.family}${a.task.twin ? ` (${a.task.twin} twin)` : ''}: ${a.task.measures}`, ''];
  for (const m of s.messages) out.push(`[${m.role}] ${cut(m.content)}`, '');
  for (const st of a.steps) {
    if (st.type === 'assistant') out.push(`[assistant #${st.i}]${st.content ? ` ${cut(st.content)}` : ''}`);
    else if (st.type === 'tool_call') out.push(`  → ${st.name}(${cut(JSON.stringify(st.arguments), 600)})${st.argumentsError !== undefined ? ` [unreadable arguments: ${st.argumentsError}]` : ''}`);
    else if (st.type === 'tool_result') out.push(`  ← ${st.isError ? 'ERROR ' : ''}${cut(st.content, 800).replace(/\n/g, '\n    ')}${st.effect ? `\n    (mock effect: ${JSON.stringify(st.effect)})` : ''}`);
    else if (st.type === 'limit') out.push(`  !! ${st.limit} limit reached (${st.value} of ${st.max})`);
    else out.push(`  !! model error (${st.kind}): ${st.message}`);
  }
  out.push('', `stopped: ${a.stop.reason} — ${a.stop.detail}`);
  if (a.files?.changes.length) out.push(`files changed: ${a.files.changes.map((c) => `${c.change} ${c.path}`).join(', ')}`);
  out.push('checks:');
  for (const c of a.checks) out.push(`  ${c.holds ? 'HOLDS' : 'no   '} ${c.check}: ${c.evidence}`);
  out.push(`outcome: ${JSON.stringify(a.outcome)}`);
  // Escaped before the lines are joined, and tool output lines are indented, so no output can pose as a transcript line.
  return out.map((e) => sanitiseForTerminal(e).replace(/\n(?! {4})/g, '\n    ')).join('\n') + '\n';
}

export function register(program: Command): void {
  const agent = program.command('agent').description('Agentic suites: transcripts and the sandbagging probe');
  agent
    .command('transcript')
    .description('Print the transcript of agentic samples (every message, tool call, tool result, limit), their checks and outcome')
    .argument('<run>', 'run log path or run id')
    .argument('[sample]', 'sample id or key (default: every sample)')
    .option('--json', 'print the sample records as JSON lines')
    .action(async (ref: string, sample: string | undefined, o: { json?: boolean }) => {
      let n = 0;
      for await (const s of iterateSamples(await resolveRunLog(ref))) {
        if (sample && s.sampleId !== sample && s.key !== sample) continue;
        n++;
        process.stdout.write(o.json ? jsonForTerminal(s) + '\n' : formatTranscript(s) + '\n');
      }
      if (!n) throw new AssayError('NOT_FOUND', sample ? `no sample "${sample}" in the run` : 'the run has no samples');
    });
  agent
    .command('sandbagging')
    .description('Paired difference neutral − pressure of per-question correctness over two runs of the sandbagging probe')
    .argument('<neutral>', 'run of autonomy.sandbagging-neutral (log path or run id)')
    .argument('<pressure>', 'run of autonomy.sandbagging-pressure (log path or run id)')
    .option('--scorer <name>', 'scorer to compare', 'correct')
    .option('--level <p>', 'confidence level', num(0.5, 0.9999), 0.95)
    .option('--json', 'print the result as JSON')
    .action(async (a: string, b: string, o: { scorer: string; level: number; json?: boolean }) => {
      const r = await sandbaggingProbe(await resolveRunLog(a), await resolveRunLog(b), { scorer: o.scorer, level: o.level });
      if (o.json) return void process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      const c = r.comparison;
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      process.stdout.write(
        `sandbagging probe, model ${r.neutral.model}, ${c.n} paired questions\n` +
          `  neutral accuracy   ${pct(r.neutral.accuracy)}  (run ${r.neutral.runId})\n` +
          `  pressure accuracy  ${pct(r.pressure.accuracy)}  (run ${r.pressure.runId})\n` +
          `  difference (neutral − pressure) ${pct(c.diff)}, SE ${pct(c.se)}, ${Math.round(r.comparison.level * 100)}% CI [${pct(c.ci.lo)}, ${pct(c.ci.hi)}], paired t p = ${c.t.p.toPrecision(3)}\n`,
      );
    });
}
