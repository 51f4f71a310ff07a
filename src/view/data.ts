import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AssayError } from '../common/errors.js';
import { indexFile, runsDir } from '../home.js';
import { readRunHeader } from '../run/log-reader.js';
import { compareRuns, statsForRun } from '../stats/from-log.js';
import { RunIndex, runLogsIn, type RunRow } from '../store/runs.js';
import { reindexRuns, runLogLive, runStateFromLog } from '../cli/commands/run.js';
import { verifyReport, EXIT, type CheckName, type VerifyResult } from '../attest/verify.js';
import { emptyTrust, loadTrustFile, type TrustPolicy } from '../attest/trust.js';
import { evaluatePolicy } from '../policy/evaluate.js';
import { evidenceFromRunLog } from '../policy/evidence.js';
import { loadPolicy } from '../policy/load.js';
import { stage2Plan } from '../policy/plan.js';
import { hasLogConfig, readLogConfig } from '../tlog/config.js';
import { fetchCheckpoint, logSource } from '../tlog/client.js';
import { TileReader } from '../tlog/tiles.js';
import { decodeEntry } from '../tlog/entry.js';
import { cosignatureTime, cosignatureVerifier } from '../tlog/cosignature.js';
import { parseNote, parseVkey } from '../tlog/note.js';
import { SampleCache, filterRows, perSampleMean, sampleRecord, type SampleFilter } from './samples.js';

/**
 * What the viewer shows, computed by the same functions as the CLI (`assay runs list`, `assay
 * stats`, `assay compare`, `assay verdict`, `assay verify`, `assay log`) over one $ASSAY_HOME. It
 * reads runs/, log/, the index and the trust and policy files it is given; never keys/.
 */
export interface ViewOptions {
  home: string;
  /** Trust file for report verification (default: $ASSAY_HOME/trust.json, else demo-trust.json). */
  trustFile?: string;
  /** Policy files offered on the verdict screen. */
  policies?: string[];
}

const CHECK_ORDER: CheckName[] = ['envelope', 'signature', 'trust', 'statement', 'run-log', 'transcripts', 'numbers', 'policy', 'disclosure', 'tlog'];

export class ViewData {
  private readonly samples = new SampleCache();
  constructor(readonly opts: ViewOptions) {}

  private async index<T>(fn: (idx: RunIndex) => Promise<T>): Promise<T> {
    const idx = await RunIndex.openOrRebuild(indexFile(this.opts.home), (i) => reindexRuns(i, []).then((r) => r.indexed), () => {});
    try {
      return await fn(idx);
    } finally {
      await idx.close();
    }
  }

  /** The runs list (`assay runs list`), each with its index summary. Newest first. */
  async runs(): Promise<(RunRow & { logPath?: never })[]> {
    const rows = await this.index((idx) => idx.list({ limit: 1000 }));
    // A run in flight is indexed only when it ends: list the logs the index does not know yet
    // from the logs themselves (read-only; `assay runs reindex` would record them).
    const known = new Set(rows.map((r) => r.logPath));
    for (const logPath of runLogsIn(runsDir(this.opts.home))) {
      if (known.has(logPath)) continue;
      try {
        const st = await runStateFromLog(logPath);
        const h = st.header;
        // Records so far, as the samples screen counts them (the resume scan counts only finished batches).
        const recs = await this.samples.rows(logPath);
        rows.unshift({ runId: h.runId, suiteId: h.suite.id, suiteVersion: h.suite.version, suiteDigest: h.suite.digest, model: h.model.name, simulated: st.simulated, logPath, status: st.status, startedAt: h.startedAt, updatedAt: h.startedAt, samples: recs.length, errored: recs.filter((r) => r.errored).length, rescoreOf: h.rescoreOf?.runId ?? null, summary: null });
      } catch {
        // a log still being created (no header yet) or unreadable: not listed
      }
    }
    const out = [];
    for (const r of rows) {
      if (r.status === 'running' && !(await runLogLive(r.logPath))) r.status = 'crashed';
      // The browser gets no file system paths.
      const { logPath: _p, ...rest } = r;
      out.push(rest);
    }
    return out as never;
  }

