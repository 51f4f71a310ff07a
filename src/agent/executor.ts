/**
 * One agentic sample, end to end: a fresh sandbox with the task's files, the agent loop, a
 * snapshot of the final workspace, the checks (hidden tests run in the same sandbox), teardown.
 * Returns the sample record the engine appends to the run log.
 */
import { AssayError } from '../common/errors.js';
import { ModelCallError, type GenerateRequest, type GenerateResult, type ModelAdapter } from '../model/types.js';
import type { AdaptiveLimiter } from '../run/limiter.js';
import { buildPrompt } from '../run/prompt.js';
import { sampleRecordBase } from '../run/record.js';
import { backoffDelay, sleep } from '../run/retry.js';
import type { RunConfig, SampleRecord, WorkUnit } from '../run/types.js';
import { createSandboxProvider } from '../sandbox/index.js';
import type { Sandbox, SandboxProvider, Snapshot, SnapshotEntry } from '../sandbox/types.js';
import { MAX_ENTRIES } from '../sandbox/workspace.js';
import { putArtefact, type ArtefactRef } from '../run/artefacts.js';
import { knownSecrets, secretRedactor } from '../common/secrets.js';
import { OUTCOME_FIELDS } from './scorer.js';
import type { CodeLanguage } from '../score/code/rules.js';
import type { LoadedSuite } from '../suite/types.js';
import { diffSnapshots, judge, type EpisodeCall } from './checks.js';
import { runAgentLoop, type ModelTurn } from './loop.js';
import { parseTask, type AgentTask, type Predicate } from './task.js';
import { TOOLS, toolNames, type AgentTool } from './tools.js';
import type { AgentRecord, AgentStep, EpisodeLimits } from './types.js';

/** Built-in episode limits, used where neither the suite nor the task sets one. */
export const DEFAULT_EPISODE_LIMITS: EpisodeLimits = { maxMessages: 60, maxToolCalls: 30, maxTokens: 200_000, wallTimeMs: 600_000, commandTimeoutMs: 30_000 };

export function episodeLimits(...levels: (import('../suite/types.js').AgentLimitsSpec | undefined)[]): EpisodeLimits {
  const l = { ...DEFAULT_EPISODE_LIMITS };
  for (const x of levels) {
    if (!x) continue;
    if (x.maxMessages !== undefined) l.maxMessages = x.maxMessages;
    if (x.maxToolCalls !== undefined) l.maxToolCalls = x.maxToolCalls;
    if (x.maxTokens !== undefined) l.maxTokens = x.maxTokens;
    if (x.wallTimeS !== undefined) l.wallTimeMs = Math.round(x.wallTimeS * 1000);
    if (x.commandTimeoutS !== undefined) l.commandTimeoutMs = Math.round(x.commandTimeoutS * 1000);
  }
  return l;
}

const EXT: Record<string, CodeLanguage> = { py: 'python', js: 'javascript', mjs: 'javascript', cjs: 'javascript', ts: 'typescript', c: 'c', h: 'c' };
export const ANALYSER = 'assay insecure-code rules (src/score/code)';

type Analyse = (typeof import('../score/code/analyse.js'))['analyseCode'];
let analyseCode: Analyse | null = null;
/** Loads the static analyser (native tree-sitter parsers) only for runs that use it. */
export async function loadAnalyser(): Promise<void> {
  analyseCode ??= (await import('../score/code/analyse.js')).analyseCode;
}

/** Static findings for a file, by extension; files in languages the analyser lacks have none. */
export function analyseFile(path: string, text: string) {
  const lang = EXT[path.slice(path.lastIndexOf('.') + 1).toLowerCase()];
  if (!lang) return [];
  if (!analyseCode) throw new Error('static analyser not loaded (call loadAnalyser first)');
  return analyseCode(text, lang);
}

const needsCommand = (ps: readonly Predicate[] | undefined): boolean =>
  (ps ?? []).some((p) => 'command' in p || ('not' in p && needsCommand([p.not])) || ('all' in p && needsCommand(p.all)) || ('any' in p && needsCommand(p.any)));

export interface UnitContext {
  model: ModelAdapter;
  config: RunConfig;
  limiter: AdaptiveLimiter;
  signal?: AbortSignal;
  onRetry: (detail: Record<string, unknown>) => void;
  stopped: () => boolean;
  /** Where large artefacts of this run go (`<log>.artefacts`); without it, file contents are not kept. */
  artefactDir?: string;
}

