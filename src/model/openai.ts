import type { Agent } from 'undici';
import { createPool, headerValue, postRequest, tokenCount } from './http.js';
import { openaiMessages, openaiToolCalls, openaiTools, usesTools } from './tools.js';
import { ModelCallError, type GenerateRequest, type GenerateResult, type ModelAdapter, type TokenLogprob } from './types.js';

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `choices[0].logprobs.content[]` → TokenLogprob[]; null when the provider sent none; undefined when
 * present but not the documented shape (a logprob scorer must never read a guessed number).
 */
function parseLogprobs(lp: unknown): TokenLogprob[] | null | undefined {
  if (lp === null || lp === undefined) return null;
  if (!isObj(lp) || !Array.isArray(lp.content)) return lp && isObj(lp) && lp.content === null ? null : undefined;
  const out: TokenLogprob[] = [];
  for (const t of lp.content) {
    if (!isObj(t) || typeof t.token !== 'string' || typeof t.logprob !== 'number') return undefined;
    const top = t.top_logprobs ?? [];
    if (!Array.isArray(top)) return undefined;
    const alts = [];
    for (const a of top) {
      if (!isObj(a) || typeof a.token !== 'string' || typeof a.logprob !== 'number') return undefined;
      alts.push({ token: a.token, logprob: a.logprob });
    }
    out.push({ token: t.token, logprob: t.logprob, top: alts });
  }
  return out;
}

/** OpenAI-compatible chat completions (OpenAI, vLLM, Ollama, llama.cpp server, …). */
export class OpenAIChatAdapter implements ModelAdapter {
  readonly provider = 'openai' as const;
  readonly supportsLogprobs = true;
  private readonly pool: Agent;
  private readonly url: string;
  private readonly secrets: ReadonlyArray<string | undefined>;
  private readonly headers: Record<string, string>;
  constructor(
    readonly name: string,
    readonly model: string,
    readonly baseUrl: string,
    private readonly apiKey: string | undefined,
    maxConnections: number,
  ) {
    this.pool = createPool(maxConnections);
    this.url = `${baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.secrets = [apiKey];
    this.headers = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  }

  /** Exactly the parameters the caller set, under the API's own names; nothing added. */
  body(req: GenerateRequest): Record<string, unknown> {
    const b: Record<string, unknown> = { model: this.model, messages: usesTools(req.messages) ? openaiMessages(req.messages) : req.messages };
    if (req.maxTokens !== undefined) b.max_tokens = req.maxTokens;
    if (req.temperature !== undefined) b.temperature = req.temperature;
    if (req.seed !== undefined) b.seed = req.seed;
    if (req.stop !== undefined) b.stop = req.stop;
    if (req.logprobs !== undefined) b.logprobs = req.logprobs;
    if (req.topLogprobs !== undefined) b.top_logprobs = req.topLogprobs;
    if (req.tools !== undefined) b.tools = openaiTools(req.tools);
    return b;
  }

  async generate(req: GenerateRequest, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<GenerateResult> {
    const { res, record } = await postRequest(this.pool, this.url, this.headers, this.body(req), { timeoutMs: opts.timeoutMs, signal: opts.signal, secrets: this.secrets });
    const j = res.body;
    const choice = isObj(j) && Array.isArray(j.choices) ? j.choices[0] : undefined;
    const msg = isObj(choice) ? choice.message : undefined;
    if (!isObj(msg) || (typeof msg.content !== 'string' && msg.content !== null))
      throw new ModelCallError('malformed', `${res.status} response has no choices[0].message.content`, { status: res.status });
    const logprobs = parseLogprobs(choice.logprobs);
    if (logprobs === undefined) throw new ModelCallError('malformed', `${res.status} response has unreadable choices[0].logprobs`, { status: res.status });
    const toolCalls = openaiToolCalls(msg);
    if (toolCalls === null) throw new ModelCallError('malformed', `${res.status} response has unreadable choices[0].message.tool_calls`, { status: res.status });
    const usage: Record<string, any> = isObj(j) && isObj(j.usage) ? j.usage : {};
    const finishReason = typeof choice.finish_reason === 'string' ? choice.finish_reason : null;
    const refusal = typeof msg.refusal === 'string' && msg.refusal.length > 0 ? msg.refusal : null;
    // A refusal or a content filter is the provider declining; null/absent content with neither (and no tool call) is empty.
    const outcome = refusal !== null || finishReason === 'content_filter' ? 'filtered' : (msg.content ?? '') === '' && !toolCalls?.length ? 'empty' : null;
    return {
      content: msg.content ?? '',
      ...(outcome ? { outcome } : {}),
      ...(refusal !== null ? { refusal } : {}),
      logprobs,
      usage: { inputTokens: tokenCount(usage.prompt_tokens), outputTokens: tokenCount(usage.completion_tokens) },
      finishReason,
      requestId: headerValue(res.headers, 'x-request-id') ?? (isObj(j) && typeof j.id === 'string' ? j.id : null),
      model: isObj(j) && typeof j.model === 'string' ? j.model : null,
      ...record,
      ...(toolCalls ? { toolCalls } : {}),
    };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
