/** Access levels, ordered: each level includes everything below it. */
export const ACCESS_LEVELS = ['black-box', 'grey-box', 'white-box'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];
export function accessAtLeast(have: AccessLevel, need: AccessLevel): boolean {
  return ACCESS_LEVELS.indexOf(have) >= ACCESS_LEVELS.indexOf(need);
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** Assistant turns: the tools the model called (agentic runs). */
  toolCalls?: ToolCall[];
  /** Tool turns: the id of the call this message answers. */
  toolCallId?: string;
  /** Tool turns: the tool failed (Anthropic `is_error`). */
  isError?: boolean;
}

/** A tool call as the model made it, provider-neutral. */
export interface ToolCall {
  /** The provider's call id (OpenAI `call_…`, Anthropic `toolu_…`), echoed in the tool result. */
  id: string;
  name: string;
  /** Parsed arguments; {} when the model sent something that is not a JSON object (see argumentsError). */
  arguments: Record<string, unknown>;
  /** The raw argument text, when it was not a JSON object: the call is answered with an error, never guessed at. */
  argumentsError?: string;
}

/** A tool offered to the model: name, description and a JSON Schema (type "object") for its arguments. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** Provider-neutral generation request. Only parameters the caller set are sent. */
export interface GenerateRequest {
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  seed?: number;
  stop?: string[];
  /** Ask for per-token logprobs (grey-box). */
  logprobs?: boolean;
  /** How many alternatives per position (grey-box). */
  topLogprobs?: number;
  /** Tools the model may call (agentic runs). Sent as OpenAI `tools` / Anthropic `tools`. */
  tools?: ToolSpec[];
}

export interface TopLogprob {
  token: string;
  logprob: number;
}
export interface TokenLogprob {
  token: string;
  logprob: number;
  top: TopLogprob[];
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** What the provider answered, normalised, plus exactly what was sent (never the key). */
export interface GenerateResult {
  content: string;
  /**
   * Set when the call succeeded but gave no answer to score (common/outcome.ts): `filtered` for a
   * provider content filter or refusal (OpenAI message.refusal or finish_reason content_filter,
   * Anthropic stop_reason refusal), `empty` for no content at all. Absent for an ordinary answer.
   */
  outcome?: 'empty' | 'filtered';
  /** The provider's refusal text (OpenAI message.refusal), when it sent one. */
  refusal?: string;
  logprobs: TokenLogprob[] | null;
  usage: Usage;
  finishReason: string | null;
  /** Provider's request id (x-request-id / request-id header, or body id). */
  requestId: string | null;
  /** Model name the provider reported. */
  model: string | null;
  /** The exact request: URL and JSON body as sent. Headers are not recorded (they carry the key). */
  sent: { url: string; body: Record<string, unknown> };
  /** The raw JSON response body as received. */
  raw: unknown;
  /** The exact JSON texts sent and received, when the adapter has them: logs embed them verbatim. */
  wireText?: { request: string; response: string };
  /** Set when the answer came from Assay's SIMULATED target (response header `x-assay-simulated: true`). */
  simulated?: true;
  /** The `x-assay-model-release` stamp an Assay gateway puts on every answer (sha256:<hex> of the signed release statement). */
  modelRelease?: string;
  /** The tools the model called in this turn, in order (absent when it called none). */
  toolCalls?: ToolCall[];
}

export type ModelErrorKind = 'rate_limit' | 'server' | 'timeout' | 'connection' | 'client' | 'malformed';

/** A failed model call, classified so the engine knows whether to retry. */
export class ModelCallError extends Error {
  readonly kind: ModelErrorKind;
  readonly status: number | null;
  /** From Retry-After (seconds or HTTP date), when the provider sent one. */
  readonly retryAfterMs: number | null;
  constructor(kind: ModelErrorKind, message: string, opts: { status?: number | null; retryAfterMs?: number | null } = {}) {
    super(message);
    this.name = 'ModelCallError';
    this.kind = kind;
    this.status = opts.status ?? null;
    this.retryAfterMs = opts.retryAfterMs ?? null;
  }
  get retryable(): boolean {
    return this.kind !== 'client';
  }
}

export type Provider = 'openai' | 'anthropic';

export interface ModelAdapter {
  /** Full name as given by the user, e.g. "openai/gpt-4o". */
  readonly name: string;
  readonly provider: Provider;
  /** Model id sent to the provider, e.g. "gpt-4o". */
  readonly model: string;
  readonly baseUrl: string;
  /** Whether this API can return logprobs at all. */
  readonly supportsLogprobs: boolean;
  generate(req: GenerateRequest, opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<GenerateResult>;
  close(): Promise<void>;
}