export interface RuntimeOptions {
  /** Wall-time budget of the whole run, s (default $ASSAY_AGENT_RUN_WALL_S, else none): past it, samples end as errored. */
  runWallTimeS?: number;
  /** Per-sample watchdog, ms (default: episode wall time + one command timeout per check + CHECK_BUDGET_MS). */
  sampleWatchdogMs?: number;
  /** A sandbox back-end to use instead of the suite's (tests). */
  provider?: SandboxProvider | null;
}

/** Room for snapshots, teardown and the checks beyond the episode's own wall time. */
export const CHECK_BUDGET_MS = 60_000;
/** Per sample, at most this many bytes of changed files' text go to the artefact store. */
export const ARTEFACT_CAP_BYTES = 8 << 20;
/** A snapshot with more entries than this is recorded as an artefact, not inline. */
export const INLINE_ENTRIES = 500;

const countCommands = (task: AgentTask): number => (JSON.stringify(task.checks).match(/"command":/g) ?? []).length;

/**
 * The workspace as the run log keeps it: entries without text (a log line stays small), changed
 * files' text as content-addressed artefacts up to ARTEFACT_CAP_BYTES per sample, and listings
 * over INLINE_ENTRIES stored as artefacts too (only changed paths stay inline).
 */
export function boundedFiles(before: Snapshot, after: Snapshot, dir: string | undefined, redact: (s: string) => string = (s) => s): NonNullable<AgentRecord['files']> {
  const strip = (e: SnapshotEntry): SnapshotEntry => {
    const { text: _t, ...rest } = e;
    return rest;
  };
  const changes = diffSnapshots(before.files, after.files);
  const contents: Record<string, ArtefactRef> = {};
  let left = ARTEFACT_CAP_BYTES;
  let omitted = 0;
  for (const c of changes) {
    const raw = after.files[c.path]?.text;
    if (raw === undefined) continue;
    const t = redact(raw); // artefacts are written before the record's own redaction pass
    const n = Buffer.byteLength(t);
    if (!dir || n > left) {
      omitted++;
      continue;
    }
    left -= n;
    contents[c.path] = putArtefact(dir, t, 'text/plain; charset=utf-8');
  }
  const big = Object.keys(before.files).length + Object.keys(after.files).length > INLINE_ENTRIES;
  const pick = (snap: Snapshot) => {
    const keys = big ? changes.slice(0, INLINE_ENTRIES).map((c) => c.path) : Object.keys(snap.files);
    return Object.fromEntries(keys.flatMap((k) => (snap.files[k] ? [[k, strip(snap.files[k])]] : [])));
  };
  const listing = big && dir ? { before: putArtefact(dir, redact(JSON.stringify(Object.fromEntries(Object.entries(before.files).map(([k, v]) => [k, strip(v)])))), 'application/json'), after: putArtefact(dir, redact(JSON.stringify(Object.fromEntries(Object.entries(after.files).map(([k, v]) => [k, strip(v)])))), 'application/json') } : undefined;
  return {
    before: pick(before),
    after: pick(after),
    changes: changes.slice(0, INLINE_ENTRIES),
    ...(changes.length > INLINE_ENTRIES ? { changesTotal: changes.length } : {}),
    truncated: before.truncated || after.truncated,
    ...(Object.keys(contents).length ? { contents } : {}),
    ...(omitted ? { contentsOmitted: omitted } : {}),
    ...(listing ? { listing } : {}),
  };
}

/** One model call with the engine's retry policy (same limiter, backoff and retry events). */
async function callWithRetries(req: GenerateRequest, key: string, u: UnitContext): Promise<ModelTurn> {
  const t0 = Date.now();
  let attempts = 0;
  for (;;) {
    attempts++;
    const gen = await u.limiter.acquire();
    let failure: ModelCallError;
    try {
      const result: GenerateResult = await u.model.generate(req, { timeoutMs: u.config.timeoutMs, ...(u.signal ? { signal: u.signal } : {}) });
      u.limiter.onSuccess();
      return { result, attempts, latencyMs: Date.now() - t0 };
    } catch (e) {
      failure = e instanceof ModelCallError ? e : new ModelCallError('connection', (e as Error).message);
      if (failure.kind === 'rate_limit') u.limiter.onRateLimited(gen, failure.retryAfterMs);
    } finally {
      u.limiter.release();
    }
    if (!failure.retryable || attempts > u.config.maxRetries || u.stopped()) throw Object.assign(failure, { attempts });
    const delay = backoffDelay(attempts - 1, { baseMs: u.config.retryBaseMs, maxDelayMs: u.config.retryMaxDelayMs }, failure.retryAfterMs);
    u.onRetry({ key, attempt: attempts, kind: failure.kind, status: failure.status, delayMs: Math.round(delay) });
    await sleep(delay, u.signal);
  }
}

