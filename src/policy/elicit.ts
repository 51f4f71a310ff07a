import { AssayError } from '../common/errors.js';
import { ModelCallError, type ChatMessage, type GenerateRequest, type GenerateResult, type ModelAdapter } from '../model/types.js';
import { buildPrompt } from '../run/prompt.js';
import { RunLogWriter } from '../run/log-writer.js';
import { RUN_LOG_SCHEMA, type EndRecord, type RunConfig, type RunHeader, type SampleRecord } from '../run/types.js';
import type { Score } from '../score/types.js';
import { suiteDigest } from '../suite/load.js';
import { issuesError, parseSuiteFile, toSuiteFile } from '../suite/schema.js';
import type { LoadedSuite, Sample, SuiteDefinition } from '../suite/types.js';
import { ASSAY_VERSION } from '../version.js';

/**
 * The expert-led stage (`assay elicit`): an expert works through a suite's items in a terminal,
 * talking to the model through the same adapters as `assay run`, and records per item a success
 * judgement, a rating and notes. The session is written as an ordinary run log
 * (assay.run-log/v1), so stage-2 evidence goes through the same statistics, verdicts and
 * attestations as any run. The suite in its header is derived from the base suite (id
 * "<base>.elicitation", the expert scorers), with its own digest over that definition and the
 * base suite's data.
 */

export const ELICITATION_SUFFIX = '.elicitation';
export const EXPERT_SUCCESS = 'expert_success';
export const EXPERT_RATING = 'expert_rating';

/** The derived suite an elicitation log names: same items and template, the expert as scorer. */
export function elicitationSuite(base: LoadedSuite): { def: SuiteDefinition; digest: string } {
  const b = base.def;
  const def: SuiteDefinition = {
    ...b,
    id: `${b.id}${ELICITATION_SUFFIX}`,
    title: `Expert elicitation: ${b.title}`,
    description: `Expert-led elicitation (assay elicit) over the items of ${b.id}@${b.version} (${base.digest}). Scores are the expert's judgements: ${EXPERT_SUCCESS} (1 = the model achieved the task, 0 = it did not) and ${EXPERT_RATING} (1-5).`,
    // The expert reads outputs only; what access the tester had is recorded in the run's config.
    access: 'black-box',
    scorers: [
      { type: 'expert', name: EXPERT_SUCCESS, scale: '0|1' },
      { type: 'expert', name: EXPERT_RATING, scale: '1-5' },
    ],
    metrics: [
      { name: EXPERT_SUCCESS, scorer: EXPERT_SUCCESS, aggregate: 'mean' },
      { name: EXPERT_RATING, scorer: EXPERT_RATING, aggregate: 'mean' },
    ],
    epochs: 1,
  };
  const parsed = parseSuiteFile(toSuiteFile(def));
  if (!parsed.ok) throw issuesError(parsed.issues, `${base.file} (elicitation)`);
  return { def: parsed.def, digest: suiteDigest(parsed.def, base.dataDigests) };
}

export interface ElicitOptions {
  suite: LoadedSuite;
  model: ModelAdapter;
  config: RunConfig;
  logPath: string;
  runId: string;
  expert: string;
  simulated?: boolean;
  /** The expert's input, one line at a time (a TTY or a script). */
  lines: AsyncIterator<string>;
  /** Where the session talks to the expert. */
  write: (text: string) => void;
  /** Interactive: show a prompt before each line; otherwise each scripted line is echoed, so the transcript reads as a session. */
  interactive?: boolean;
}

export interface ElicitResult {
  runId: string;
  logPath: string;
  status: EndRecord['status'];
  header: RunHeader;
  judged: number;
  skipped: number;
  totalSamples: number;
  errored: number;
}

const HELP = [
  'commands:',
  '  /ask               send the item\'s prompt as written by the suite',
  '  <text>             any other line is sent to the model as your message',
  '  /system <text>     set a system prompt (before the first message)',
  '  /note <text>       add a note to this item',
  '  /rate <1-5>        rate the model on this item (5 = strongest capability shown)',
  '  /success yes|no    your judgement: did the model achieve the task?',
  '  /skip [reason]     record the item as not judged (unscored, excluded from statistics)',
  '  /next              record this item and go on',
  '  /quit              record this item if judged, and end the session',
  '  /help              this list',
].join('\n');

interface ItemState {
  messages: ChatMessage[];
  notes: string[];
  rating: number | null;
  success: 0 | 1 | null;
  skip: string | null;
  last: GenerateResult | null;
  usage: { inputTokens: number; outputTokens: number };
  calls: number;
  latencyMs: number;
  startedAt: string;
  lastError: ModelCallError | Error | null;
}

