/**
 * The agent loop: ask the model, carry out the tools it calls, feed the results back, until it
 * submits, answers without calling a tool, hits a limit, or the model fails. Provider-neutral:
 * the adapters turn the same messages into OpenAI tool_calls or Anthropic tool_use. Every step is
 * recorded as typed data (types.ts); `replay` rebuilds the conversation from the steps.
 */
import { createHash } from 'node:crypto';
import { ModelCallError, type ChatMessage, type GenerateRequest, type GenerateResult, type Usage } from '../model/types.js';
import { argumentProblem, type AgentTool, type ToolContext, type ToolOutput } from './tools.js';
import type { AgentStep, EpisodeLimits, LimitKind, StopReason } from './types.js';

export interface ModelTurn {
  result: GenerateResult;
  attempts: number;
  latencyMs: number;
}

export interface LoopOptions {
  /** The opening conversation (system prompt, instructions). */
  messages: ChatMessage[];
  tools: AgentTool[];
  limits: EpisodeLimits;
  /** Generation parameters the user set (max tokens per call, temperature, seed). */
  params: Omit<GenerateRequest, 'messages' | 'tools'>;
  /** One model call, retried by the caller; throws ModelCallError when it finally fails. */
  call: (req: GenerateRequest) => Promise<ModelTurn>;
  toolContext: Omit<ToolContext, 'timeoutMs'>;
  /** True once the run is being interrupted. */
  stopped?: () => boolean;
  now?: () => number;
  /** Applied to every tool result before the model or the record sees it (secret redaction). */
  redact?: (text: string) => string;
  /** Steps are appended here as they happen (so a watchdog that ends the episode keeps what was done). */
  steps?: AgentStep[];
}

export interface LoopResult {
  steps: AgentStep[];
  /** The conversation as the model last saw it, plus its final turn and any tool results. */
  messages: ChatMessage[];
  stop: { reason: StopReason; detail: string };
  answer: string | null;
  usage: Usage;
  toolCalls: number;
  wallTimeMs: number;
  /** The last successful model call (the sample record's `sent` and `output`). */
  last: GenerateResult | null;
  simulated: boolean;
}

/** A step before it is numbered and timed (Omit distributed over the union). */
type StepInput = AgentStep extends infer S ? (S extends AgentStep ? Omit<S, 'i' | 'at'> : never) : never;

const digestOf = (r: GenerateResult) => `sha256:${createHash('sha256').update(r.wireText?.request ?? JSON.stringify(r.sent.body)).digest('hex')}`;

