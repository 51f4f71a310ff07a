import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DAY_MS, computeClock, dueActions, graceRefusal, clockPolicy, type ClockFacts } from '../src/registry/disclosure-clock.js';
import { findingTransition, foldFinding, isRestricted, FINDING_ACTIONS, FINDING_STATES, type FindingEvent } from '../src/registry/finding.js';

/** A controllable clock: day n after notification (UTC, whole days of 86 400 000 ms). */
const T0 = new Date('2026-03-01T12:00:00.000Z');
const day = (n: number) => new Date(T0.getTime() + n * DAY_MS);
const dayOf = (d: Date) => (d.getTime() - T0.getTime()) / DAY_MS;
const facts = (o: Partial<ClockFacts> = {}): ClockFacts => ({ notifiedAt: T0, inTheWildSince: null, graceGranted: false, fixedAt: null, closed: false, ...o });

describe('disclosure clock (Project Zero defaults)', () => {
  test('standard track fixed on day 40 → published day 70; pre-notified day 63', () => {
    const c = computeClock(facts({ fixedAt: day(40) }))!;
    assert.equal(dayOf(c.disclosureAt), 70);
    assert.equal(dayOf(c.preNotifyAt), 63);
    assert.equal(c.fixedInTime, true);
    assert.equal(dayOf(c.fixDeadline), 90);
  });
  test('not fixed → published day 90; pre-notification fires 7 days ahead (day 83)', () => {
    const c = computeClock(facts())!;
    assert.equal(dayOf(c.disclosureAt), 90);
    assert.equal(dayOf(c.preNotifyAt), 83);
    assert.deepEqual(dueActions(facts(), { preNotified: false, published: false }, day(82.999)), []);
    assert.deepEqual(dueActions(facts(), { preNotified: false, published: false }, day(83)), ['prenotify']);
    assert.deepEqual(dueActions(facts(), { preNotified: true, published: false }, day(89.99)), []);
    assert.deepEqual(dueActions(facts(), { preNotified: true, published: false }, day(90)), ['publish']);
    assert.deepEqual(dueActions(facts(), { preNotified: true, published: true }, day(200)), []);
  });
  test('a server down across both deadlines pre-notifies before it publishes', () => {
    assert.deepEqual(dueActions(facts(), { preNotified: false, published: false }, day(120)), ['prenotify', 'publish']);
  });
  test('grace → day 104; fixed within grace → fix + 30; fixed after the deadline → the deadline', () => {
    assert.equal(dayOf(computeClock(facts({ graceGranted: true }))!.disclosureAt), 104);
    assert.equal(dayOf(computeClock(facts({ graceGranted: true }))!.preNotifyAt), 97);
    assert.equal(dayOf(computeClock(facts({ graceGranted: true, fixedAt: day(100) }))!.disclosureAt), 130);
    const late = computeClock(facts({ fixedAt: day(95) }))!;
    assert.equal(late.fixedInTime, false);
    assert.equal(dayOf(late.disclosureAt), 90);
  });
  test('in the wild → day 7 (+3 grace → day 10); pre-notified at notification', () => {
    const c = computeClock(facts({ inTheWildSince: T0 }))!;
    assert.equal(c.track, 'in-the-wild');
    assert.equal(dayOf(c.disclosureAt), 7);
    assert.equal(dayOf(c.preNotifyAt), 0);
    assert.equal(dayOf(computeClock(facts({ inTheWildSince: T0, graceGranted: true }))!.disclosureAt), 10);
  });
  test('in the wild and fixed → fix + 30', () => {
    assert.equal(dayOf(computeClock(facts({ inTheWildSince: T0, fixedAt: day(5) }))!.disclosureAt), 35);
    assert.equal(dayOf(computeClock(facts({ inTheWildSince: T0, fixedAt: day(5) }))!.preNotifyAt), 28);
  });
  test('exploitation known on day 20 → deadline day 27; known on day 85 keeps day 90', () => {
    assert.equal(dayOf(computeClock(facts({ inTheWildSince: day(20) }))!.disclosureAt), 27);
    const late = computeClock(facts({ inTheWildSince: day(85) }))!;
    assert.equal(dayOf(late.disclosureAt), 90);
    assert.equal(late.track, 'standard');
  });
  test('a closed finding has no clock and nothing is ever due', () => {
    assert.equal(computeClock(facts({ closed: true })), null);
    assert.deepEqual(dueActions(facts({ closed: true }), { preNotified: false, published: false }, day(1000)), []);
  });
  test('grace: once, before the deadline, not after a fix', () => {
    assert.equal(graceRefusal(facts(), day(89)), null);
    assert.match(graceRefusal(facts(), day(90))!, /has passed/);
    assert.match(graceRefusal(facts({ graceGranted: true }), day(10))!, /already granted/);
    assert.match(graceRefusal(facts({ fixedAt: day(3) }), day(10))!, /already fixed/);
    assert.match(graceRefusal(facts({ inTheWildSince: T0 }), day(7))!, /has passed/);
  });
  test('deadlines are UTC instants: a DST change in any zone moves nothing', () => {
    const c = computeClock(facts({ notifiedAt: new Date('2026-03-20T23:30:00.000Z') }))!;
    assert.equal(c.disclosureAt.toISOString(), '2026-06-18T23:30:00.000Z');
  });
  test('configurable per policy; nonsense values refused', () => {
    const p = clockPolicy({ fixDays: 45, publishAfterFixDays: 0, preNotifyDays: 3 });
    assert.equal(dayOf(computeClock(facts(), p)!.disclosureAt), 45);
    assert.equal(dayOf(computeClock(facts(), p)!.preNotifyAt), 42);
    assert.throws(() => clockPolicy({ fixDays: 0 }), /at least 1/);
    assert.throws(() => clockPolicy({ graceDays: -1 }), /graceDays/);
    assert.throws(() => clockPolicy({ preNotifyDays: 1.5 }), /preNotifyDays/);
  });
});