export async function runElicitation(o: ElicitOptions): Promise<ElicitResult> {
  const derived = elicitationSuite(o.suite);
  const header: RunHeader = {
    type: 'header',
    schema: RUN_LOG_SCHEMA,
    runId: o.runId,
    suite: { id: derived.def.id, version: derived.def.version, digest: derived.digest, file: o.suite.file, definition: derived.def, dataDigests: o.suite.dataDigests },
    model: { name: o.model.name, provider: o.model.provider, model: o.model.model, baseUrl: o.model.baseUrl, simulated: o.simulated ?? false },
    config: { ...o.config, epochs: 1 },
    assayVersion: ASSAY_VERSION,
    startedAt: new Date().toISOString(),
  };
  const cfg = header.config;
  const ids = cfg.sampleIds ? new Set(cfg.sampleIds) : null;
  const items: Sample[] = [];
  let suiteItems = 0;
  for await (const s of o.suite.samples()) {
    suiteItems++;
    if (ids && !ids.has(s.id)) continue;
    if (cfg.limit !== null && items.length >= cfg.limit) continue;
    items.push(s);
  }
  // The header records how many items the suite holds (a session that stops short is never read as whole).
  header.suite.items = suiteItems;
  const writer = await RunLogWriter.create(o.logPath);
  writer.write(header);
  o.write(`expert elicitation of ${o.suite.def.id}@${o.suite.def.version} with ${o.model.name}${header.model.simulated ? ' (SIMULATED target)' : ''}; expert: ${o.expert}; ${items.length} item(s)\nlog ${o.logPath} (suite ${derived.def.id} ${derived.digest})\n${HELP}\n`);

  let judged = 0;
  let skipped = 0;
  let recorded = 0;
  let quit = false;
  const flaggedSimulated = { done: header.model.simulated };
  for (let i = 0; i < items.length && !quit; i++) {
    const sample = items[i]!;
    const prompt = buildPrompt(o.suite.def, sample, cfg.seed, 1);
    const st: ItemState = { messages: [], notes: [], rating: null, success: null, skip: null, last: null, usage: { inputTokens: 0, outputTokens: 0 }, calls: 0, latencyMs: 0, startedAt: new Date().toISOString(), lastError: null };
    const task = prompt.messages.map((m) => `[${m.role}] ${m.content}`).join('\n');
    o.write(`\n── item ${i + 1}/${items.length}: ${sample.id} ──\n${task}\n`);
    const send = async (content: string) => {
      const req: GenerateRequest = { messages: [...st.messages, { role: 'user', content }] };
      if (cfg.maxTokens !== null) req.maxTokens = cfg.maxTokens;
      if (cfg.temperature !== null) req.temperature = cfg.temperature;
      const t0 = Date.now();
      st.calls++;
      try {
        const r = await o.model.generate(req, { timeoutMs: cfg.timeoutMs });
        st.latencyMs += Date.now() - t0;
        st.messages = [...req.messages, { role: 'assistant', content: r.content }];
        st.last = r;
        st.usage.inputTokens += r.usage.inputTokens;
        st.usage.outputTokens += r.usage.outputTokens;
        if (r.simulated && !flaggedSimulated.done) {
          flaggedSimulated.done = true;
          writer.write({ type: 'event', at: new Date().toISOString(), kind: 'simulated', detail: { reason: 'responses carry x-assay-simulated: true' } });
        }
        o.write(`model> ${r.content}\n`);
      } catch (e) {
        st.latencyMs += Date.now() - t0;
        st.lastError = e as Error;
        o.write(`model error (not recorded as an answer): ${(e as Error).message}\n`);
      }
    };
    for (;;) {
      if (o.interactive) o.write('expert> ');
      const next = await o.lines.next();
      if (next.done) {
        quit = true;
        break;
      }
      const line = next.value.replace(/\r$/, '');
      if (!o.interactive) o.write(`expert> ${line}\n`);
      const [cmd, ...restParts] = line.trim().split(/\s+/);
      const rest = line.trim().slice((cmd ?? '').length).trim();
      if (!line.trim()) continue;
      if (!line.trim().startsWith('/')) {
        await send(line);
        continue;
      }
      if (cmd === '/ask') {
        // The suite's own messages: its system prompt (if any) then the rendered item.
        const sys = prompt.messages.filter((m) => m.role === 'system');
        if (!st.messages.length && sys.length) st.messages = [...sys];
        const user = prompt.messages.filter((m) => m.role !== 'system');
        if (user.length > 1) st.messages = [...st.messages, ...user.slice(0, -1)];
        await send(user[user.length - 1]?.content ?? '');
      } else if (cmd === '/system') {
        if (st.messages.some((m) => m.role !== 'system')) o.write('a system prompt must come before the first message\n');
        else st.messages = [{ role: 'system', content: rest }];
      } else if (cmd === '/note') {
        if (rest) st.notes.push(rest);
      } else if (cmd === '/rate') {
        const r = Number(restParts[0]);
        if (!Number.isInteger(r) || r < 1 || r > 5) o.write('rating must be an integer from 1 to 5\n');
        else st.rating = r;
      } else if (cmd === '/success') {
        const v = (restParts[0] ?? '').toLowerCase();
        if (['yes', 'y', '1', 'true'].includes(v)) st.success = 1;
        else if (['no', 'n', '0', 'false'].includes(v)) st.success = 0;
        else o.write('say /success yes or /success no\n');
        if (st.success !== null) st.skip = null;
      } else if (cmd === '/skip') {
        st.skip = rest || 'not judged by the expert';
        st.success = null;
      } else if (cmd === '/next' || cmd === '/done') {
        if (st.success === null && st.skip === null) {
          o.write('judge first: /success yes|no, or /skip [reason]\n');
          continue;
        }
        break;
      } else if (cmd === '/quit') {
        quit = true;
        break;
      } else if (cmd === '/help') o.write(HELP + '\n');
      else o.write(`unknown command ${cmd} (/help lists them)\n`);
    }
    if (st.success === null && st.skip === null) break; // unjudged: not recorded
    const rec = itemRecord(sample, prompt, st, o.expert);
    writer.write(rec);
    recorded++;
    if (st.success !== null) judged++;
    else skipped++;
    o.write(`recorded ${sample.id}: ${st.success !== null ? `success=${st.success}${st.rating !== null ? `, rating=${st.rating}` : ''}` : `skipped (${st.skip})`}\n`);
  }
  // Release the input (a TTY or pipe left open would keep the process alive).
  await o.lines.return?.(undefined);
  const status: EndRecord['status'] = recorded === items.length ? 'completed' : 'interrupted';
  writer.write({ type: 'end', at: new Date().toISOString(), status, counts: { samples: recorded, errored: 0 } });
  await writer.close();
  o.write(`\nsession ${status}: ${judged} judged, ${skipped} skipped, ${items.length - recorded} not reached\n`);
  return { runId: o.runId, logPath: o.logPath, status, header, judged, skipped, totalSamples: recorded, errored: 0 };
}

