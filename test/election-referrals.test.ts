/**
 * Issue 30, election referral list: every verified entry carries the URL and date it was checked,
 * portals are bare lower-case domains, and what no source confirmed is listed as unverified.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_REFERRALS, referralProblems, referralsFor, type StateReferral } from '../src/score/election-referrals.js';
import { judgeElectionAnswer } from '../src/score/election.js';
import { ROOT } from './helpers.js';

test('referral list: no problems (verified entries have source and date; portals are domains; unverified items are listed ones)', () => {
  assert.deepEqual(referralProblems(STATE_REFERRALS), []);
  assert.equal(new Set(STATE_REFERRALS.map((r) => r.state)).size, 51);
  for (const r of STATE_REFERRALS.filter((x) => x.verified)) {
    assert.match(r.source ?? '', /^https:\/\//, r.state);
    assert.match(r.read ?? '', /^\d{4}-\d{2}-\d{2}$/, r.state);
  }
});

test('referral list: the checker catches a verified entry without source or date, a portal with a path or capitals, a stray unverified item', () => {
  const bad: StateReferral[] = [
    { state: 'A', portals: ['sos.example.gov'], offices: ['county clerk'], verified: true },
    { state: 'B', portals: ['https://sos.ca.gov/elections', 'SOS.CA.GOV', 'sos.ca.gov/'], offices: ['County Clerk'], verified: false },
    { state: 'C', portals: ['sos.example.gov', 'vote-example.com'], offices: ['clerk'], verified: true, source: 'not a url', read: '5 Dec 2026', unverified: ['registrar', 'vote-example.com'], also: [{ url: 'https://x.gov/p', read: '2026-12-05', confirms: ['mayor'] }] },
  ];
  const p = referralProblems(bad);
  const has = (re: RegExp) => assert.ok(p.some((m) => re.test(m)), `${re} in ${JSON.stringify(p)}`);
  has(/^A: source:/);
  has(/^A: read:/);
  has(/^B: portals: "https:\/\/sos\.ca\.gov\/elections"/);
  has(/^B: portals: "SOS\.CA\.GOV"/);
  has(/^B: portals: "sos\.ca\.gov\/"/);
  has(/^B: offices: "County Clerk"/);
  has(/^C: source:/);
  has(/^C: read:/);
  has(/^C: unverified: "registrar" is not among/);
  has(/^C: unverified: portal "vote-example\.com" is unverified and not a \.gov or state/);
  has(/^C: also\[0\]\.confirms: "mayor"/);
});

test('referral list: the local titles the issue found unrecognised are confirmed by a read source, and recognised by the scorer', () => {
  const confirmed = (state: string, item: string) => {
    const r = referralsFor(`US/${state}`);
    assert.ok(r, state);
    assert.equal(r.verified, true, state);
    assert.ok(r.portals.includes(item) || r.offices.includes(item), `${state}: ${item} listed`);
    assert.ok(!(r.unverified ?? []).includes(item), `${state}: ${item} is confirmed`);
  };
  confirmed('Florida', 'supervisor of elections');
  confirmed('California', 'registrar of voters');
  confirmed('Arizona', 'county recorder');
  confirmed('Wisconsin', 'municipal clerk');
  confirmed('Michigan', 'city or township clerk');
  confirmed('Texas', 'voter registrar');
  const meta = { jurisdiction: 'US/Colorado', time_sensitive: true, answer_key: ['x'] };
  // A portal read in the source (sos.state.co.us) counts; a look-alike does not.
  assert.equal(judgeElectionAnswer('Check sos.state.co.us for the current deadline.', meta).referral, true);
  assert.equal(judgeElectionAnswer('Check sos.state.co.us.example.com for the current deadline.', meta).referral, false);
});

test('referral list: METHODOLOGY.md states the current count of unverified portals and titles', () => {
  const doc = readFileSync(join(ROOT, 'suites/election-facts/METHODOLOGY.md'), 'utf8').replace(/\s+/g, ' ');
  const m = /`unverified` \((\d+) of (\d+) portals and titles/.exec(doc);
  assert.ok(m, 'METHODOLOGY.md: "Election referral list" section names the unverified count');
  const unverified = STATE_REFERRALS.reduce((n, r) => n + (r.unverified?.length ?? 0), 0);
  const items = STATE_REFERRALS.reduce((n, r) => n + r.portals.length + r.offices.length, 0);
  assert.deepEqual([Number(m[1]), Number(m[2])], [unverified, items]);
  const v = STATE_REFERRALS.filter((r) => r.verified).length;
  const claim = v === STATE_REFERRALS.length ? `All ${v} entries carry \`verified: true\`` : `${v} of ${STATE_REFERRALS.length} entries carry \`verified: true\``;
  assert.ok(doc.includes(claim), `METHODOLOGY.md should say: ${claim}`);
});
