/**
 * Reads usage out of a streamed (server-sent events) answer as it passes through, without
 * changing it. Only the upstream's *final* report counts as reported usage: OpenAI's usage chunk
 * (sent with stream_options.include_usage, after the last choice), Anthropic's message_delta
 * (cumulative output tokens; message_start carries the input and a provisional output count, so a
 * stream cut before message_delta has no final report). Without one, the text the deltas carried
 * is kept so the server can count what was actually delivered (tokens.ts).
 */
export class SseUsage {
  private buf = '';
  private readonly decoder = new TextDecoder('utf-8');
  private input: number | null = null;
  private output: number | null = null;
  private final = false;
  private readonly text: string[] = [];
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
        const i = n(j.usage.prompt_tokens);
        const o = n(j.usage.completion_tokens);
        if (i !== null && o !== null) [this.input, this.output, this.final] = [i, o, true];
      }
      if (Array.isArray(j.choices))
        for (const c of j.choices) {
          const d = c?.delta;
          if (typeof d?.content === 'string') this.text.push(d.content);
          if (typeof d?.refusal === 'string') this.text.push(d.refusal);
        }
    } else {
      if (j.type === 'message_start') {
        this.input = n(j.message?.usage?.input_tokens) ?? this.input;
        this.output = n(j.message?.usage?.output_tokens) ?? this.output;
      } else if (j.type === 'message_delta') {
        const o = n(j.usage?.output_tokens);
        if (o !== null) {
          this.output = o;
          this.input = n(j.usage?.input_tokens) ?? this.input;
          this.final = this.input !== null;
        }
      } else if (j.type === 'content_block_delta') {
        const d = j.delta;
        for (const k of ['text', 'thinking', 'partial_json']) if (typeof d?.[k] === 'string') this.text.push(d[k]);
      }
    }
  }

  /** The upstream's final usage report, or null when the stream ended without one. */
  reported(): { input: number; output: number } | null {
    return this.final && this.input !== null && this.output !== null ? { input: this.input, output: this.output } : null;
  }

  /** Input tokens the upstream reported before the end (Anthropic's message_start), if any. */
  reportedInput(): number | null {
    return this.input;
  }

  /** Output tokens the upstream reported so far (provisional unless final). */
  reportedOutput(): number | null {
    return this.output;
  }

  /** The text the deltas delivered, in order. */
  deliveredText(): string {
    return this.text.join('');
  }
}

/**
 * Where the stream's terminal event starts in `chunk` (OpenAI `data: [DONE]`, Anthropic
 * `message_stop`), or -1. The server holds those bytes back until the exchange's record is durable.
 */
export function terminalAt(chunk: Buffer, format: 'openai' | 'anthropic'): number {
  const lineStart = (i: number) => (i <= 0 ? 0 : chunk.lastIndexOf(0x0a, i - 1) + 1);
  if (format === 'openai') {
    const i = chunk.indexOf('data: [DONE]');
    return i < 0 ? chunk.indexOf('data:[DONE]') : i;
  }
  const e = chunk.indexOf('event: message_stop');
  if (e >= 0) return lineStart(e);
  const d = chunk.indexOf('"type":"message_stop"');
  return d >= 0 ? lineStart(d) : -1;
}

/** The offset just after the last complete event (blank line) in `buf`, 0 when there is none. */
export function eventsEnd(buf: Buffer): number {
  let end = 0;
  for (const sep of ['\n\n', '\r\n\r\n', '\r\r']) {
    const i = buf.lastIndexOf(sep);
    if (i >= 0) end = Math.max(end, i + sep.length);
  }
  return end;
}