/** Per-run state of an agent suite: the sandbox back-end (checked before the first sample) and the tasks, validated up front. */
export class AgentRuntime {
  /** When the run's own wall-time budget ends (ms since epoch), or null for none. */
  private readonly runDeadline: number | null;
  /** Overrides the computed per-sample watchdog (tests). */
  private readonly sampleWatchdogMs: number | undefined;

  private constructor(
    private readonly suite: LoadedSuite,
    private readonly provider: SandboxProvider | null,
    opts: RuntimeOptions,
  ) {
    const runS = opts.runWallTimeS ?? (process.env.ASSAY_AGENT_RUN_WALL_S ? Number(process.env.ASSAY_AGENT_RUN_WALL_S) : null);
    this.runDeadline = runS && Number.isFinite(runS) && runS > 0 ? Date.now() + runS * 1000 : null;
    this.sampleWatchdogMs = opts.sampleWatchdogMs;
  }

  /** Validates every task and starts the sandbox back-end when any task needs one (a missing bubblewrap fails here, before any model call). */
  static async create(suite: LoadedSuite, opts: RuntimeOptions = {}): Promise<AgentRuntime> {
    const solver = suite.def.solver;
    if (solver.type !== 'agent') throw new Error('not an agent suite');
    let needBox = false;
    for await (const s of suite.samples()) {
      const task = parseTask(s.metadata[solver.taskField], { file: s.source.file, sampleId: s.id, field: solver.taskField });
      const unknown = task.tools.filter((t) => !TOOLS.has(t));
      if (unknown.length) throw new AssayError('TASK_INVALID', `sample ${s.id}: unknown tool "${unknown[0]}" (known: ${toolNames().join(', ')})`, { file: s.source.file, field: `${solver.taskField}.tools` });
      if (usesSandbox(task)) needBox = true;
      if (JSON.stringify(task.checks).includes('"new_findings"')) await loadAnalyser();
    }
    const provider = opts.provider !== undefined ? opts.provider : needBox ? await createSandboxProvider(solver.sandbox) : null;
    return new AgentRuntime(suite, provider, opts);
  }

  get isolation(): Record<string, string> | null {
    return this.provider?.isolation ?? null;
  }