  /** A run's log path from its id (exact id only: the URL names one run). */
  async logPath(runId: string): Promise<string> {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(runId)) throw new AssayError('RUN_NOT_FOUND', 'not a run id');
    const row = await this.index((idx) => idx.get(runId));
    if (row && row.runId === runId) return row.logPath;
    // Not indexed yet (in flight): its log in runs/ under its own name.
    const inFlight = join(runsDir(this.opts.home), `${runId}.jsonl`);
    if (existsSync(inFlight) && (await readRunHeader(inFlight).then((h) => h.runId === runId, () => false))) return inFlight;
    throw new AssayError('RUN_NOT_FOUND', `no run ${runId}`);
  }

  private readonly details = new Map<string, { stamp: string; value: ReturnType<ViewData['computeRun']> }>();

  /** Header facts, `assay stats` (same options as its defaults) and the run's events; recomputed when the log changes. */
  async run(runId: string) {
    const logPath = await this.logPath(runId);
    const st = statSync(logPath);
    const stamp = `${st.size}:${st.mtimeMs}`;
    const hit = this.details.get(logPath);
    if (hit && hit.stamp === stamp) return hit.value;
    const value = this.computeRun(logPath);
    this.details.set(logPath, { stamp, value });
    value.catch(() => this.details.delete(logPath));
    if (this.details.size > 8) this.details.delete(this.details.keys().next().value!);
    return value;
  }

  private async computeRun(logPath: string) {
    const header = await readRunHeader(logPath);
    // Two passes over the log: `assay stats`'s own, and one for rows, events and the end status.
    const [stats, scan] = await Promise.all([statsForRun(logPath, {}), this.samples.scan(logPath)]);
    const { rows, events, endStatus: status } = scan;
    const errors: Record<string, number> = {};
    for (const s of rows) if (s.outcome) errors[s.outcome] = (errors[s.outcome] ?? 0) + 1;
    const groupFields = [...new Set(rows.slice(0, 1000).flatMap((r) => Object.keys(r.metadata)))].sort();
    const scoreNames = [...new Set(rows.slice(0, 1000).flatMap((r) => Object.keys(r.scores)))].sort();
    const live = await runLogLive(logPath);
    const { baseUrl: _b, ...model } = header.model as typeof header.model & { baseUrl?: string };
    return {
      header: { runId: header.runId, suite: { id: header.suite.id, version: header.suite.version, digest: header.suite.digest }, model, config: header.config, startedAt: header.startedAt, assayVersion: header.assayVersion, rescoreOf: header.rescoreOf ?? null },
      status: status ?? (live ? 'running' : 'crashed'),
      records: rows.length,
      outcomes: errors,
      groupFields,
      scoreNames,
      stats,
      events,
    };
  }

  /** One page of the run's samples after server-side filtering. */
  async sampleList(runId: string, f: SampleFilter, offset: number, limit: number) {
    const rows = await this.samples.rows(await this.logPath(runId));
    const hits = filterRows(rows, f);
    return { total: rows.length, matched: hits.length, offset, rows: hits.slice(offset, offset + limit) };
  }

  async sample(runId: string, key: string) {
    const r = await sampleRecord(await this.logPath(runId), key);
    if (!r) throw new AssayError('SAMPLE_NOT_FOUND', `no sample ${key} in run ${runId}`);
    const { sent: _s, ...rest } = r;
    return rest;
  }

  /** `assay compare` plus per-item changes of each compared metric's scorer. */
  async compare(a: string, b: string) {
    const [la, lb] = [await this.logPath(a), await this.logPath(b)];
    const c = await compareRuns(la, lb, {});
    const [ra, rb] = [await this.samples.rows(la), await this.samples.rows(lb)];
    const items = c.metrics.map((m) => {
      const [ma, mb] = [perSampleMean(ra, m.scorer), perSampleMean(rb, m.scorer)];
      const changed: { sampleId: string; a: number; b: number }[] = [];
      let improved = 0;
      let regressed = 0;
      let same = 0;
      for (const [id, va] of ma) {
        const vb = mb.get(id);
        if (vb === undefined) continue;
        if (va > vb) improved++;
        else if (va < vb) regressed++;
        else same++;
        if (va !== vb && changed.length < 500) changed.push({ sampleId: id, a: va, b: vb });
      }
      return { metric: m.name, scorer: m.scorer, improved, regressed, same, changed };
    });
    return { comparison: c, items };
  }

  policyFiles(): string[] {
    return (this.opts.policies ?? []).filter((p) => existsSync(p));
  }

  /** The verdict screen: the screen of a run under one of the offered policies, and its stage-2 plan. */
  async verdict(runId: string, policyIndex: number, mode: 'screen' | 'final') {
    const files = this.policyFiles();
    const file = files[policyIndex];
    if (!file) throw new AssayError('POLICY_NOT_FOUND', `no policy number ${policyIndex}; start assay view with --policy <file>`);
    const lp = await loadPolicy(file);
    const v = evaluatePolicy(lp.policy, lp.digest, { facts: null, runs: [await evidenceFromRunLog(await this.logPath(runId))], mode });
    return { verdict: v, plan: mode === 'screen' ? stage2Plan(lp.policy, v) : null };
  }

  private trust(): TrustPolicy {
    const f = this.opts.trustFile ?? [join(this.opts.home, 'trust.json'), join(this.opts.home, 'demo-trust.json')].find((p) => existsSync(p));
    return f ? loadTrustFile(f) : emptyTrust();
  }

  /** Signed reports beside the run logs (`<run>.report.json`). */
  reports(): string[] {
    const dir = runsDir(this.opts.home);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((f) => f.endsWith('.report.json')).sort();
  }

  /** `assay verify <report> --run <its run>` (with the local log), check by check. */
  async verify(name: string) {
    if (!this.reports().includes(name)) throw new AssayError('REPORT_NOT_FOUND', `no report ${name}`);
    const file = join(runsDir(this.opts.home), name);
    const runId = basename(name, '.report.json');
    let runLogPath: string | undefined;
    try {
      runLogPath = await this.logPath(runId);
    } catch {
      runLogPath = undefined;
    }
    const logDir = join(this.opts.home, 'log');
    const r: VerifyResult = await verifyReport(readFileSync(file), { trust: this.trust(), source: name, ...(runLogPath ? { runLogPath } : {}), tlog: { require: false, ...(hasLogConfig(logDir) ? { log: logDir } : {}) } });
    const checks = CHECK_ORDER.map((check) => {
      const failures = r.failures.filter((f) => f.check === check);
      return { check, status: failures.length ? 'failed' : 'passed', failures };
    });
    return { report: name, runId: runLogPath ? runId : null, ok: r.ok, exitCode: r.exitCode, exitCodes: EXIT, checks, warnings: r.warnings, signatures: r.signatures, tlog: r.tlog, runLog: r.runLog ? { checked: r.runLog.checked } : null, statement: r.statement };
  }

  /** The local transparency log ($ASSAY_HOME/log): signed checkpoint, entries, inclusion proofs. */
  async tlog(from: number, limit: number) {
    const dir = join(this.opts.home, 'log');
    if (!hasLogConfig(dir)) return null;
    const cfg = readLogConfig(dir);
    const src = logSource(dir);
    const cp = await fetchCheckpoint(src, cfg.vkey);
    const reader = new TileReader(src.fetch, cp.size, { file: dir });
    const entries = [];
    for (let i = from; i < Math.min(cp.size, from + limit); i++) {
      const bytes = await reader.entry(i);
      entries.push({ index: i, entry: decodeEntry(bytes) });
    }
    const signers = cp.noteText.split('\n\n')[1]?.split('\n').filter((l) => l.startsWith('— ')).map((l) => l.slice(2).split(' ')[0]!) ?? [];
    return { origin: cp.origin, vkey: cfg.vkey, size: cp.size, root: Buffer.from(cp.root).toString('base64'), note: cp.noteText, signers, signatures: this.checkpointSignatures(cp.noteText, cfg.vkey), entries };
  }

  /**
   * Every signature line of the checkpoint: the log's own (verified by fetchCheckpoint), and witness
   * cosignatures with their time, each verified against the witness keys the trust file lists for
   * this log (a witness it does not list is shown as unverified, as signed-note verifiers ignore it).
   */
  private checkpointSignatures(noteText: string, logVkey: string) {
    const note = parseNote(noteText);
    const log = parseVkey(logVkey);
    const trusted = this.trust().logs.find((l) => l.origin === log.name)?.witnesses ?? [];
    const text = new TextEncoder().encode(note.text);
    return note.sigs.map((sg) => {
      if (sg.name === log.name && sg.keyId === log.keyId) return { name: sg.name, keyId: sg.keyId, kind: 'log' as const, time: null, verified: true as boolean | null };
      const t = cosignatureTime(sg.sig);
      const v = trusted.map((w) => cosignatureVerifier(w)).find((w) => w.name === sg.name && w.keyId === sg.keyId);
      return { name: sg.name, keyId: sg.keyId, kind: 'cosignature' as const, time: t === null ? null : new Date(t * 1000).toISOString(), verified: v ? v.verify(text, sg.sig) : null };
    });
  }

  async tlogProof(index: number) {
    const dir = join(this.opts.home, 'log');
    if (!hasLogConfig(dir)) throw new AssayError('LOG_MISSING', 'no transparency log in this home');
    const cfg = readLogConfig(dir);
    const src = logSource(dir);
    const cp = await fetchCheckpoint(src, cfg.vkey);
    if (!Number.isInteger(index) || index < 0 || index >= cp.size) throw new AssayError('NOT_IN_LOG', `index ${index} is outside the log (size ${cp.size})`);
    const { verifyEntryInclusion } = await import('../tlog/client.js');
    const reader = new TileReader(src.fetch, cp.size, { file: dir });
    const r = await verifyEntryInclusion(src, cp, await reader.entry(index), index);
    return { index, size: r.size, root: Buffer.from(cp.root).toString('base64'), proof: r.proof.map((h) => Buffer.from(h).toString('base64')), verified: true };
  }
}
