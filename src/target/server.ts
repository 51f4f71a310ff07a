import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import type { Behaviour, BehaviourAnswer, BehaviourContext, BehaviourTurn } from './behaviours/types.js';
import { anthropicStream, openaiStream } from './stream.js';
import { SimFineTuning, type FineTuningProfile } from './fine-tuning.js';

/**
 * The SIMULATED target model: a local test double speaking the OpenAI chat-completions and
 * Anthropic Messages wire formats. It answers arithmetic questions ("What is 12 * 7?") correctly
 * with a configured probability, picks the matching option letter when options are listed, and
 * can inject latency, 429s, 5xx, hangs and malformed bodies. It is not a model: numbers measured
 * against it describe Assay, never an AI system. See docs/target.md.
 */
export interface TargetProfile {
  /** Like many OpenAI-compatible servers: accept `logprobs` but never return any. Default false. */
  noLogprobs?: boolean;
  /** Mean added latency per answer, ms. Default 0. */
  latencyMs?: number;
  /** Uniform jitter around the mean (±), ms. Default 0. */
  jitterMs?: number;
  /** Probability of answering a recognised arithmetic question correctly. Default 0.8. */
  accuracy?: number;
  /** Seeds answers, faults and jitter. Default 0. */
  seed?: number;
  /** Share of requests answered 429 with Retry-After. */
  rate429?: number;
  /** Retry-After seconds sent with each 429. Default 1. */
  retryAfterS?: number;
  /** Share answered 500 or 503. */
  rate5xx?: number;
  /** Share never answered: the client must time out (cleaned up on close). */
  rateTimeout?: number;
  /** Share answered 200 with a truncated, invalid JSON body. */
  rateMalformed?: number;
  /**
   * 'always' (default): each request draws its fault from its sequence number.
   * 'first-attempt': the draw is made per request body, and a body that draws a fault gets it only
   * the first `faultAttempts` times it is seen, so retries converge.
   */
  faultsPerKey?: 'always' | 'first-attempt';
  /** With 'first-attempt': how many sightings of a faulty body fail. Default 1. */
  faultAttempts?: number;
  /**
   * Capacity: a request arriving while this many are already being handled gets 429 with
   * Retry-After (like a provider's concurrency limit). Default: no limit.
   */
  maxConcurrent?: number;
  /** Every request whose sequence number is in [fromRequest, toRequest) gets 429. */
  storm?: { fromRequest: number; toRequest: number };
  /**
   * Answer policies tried in order before the arithmetic answerer (src/target/behaviours): the
   * first that answers decides. Default none.
   */
  behaviours?: Behaviour[];
  /**
   * A simulated fine-tuning API (OpenAI shape, /v1/files and /v1/fine_tuning/jobs) whose resulting
   * models' safeguard decays by a known function of the attack (src/target/fine-tuning.ts).
   */
  fineTuning?: FineTuningProfile;
}

export interface TargetStats {
  /** Well-formed generation requests (sequence numbers 0 … requests-1). */
  requests: number;
  /** Responses by HTTP status, including 400/404/413 for bad requests. */
  byStatus: Record<string, number>;
  byFormat: { openai: number; anthropic: number };
  /** Injected faults by kind ('timeout' = requests left hanging). */
  faults: { rate_limit: number; server: number; timeout: number; malformed: number };
  /** Highest number of requests being handled at once. */
  maxInFlight: number;
  /** How many times each distinct request body was received, keyed by a 16-hex SHA-256 prefix. */
  bodyCounts: Map<string, number>;
}

export interface RunningTarget {
  url: string;
  port: number;
  /** The simulated fine-tuning service, when the profile has one. */
  fineTuning: SimFineTuning | null;
  /** A snapshot of the counters. */
  stats(): TargetStats;
  close(): Promise<void>;
}

export const SIMULATED_HEADER = 'x-assay-simulated';
export const FIXED_SENTENCE = 'This is a SIMULATED response from the Assay test target; it recognises only arithmetic questions.';
const MAX_BODY = 1 << 20;
/** Past this much discarded input an oversized request is cut off rather than drained. */
const MAX_DRAIN = 16 << 20;
const QUESTION = /What is (-?\d+)\s*([-+*x×])\s*(-?\d+)\s*\?/g;
const OPTION_LINE = /^\s*([A-Z])[.)]\s+(.+?)\s*$/gm;

/** Uniform in [0,1) from 6 bytes of a digest. */
const unitAt = (d: Buffer, offset: number) => d.readUIntBE(offset, 6) / 2 ** 48;