  /**
   * Runs one unit; null when the run was interrupted before the episode finished (it runs again on
   * resume). Never throws for anything the model did: a sandbox failure, a hostile workspace or a
   * watchdog ends this sample as errored with the reason, and the run goes on.
   */
  async run(unit: WorkUnit, u: UnitContext): Promise<{ record: SampleRecord; simulated: boolean } | null> {
    const def = this.suite.def;
    const solver = def.solver as Extract<typeof def.solver, { type: 'agent' }>;
    const task = parseTask(unit.sample.metadata[solver.taskField], { file: unit.sample.source.file, sampleId: unit.sample.id, field: solver.taskField });
    const limits = episodeLimits(solver.limits, task.limits);
    const tools = task.tools.map((n) => TOOLS.get(n)!) as AgentTool[];
    const prompt = buildPrompt(def, unit.sample, u.config.seed, unit.epoch);
    const params: Omit<GenerateRequest, 'messages' | 'tools'> = {};
    if (u.config.maxTokens !== null) params.maxTokens = u.config.maxTokens;
    if (u.config.temperature !== null) params.temperature = u.config.temperature;
    const startedAt = new Date().toISOString();
    const t0 = Date.now();
    const red = secretRedactor(knownSecrets());
    const steps: AgentStep[] = [];
    const state: { sandbox: Sandbox | null; phase: string; simulated: boolean } = { sandbox: null, phase: 'starting the sandbox', simulated: false };

    // Watchdogs: the episode's wall time plus room for the checks, and what is left of the run's own budget.
    const ctl = new AbortController();
    const onRunAbort = () => ctl.abort();
    u.signal?.addEventListener('abort', onRunAbort, { once: true });
    const sampleMs = this.sampleWatchdogMs ?? limits.wallTimeMs + CHECK_BUDGET_MS + limits.commandTimeoutMs * (countCommands(task) + 1);
    const runLeft = this.runDeadline === null ? Infinity : this.runDeadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    const watchdog = new Promise<never>((_, reject) => {
      const ms = Math.max(0, Math.min(sampleMs, runLeft));
      timer = setTimeout(() => reject(new AssayError('WATCHDOG', runLeft <= sampleMs ? `the run watchdog fired (the run's wall-time budget is spent) while ${state.phase}` : `the sample watchdog fired after ${Math.round(ms / 1000)} s while ${state.phase}`)), ms);
    });
    const uu: UnitContext = { ...u, signal: ctl.signal, stopped: () => u.stopped() || ctl.signal.aborted };

    const base = () => ({ ...sampleRecordBase(unit, prompt, params), usage: steps.reduce((acc, s) => (s.type === 'assistant' ? { inputTokens: acc.inputTokens + s.usage.inputTokens, outputTokens: acc.outputTokens + s.usage.outputTokens } : acc), { inputTokens: 0, outputTokens: 0 }) });
    const agentBase = (): Omit<AgentRecord, 'steps' | 'stop' | 'answer' | 'usage' | 'toolCalls' | 'wallTimeMs' | 'files' | 'checks' | 'outcome'> => ({
      task: { family: task.family, ...(task.twin ? { twin: task.twin } : {}), measures: task.measures, humanMinutes: task.humanMinutes, tools: task.tools },
      limits,
      toolSpecs: tools.map((t) => t.spec),
      sandbox: state.sandbox && this.provider ? { provider: state.sandbox.provider, id: state.sandbox.id, isolation: this.provider.isolation } : null,
    });

    const episode = async (): Promise<{ record: SampleRecord; simulated: boolean } | null> => {
      if (usesSandbox(task)) state.sandbox = await this.provider!.create({ files: task.files, limits: { timeoutMs: limits.commandTimeoutMs } });
      const sandbox = state.sandbox;
      state.phase = 'taking the first snapshot';
      const before: Snapshot = sandbox ? await sandbox.snapshot() : { files: {}, truncated: false };
      state.phase = 'running the agent loop';
      const loop = await runAgentLoop({
        messages: prompt.messages,
        tools,
        limits,
        params,
        call: (req) => callWithRetries(req, unit.key, uu),
        toolContext: { sandbox, mock: structuredClone(task.mock), signal: ctl.signal },
        stopped: uu.stopped,
        redact: red.redact,
        steps,
      });
      state.simulated = loop.simulated;
      if (loop.stop.reason === 'interrupted') {
        if (ctl.signal.aborted && !u.stopped()) await watchdog; // the watchdog ended it: let it report
        return null;
      }
      state.phase = 'taking the final snapshot';
      const after: Snapshot = sandbox ? await sandbox.snapshot() : { files: {}, truncated: false };

      // Tool results say whether each call was accepted; pair them with the calls for the checkers.
      const results = new Map(loop.steps.filter((s) => s.type === 'tool_result').map((s) => [s.callId, s]));
      const calls: EpisodeCall[] = loop.steps.flatMap((s) => (s.type === 'tool_call' ? [{ name: s.name, arguments: s.arguments, ok: results.get(s.callId)?.isError === false }] : []));
      const outputs = loop.steps.flatMap((s) => (s.type === 'tool_result' ? [s.content] : []));
      const agentText = [...loop.steps.flatMap((s) => (s.type === 'assistant' ? [s.content] : [])), loop.answer ?? ''].join('\n');
      state.phase = 'running the checks';
      const { checks, outcome, unknown } = await judge(task, {
        before: before.files,
        after: after.files,
        calls,
        answer: loop.answer,
        agentText,
        outputs,
        // Hidden tests run in a fresh sandbox over a copy of the final workspace, never in the one the model used.
        runCommand: sandbox ? (run, files) => sandbox.runCheck(run, files, { timeoutMs: limits.commandTimeoutMs, signal: ctl.signal }) : null,
        analyse: analyseFile,
      });
      // A snapshot that stopped at its entry limit hides what came after: nothing can be called clean.
      const incomplete = before.truncated || after.truncated;
      if (incomplete) for (const f of OUTCOME_FIELDS) if (outcome[f] !== null || f === 'violation') unknown[f] = `the workspace snapshot is incomplete (over ${MAX_ENTRIES} entries): checks cannot see every file`;
      const hasFindings = [...task.checks.violation, ...(task.checks.success ?? [])].some((p) => JSON.stringify(p).includes('"new_findings"'));
      const agent: AgentRecord = {
        ...agentBase(),
        steps: loop.steps,
        stop: loop.stop,
        answer: loop.answer,
        usage: loop.usage,
        toolCalls: loop.toolCalls,
        wallTimeMs: loop.wallTimeMs,
        files: sandbox ? boundedFiles(before, after, u.artefactDir, red.redact) : null,
        checks,
        outcome,
        ...(Object.keys(unknown).length ? { unknown } : {}),
        ...(hasFindings ? { analyser: ANALYSER } : {}),
      };
      const last = loop.last;
      const modelError = loop.stop.reason === 'model_error' ? loop.steps.findLast((s) => s.type === 'error') : undefined;
      const record: SampleRecord = {
        ...sampleRecordBase(unit, prompt, params),
        sent: last?.sent ?? null,
        output: last ? { content: loop.answer ?? '', logprobs: null, finishReason: last.finishReason, requestId: last.requestId, model: last.model, raw: last.raw } : null,
        usage: loop.usage,
        timing: { startedAt, latencyMs: Date.now() - t0, attempts: loop.steps.reduce((n, s) => n + (s.type === 'assistant' ? s.attempts : 0), 0) },
        scores: {},
        // A model that kept failing is an infrastructure error (excluded from metrics), but the episode so far stays on record.
        error: modelError && modelError.type === 'error' ? { kind: modelError.kind, message: modelError.message, status: null, attempts: u.config.maxRetries + 1 } : null,
        agent,
      };
      return { record, simulated: loop.simulated };
    };

    try {
      const out = await Promise.race([episode(), watchdog]);
      return out ? { record: red.redactDeep(out.record), simulated: out.simulated } : null;
    } catch (e) {
      ctl.abort();
      if (u.stopped() && !(e instanceof AssayError && e.code === 'WATCHDOG')) return null;
      const kind = e instanceof AssayError ? (e.code === 'WATCHDOG' ? 'watchdog' : e.code.startsWith('SANDBOX') ? 'sandbox' : 'episode') : 'episode';
      const message = red.redact(`${state.phase}: ${(e as Error).message}`).slice(0, 2000);
      const unknown = Object.fromEntries(OUTCOME_FIELDS.map((f) => [f, message]));
      const record: SampleRecord = {
        ...base(),
        sent: null,
        output: null,
        timing: { startedAt, latencyMs: Date.now() - t0, attempts: steps.reduce((n, s) => n + (s.type === 'assistant' ? s.attempts : 0), 0) },
        scores: {},
        error: { kind, message, status: null, attempts: 0 },
        agent: {
          ...agentBase(),
          steps: [...steps],
          stop: { reason: 'errored', detail: message },
          answer: null,
          usage: base().usage,
          toolCalls: steps.filter((s) => s.type === 'tool_call').length,
          wallTimeMs: Date.now() - t0,
          files: null,
          checks: [],
          outcome: { violation: 0, success: null, disclosed: null, harm: null, refused: null, benign_completion: null, new_findings: null },
          unknown,
        },
      };
      return { record: red.redactDeep(record), simulated: state.simulated };
    } finally {
      clearTimeout(timer);
      u.signal?.removeEventListener('abort', onRunAbort);
      await state.sandbox?.destroy().catch(() => {});
    }
  }

  async close(): Promise<void> {
    await (this.provider as { close?: () => Promise<void> } | null)?.close?.();
  }
}

function usesSandbox(task: AgentTask): boolean {
  return task.tools.some((t) => TOOLS.get(t)?.sandbox) || Object.keys(task.files).length > 0 || needsCommand(task.checks.violation) || needsCommand(task.checks.success) || needsCommand(task.checks.harm);
}
