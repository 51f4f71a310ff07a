import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { parseStrictJson } from '../attest/json.js';
import { AssayError } from '../common/errors.js';
import { isoTime, type ImportedRun, type ImportedSample } from './runlog.js';

/**
 * lm-evaluation-harness outputs: the results JSON (`results_<time>.json`) and the per-sample file
 * written with `--log_samples` (`samples_<task>_<time>.jsonl`). Each record names its metric keys
 * (`metrics`) and filter (`filter`); a metric is imported as `<metric>,<filter>` (lm-eval's own key
 * in the results), from records whose value is a number or boolean. Metrics aggregated over the
 * corpus (the record holds e.g. a [gold, prediction] pair, as for span F1 or BLEU) have no
 * per-sample value and are not imported, said so in the provenance notes.
 */
export function parseLmEval(results: { bytes: Uint8Array; file: string }, samples: { bytes: Uint8Array; file: string }, o: { task?: string } = {}): ImportedRun {
  const res = parseStrictJson(results.bytes, { file: results.file }) as Record<string, unknown> | null;
  const fail = (file: string, field: string, msg: string): never => {
    throw new AssayError('IMPORT_FORMAT', msg, { file, field });
  };
  if (!res || typeof res !== 'object' || Array.isArray(res)) return fail(results.file, '$', 'an lm-eval results file is a JSON object');
  const tasks = res.results as Record<string, Record<string, unknown>> | undefined;
  if (!tasks || typeof tasks !== 'object') return fail(results.file, '$.results', 'missing the results block');
  const fromName = /samples_(.+?)_\d{4}-\d{2}-\d{2}T/.exec(samples.file)?.[1];
  const task = o.task ?? fromName ?? (Object.keys(tasks).length === 1 ? Object.keys(tasks)[0] : undefined);
  if (!task) return fail(samples.file, 'task', `cannot tell which task the samples are for: name the file samples_<task>_<time>.jsonl or give --task (results has: ${Object.keys(tasks).join(', ')})`);
  const tr = tasks[task];
  if (!tr) return fail(results.file, `$.results.${task}`, `the results file has no task "${task}" (has: ${Object.keys(tasks).join(', ')})`);

  // Per-sample records, one per (doc, filter).
  const text = Buffer.from(samples.bytes).toString('utf8');
  const byDoc = new Map<string, ImportedSample>();
  const metricNames: string[] = [];
  const skipped = new Set<string>();
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      return fail(samples.file, `line ${i + 1}`, `not JSON: ${(e as Error).message}`);
    }
    if (!rec || typeof rec !== 'object' || Array.isArray(rec)) fail(samples.file, `line ${i + 1}`, 'each line is a JSON object');
    if (rec.doc_id === undefined) fail(samples.file, `line ${i + 1}: doc_id`, 'a record needs a doc_id');
    const metrics = rec.metrics;
    if (!Array.isArray(metrics) || !metrics.length) fail(samples.file, `line ${i + 1}: metrics`, 'a record needs a non-empty "metrics" list');
    const filter = typeof rec.filter === 'string' ? rec.filter : 'none';
    const id = String(rec.doc_id);
    let s = byDoc.get(id);
    if (!s) {
      const doc = rec.doc;
      const args = rec.arguments as Record<string, { arg_0?: unknown }> | undefined;
      const input = args && typeof args === 'object' ? String(Object.values(args)[0]?.arg_0 ?? '') : typeof doc === 'string' ? doc : JSON.stringify(doc ?? null);
      const target = typeof rec.target === 'string' ? rec.target : Array.isArray(rec.target) ? (rec.target as unknown[]).map(String) : rec.target !== undefined ? JSON.stringify(rec.target) : undefined;
      s = { id, epoch: 1, input, ...(target !== undefined ? { target } : {}), output: null, scores: {}, metadata: { doc: rec.doc ?? null } };
      byDoc.set(id, s);
    }
    const outs: string[] = [];
    for (const m of metrics as string[]) {
      const key = `${m},${filter}`;
      const v = rec[m];
      if (typeof v === 'number' || typeof v === 'boolean') {
        if (!metricNames.includes(key)) metricNames.push(key);
        if (key in s.scores) fail(samples.file, `line ${i + 1}: doc_id ${id}`, `a second record for doc ${id} under filter "${filter}"`);
        s.scores[key] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
      } else skipped.add(key);
    }
    outs.push(JSON.stringify(rec.filtered_resps ?? rec.resps ?? null));
    s.output = s.output === null ? outs.join('') : s.output;
  });
  if (!byDoc.size) return fail(samples.file, '$', 'no sample records');
  const reported = metricNames.map((k) => {
    const [m, f] = k.split(',');
    const v = tr[k];
    const se = tr[`${m}_stderr,${f}`];
    return { metric: k, value: typeof v === 'number' ? v : null, stderr: typeof se === 'number' ? se : null, source: `results.${task}["${k}"]` };
  });
  const notes: string[] = [];
  for (const k of skipped) notes.push(`metric "${k}" is aggregated over the corpus by lm-eval (per-sample records hold no number): not imported; lm-eval reports ${JSON.stringify(tr[k] ?? null)}`);
  const nsEntry = (res['n-samples'] as Record<string, { effective?: unknown; original?: unknown }> | undefined)?.[task];
  const ns = nsEntry?.effective;
  if (typeof ns === 'number' && ns !== byDoc.size) notes.push(`lm-eval counted ${ns} samples for ${task}; the samples file holds ${byDoc.size}`);
  const cfg = (res.config ?? {}) as { model?: unknown; model_args?: unknown };
  const modelName = typeof res.model_name === 'string' ? res.model_name : typeof cfg.model_args === 'string' ? cfg.model_args : String((cfg.model_args as { pretrained?: unknown } | undefined)?.pretrained ?? 'unknown');
  const source = typeof res.model_source === 'string' ? res.model_source : typeof cfg.model === 'string' ? cfg.model : 'lm-eval';
  const date = isoTime(res.date, new Date(0).toISOString());
  const version = (res.versions as Record<string, unknown> | undefined)?.[task];
  return {
    provenance: {
      harness: { name: 'lm-evaluation-harness', version: typeof res.lm_eval_version === 'string' ? res.lm_eval_version : null },
      sources: [
        { file: basename(samples.file), sha256: createHash('sha256').update(samples.bytes).digest('hex') },
        { file: basename(results.file), sha256: createHash('sha256').update(results.bytes).digest('hex') },
      ],
      task: { name: task, version: version !== undefined ? String(version) : null },
      reported,
      notes,
    },
    model: { name: `${source}/${modelName}`, provider: source, model: modelName },
    metrics: metricNames,
    samples: [...byDoc.values()].sort((a, b) => Number(a.id) - Number(b.id) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    startedAt: date,
    finishedAt: date,
    status: 'completed',
    datasetItems: typeof nsEntry?.original === 'number' ? nsEntry.original : null,
    epochs: 1,
  };
}
