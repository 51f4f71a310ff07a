import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { parseStrictJson } from '../attest/json.js';
import { AssayError } from '../common/errors.js';
import { isoTime, type ImportedRun, type ImportedSample } from './runlog.js';

/**
 * Inspect (UK AISI inspect_ai) JSON eval logs (log format version 2, `.json`; the binary `.eval`
 * zip archives are not read here). Per-sample scores are converted as Inspect's own
 * `value_to_float` does: "C" → 1, "I" → 0, "P" → 0.5, "N" → 0, booleans → 1/0, numbers as they
 * are; a dict-valued score gives one metric per key ("scorer.key"). Each scorer becomes a metric
 * named after it; the aggregate Inspect reports (results.scores[].metrics.accuracy / mean, with
 * stderr) is kept in the provenance, and the import is checked against it.
 */
const VALUE: Record<string, number> = { C: 1, I: 0, P: 0.5, N: 0 };

function toFloat(v: unknown, where: string, file: string): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    if (v in VALUE) return VALUE[v]!;
    const low = v.toLowerCase();
    if (['yes', 'true'].includes(low)) return 1;
    if (['no', 'false'].includes(low)) return 0;
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) return n;
  }
  throw new AssayError('IMPORT_SCORE', `score value ${JSON.stringify(v)} is not one Inspect converts to a number`, { file, field: where });
}

const textOf = (c: unknown): string => {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((x) => (x && typeof x === 'object' && typeof (x as { text?: unknown }).text === 'string' ? (x as { text: string }).text : '')).join('');
  return '';
};

export function parseInspectLog(bytes: Uint8Array, file: string): ImportedRun {
  const log = parseStrictJson(bytes, { file }) as Record<string, unknown> | null;
  const fail = (field: string, msg: string): never => {
    throw new AssayError('IMPORT_FORMAT', msg, { file, field });
  };
  if (!log || typeof log !== 'object' || Array.isArray(log)) return fail('$', 'an Inspect log is a JSON object');
  if (log.version !== 2) fail('$.version', `Inspect log format version ${JSON.stringify(log.version)} is not supported (version 2 is)`);
  const ev = log.eval as Record<string, unknown> | undefined;
  if (!ev || typeof ev !== 'object') return fail('$.eval', 'missing the eval block');
  if (typeof ev.task !== 'string') fail('$.eval.task', 'missing the task name');
  if (typeof ev.model !== 'string') fail('$.eval.model', 'missing the model');
  const samples = log.samples;
  if (!Array.isArray(samples)) return fail('$.samples', 'the log has no samples (logs written with log_samples=False cannot be imported item by item)');
  const results = (log.results ?? {}) as { scores?: { name?: string; scorer?: string; metrics?: Record<string, { value?: unknown }> }[] };
  const metricNames: string[] = [];
  const imported: ImportedSample[] = samples.map((s: Record<string, unknown>, i: number) => {
    const at = `$.samples[${i}]`;
    if (s.id === undefined || (typeof s.id !== 'string' && typeof s.id !== 'number')) fail(`${at}.id`, 'a sample needs an id');
    const epoch = typeof s.epoch === 'number' ? s.epoch : 1;
    const input = typeof s.input === 'string' ? s.input : Array.isArray(s.input) ? (s.input as { content?: unknown }[]).map((m) => textOf(m.content)).join('\n') : '';
    const out = (s.output as { choices?: { message?: { content?: unknown } }[] } | undefined)?.choices?.[0]?.message?.content;
    const scores: Record<string, number | null> = {};
    for (const [name, sc] of Object.entries((s.scores ?? {}) as Record<string, { value?: unknown }>)) {
      const v = sc?.value;
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        for (const [k, x] of Object.entries(v)) {
          const m = `${name}.${k}`;
          if (!metricNames.includes(m)) metricNames.push(m);
          scores[m] = toFloat(x, `${at}.scores.${name}.value.${k}`, file);
        }
      } else {
        if (!metricNames.includes(name)) metricNames.push(name);
        scores[name] = toFloat(v, `${at}.scores.${name}.value`, file);
      }
    }
    const target = typeof s.target === 'string' || Array.isArray(s.target) ? (s.target as string | string[]) : undefined;
    const err = s.error && typeof s.error === 'object' ? String((s.error as { message?: unknown }).message ?? 'error') : typeof s.error === 'string' ? s.error : null;
    return { id: String(s.id), epoch, input, ...(target !== undefined ? { target } : {}), output: out === undefined ? null : textOf(out), scores, metadata: (s.metadata as Record<string, unknown>) ?? {}, error: err };
  });
  const reported = (results.scores ?? []).flatMap((sc) => {
    const m = sc.metrics ?? {};
    const main = m.accuracy ?? m.mean;
    const value = typeof main?.value === 'number' ? main.value : null;
    const se = typeof m.stderr?.value === 'number' ? (m.stderr.value as number) : null;
    return sc.name ? [{ metric: sc.name, value, stderr: se, source: `results.scores[name=${sc.name}].metrics.${m.accuracy ? 'accuracy' : 'mean'}` }] : [];
  });
  const notes: string[] = [];
  const cfg = (ev.config ?? {}) as { epochs_reducer?: unknown };
  if (Array.isArray(cfg.epochs_reducer) && cfg.epochs_reducer.some((r) => r !== 'mean')) notes.push(`Inspect reduced epochs with ${JSON.stringify(cfg.epochs_reducer)}; Assay averages epochs (mean), so multi-epoch figures may differ`);
  if (log.status !== 'success') notes.push(`Inspect recorded the eval's status as "${String(log.status)}"`);
  const model = ev.model as string;
  const slash = model.indexOf('/');
  const stats = (log.stats ?? {}) as { started_at?: unknown; completed_at?: unknown };
  const created = isoTime(ev.created, new Date(0).toISOString());
  const pkg = (ev.packages as Record<string, unknown> | undefined)?.inspect_ai;
  const epochs = Math.max(1, ...imported.map((s) => s.epoch));
  return {
    provenance: {
      harness: { name: 'inspect_ai', version: typeof pkg === 'string' ? pkg : null },
      sources: [{ file: basename(file), sha256: createHash('sha256').update(bytes).digest('hex') }],
      task: { name: ev.task as string, version: ev.task_version !== undefined ? String(ev.task_version) : null },
      reported,
      notes,
    },
    model: { name: model, provider: slash > 0 ? model.slice(0, slash) : model, model: slash > 0 ? model.slice(slash + 1) : model },
    metrics: metricNames,
    samples: imported,
    startedAt: isoTime(stats.started_at, created),
    finishedAt: stats.completed_at ? isoTime(stats.completed_at, created) : null,
    status: log.status === 'success' ? 'completed' : 'interrupted',
    epochs,
    datasetItems: typeof (ev.dataset as { samples?: unknown } | undefined)?.samples === 'number' ? ((ev.dataset as { samples: number }).samples) : null,
  };
}