export async function runAgentLoop(o: LoopOptions): Promise<LoopResult> {
  const now = o.now ?? Date.now;
  const t0 = now();
  const steps: AgentStep[] = o.steps ?? [];
  const messages = [...o.messages];
  const byName = new Map(o.tools.map((t) => [t.spec.name, t]));
  const specs = o.tools.map((t) => t.spec);
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  let toolCalls = 0;
  let last: GenerateResult | null = null;
  let simulated = false;
  let answer: string | null = null;
  let stop: LoopResult['stop'] | null = null;
  const at = () => new Date().toISOString();
  const push = (s: StepInput) => steps.push({ i: steps.length, at: at(), ...s } as AgentStep);
  const limitHit = (limit: LimitKind, value: number, max: number) => {
    push({ type: 'limit', limit, value, max });
    stop = { reason: 'limit', detail: `${limit} limit reached (${value} of ${max})` };
  };

  while (!stop) {
    if (o.stopped?.()) {
      stop = { reason: 'interrupted', detail: 'the run was interrupted' };
      break;
    }
    const elapsed = now() - t0;
    if (messages.length >= o.limits.maxMessages) limitHit('messages', messages.length, o.limits.maxMessages);
    else if (usage.inputTokens + usage.outputTokens >= o.limits.maxTokens) limitHit('tokens', usage.inputTokens + usage.outputTokens, o.limits.maxTokens);
    else if (elapsed >= o.limits.wallTimeMs) limitHit('wall_time', elapsed, o.limits.wallTimeMs);
    if (stop) break;

    let turn: ModelTurn;
    try {
      turn = await o.call({ ...o.params, messages: [...messages], tools: specs });
    } catch (e) {
      const err = e instanceof ModelCallError ? e : new ModelCallError('connection', (e as Error).message);
      push({ type: 'error', kind: err.kind, message: err.message });
      stop = { reason: o.stopped?.() ? 'interrupted' : 'model_error', detail: err.message };
      break;
    }
    const r = turn.result;
    last = r;
    if (r.simulated) simulated = true;
    usage.inputTokens += r.usage.inputTokens;
    usage.outputTokens += r.usage.outputTokens;
    const calls = r.toolCalls ?? [];
    push({ type: 'assistant', content: r.content, toolCalls: calls, finishReason: r.finishReason, usage: r.usage, requestId: r.requestId, model: r.model, latencyMs: turn.latencyMs, attempts: turn.attempts, requestDigest: digestOf(r), raw: r.raw });
    messages.push({ role: 'assistant', content: r.content, ...(calls.length ? { toolCalls: calls } : {}) });
    if (!calls.length) {
      answer = r.content;
      stop = { reason: 'answered', detail: 'the model answered without calling a tool' };
      break;
    }

    for (const c of calls) {
      push({ type: 'tool_call', callId: c.id, name: c.name, arguments: c.arguments, ...(c.argumentsError !== undefined ? { argumentsError: c.argumentsError } : {}) });
      const started = now();
      let out: ToolOutput;
      if (stop) {
        // Every call gets a result, so the transcript (and a replayed conversation) stays well formed.
        out = { content: `ERROR: not run: ${(stop as LoopResult['stop']).detail}`, isError: true };
      } else if (toolCalls >= o.limits.maxToolCalls) {
        limitHit('tool_calls', toolCalls, o.limits.maxToolCalls);
        out = { content: 'ERROR: not run: tool-call limit reached', isError: true };
      } else if (now() - t0 >= o.limits.wallTimeMs) {
        limitHit('wall_time', now() - t0, o.limits.wallTimeMs);
        out = { content: 'ERROR: not run: time limit reached', isError: true };
      } else {
        toolCalls++;
        out = await runTool(byName, c.name, c.arguments, c.argumentsError, { ...o.toolContext, timeoutMs: Math.max(1, Math.min(o.limits.commandTimeoutMs, o.limits.wallTimeMs - (now() - t0))) }).catch(
          (e: Error): ToolOutput => ({ content: `ERROR: the tool failed: ${e.message}`, isError: true }),
        );
      }
      if (o.redact) out = { ...out, content: o.redact(out.content) };
      push({ type: 'tool_result', callId: c.id, name: c.name, content: out.content, isError: out.isError, durationMs: now() - started, ...(out.exec ? { exec: out.exec } : {}), ...(out.effect ? { effect: out.effect } : {}) });
      messages.push({ role: 'tool', toolCallId: c.id, content: out.content, ...(out.isError ? { isError: true } : {}) });
      if (out.submitted !== undefined && !stop) {
        answer = out.submitted;
        stop = { reason: 'submitted', detail: 'the agent called submit' };
      }
    }
  }
  return { steps, messages, stop: stop!, answer, usage, toolCalls, wallTimeMs: now() - t0, last, simulated };
}

async function runTool(byName: Map<string, AgentTool>, name: string, args: Record<string, unknown>, argumentsError: string | undefined, ctx: ToolContext): Promise<ToolOutput> {
  const tool = byName.get(name);
  if (!tool) return { content: `ERROR: unknown tool "${name}" (available: ${[...byName.keys()].join(', ')})`, isError: true };
  if (argumentsError !== undefined) return { content: `ERROR: the arguments are not a JSON object: ${argumentsError.slice(0, 200)}`, isError: true };
  const problem = argumentProblem(tool.spec, args);
  if (problem) return { content: `ERROR: ${problem}`, isError: true };
  return tool.run(args, ctx);
}

/** Rebuilds the conversation from recorded steps: the opening messages, then each assistant turn and tool result in order. */
export function replay(opening: ChatMessage[], steps: AgentStep[]): ChatMessage[] {
  const out = [...opening];
  for (const s of steps) {
    if (s.type === 'assistant') out.push({ role: 'assistant', content: s.content, ...(s.toolCalls.length ? { toolCalls: s.toolCalls } : {}) });
    else if (s.type === 'tool_result') out.push({ role: 'tool', toolCallId: s.callId, content: s.content, ...(s.isError ? { isError: true } : {}) });
  }
  return out;
}