describe('finding state machine', () => {
  const ev = (kind: string, d: number, data: Record<string, unknown> = {}): FindingEvent => ({ kind, at: day(d).toISOString(), data });
  test('the developer moves it to fixed; the fold records the fix time once', () => {
    const f = foldFinding([ev('file', 0), ev('transition', 1, { to: 'acknowledged' }), ev('transition', 40, { to: 'fixed' }), ev('transition', 41, { to: 'withdrawn' })]);
    assert.equal(f.state, 'withdrawn');
    assert.equal(f.closed, true);
    assert.equal(dayOf(f.fixedAt!), 40);
  });
  test('each transition by the right side, with a reason, from the right states', () => {
    assert.deepEqual(findingTransition('reported', 'acknowledge', 'developer', 'seen'), { ok: true, next: 'acknowledged' });
    assert.match((findingTransition('reported', 'acknowledge', 'reporter', 'seen') as { reason: string }).reason, /only the developer/);
    assert.match((findingTransition('reported', 'acknowledge', 'developer', '  ') as { reason: string }).reason, /reason is required/);
    assert.match((findingTransition('reported', 'fix', 'developer', 'x') as { reason: string }).reason, /cannot fix a finding that is reported/);
    assert.match((findingTransition('fixed', 'withdraw', 'developer', 'x') as { reason: string }).reason, /reporting tester/);
    assert.equal(findingTransition('fixed', 'withdraw', 'reporter', 'x').ok, true);
  });
  test('no transition leaves a closed or disclosed state', () => {
    for (const s of ['duplicate', 'not-applicable', 'withdrawn', 'disclosed'] as const)
      for (const a of FINDING_ACTIONS) for (const side of ['developer', 'reporter'] as const) assert.equal(findingTransition(s, a, side, 'r').ok, false, `${s} ${a} ${side}`);
    // Every state is reachable from reported.
    const seen = new Set<string>(['reported', 'disclosed']);
    let frontier = ['reported'];
    while (frontier.length) {
      const next: string[] = [];
      for (const s of frontier) for (const a of FINDING_ACTIONS) for (const side of ['developer', 'reporter'] as const) {
        const t = findingTransition(s as never, a, side, 'r');
        if (t.ok && !seen.has(t.next)) (seen.add(t.next), next.push(t.next));
      }
      frontier = next;
    }
    assert.deepEqual([...seen].sort(), [...FINDING_STATES].sort());
  });
  test('restricted class: CBRN and severe cyber', () => {
    for (const d of ['bio', 'bio: uplift', 'Chem', 'nuclear', 'radiological', 'cbrn']) assert.equal(isRestricted(d, 'low'), true, d);
    assert.equal(isRestricted('cyber: prompt injection', 'critical'), true);
    assert.equal(isRestricted('cyber: prompt injection', 'high'), false);
    assert.equal(isRestricted('biography', 'critical'), false);
    assert.equal(isRestricted('persuasion', 'critical'), false);
  });
});
