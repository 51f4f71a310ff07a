import type { Agent } from 'undici';
import { createPool, headerValue, postRequest, tokenCount } from './http.js';
import { anthropicMessages, anthropicToolCalls, anthropicTools, usesTools } from './tools.js';
import { ModelCallError, type GenerateRequest, type GenerateResult, type ModelAdapter } from './types.js';

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const ANTHROPIC_VERSION = '2023-06-01';

/** Anthropic Messages API. It has no logprobs, so it serves black-box access only. */
export class AnthropicAdapter implements ModelAdapter {
  readonly provider = 'anthropic' as const;
  readonly supportsLogprobs = false;
  private readonly pool: Agent;
  private readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly secrets: ReadonlyArray<string | undefined>;
  constructor(
    readonly name: string,
    readonly model: string,
    readonly baseUrl: string,
    private readonly apiKey: string | undefined,
    maxConnections: number,
  ) {
    this.pool = createPool(maxConnections);
    this.url = `${baseUrl.replace(/\/+$/, '')}/v1/messages`;
    this.headers = apiKey ? { 'anthropic-version': ANTHROPIC_VERSION, 'x-api-key': apiKey } : { 'anthropic-version': ANTHROPIC_VERSION };
    this.secrets = [apiKey];
  }

  body(req: GenerateRequest): Record<string, unknown> {
    if (req.logprobs || req.topLogprobs !== undefined)
      throw new ModelCallError('client', 'the Anthropic Messages API returns no logprobs; use black-box scoring (generation) with this model');
    if (req.maxTokens === undefined)
      throw new ModelCallError('client', 'the Anthropic Messages API requires max_tokens: pass --max-tokens (Assay does not invent a value)');
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content);
    const b: Record<string, unknown> = { model: this.model, max_tokens: req.maxTokens, messages: usesTools(req.messages) ? anthropicMessages(req.messages) : req.messages.filter((m) => m.role !== 'system') };
    if (system.length) b.system = system.join('\n\n');
    if (req.temperature !== undefined) b.temperature = req.temperature;
    if (req.stop !== undefined) b.stop_sequences = req.stop;
    // The Messages API has no seed parameter; a requested seed is refused rather than dropped.
    if (req.seed !== undefined) throw new ModelCallError('client', 'the Anthropic Messages API has no seed parameter');
    if (req.tools !== undefined) b.tools = anthropicTools(req.tools);
    return b;
  }

  async generate(req: GenerateRequest, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<GenerateResult> {
    const { res, record } = await postRequest(this.pool, this.url, this.headers, this.body(req), { timeoutMs: opts.timeoutMs, signal: opts.signal, secrets: this.secrets });
    const j = res.body;
    if (!isObj(j) || !Array.isArray(j.content)) throw new ModelCallError('malformed', `${res.status} response has no content blocks`, { status: res.status });
    const content = j.content
      .filter((b: any) => isObj(b) && b.type === 'text' && typeof b.text === 'string')
      .map((b: any) => b.text as string)
      .join('');
    const toolCalls = anthropicToolCalls(j.content);
    if (toolCalls === null) throw new ModelCallError('malformed', `${res.status} response has an unreadable tool_use block`, { status: res.status });
    const usage = isObj(j.usage) ? j.usage : {};
    const outcome = j.stop_reason === 'refusal' ? 'filtered' : content === '' && !toolCalls?.length ? 'empty' : null;
    return {
      content,
      ...(outcome ? { outcome } : {}),
      logprobs: null,
      usage: { inputTokens: tokenCount(usage.input_tokens), outputTokens: tokenCount(usage.output_tokens) },
      finishReason: typeof j.stop_reason === 'string' ? j.stop_reason : null,
      requestId: headerValue(res.headers, 'request-id') ?? (typeof j.id === 'string' ? j.id : null),
      model: typeof j.model === 'string' ? j.model : null,
      ...record,
      ...(toolCalls ? { toolCalls } : {}),
    };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
