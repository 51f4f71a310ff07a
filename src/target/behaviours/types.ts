/**
 * Behaviours: pluggable answer policies for the SIMULATED target, so risk suites can be checked
 * against profiles whose results are known in advance (a target that refuses, one that favours a
 * group, one that leaks a secret, …). A behaviour sees the request's text and either answers or
 * passes (null) to the next one; the built-in arithmetic answerer comes last. Behaviours must be
 * deterministic in (seed, request): the same request gets the same answer.
 */
export interface BehaviourContext {
  /** All message texts, a top-level system prompt first, joined with "\n" (what the arithmetic answerer sees). */
  prompt: string;
  /** The system prompt (top-level or a system-role message), or null. */
  system: string | null;
  /** Messages in order, with their roles (system messages included). */
  messages: { role: string; text: string }[];
  /** The last user message's text ("" when there is none). */
  lastUser: string;
  seed: number;
  /** The request's "model" field ("" when absent). */
  model: string;
  /**
   * Tool use (agentic runs): the names of the tools the request offers, in order, and the
   * conversation with tool calls and results, normalised from either wire format.
   */
  tools: string[];
  turns: BehaviourTurn[];
  /** Uniform draw in [0, 1) that depends only on (seed, prompt, salt): use distinct salts for distinct decisions. */
  unit(salt: string): number;
}

/** One message of the conversation with its tool traffic (OpenAI tool_calls / Anthropic tool_use, tool results). */
export interface BehaviourTurn {
  role: string;
  text: string;
  /** Assistant turns: the calls it made. */
  toolCalls?: { id: string; name: string; arguments: unknown }[];
  /** Tool results: which call this answers, and whether it failed. */
  toolCallId?: string;
  isError?: boolean;
}

export interface BehaviourAnswer {
  content: string;
  /**
   * Tool calls to make (agentic runs), rendered in the request's wire format: OpenAI `tool_calls`
   * with finish_reason "tool_calls", Anthropic `tool_use` blocks with stop_reason "tool_use".
   * Call ids are derived from the request, so the same conversation gets the same ids.
   */
  toolCalls?: { name: string; arguments: Record<string, unknown> }[];
  /**
   * Optional first-token distribution for logprobs (grey-box): tokens with probabilities summing
   * to ≤ 1; the most probable should be the first token of `content`. When absent, letter answers
   * and free text get the built-in shapes.
   */
  firstToken?: { token: string; p: number }[];
}

export interface Behaviour {
  /** Registry name, recorded in target stats and docs. */
  readonly name: string;
  answer(ctx: BehaviourContext): BehaviourAnswer | null;
}

/** Parameters from a `name:key=value,key=value` spec, as strings; each factory validates its own. */
export type BehaviourParams = Record<string, string>;

export interface BehaviourFactory {
  description: string;
  /** Throws RangeError naming the bad parameter. */
  create(params: BehaviourParams): Behaviour;
}