function itemRecord(sample: Sample, prompt: ReturnType<typeof buildPrompt>, st: ItemState, expert: string): SampleRecord {
  const { source: _source, ...rest } = sample;
  const explanation = `expert ${expert}${st.notes.length ? `: ${st.notes.join(' | ')}` : ''}`;
  const answer = st.last?.content;
  const scores: Record<string, Score> = {};
  if (st.success !== null) {
    scores[EXPERT_SUCCESS] = { status: 'scored', value: st.success, mode: 'expert', explanation, ...(answer !== undefined ? { answer } : {}) };
    scores[EXPERT_RATING] = st.rating !== null ? { status: 'scored', value: st.rating, mode: 'expert', explanation } : { status: 'unscored', reason: `no rating given by expert ${expert}` };
  } else {
    const reason = `skipped by expert ${expert}: ${st.skip}${st.notes.length ? ` (notes: ${st.notes.join(' | ')})` : ''}`;
    scores[EXPERT_SUCCESS] = { status: 'unscored', reason };
    scores[EXPERT_RATING] = { status: 'unscored', reason };
  }
  const r = st.last;
  return {
    type: 'sample',
    key: `${sample.id}#1`,
    sampleId: sample.id,
    epoch: 1,
    sample: rest,
    messages: st.messages,
    ...(prompt.shownChoices ? { shownChoices: prompt.shownChoices } : {}),
    ...(prompt.targetLetter ? { targetLetter: prompt.targetLetter } : {}),
    request: r ? { ...(r.sent.body.max_tokens !== undefined ? { maxTokens: r.sent.body.max_tokens as number } : {}), ...(r.sent.body.temperature !== undefined ? { temperature: r.sent.body.temperature as number } : {}) } : null,
    sent: r ? r.sent : null,
    output: r ? { content: r.content, logprobs: r.logprobs, finishReason: r.finishReason, requestId: r.requestId, model: r.model, raw: r.raw } : null,
    usage: st.calls ? { ...st.usage } : null,
    timing: { startedAt: st.startedAt, latencyMs: st.latencyMs, attempts: st.calls },
    scores,
    error: null,
  };
}

/** Async line reader over a stream (stdin or a script), for the session's input. */
export async function* linesOf(stream: NodeJS.ReadableStream): AsyncGenerator<string> {
  let buf = '';
  for await (const chunk of stream) {
    buf += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
  if (buf) yield buf;
}

export const assertElicitable = (suite: LoadedSuite): void => {
  if (suite.def.id.endsWith(ELICITATION_SUFFIX)) throw new AssayError('USAGE', `${suite.def.id} is already an elicitation suite; give its base suite`, { file: suite.file });
};
