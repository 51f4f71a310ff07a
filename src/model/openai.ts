import type { Agent } from 'undici';
import { createPool, headerValue, postJson } from './http.js';
import { ModelCallError, type GenerateRequest, type GenerateResult, type ModelAdapter, type TokenLogprob } from './types.js';

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** OpenAI-compatible chat completions (OpenAI, vLLM, Ollama, llama.cpp server, …). */
export class OpenAIChatAdapter implements ModelAdapter {
  readonly provider = 'openai' as const;
  readonly supportsLogprobs = true;
  private readonly pool: Agent;
  constructor(
    readonly name: string,
    readonly model: string,
    readonly baseUrl: string,
    private readonly apiKey: string | undefined,
    maxConnections: number,
  ) {
    this.pool = createPool(maxConnections);
  }

  /** Exactly the parameters the caller set, under the API's own names; nothing added. */
  body(req: GenerateRequest): Record<string, unknown> {
    const b: Record<string, unknown> = { model: this.model, messages: req.messages };
    if (req.maxTokens !== undefined) b.max_tokens = req.maxTokens;
    if (req.temperature !== undefined) b.temperature = req.temperature;
    if (req.seed !== undefined) b.seed = req.seed;
    if (req.stop !== undefined) b.stop = req.stop;
    if (req.logprobs !== undefined) b.logprobs = req.logprobs;
    if (req.topLogprobs !== undefined) b.top_logprobs = req.topLogprobs;
    return b;
  }

  async generate(req: GenerateRequest, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<GenerateResult> {
    const url = `${this.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    const body = this.body(req);
    const headers: Record<string, string> = this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
    const sentText = JSON.stringify(body);
    const res = await postJson(this.pool, url, headers, sentText, { ...opts, secrets: [this.apiKey] });
    const j = res.body;
    const choice = isObj(j) && Array.isArray(j.choices) ? j.choices[0] : undefined;
    const msg = isObj(choice) ? choice.message : undefined;
    if (!isObj(msg) || (typeof msg.content !== 'string' && msg.content !== null))
      throw new ModelCallError('malformed', `${res.status} response has no choices[0].message.content`, { status: res.status });
    let logprobs: TokenLogprob[] | null = null;
    const lp = choice.logprobs;
    if (isObj(lp) && Array.isArray(lp.content)) {
      logprobs = lp.content.map((t: any) => ({
        token: String(t?.token ?? ''),
        logprob: Number(t?.logprob),
        top: Array.isArray(t?.top_logprobs) ? t.top_logprobs.map((a: any) => ({ token: String(a?.token ?? ''), logprob: Number(a?.logprob) })) : [],
      }));
    }
    const usage = isObj(j) && isObj(j.usage) ? j.usage : {};
    return {
      content: msg.content ?? '',
      logprobs,
      usage: { inputTokens: Number(usage.prompt_tokens ?? 0), outputTokens: Number(usage.completion_tokens ?? 0) },
      finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
      requestId: headerValue(res.headers, 'x-request-id') ?? (isObj(j) && typeof j.id === 'string' ? j.id : null),
      model: isObj(j) && typeof j.model === 'string' ? j.model : null,
      sent: { url, body },
      raw: j,
      wireText: { request: sentText, response: res.text },
    };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
