/**
 * Tool use in the two wire formats. Messages without tool fields are passed through untouched, so
 * request bodies of non-agentic runs are byte-identical to what they were before tools existed.
 */
import type { ChatMessage, ToolCall, ToolSpec } from './types.js';

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasToolFields = (m: ChatMessage) => m.role === 'tool' || (m.toolCalls?.length ?? 0) > 0;
export const usesTools = (messages: ChatMessage[]) => messages.some(hasToolFields);

/** Arguments as sent back to the provider: the model's own raw text when it was not a JSON object. */
const argumentText = (c: ToolCall) => (c.argumentsError !== undefined ? c.argumentsError : JSON.stringify(c.arguments));

/** Parses a function-call argument string: an object, or the raw text kept as the error. */
export function parseArguments(text: unknown): Pick<ToolCall, 'arguments' | 'argumentsError'> {
  if (isObj(text)) return { arguments: text };
  if (typeof text !== 'string') return { arguments: {}, argumentsError: JSON.stringify(text) ?? String(text) };
  if (text.trim() === '') return { arguments: {} };
  try {
    const v = JSON.parse(text);
    return isObj(v) ? { arguments: v } : { arguments: {}, argumentsError: text };
  } catch {
    return { arguments: {}, argumentsError: text };
  }
}

// ---- OpenAI chat completions -------------------------------------------------------------

export function openaiMessages(messages: ChatMessage[]): unknown[] {
  return messages.map((m) => {
    if (!hasToolFields(m)) return m;
    if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId ?? '', content: m.content };
    return {
      role: 'assistant',
      content: m.content === '' ? null : m.content,
      tool_calls: m.toolCalls!.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: argumentText(c) } })),
    };
  });
}

export const openaiTools = (tools: ToolSpec[]) => tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));

/** `choices[0].message.tool_calls` → ToolCall[]; undefined when there are none; null when present but malformed. */
export function openaiToolCalls(msg: Record<string, any>): ToolCall[] | undefined | null {
  const tc = msg.tool_calls;
  if (tc === undefined || tc === null) return undefined;
  if (!Array.isArray(tc)) return null;
  const out: ToolCall[] = [];
  for (const c of tc) {
    if (!isObj(c) || typeof c.id !== 'string' || !isObj(c.function) || typeof c.function.name !== 'string') return null;
    out.push({ id: c.id, name: c.function.name, ...parseArguments(c.function.arguments) });
  }
  return out.length ? out : undefined;
}

// ---- Anthropic Messages ------------------------------------------------------------------

/**
 * Non-system messages in Messages API shape: assistant tool calls become `tool_use` blocks, and
 * consecutive tool results (with a user message right after them) become one user turn of
 * `tool_result` blocks, since the API wants every result of a turn in the next user message.
 */
export function anthropicMessages(messages: ChatMessage[]): unknown[] {
  const out: unknown[] = [];
  let results: Record<string, unknown>[] | null = null;
  for (const m of messages) {
    if (m.role === 'system') continue;
    if (m.role === 'tool') {
      if (!results) out.push({ role: 'user', content: (results = []) });
      results.push({ type: 'tool_result', tool_use_id: m.toolCallId ?? '', content: m.content, ...(m.isError ? { is_error: true } : {}) });
      continue;
    }
    if (results && m.role === 'user') {
      results.push({ type: 'text', text: m.content });
      results = null;
      continue;
    }
    results = null;
    if (!hasToolFields(m)) {
      out.push(m);
      continue;
    }
    out.push({
      role: 'assistant',
      content: [...(m.content ? [{ type: 'text', text: m.content }] : []), ...m.toolCalls!.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: c.argumentsError !== undefined ? {} : c.arguments }))],
    });
  }
  return out;
}

export const anthropicTools = (tools: ToolSpec[]) => tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters }));

/** `tool_use` content blocks → ToolCall[]; undefined when there are none; null when one is malformed. */
export function anthropicToolCalls(content: unknown[]): ToolCall[] | undefined | null {
  const out: ToolCall[] = [];
  for (const b of content) {
    if (!isObj(b) || b.type !== 'tool_use') continue;
    if (typeof b.id !== 'string' || typeof b.name !== 'string') return null;
    out.push({ id: b.id, name: b.name, ...parseArguments(b.input) });
  }
  return out.length ? out : undefined;
}