/** Cheap integer mix (per-request fault and jitter draws): no hashing of strings on the hot path. */
function mix(seed: number, n: number, salt: number): number {
  let h = Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(n | 0, 0xc2b2ae35) ^ Math.imul(salt, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

export interface SimAnswer {
  content: string;
  /** The option letters shown (empty when none), so logprobs can spread mass over them. */
  letters: string[];
  /** Whether an arithmetic question was recognised, and if so whether the answer is right. */
  recognised: boolean;
  correct: boolean | null;
  /** Digest of (seed, prompt): further deterministic draws (logprob shape). */
  digest: Buffer;
  /** Tool calls a behaviour made (agentic runs). */
  toolCalls?: BehaviourAnswer['toolCalls'];
}

/**
 * The simulated answer for a prompt. Pure: the same prompt, accuracy and seed give the same answer.
 * The last "What is A op B?" in the prompt is the question; lettered lines after it are its options.
 */
export function simulateAnswer(prompt: string, accuracy: number, seed: number): SimAnswer {
  const digest = createHash('sha256').update(`assay-sim\0${seed}\0${prompt}`).digest();
  let q: RegExpExecArray | null = null;
  for (const m of prompt.matchAll(QUESTION)) q = m;
  const tail = q ? prompt.slice(q.index + q[0].length) : prompt;
  const options = [...tail.matchAll(OPTION_LINE)].map((m) => ({ letter: m[1]!, text: m[2]! }));
  const letters = options.map((o) => o.letter);
  const pick = <T>(xs: T[], offset: number): T => xs[Math.floor(unitAt(digest, offset) * xs.length)]!;
  if (!q) {
    // Options without arithmetic: a uniform guesser, so scores sit at chance level.
    return { content: options.length ? pick(letters, 6) : FIXED_SENTENCE, letters, recognised: false, correct: null, digest };
  }
  const a = Number(q[1]);
  const b = Number(q[3]);
  const op = q[2];
  const truth = op === '+' ? a + b : op === '-' ? a - b : a * b;
  const correct = unitAt(digest, 0) < accuracy;
  if (!options.length) {
    // A wrong number: off by 1…10 either way.
    const delta = (1 + Math.floor(unitAt(digest, 6) * 10)) * (unitAt(digest, 12) < 0.5 ? -1 : 1);
    return { content: String(correct ? truth : truth + delta), letters, recognised: true, correct, digest };
  }
  const isTruth = (o: { text: string }) => o.text !== '' && Number(o.text) === truth;
  const right = options.find(isTruth);
  if (correct && right) return { content: right.letter, letters, recognised: true, correct: true, digest };
  // Wrong (or the right value is not on offer): answer with an option holding some other value.
  const wrong = options.filter((o) => !isTruth(o));
  const chosen = wrong.length ? pick(wrong, 6) : options[0]!;
  return { content: chosen.letter, letters, recognised: true, correct: isTruth(chosen), digest };
}

/** OpenAI-shaped logprobs consistent with the content: the chosen token is the most likely one. */
function logprobsFor(ans: SimAnswer, topN: number) {
  const lp = (p: number) => Math.log(p);
  if (ans.letters.includes(ans.content)) {
    const pChosen = 0.55 + 0.4 * unitAt(ans.digest, 12);
    const others = ans.letters.filter((l) => l !== ans.content);
    // The other letters share 90% of the remaining mass (the rest is "other text"), so Σp < 1
    // and no other letter can outrank the chosen one.
    const weights = others.map((_, i) => 1 + unitAt(ans.digest, (18 + i * 2) % 26));
    const total = weights.reduce((s, w) => s + w, 0);
    const alts = [{ token: ans.content, p: pChosen }, ...others.map((l, i) => ({ token: l, p: ((1 - pChosen) * 0.9 * weights[i]!) / total }))].sort((x, y) => y.p - x.p);
    return [{ token: ans.content, logprob: lp(pChosen), bytes: null, top_logprobs: alts.slice(0, topN).map((x) => ({ token: x.token, logprob: lp(x.p), bytes: null })) }];
  }
  // Free text: word-level tokens that concatenate to the content, each fairly confident.
  return (ans.content.match(/\s*\S+/g) ?? [ans.content]).map((token) => ({ token, logprob: lp(0.9), bytes: null, top_logprobs: topN > 0 ? [{ token, logprob: lp(0.9), bytes: null }] : [] }));
}

const approxTokens = (s: string) => Math.max(1, Math.ceil(s.length / 4));

/** Message text, whether content is a string or a list of text blocks. */
function messageText(m: unknown): string {
  const c = (m as { content?: unknown } | null)?.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((b) => (b && typeof (b as { text?: unknown }).text === 'string' ? (b as { text: string }).text : '')).join('');
  return '';
}

type Format = 'openai' | 'anthropic';
type Fault = 'rate_limit' | 'server' | 'timeout' | 'malformed';

const errorBody = (format: Format, type: string, message: string): string =>
  JSON.stringify(format === 'openai' ? { error: { message: `SIMULATED target: ${message}`, type, code: null } } : { type: 'error', error: { type, message: `SIMULATED target: ${message}` } });

/** A behaviour's answer in the shape the response builder uses (letters empty: free text unless firstToken says otherwise). */
function fromBehaviour(a: BehaviourAnswer, prompt: string): SimAnswer {
  return { content: a.content, letters: [], recognised: false, correct: null, digest: createHash('sha256').update(`assay-sim\0behaviour\0${prompt}`).digest(), ...(a.toolCalls?.length ? { toolCalls: a.toolCalls } : {}) };
}

/** Whether an answer body (either format) carries tool calls. */
function hasToolCalls(text: string): boolean {
  const j = JSON.parse(text) as { choices?: { message?: { tool_calls?: unknown } }[]; content?: { type?: string }[] };
  return Boolean(j.choices?.[0]?.message?.tool_calls) || (Array.isArray(j.content) && j.content.some((b) => b?.type === 'tool_use'));
}

/** Tools offered by a request, by name, in either wire format. */
function toolNames(body: Record<string, unknown>): string[] {
  if (!Array.isArray(body.tools)) return [];
  return body.tools.map((t) => {
    const o = (t ?? {}) as { name?: unknown; function?: { name?: unknown } };
    return typeof o.name === 'string' ? o.name : typeof o.function?.name === 'string' ? o.function.name : '';
  });
}

/** The conversation with its tool traffic, normalised from either wire format. */
function turnsOf(format: Format, msgs: unknown[]): BehaviourTurn[] {
  const out: BehaviourTurn[] = [];
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  for (const raw of msgs) {
    const m = (raw ?? {}) as Record<string, any>;
    const role = str(m.role);
    if (format === 'openai') {
      if (role === 'tool') out.push({ role, text: messageText(m), toolCallId: str(m.tool_call_id) });
      else if (role === 'assistant' && Array.isArray(m.tool_calls))
        out.push({ role, text: messageText(m), toolCalls: m.tool_calls.map((c: any) => ({ id: str(c?.id), name: str(c?.function?.name), arguments: parseArgs(c?.function?.arguments) })) });
      else out.push({ role, text: messageText(m) });
      continue;
    }
    if (!Array.isArray(m.content)) {
      out.push({ role, text: messageText(m) });
      continue;
    }
    const uses = m.content.filter((b: any) => b?.type === 'tool_use');
    const results = m.content.filter((b: any) => b?.type === 'tool_result');
    for (const r of results) {
      const c = r.content;
      out.push({ role: 'tool', text: typeof c === 'string' ? c : messageText({ content: c }), toolCallId: str(r.tool_use_id), ...(r.is_error === true ? { isError: true } : {}) });
    }
    const text = messageText(m);
    if (uses.length) out.push({ role, text, toolCalls: uses.map((b: any) => ({ id: str(b.id), name: str(b.name), arguments: b.input })) });
    else if (!results.length || text) out.push({ role, text });
  }
  return out;
}

function parseArgs(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** Logprobs whose first token follows a behaviour's distribution; later tokens as free text. */
function firstTokenLogprobs(content: string, dist: { token: string; p: number }[], topN: number) {
  const sorted = [...dist].filter((d) => d.p > 0).sort((x, y) => y.p - x.p);
  const tokens = content.match(/\s*\S+/g) ?? [content];
  const first = sorted[0]?.token ?? tokens[0]!;
  const rest = content.startsWith(first) ? content.slice(first.length) : tokens.slice(1).join('');
  const pFirst = sorted.find((d) => d.token === first)?.p ?? 0.9;
  const head = { token: first, logprob: Math.log(pFirst), bytes: null, top_logprobs: sorted.slice(0, topN).map((d) => ({ token: d.token, logprob: Math.log(d.p), bytes: null })) };
  const tail = (rest.match(/\s*\S+/g) ?? []).map((token) => ({ token, logprob: Math.log(0.9), bytes: null, top_logprobs: topN > 0 ? [{ token, logprob: Math.log(0.9), bytes: null }] : [] }));
  return [head, ...tail];
}

export async function startTarget(profile: TargetProfile = {}, opts: { port?: number; host?: string } = {}): Promise<RunningTarget> {
  const p = {
    latencyMs: 0, jitterMs: 0, accuracy: 0.8, seed: 0, rate429: 0, retryAfterS: 1, rate5xx: 0, rateTimeout: 0, rateMalformed: 0,
    faultsPerKey: 'always' as 'always' | 'first-attempt', faultAttempts: 1, storm: undefined as TargetProfile['storm'],
    ...profile,
  };
  for (const k of ['accuracy', 'rate429', 'rate5xx', 'rateTimeout', 'rateMalformed'] as const)
    if (!(p[k] >= 0 && p[k] <= 1)) throw new RangeError(`target profile: ${k} must be in [0, 1], got ${p[k]}`);
  if (p.rate429 + p.rate5xx + p.rateTimeout + p.rateMalformed > 1) throw new RangeError('target profile: fault rates add up to more than 1');
  const fineTuning = p.fineTuning ? new SimFineTuning(p.fineTuning) : null;
  const behaviours = [...(fineTuning ? [fineTuning.behaviour()] : []), ...(p.behaviours ?? [])];
  // Cumulative thresholds, computed once.
  const cut = [p.rate429, p.rate429 + p.rate5xx, p.rate429 + p.rate5xx + p.rateTimeout, p.rate429 + p.rate5xx + p.rateTimeout + p.rateMalformed];
  const anyFaults = cut[3]! > 0;

  const stats: TargetStats = { requests: 0, byStatus: {}, byFormat: { openai: 0, anthropic: 0 }, faults: { rate_limit: 0, server: 0, timeout: 0, malformed: 0 }, maxInFlight: 0, bodyCounts: new Map() };
  let inFlight = 0;
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();

  function send(res: ServerResponse, status: number, text: string, extra?: Record<string, string>) {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', [SIMULATED_HEADER]: 'true', 'content-length': Buffer.byteLength(text), ...extra });
    res.end(text);
  }

  /** The same answer as server-sent events (src/target/stream.ts), one write per event. */
  function sendStream(res: ServerResponse, format: Format, text: string, body: Record<string, unknown>, n: number) {
    stats.byStatus[200] = (stats.byStatus[200] ?? 0) + 1;
    if (res.destroyed) return;
    const answerJson = JSON.parse(text) as Record<string, any>;
    const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    const events = format === 'openai' ? openaiStream(answerJson, includeUsage) : anthropicStream(answerJson);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', [SIMULATED_HEADER]: 'true', ...(format === 'openai' ? { 'x-request-id': `simreq-${n}` } : { 'request-id': `simreq-${n}` }) });
    for (const e of events) res.write(e);
    res.end();
  }

  function drawFault(n: number, key: Buffer, sightings: number): Fault | null {
    if (p.storm && n >= p.storm.fromRequest && n < p.storm.toRequest) return 'rate_limit';
    if (!anyFaults) return null;
    let u: number;
    if (p.faultsPerKey === 'first-attempt') {
      if (sightings > p.faultAttempts) return null;
      u = mix(p.seed, key.readInt32BE(8), 3); // per body: the same body draws the same fault each time
    } else u = mix(p.seed, n, 1);
    return u < cut[0]! ? 'rate_limit' : u < cut[1]! ? 'server' : u < cut[2]! ? 'timeout' : u < cut[3]! ? 'malformed' : null;
  }

  function respond(res: ServerResponse, format: Format, raw: string) {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
    } catch {
      return send(res, 400, errorBody(format, 'invalid_request_error', 'body is not valid JSON'));
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body) || !Array.isArray(body.messages) || body.messages.length === 0)
      return send(res, 400, errorBody(format, 'invalid_request_error', 'messages: must be a non-empty array'));
    const maxTokens = body.max_tokens;
    if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && (maxTokens as number) > 0))
      return send(res, 400, errorBody(format, 'invalid_request_error', 'max_tokens: must be a positive integer'));
    // Like the real Messages API: max_tokens is required and there are no logprobs.
    if (format === 'anthropic' && maxTokens === undefined) return send(res, 400, errorBody(format, 'invalid_request_error', 'max_tokens: Field required'));
    if (format === 'anthropic' && ('logprobs' in body || 'top_logprobs' in body)) return send(res, 400, errorBody(format, 'invalid_request_error', 'logprobs: Extra inputs are not permitted'));

    const n = stats.requests++;
    stats.byFormat[format]++;
    const keyDigest = createHash('sha256').update(raw).digest();
    const key = keyDigest.toString('hex', 0, 8);
    const sightings = (stats.bodyCounts.get(key) ?? 0) + 1;
    stats.bodyCounts.set(key, sightings);

    // Over capacity (this request itself counts as in flight): refused before any other draw.
    const overCapacity = p.maxConcurrent !== undefined && inFlight > p.maxConcurrent;
    const fault = overCapacity ? 'rate_limit' : drawFault(n, keyDigest, sightings);
    if (fault) stats.faults[fault]++;
    if (fault === 'timeout') {
      // Never answer; the socket is freed when the client gives up or the target closes.
      hanging.add(res);
      res.once('close', () => hanging.delete(res));
      return;
    }
    const finish = () => {
      if (fault === 'rate_limit') return send(res, 429, errorBody(format, 'rate_limit_error', 'rate limited (injected fault)'), { 'retry-after': String(p.retryAfterS) });
      if (fault === 'server') return send(res, n % 2 ? 503 : 500, errorBody(format, 'api_error', 'server error (injected fault)'));
      const text = answer(format, body, n, maxTokens as number | undefined);
      if (body.stream === true && hasToolCalls(text))
        return send(res, 400, errorBody(format, 'invalid_request_error', 'streaming tool calls is not simulated; send "stream": false'));
      if (fault === 'malformed') return send(res, 200, text.slice(0, Math.max(1, Math.floor(text.length / 3))));
      if (body.stream === true) return sendStream(res, format, text, body, n);
      send(res, 200, text, format === 'openai' ? { 'x-request-id': `simreq-${n}` } : { 'request-id': `simreq-${n}` });
    };
    const delay = p.jitterMs ? Math.max(0, p.latencyMs + (mix(p.seed, n, 2) * 2 - 1) * p.jitterMs) : p.latencyMs;
    if (delay > 0 && !overCapacity) setTimeout(finish, delay);
    else finish();
  }

  function answer(format: Format, body: Record<string, unknown>, n: number, maxTokens: number | undefined): string {
    const msgs = body.messages as unknown[];
    // The prompt text excludes roles and puts a top-level system first, so the same conversation
    // gets the same answer in either wire format.
    const parts = typeof body.system === 'string' ? [body.system] : Array.isArray(body.system) ? [messageText({ content: body.system })] : [];
    for (const m of msgs) parts.push(messageText(m));
    const prompt = parts.join('\n');
    const custom = behaviours.length ? behaviourAnswer(format, body, msgs, prompt) : null;
    const ans = custom ? fromBehaviour(custom, prompt) : simulateAnswer(prompt, p.accuracy, p.seed);
    let content = ans.content;
    let truncated = false;
    if (maxTokens !== undefined && approxTokens(content) > maxTokens) {
      content = content.slice(0, maxTokens * 4);
      truncated = true;
    }
    const inTok = approxTokens(prompt);
    const outTok = approxTokens(content);
    const model = typeof body.model === 'string' && body.model ? (/^sim(-|$)/.test(body.model) ? body.model : `sim-${body.model}`) : 'sim-unknown';
    // Call ids from the conversation, so the same request gets the same ids in any order.
    const calls = ans.toolCalls ?? [];
    const callId = (i: number) => `${createHash('sha256').update(JSON.stringify(msgs)).digest('hex').slice(0, 16)}_${i}`;
    if (format === 'anthropic') {
      const blocks: unknown[] = calls.length && content === '' ? [] : [{ type: 'text', text: content }];
      for (const [i, c] of calls.entries()) blocks.push({ type: 'tool_use', id: `toolu_sim_${callId(i)}`, name: c.name, input: c.arguments });
      const stop = truncated ? 'max_tokens' : calls.length ? 'tool_use' : 'end_turn';
      return JSON.stringify({ id: `msg_sim_${n}`, type: 'message', role: 'assistant', model, content: blocks, stop_reason: stop, stop_sequence: null, usage: { input_tokens: inTok, output_tokens: outTok } });
    }
    if (calls.length) {
      const message = { role: 'assistant', content: content === '' ? null : content, tool_calls: calls.map((c, i) => ({ id: `call_sim_${callId(i)}`, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } })) };
      return JSON.stringify({ id: `simcmpl-${n}`, object: 'chat.completion', created: 0, model, choices: [{ index: 0, message, logprobs: null, finish_reason: truncated ? 'length' : 'tool_calls' }], usage: { prompt_tokens: inTok, completion_tokens: outTok, total_tokens: inTok + outTok }, system_fingerprint: 'assay-simulated' });
    }
    const topN = Math.min(20, Math.max(0, Math.floor(Number(body.top_logprobs ?? 0)) || 0));
    const logprobs =
      body.logprobs === true && !p.noLogprobs
        ? { content: custom?.firstToken && !truncated ? firstTokenLogprobs(content, custom.firstToken, topN) : logprobsFor(truncated ? { ...ans, content, letters: [] } : ans, topN) }
        : null;
    return JSON.stringify({
      id: `simcmpl-${n}`,
      object: 'chat.completion',
      created: 0,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content }, logprobs, finish_reason: truncated ? 'length' : 'stop' }],
      usage: { prompt_tokens: inTok, completion_tokens: outTok, total_tokens: inTok + outTok },
      system_fingerprint: 'assay-simulated',
    });
  }

  function behaviourAnswer(format: Format, body: Record<string, unknown>, msgs: unknown[], prompt: string): BehaviourAnswer | null {
    const messages = msgs.map((m) => ({ role: String((m as { role?: unknown } | null)?.role ?? ''), text: messageText(m) }));
    const top = typeof body.system === 'string' ? body.system : Array.isArray(body.system) ? messageText({ content: body.system }) : null;
    const ctx: BehaviourContext = {
      prompt,
      system: top ?? messages.find((m) => m.role === 'system')?.text ?? null,
      messages,
      lastUser: [...messages].reverse().find((m) => m.role === 'user')?.text ?? '',
      seed: p.seed,
      model: typeof body.model === 'string' ? body.model : '',
      tools: toolNames(body),
      turns: turnsOf(format, msgs),
      unit: (salt) => unitAt(createHash('sha256').update(`assay-sim-behaviour\0${p.seed}\0${salt}\0${prompt}`).digest(), 0),
    };
    for (const b of behaviours) {
      const a = b.answer(ctx);
      if (a) return a;
    }
    return null;
  }

  function handle(req: IncomingMessage, res: ServerResponse) {
    inFlight++;
    if (inFlight > stats.maxInFlight) stats.maxInFlight = inFlight;
    res.once('close', () => inFlight--);
    const url = req.url ?? '';
    if (req.method === 'GET' && url === '/health') return send(res, 200, '{"ok":true,"simulated":true}');
    if (fineTuning && (url.startsWith('/v1/files') || url.startsWith('/v1/fine_tuning'))) {
      const parts: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_DRAIN) parts.push(c);
        else req.destroy();
      });
      req.on('end', () => {
        fineTuning
          .handle(req.method ?? 'GET', url, req.headers, Buffer.concat(parts))
          .then((a) => send(res, a!.status, JSON.stringify(a!.body)))
          .catch(() => send(res, 500, errorBody('openai', 'api_error', 'internal error')));
      });
      req.on('error', () => res.destroy());
      return;
    }
    const format: Format | null = url === '/v1/chat/completions' ? 'openai' : url === '/v1/messages' ? 'anthropic' : null;
    if (req.method !== 'POST' || !format) {
      req.resume();
      return send(res, 404, errorBody('openai', 'not_found', 'only POST /v1/chat/completions, POST /v1/messages and GET /health exist'));
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_DRAIN) {
      send(res, 413, errorBody(format, 'request_too_large', 'request body over 1 MB'), { connection: 'close' });
      req.socket.destroySoon();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
      else if (size > MAX_DRAIN) req.destroy(); // a hostile stream: stop reading it
    });
    req.on('end', () => {
      if (size > MAX_BODY) return send(res, 413, errorBody(format, 'request_too_large', 'request body over 1 MB'), { connection: 'close' });
      try {
        respond(res, format, chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
      } catch {
        if (!res.headersSent) send(res, 500, errorBody(format, 'api_error', 'internal error'));
      }
    });
    req.on('error', () => res.destroy());
  }

  const server = createServer({ keepAlive: true }, handle);
  // Long keep-alive: benchmark clients reuse sockets across thousands of requests.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  server.requestTimeout = 0;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  let closed: Promise<void> | null = null;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    fineTuning,
    stats: () => ({ ...stats, byStatus: { ...stats.byStatus }, byFormat: { ...stats.byFormat }, faults: { ...stats.faults }, bodyCounts: new Map(stats.bodyCounts) }),
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        for (const r of hanging) r.destroy();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      })),
  };
}
