/**
 * Reads usage out of a streamed (server-sent events) answer as it passes through, without
 * changing it: OpenAI's final usage chunk (sent with stream_options.include_usage), Anthropic's
 * message_start / message_delta usage. When the stream reports none, the text length of the deltas
 * gives an estimate (4 characters a token) and `reported` is false.
 */
export class SseUsage {
  private buf = '';
  private readonly decoder = new TextDecoder('utf-8');
  private input: number | null = null;
  private output: number | null = null;
  private chars = 0;
  /** Longest event kept while waiting for its end; longer ones are skipped (usage events are small). */
  private static readonly MAX_EVENT = 1 << 20;

  constructor(private readonly format: 'openai' | 'anthropic') {}

  push(chunk: Uint8Array): void {
    this.buf += this.decoder.decode(chunk, { stream: true });
    for (;;) {
      const m = /\r?\n\r?\n/.exec(this.buf);
      if (!m) break;
      this.event(this.buf.slice(0, m.index));
      this.buf = this.buf.slice(m.index + m[0].length);
    }
    if (this.buf.length > SseUsage.MAX_EVENT) this.buf = '';
  }

  private event(text: string): void {
    const data = text
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (!data || data === '[DONE]') return;
    let j: any;
    try {
      j = JSON.parse(data);
    } catch {
      return;
    }
    if (!j || typeof j !== 'object') return;
    const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);
    if (this.format === 'openai') {
      if (j.usage && typeof j.usage === 'object') {
        this.input = n(j.usage.prompt_tokens) ?? this.input;
        this.output = n(j.usage.completion_tokens) ?? this.output;
      }
      const c = j.choices?.[0]?.delta?.content;
      if (typeof c === 'string') this.chars += c.length;
    } else {
      if (j.type === 'message_start') {
        this.input = n(j.message?.usage?.input_tokens) ?? this.input;
        this.output = n(j.message?.usage?.output_tokens) ?? this.output;
      } else if (j.type === 'message_delta') this.output = n(j.usage?.output_tokens) ?? this.output;
      else if (j.type === 'content_block_delta' && typeof j.delta?.text === 'string') this.chars += j.delta.text.length;
    }
  }

  /** Reported usage, or null when the stream carried none. */
  reported(): { input: number; output: number } | null {
    if (this.format === 'openai') return this.input !== null && this.output !== null ? { input: this.input, output: this.output } : null;
    return this.input !== null || this.output !== null ? { input: this.input ?? 0, output: this.output ?? 0 } : null;
  }

  estimatedOutput(): number {
    return Math.ceil(this.chars / 4);
  }
}
