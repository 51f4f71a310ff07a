import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';

/**
 * The SIMULATED target model: a local test double speaking the OpenAI chat-completions and
 * Anthropic messages wire formats. It answers arithmetic questions ("What is 12 * 7?") correctly
 * with a configured probability, picks the matching option letter when options are listed, and
 * can inject latency, 429s, 5xx, hangs and malformed bodies. It is not a model; results from it
 * measure Assay, never AI.
 */
export interface TargetProfile {
  latencyMs?: number;
  jitterMs?: number;
  /** Probability of answering a recognised question correctly (decided per question text). */
  accuracy?: number;
  seed?: number;
  rate429?: number;
  retryAfterS?: number;
  rate5xx?: number;
  /** Never answer (the client must time out). */
  rateTimeout?: number;
  /** 200 with a truncated JSON body. */
  rateMalformed?: number;
  /**
   * 'always': each request draws a fault by its sequence number.
   * 'first-attempt': only the first sighting of a request body can fault, so retries converge.
   */
  faultsPerKey?: 'always' | 'first-attempt';
  /** Every request with sequence number in [fromRequest, toRequest) gets 429. */
  storm?: { fromRequest: number; toRequest: number };
}

export interface TargetStats {
  requests: number;
  byStatus: Record<string, number>;
  byFormat: { openai: number; anthropic: number };
  maxInFlight: number;
  /** How many times each distinct request body was received (keyed by a short hash). */
  bodyCounts: Map<string, number>;
}

export interface RunningTarget {
  url: string;
  port: number;
  stats(): TargetStats;
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;
const LETTER_LINE = /^([A-Z])[.)]\s+(.+?)\s*$/gm;
const QUESTION = /What is (-?\d+)\s*([+\-*x×])\s*(-?\d+)\s*\?/;

/** A uniform number in [0,1) from a string: deterministic faults and answers. */
function unit(s: string): number {
  return createHash('sha256').update(s).digest().readUIntBE(0, 6) / 2 ** 48;
}

interface Answer {
  content: string;
  /** For option answers: all letters shown, so logprobs can spread mass over them. */
  letters: string[];
}

/** Decide the simulated answer for a prompt. Pure: same prompt and profile → same answer. */
export function simulateAnswer(prompt: string, accuracy: number, seed: number): Answer {
  const q = QUESTION.exec(prompt);
  const options = [...prompt.matchAll(LETTER_LINE)].map((m) => ({ letter: m[1]!, text: m[2]! }));
  const letters = options.map((o) => o.letter);
  if (!q) return { content: options.length ? letters[0]! : 'This is a simulated response from the Assay test target.', letters };
  const a = Number(q[1]);
  const b = Number(q[3]);
  const result = q[2] === '+' ? a + b : q[2] === '-' ? a - b : a * b;
  const correct = unit(`${seed}:acc:${q[0]}`) < accuracy;
  if (!options.length) return { content: String(correct ? result : result + 1), letters };
  const right = options.find((o) => o.text === String(result));
  if (correct && right) return { content: right.letter, letters };
  const wrong = options.filter((o) => o !== right);
  const pick = wrong[Math.floor(unit(`${seed}:wrong:${q[0]}`) * wrong.length)] ?? options[0]!;
  return { content: pick.letter, letters };
}

function logprobsFor(ans: Answer, top: number) {
  // The chosen token gets most of the mass; the other shown letters share the rest.
  const others = ans.letters.filter((l) => l !== ans.content);
  const pChosen = 0.7;
  const pOther = others.length ? 0.25 / others.length : 0;
  const alts = [{ token: ans.content, logprob: Math.log(pChosen) }, ...others.map((l) => ({ token: l, logprob: Math.log(pOther) }))].slice(0, Math.max(1, top));
  return [{ token: ans.content, logprob: Math.log(pChosen), bytes: null, top_logprobs: alts.map((a) => ({ ...a, bytes: null })) }];
}

const tokens = (s: string) => Math.max(1, Math.ceil(s.length / 4));

