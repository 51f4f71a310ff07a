import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScenario } from '../src/registry/scenario.js';
import { runFollowUpScenario } from '../src/registry/scenario-findings.js';
import { makeReport, startRegistry, testStore } from './registry-fixture.js';
import { join } from 'node:path';
import { createModel } from '../src/model/registry.js';
import { runSuite } from '../src/run/engine.js';
import { loadSuite } from '../src/suite/load.js';
import { startTarget } from '../src/target/server.js';
import { config, DEMO_SUITE, tmp } from './helpers.js';

/** The follow-through walk-through `assay demo --registry` prints, checked step by step (SQLite, simulated clock). */
test('demo follow-through: finding published on schedule at day 70; one obligation confirmed, one overdue and escalated', { timeout: 300_000 }, async () => {
  let clock = new Date();
  const ts = await testStore('sqlite');
  const run = await startRegistry(await ts.open(), { now: () => clock, server: { schedulerIntervalMs: 0 } });
  // The verdict's evidence: the demo suite against the simulated target (tester A is accredited for its risk area).
  const target = await startTarget({ accuracy: 0.9, seed: 5 });
  const runLog = join(tmp('assay-followup-'), 'run.jsonl');
  try {
    const suite = await loadSuite(DEMO_SUITE);
    await runSuite({ suite, model: createModel('openai/sim', { baseUrl: `${target.url}/v1`, maxConnections: 8 }), config: config({ maxTokens: 5 }), logPath: runLog, simulated: true });
    const w = await runScenario({ baseUrl: run.baseUrl, operatorToken: run.operatorToken, makeReport, now: clock, riskAreas: [suite.def.riskArea, 'cyber', 'bio'] });
    const s = await runFollowUpScenario({ world: w, verdictRunLog: runLog, now: () => clock, advance: (d) => (clock = new Date(clock.getTime() + d * 86400e3)), tick: async () => void (await run.server.followUp.scheduler.tick()) });
    assert.deepEqual(s.timeline.map((e) => [e.day, e.to ?? e.kind]), [[0, 'file'], [2, 'acknowledged'], [12, 'fix-in-progress'], [40, 'fixed'], [63, 'prenotify'], [63, 'agency-ack'], [70, 'publish']]);
    assert.deepEqual(s.published, { day: 70, details: true });
    assert.deepEqual(s.obligations.map((o) => [o.state, o.overdue, o.deadlineDay]), [['confirmed', false, 84], ['open', true, 100]]);
    assert.ok(s.agencyMessages.includes(`finding.prenotified finding/${s.findingId}`));
    assert.ok(s.agencyMessages.includes(`obligation.overdue obligation/${s.obligations[1]!.id}`));
  } finally {
    await target.close();
    await run.close();
    await run.store.close();
  }
});
