import { useApi, href } from './hooks';

/** A model grader's identity and verbatim answer, as the run log keeps them (src/score/types.ts GraderRecord). */
interface Grader { model: { name: string } | null; rubric: string; promptDigest: string; raw: string | null; error?: string; reparsedFrom?: string }
interface Msg { role: string; content: unknown; tool_calls?: unknown; toolCalls?: unknown }
interface Rec {
  key: string; sampleId: string; epoch: number; sample: { input?: unknown; target?: unknown; metadata?: unknown };
  messages: Msg[]; output: { content: string; finishReason: string | null } | null; usage: { inputTokens: number; outputTokens: number } | null;
  timing: { startedAt: string; latencyMs: number; attempts: number }; scores: Record<string, { status?: string; value?: unknown; answer?: unknown; explanation?: string; reason?: string; outcome?: string; grader?: Grader; detail?: unknown }>;
  error: { kind: string; message: string } | null; outcome?: string; agent?: unknown;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));

/** One sample: conversation, output, scores with explanations and grader transcript, timing, tokens, agent steps. All text, never HTML. */
export function Sample({ id, sampleKey }: { id: string; sampleKey: string }) {
  const { data: r, error } = useApi<Rec>(`/api/runs/${encodeURIComponent(id)}/samples/${encodeURIComponent(sampleKey)}`);
  if (error) return <p role="alert" className="error">{error}</p>;
  if (!r) return <p>Loading…</p>;
  return (
    <section>
      <h1>Sample {r.sampleId} (epoch {r.epoch})</h1>
      <p><a href={href(['run', id, 'samples'])}>← samples of {id}</a></p>
      <dl className="facts">
        <dt>Target</dt><dd className="mono">{text(r.sample.target ?? null)}</dd>
        <dt>Timing</dt><dd>{r.timing.startedAt}, {r.timing.latencyMs} ms, {r.timing.attempts} attempt(s)</dd>
        <dt>Tokens</dt><dd>{r.usage ? `${r.usage.inputTokens} in, ${r.usage.outputTokens} out` : '—'}</dd>
        {r.error && (<><dt>Error</dt><dd data-testid="sample-error">{r.error.kind}: {r.error.message}</dd></>)}
        {r.outcome && (<><dt>Outcome</dt><dd>{r.outcome}</dd></>)}
      </dl>
      <h2>Conversation</h2>
      <ol className="messages" data-testid="messages">
        {r.messages.map((m, i) => <li key={i}><span className="role">{m.role}</span><pre>{text(m.content)}</pre>{(m.tool_calls ?? m.toolCalls) ? <pre>{text(m.tool_calls ?? m.toolCalls)}</pre> : null}</li>)}
        <li><span className="role">output</span><pre data-testid="sample-output">{r.output?.content ?? '(no output)'}</pre></li>
      </ol>
      <h2>Scores</h2>
      <table data-testid="scores">
        <thead><tr><th scope="col">Scorer</th><th scope="col">Status</th><th scope="col">Value</th><th scope="col">Answer</th><th scope="col">Explanation, or why unscored</th></tr></thead>
        <tbody>{Object.entries(r.scores).map(([k, s]) => <tr key={k} data-scorer={k}><th scope="row">{k}</th><td data-field="status">{s.status ?? ''}</td><td className="num">{text(s.value ?? null)}</td><td>{text(s.answer ?? '')}</td><td data-field="why">{s.explanation ?? ''}{s.reason ? `${s.outcome ? `${s.outcome}: ` : ''}${s.reason}` : ''}</td></tr>)}</tbody>
      </table>
      {Object.entries(r.scores).filter(([, s]) => s.grader).map(([k, s]) => (
        <div key={k} data-testid="grader" data-scorer={k}>
          <h3>Grader transcript ({k})</h3>
          <dl className="facts">
            <dt>Grader</dt><dd>{s.grader!.model?.name ?? '(re-parsed from an earlier record)'}{s.grader!.reparsedFrom ? ` — re-parsed from the ${s.grader!.reparsedFrom} answer` : ''}</dd>
            <dt>Rubric</dt><dd>{s.grader!.rubric}</dd>
            <dt>Prompt digest</dt><dd className="mono">{s.grader!.promptDigest}</dd>
            {s.grader!.error && (<><dt>Error</dt><dd>{s.grader!.error}</dd></>)}
          </dl>
          <pre data-testid="grader-raw">{s.grader!.raw ?? '(no answer)'}</pre>
        </div>
      ))}
      {r.agent ? (<><h2>Agent steps and sandbox commands</h2><pre data-testid="agent">{text(r.agent)}</pre></>) : null}
    </section>
  );
}