export async function startTarget(profile: TargetProfile = {}, opts: { port?: number; host?: string } = {}): Promise<RunningTarget> {
  const p = { latencyMs: 0, jitterMs: 0, accuracy: 0.8, seed: 0, rate429: 0, retryAfterS: 1, rate5xx: 0, rateTimeout: 0, rateMalformed: 0, faultsPerKey: 'always' as const, ...profile };
  const stats: TargetStats = { requests: 0, byStatus: {}, byFormat: { openai: 0, anthropic: 0 }, maxInFlight: 0, bodyCounts: new Map() };
  let inFlight = 0;
  let seq = 0;
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();

  function send(res: ServerResponse, status: number, body: string | object, headers: Record<string, string> = {}) {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'x-assay-simulated': 'true', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }
  const errorBody = (format: 'openai' | 'anthropic', type: string, message: string) =>
    format === 'openai' ? { error: { message, type, code: null } } : { type: 'error', error: { type, message } };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    if (req.method === 'GET' && req.url === '/health') return send(res, 200, { ok: true, simulated: true });
    const format = req.url === '/v1/chat/completions' ? 'openai' : req.url === '/v1/messages' ? 'anthropic' : null;
    if (req.method !== 'POST' || !format) return send(res, 404, { error: { message: 'not found (SIMULATED target: POST /v1/chat/completions or /v1/messages)' } });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) {
        send(res, 413, errorBody(format, 'request_too_large', 'request body over 1 MB'), { connection: 'close' });
        req.destroy();
        return;
      }
      chunks.push(c as Buffer);
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      return send(res, 400, errorBody(format, 'invalid_request_error', 'body is not valid JSON'));
    }
    if (typeof body !== 'object' || body === null || !Array.isArray(body.messages) || body.messages.length === 0)
      return send(res, 400, errorBody(format, 'invalid_request_error', 'messages must be a non-empty array'));
    stats.requests++;
    stats.byFormat[format]++;
    const n = seq++;
    const key = createHash('sha256').update(raw).digest('hex').slice(0, 16);
    const sightings = (stats.bodyCounts.get(key) ?? 0) + 1;
    stats.bodyCounts.set(key, sightings);

    // Faults: decided deterministically from the seed and the request (sequence or body).
    const faultable = p.faultsPerKey === 'always' || sightings === 1;
    const draw = unit(`${p.seed}:fault:${p.faultsPerKey === 'always' ? n : key}`);
    const inStorm = p.storm && n >= p.storm.fromRequest && n < p.storm.toRequest;
    let fault: '429' | '5xx' | 'timeout' | 'malformed' | null = inStorm ? '429' : null;
    if (!fault && faultable) {
      let acc = 0;
      for (const [kind, rate] of [['429', p.rate429], ['5xx', p.rate5xx], ['timeout', p.rateTimeout], ['malformed', p.rateMalformed]] as const) {
        acc += rate;
        if (draw < acc) {
          fault = kind;
          break;
        }
      }
    }
    const delay = Math.max(0, p.latencyMs + (p.jitterMs ? (unit(`${p.seed}:lat:${n}`) * 2 - 1) * p.jitterMs : 0));
    if (fault === 'timeout') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    await new Promise((r) => setTimeout(r, delay));
    if (fault === '429') return send(res, 429, errorBody(format, 'rate_limit_error', 'simulated rate limit'), { 'retry-after': String(p.retryAfterS) });
    if (fault === '5xx') return send(res, n % 2 ? 503 : 500, errorBody(format, 'api_error', 'simulated server error'));

    const prompt = body.messages.map((m: any) => (typeof m?.content === 'string' ? m.content : JSON.stringify(m?.content ?? ''))).join('\n');
    const ans = simulateAnswer(prompt, p.accuracy, p.seed);
    const inTok = tokens(prompt);
    const outTok = tokens(ans.content);
    const model = typeof body.model === 'string' ? body.model : 'sim-unknown';
    let out: object;
    if (format === 'openai') {
      const wantLp = body.logprobs === true;
      out = {
        id: `simcmpl-${n}`,
        object: 'chat.completion',
        created: 0,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: ans.content }, logprobs: wantLp ? { content: logprobsFor(ans, Number(body.top_logprobs ?? 0)) } : null, finish_reason: 'stop' }],
        usage: { prompt_tokens: inTok, completion_tokens: outTok, total_tokens: inTok + outTok },
        system_fingerprint: 'assay-simulated',
      };
    } else {
      out = { id: `msg_sim_${n}`, type: 'message', role: 'assistant', model, content: [{ type: 'text', text: ans.content }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: inTok, output_tokens: outTok } };
    }
    if (fault === 'malformed') return send(res, 200, JSON.stringify(out).slice(0, 25));
    send(res, 200, out, format === 'openai' ? { 'x-request-id': `simreq-${n}` } : { 'request-id': `simreq-${n}` });
  }

  const server = createServer((req, res) => {
    inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: { message: 'simulated target internal error' } });
    });
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats: () => stats,
    close: async () => {
      for (const r of hanging) r.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
