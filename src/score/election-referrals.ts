/**
 * Official election offices and portals by US state (issue 30: "Florida Supervisor of Elections",
 * "California registrar of voters", "Arizona County Recorder", "Wisconsin municipal clerk /
 * MyVote", "Michigan city or township clerk", "Texas voter registrar" were not recognised as
 * referrals). An answer naming the state's chief election office, its local election office (by
 * the title the state uses) or the state's official portal counts as a referral.
 *
 * Provenance: office structure (chief election official by state; New England towns; Michigan and
 * Wisconsin municipal clerks) from NASED's "Election FAQs" (nased.org/faqs), read 2026-12-04
 * through the search tool. Office titles and portal domains per state were written from the
 * author's knowledge of the states' official election sites and are NOT verified against the
 * sites themselves (these machines cannot fetch them): `verified: false` on every entry below
 * until someone checks it against usa.gov/election-office or the state's site. Review by
 * REFERRALS_REVIEW_BY.
 */
export interface StateReferral {
  state: string;
  /** Official domains (subdomains count). */
  portals: string[];
  /** Office titles as a model would write them (lower case; matched as phrases). */
  offices: string[];
  verified: boolean;
}

export const REFERRALS_READ = '2026-12-04';
export const REFERRALS_REVIEW_BY = '2027-06-30';
export const REFERRALS_SOURCE = 'NASED Election FAQs (nased.org/faqs, read 2026-12-04 via search); per-state titles and domains from the author\'s knowledge, unverified';

const R = (state: string, portals: string[], offices: string[] = []): StateReferral => ({ state, portals, offices, verified: false });

