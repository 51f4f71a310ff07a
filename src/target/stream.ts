/**
 * Server-sent-event renderings of the SIMULATED target's answers, for requests with
 * `"stream": true`. The stream carries exactly the answer the non-streaming call would give (same
 * content, finish reason, usage and logprobs), split into the event sequence each real API sends:
 *
 * - OpenAI chat completions: `chat.completion.chunk` objects (role, content deltas, finish reason;
 *   a final usage chunk only with `stream_options.include_usage`), then `data: [DONE]`.
 * - Anthropic Messages: message_start, content_block_start, content_block_delta (text_delta)…,
 *   content_block_stop, message_delta (stop reason, output tokens), message_stop.
 */

const sse = (data: unknown, event?: string) => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;

/** Pieces of a text that concatenate back to it: words with their leading whitespace. */
const pieces = (s: string): string[] => (s === '' ? [] : (s.match(/\s*\S+|\s+$/g) ?? [s]));

export function openaiStream(answer: Record<string, any>, includeUsage: boolean): string[] {
  const choice = answer.choices[0];
  const base = { id: answer.id, object: 'chat.completion.chunk', created: answer.created, model: answer.model, system_fingerprint: answer.system_fingerprint };
  const lp: any[] | null = choice.logprobs?.content ?? null;
  const out = [sse({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] })];
  // With logprobs, one chunk per logprob token (their texts concatenate to the content).
  const parts = lp ? lp.map((t) => ({ text: t.token as string, logprobs: { content: [t] } })) : pieces(choice.message.content).map((text) => ({ text, logprobs: null }));
  for (const p of parts) out.push(sse({ ...base, choices: [{ index: 0, delta: { content: p.text }, logprobs: p.logprobs, finish_reason: null }] }));
  out.push(sse({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: choice.finish_reason }] }));
  if (includeUsage) out.push(sse({ ...base, choices: [], usage: answer.usage }));
  out.push('data: [DONE]\n\n');
  return out;
}

export function anthropicStream(answer: Record<string, any>): string[] {
  const text: string = answer.content[0]?.text ?? '';
  const out = [
    sse({ type: 'message_start', message: { ...answer, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: answer.usage.input_tokens, output_tokens: 0 } } }, 'message_start'),
    sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
  ];
  for (const p of pieces(text)) out.push(sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } }, 'content_block_delta'));
  out.push(
    sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
    sse({ type: 'message_delta', delta: { stop_reason: answer.stop_reason, stop_sequence: null }, usage: { output_tokens: answer.usage.output_tokens } }, 'message_delta'),
    sse({ type: 'message_stop' }, 'message_stop'),
  );
  return out;
}
