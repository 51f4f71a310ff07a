import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attestRun, bundleText, type ReportBundle } from '../src/attest/bundle.js';
import type { DigestSet } from '../src/attest/digest.js';
import { generateSigner } from '../src/attest/keys.js';
import { logReport, refreshReportProof } from '../src/attest/tlog.js';
import { parseTrust, trustDocument, type TrustPolicy } from '../src/attest/trust.js';
import { createModel } from '../src/model/registry.js';
import { runSuite } from '../src/run/engine.js';
import { loadSuite } from '../src/suite/load.js';
import { startTarget } from '../src/target/server.js';
import { cosigner } from '../src/tlog/cosignature.js';
import { initLog, openConfiguredLog } from '../src/tlog/config.js';
import { attestationEntry } from '../src/tlog/entry.js';
import { serveWitness, type ServedWitness } from '../src/tlog/witness-http.js';
import { config, tmp } from './helpers.js';

/**
 * Replication-audit fixtures: a generated arithmetic suite the simulated target answers (exact
 * match, so every item is 0 or 1), a transparency log with two witnesses, a developer key (listed
 * as a developer) and an auditor key (a tester), and helpers to make a logged claim.
 */
export const NOW = new Date('2026-06-01T00:00:00Z');
export const developer = generateSigner();
export const auditor = generateSigner();

/** A suite of `n` distinct "What is A + B?" items (ids q0001…), answered by the target's arithmetic. */
export function arithmeticSuite(n: number, dir = tmp('assay-audit-suite-')): string {
  const lines: string[] = [];
  for (let i = 1; i <= n; i++) {
    const a = 3 + ((i * 37) % 89);
    const b = 2 + ((i * 53) % 97);
    lines.push(JSON.stringify({ id: `q${String(i).padStart(4, '0')}`, question: `What is ${a} + ${b}?`, answer: String(a + b), difficulty: i % 3 === 0 ? 'hard' : 'easy' }));
  }
  writeFileSync(join(dir, 'data.jsonl'), lines.join('\n') + '\n');
  writeFileSync(join(dir, 'METHODOLOGY.md'), 'Fixture for replication-audit tests (SIMULATED target).\n');
  writeFileSync(
    join(dir, 'suite.yaml'),
    [
      'schema: assay.suite/v1',
      'id: fixture.audit-arithmetic',
      'version: 1.0.0',
      'title: Audit fixture arithmetic',
      'risk_area: none (test fixture)',
      'methodology: METHODOLOGY.md',
      'access: black-box',
      'dataset:',
      '  path: data.jsonl',
      '  format: jsonl',
      '  fields: { id: id, input: question, target: answer, metadata: [difficulty] }',
      "template: '{{input}}'",
      'solver: { type: generate }',
      'scorers:',
      '  - type: exact',
      'metrics:',
      '  - name: accuracy',
      '    scorer: exact',
      'epochs: 1',
      '',
    ].join('\n'),
  );
  return join(dir, 'suite.yaml');
}

/** Runs a suite against a simulated target of this accuracy and seed; returns the run log path. */
export async function runAgainst(suiteFile: string, profile: { accuracy: number; seed: number }, o: { sampleIds?: string[]; baseUrl?: string } = {}): Promise<string> {
  const target = o.baseUrl ? null : await startTarget({ latencyMs: 0, ...profile });
  try {
    const suite = await loadSuite(suiteFile);
    const logPath = join(tmp('assay-audit-run-'), 'run.jsonl');
    const model = createModel('openai/sim-audit', { baseUrl: o.baseUrl ?? `${target!.url}/v1`, maxConnections: 8 });
    await runSuite({ suite, model, config: config({ access: 'black-box', temperature: 0, maxTokens: 16, ...(o.sampleIds ? { sampleIds: o.sampleIds } : {}) }), logPath, simulated: true }); // closes the model
    return logPath;
  } finally {
    await target?.close();
  }
}

export interface AuditWorld {
  home: string;
  logDir: string;
  trust: TrustPolicy;
  witnessUrls: string[];
  /** Appends n filler entries (other people's reports). */
  grow(n: number): Promise<void>;
  /** The log's current checkpoint, cosigned by both witnesses (via refresh of a claim's proof). */
  cosigned(claim: ReportBundle): Promise<string>;
  close(): Promise<void>;
}

export async function auditWorld(): Promise<AuditWorld> {
  const home = tmp('assay-audit-');
  const logDir = join(home, 'log');
  const origin = 'audit.example/log';
  const { config: lc } = initLog(logDir, origin, join(home, 'log.pem'));
  const ws = ['w1.example', 'w2.example'].map((name) => cosigner(name, generateKeyPairSync('ed25519').privateKey));
  const served: ServedWitness[] = [];
  for (const [i, w] of ws.entries()) served.push(await serveWitness({ stateFile: join(home, `w${i}.json`), cosigner: w, logs: new Map([[origin, lc.vkey]]) }));
  const doc = trustDocument({ testers: [{ name: 'Audit Lab', publicKey: auditor.publicKey }], cosigners: [{ name: 'Frontier Dev', publicKey: developer.publicKey, role: 'developer' }], logs: [{ vkey: lc.vkey, witnesses: ws.map((w) => w.vkey), witnessesRequired: 2 }] });
  writeFileSync(join(home, 'trust.json'), JSON.stringify(doc, null, 2) + '\n');
  const trust = parseTrust(JSON.stringify(doc), join(home, 'trust.json'));
  const urls = served.map((s) => s.url);
  return {
    home,
    logDir,
    trust,
    witnessUrls: urls,
    async grow(n) {
      const l = await openConfiguredLog(logDir);
      try {
        await l.append(Array.from({ length: n }, (_, i) => attestationEntry(Buffer.from(`someone else's report ${Date.now()} ${i}`))));
      } finally {
        l.close();
      }
    },
    async cosigned(claim) {
      const r = await refreshReportProof(claim, { target: logDir, witnesses: { urls, required: 2 } });
      return r.to.noteText;
    },
    close: async () => void (await Promise.all(served.map((s) => s.close()))),
  };
}

/** The developer's claim over a run log, signed in the developer role and logged. */
export async function makeClaim(world: AuditWorld, runLog: string, o: { seedDelay?: number; release?: DigestSet } = {}): Promise<{ bundle: ReportBundle; bytes: Buffer; index: number }> {
  const { bundle } = await attestRun(runLog, { signer: developer, testerName: 'Frontier Dev', claim: { seedDelay: o.seedDelay ?? 3 }, releaseStatement: o.release ?? null, now: NOW });
  const logged = await logReport(bundle, { target: world.logDir });
  return { bundle: logged.bundle, bytes: Buffer.from(bundleText(logged.bundle)), index: logged.index };
}
