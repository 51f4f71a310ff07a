import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScenario } from '../src/registry/scenario.js';
import { runFollowUpScenario } from '../src/registry/scenario-findings.js';
import { makeReport, startRegistry, testStore } from './registry-fixture.js';

/** The follow-through walk-through `assay demo --registry` prints, checked step by step (SQLite, simulated clock). */
test('demo follow-through: finding published on schedule at day 70; one obligation confirmed, one overdue and escalated', { timeout: 300_000 }, async () => {
  let clock = new Date();
  const ts = await testStore('sqlite');
  const run = await startRegistry(await ts.open(), { now: () => clock, server: { schedulerIntervalMs: 0 } });
  try {
    const w = await runScenario({ baseUrl: run.baseUrl, operatorToken: run.operatorToken, makeReport, now: clock });
    const s = await runFollowUpScenario({ world: w, now: () => clock, advance: (d) => (clock = new Date(clock.getTime() + d * 86400e3)), tick: async () => void (await run.server.followUp.scheduler.tick()) });
    assert.deepEqual(s.timeline.map((e) => [e.day, e.to ?? e.kind]), [[0, 'file'], [2, 'acknowledged'], [12, 'fix-in-progress'], [40, 'fixed'], [63, 'prenotify'], [63, 'agency-ack'], [70, 'publish']]);
    assert.deepEqual(s.published, { day: 70, details: true });
    assert.deepEqual(s.obligations.map((o) => [o.state, o.overdue, o.deadlineDay]), [['confirmed', false, 84], ['open', true, 100]]);
    assert.ok(s.agencyMessages.includes(`finding.prenotified finding/${s.findingId}`));
    assert.ok(s.agencyMessages.includes(`obligation.overdue obligation/${s.obligations[1]!.id}`));
  } finally {
    await run.close();
    await run.store.close();
  }
});