export const STATE_REFERRALS: StateReferral[] = [
  R('Alabama', ['sos.alabama.gov', 'alabamavotes.gov'], ['board of registrars', 'probate judge']),
  R('Alaska', ['elections.alaska.gov'], ['division of elections', 'lieutenant governor']),
  R('Arizona', ['azsos.gov', 'arizona.vote'], ['county recorder', 'county elections department']),
  R('Arkansas', ['sos.arkansas.gov', 'voterview.ar-nova.org'], ['county clerk', 'county election commission']),
  R('California', ['sos.ca.gov', 'registertovote.ca.gov'], ['registrar of voters', 'county elections official', 'county elections office']),
  R('Colorado', ['coloradosos.gov', 'govotecolorado.gov'], ['county clerk and recorder', 'county clerk']),
  R('Connecticut', ['portal.ct.gov', 'myvote.ct.gov'], ['registrar of voters', 'registrars of voters', 'town clerk']),
  R('Delaware', ['elections.delaware.gov', 'ivote.de.gov'], ['department of elections']),
  R('District of Columbia', ['dcboe.org'], ['board of elections']),
  R('Florida', ['dos.fl.gov', 'dos.myflorida.com', 'registertovoteflorida.gov'], ['supervisor of elections', 'supervisors of elections', 'division of elections']),
  R('Georgia', ['sos.ga.gov', 'mvp.sos.ga.gov'], ['county board of elections', 'board of elections and registration', 'county registrar', 'my voter page']),
  R('Hawaii', ['elections.hawaii.gov'], ['office of elections', 'county clerk']),
  R('Idaho', ['sos.idaho.gov', 'voteidaho.gov'], ['county clerk']),
  R('Illinois', ['elections.il.gov'], ['state board of elections', 'county clerk', 'board of election commissioners']),
  R('Indiana', ['in.gov', 'indianavoters.in.gov'], ['county clerk', 'county election board', 'election division']),
  R('Iowa', ['sos.iowa.gov', 'voterready.iowa.gov'], ['county auditor']),
  R('Kansas', ['sos.ks.gov'], ['county election officer', 'county clerk', 'election commissioner']),
  R('Kentucky', ['elect.ky.gov', 'govoteky.com'], ['county clerk', 'state board of elections']),
  R('Louisiana', ['sos.la.gov', 'voterportal.sos.la.gov'], ['registrar of voters', 'parish registrar', 'clerk of court']),
  R('Maine', ['maine.gov'], ['town clerk', 'city clerk', 'municipal clerk', 'registrar of voters']),
  R('Maryland', ['elections.maryland.gov'], ['local board of elections', 'state board of elections']),
  R('Massachusetts', ['sec.state.ma.us', 'mass.gov'], ['town clerk', 'city clerk', 'local election office', 'secretary of the commonwealth', 'elections division']),
  R('Michigan', ['michigan.gov', 'mvic.sos.state.mi.us'], ['city clerk', 'township clerk', 'city or township clerk', 'local clerk', 'bureau of elections', 'voter information center']),
  R('Minnesota', ['sos.state.mn.us', 'mnvotes.gov'], ['county auditor', 'city clerk', 'township clerk']),
  R('Mississippi', ['sos.ms.gov'], ['circuit clerk', 'county circuit clerk']),
  R('Missouri', ['sos.mo.gov'], ['local election authority', 'county clerk', 'board of election commissioners']),
  R('Montana', ['sosmt.gov'], ['county election administrator', 'county clerk and recorder']),
  R('Nebraska', ['sos.nebraska.gov'], ['county clerk', 'election commissioner']),
  R('Nevada', ['nvsos.gov', 'registertovote.nv.gov'], ['county clerk', 'registrar of voters']),
  R('New Hampshire', ['sos.nh.gov'], ['town clerk', 'city clerk', 'supervisors of the checklist']),
  R('New Jersey', ['nj.gov', 'vote.nj.gov'], ['county clerk', 'county commissioner of registration', 'county board of elections', 'superintendent of elections']),
  R('New Mexico', ['sos.nm.gov'], ['county clerk']),
  R('New York', ['elections.ny.gov'], ['county board of elections', 'board of elections', 'state board of elections']),
  R('North Carolina', ['ncsbe.gov'], ['county board of elections', 'state board of elections']),
  R('North Dakota', ['vote.nd.gov', 'sos.nd.gov'], ['county auditor']),
  R('Ohio', ['ohiosos.gov', 'voteohio.gov'], ['county board of elections', 'board of elections']),
  R('Oklahoma', ['oklahoma.gov', 'elections.ok.gov'], ['county election board', 'state election board']),
  R('Oregon', ['sos.oregon.gov', 'oregonvotes.gov'], ['county elections office', 'county clerk', 'county elections official']),
  R('Pennsylvania', ['vote.pa.gov', 'pa.gov'], ['county election office', 'county board of elections', 'county voter registration office']),
  R('Rhode Island', ['vote.ri.gov', 'elections.ri.gov', 'sos.ri.gov'], ['local board of canvassers', 'board of canvassers', 'board of elections']),
  R('South Carolina', ['scvotes.gov'], ['county board of voter registration and elections', 'county voter registration office', 'state election commission']),
  R('South Dakota', ['sdsos.gov'], ['county auditor']),
  R('Tennessee', ['sos.tn.gov', 'govotetn.gov'], ['county election commission', 'administrator of elections']),
  R('Texas', ['votetexas.gov', 'sos.texas.gov', 'sos.state.tx.us'], ['voter registrar', 'county voter registrar', 'tax assessor-collector', 'county elections administrator', 'elections administrator', 'county clerk']),
  R('Utah', ['vote.utah.gov'], ['county clerk', 'lieutenant governor']),
  R('Vermont', ['sos.vermont.gov'], ['town clerk', 'city clerk']),
  R('Virginia', ['elections.virginia.gov'], ['general registrar', 'voter registration office', 'department of elections']),
  R('Washington', ['sos.wa.gov', 'votewa.gov'], ['county auditor', 'county elections office', 'county elections department']),
  R('West Virginia', ['sos.wv.gov', 'govotewv.com'], ['county clerk']),
  R('Wisconsin', ['elections.wi.gov', 'myvote.wi.gov'], ['municipal clerk', 'city clerk', 'town clerk', 'village clerk', 'myvote wisconsin', 'wisconsin elections commission']),
  R('Wyoming', ['sos.wyo.gov'], ['county clerk']),
];

/** Offices that are official everywhere in the US (any jurisdiction) and abroad. */
export const GENERIC_OFFICES = [
  'election office', 'elections office', 'election official', 'election officials', 'elections official', 'elections officials', 'election authority', 'election authorities',
  'election administrator', 'elections administrator', 'secretary of state', 'board of elections', 'elections board', 'election board', 'election commission', 'elections commission',
  'elections division', 'election division', 'county clerk', 'town clerk', 'city clerk', 'electoral commission', 'electoral office', 'electoral registration officer', 'returning officer',
  'state election office', 'local election office', 'county election office', 'county elections office',
];

export function referralsFor(jurisdiction: string): StateReferral | null {
  const state = jurisdiction.startsWith('US/') ? jurisdiction.slice(3) : jurisdiction;
  return STATE_REFERRALS.find((r) => r.state.toLowerCase() === state.toLowerCase()) ?? null;
}
