import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agencyCovers, agencyJurisdictionsFor, EU_MEMBER_STATES } from '../src/registry/jurisdiction.js';

test('agency matching: same jurisdiction; EU-level for a member state; member states for the EU; nothing else', () => {
  assert.equal(EU_MEMBER_STATES.size, 27);
  assert.equal(agencyCovers('GB', ['GB']), true);
  assert.equal(agencyCovers('EU', ['FR']), true);
  assert.equal(agencyCovers('FR', ['EU']), true);
  assert.equal(agencyCovers('DE', ['FR']), false);
  assert.equal(agencyCovers('EU', ['GB']), false);
  assert.equal(agencyCovers('GB', ['EU']), false);
  assert.equal(agencyCovers('EU', ['US', 'IE']), true);
  assert.equal(agencyCovers('CH', ['EU']), false); // not a member state
  assert.deepEqual(agencyJurisdictionsFor(['FR', 'GB']), ['EU', 'FR', 'GB']);
  assert.deepEqual(agencyJurisdictionsFor(['GB']), ['GB']);
  assert.equal(agencyJurisdictionsFor(['EU']).length, 28);
  // The filter and the predicate agree for every pair of the codes in play.
  const codes = ['EU', 'GB', 'US', 'CH', ...EU_MEMBER_STATES];
  for (const a of codes) for (const j of codes) assert.equal(agencyJurisdictionsFor([j]).includes(a), agencyCovers(a, [j]), `${a} / ${j}`);
});
