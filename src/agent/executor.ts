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
import type { Sandbox, SandboxProvider, Snapshot } from '../sandbox/types.js';
import type { CodeLanguage } from '../score/code/rules.js';
import type { LoadedSuite } from '../suite/types.js';
import { diffSnapshots, judge, type EpisodeCall } from './checks.js';
import { runAgentLoop, type ModelTurn } from './loop.js';
import { parseTask, type AgentTask, type Predicate } from './task.js';
import { TOOLS, toolNames, type AgentTool } from './tools.js';
import type { AgentRecord, EpisodeLimits } from './types.js';

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
  private constructor(
    private readonly suite: LoadedSuite,
    private readonly provider: SandboxProvider | null,
  ) {}

  /** Validates every task and starts the sandbox back-end when any task needs one (a missing bubblewrap fails here, before any model call). */
  static async create(suite: LoadedSuite): Promise<AgentRuntime> {
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
    const provider = needBox ? await createSandboxProvider(solver.sandbox) : null;
    return new AgentRuntime(suite, provider);
  }

  get isolation(): Record<string, string> | null {
    return this.provider?.isolation ?? null;
  }

  /** Runs one unit; null when the run was interrupted before the episode finished (it runs again on resume). */
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

    let sandbox: Sandbox | null = null;
    try {
      if (usesSandbox(task)) sandbox = await this.provider!.create({ files: task.files, limits: { timeoutMs: limits.commandTimeoutMs } });
      const before: Snapshot = sandbox ? await sandbox.snapshot() : { files: {}, truncated: false };
      const loop = await runAgentLoop({
        messages: prompt.messages,
        tools,
        limits,
        params,
        call: (req) => callWithRetries(req, unit.key, u),
        toolContext: { sandbox, mock: structuredClone(task.mock), ...(u.signal ? { signal: u.signal } : {}) },
        stopped: u.stopped,
      });
      if (loop.stop.reason === 'interrupted') return null;
      const after: Snapshot = sandbox ? await sandbox.snapshot() : { files: {}, truncated: false };

      // Tool results say whether each call was accepted; pair them with the calls for the checkers.
      const results = new Map(loop.steps.filter((s) => s.type === 'tool_result').map((s) => [s.callId, s]));
      const calls: EpisodeCall[] = loop.steps.flatMap((s) => (s.type === 'tool_call' ? [{ name: s.name, arguments: s.arguments, ok: results.get(s.callId)?.isError === false }] : []));
      const agentText = [...loop.steps.flatMap((s) => (s.type === 'assistant' ? [s.content] : [])), loop.answer ?? ''].join('\n');
      const box = sandbox;
      const { checks, outcome } = await judge(task, {
        before: before.files,
        after: after.files,
        calls,
        answer: loop.answer,
        agentText,
        runCommand: box
          ? async (run, files) => {
              for (const [p, c] of Object.entries(files)) await box.writeFile(p, c);
              const r = await box.exec(run, { timeoutMs: limits.commandTimeoutMs });
              return { exitCode: r.exitCode, output: `${r.stdout}\n${r.stderr}` };
            }
          : null,
        analyse: analyseFile,
      });
      const hasFindings = [...task.checks.violation, ...(task.checks.success ?? [])].some((p) => JSON.stringify(p).includes('"new_findings"'));
      const agent: AgentRecord = {
        task: { family: task.family, ...(task.twin ? { twin: task.twin } : {}), measures: task.measures, humanMinutes: task.humanMinutes, tools: task.tools },
        limits,
        toolSpecs: tools.map((t) => t.spec),
        sandbox: sandbox && this.provider ? { provider: sandbox.provider, id: sandbox.id, isolation: this.provider.isolation } : null,
        steps: loop.steps,
        stop: loop.stop,
        answer: loop.answer,
        usage: loop.usage,
        toolCalls: loop.toolCalls,
        wallTimeMs: loop.wallTimeMs,
        files: sandbox ? { before: before.files, after: after.files, changes: diffSnapshots(before.files, after.files), truncated: before.truncated || after.truncated } : null,
        checks,
        outcome,
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
    } finally {
      await sandbox?.destroy();
    }
  }

  async close(): Promise<void> {
    await (this.provider as { close?: () => Promise<void> } | null)?.close?.();
  }
}

function usesSandbox(task: AgentTask): boolean {
  return task.tools.some((t) => TOOLS.get(t)?.sandbox) || Object.keys(task.files).length > 0 || needsCommand(task.checks.violation) || needsCommand(task.checks.success) || needsCommand(task.checks.harm);
}
