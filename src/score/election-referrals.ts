/**
 * Official election offices and portals by US state (issue 30: "Florida Supervisor of Elections",
 * "California registrar of voters", "Arizona County Recorder", "Wisconsin municipal clerk /
 * MyVote", "Michigan city or township clerk", "Texas voter registrar" were not recognised as
 * referrals). An answer naming the state's chief election office, its local election office (by
 * the title the state uses) or the state's official portal counts as a referral.
 *
 * Provenance (see suites/election-facts/METHODOLOGY.md, "Election referral list"):
 * - Every entry with `verified: true` was checked on 2026-12-05 against the state data behind
 *   vote.gov (USAGov's public repository usagov/vote-gov-nvrf-app, file public/data/en/states.json
 *   at the commit in VOTE_GOV_STATES): per state its election website, online-registration and
 *   registration-check addresses and, from the National Voter Registration Form state instructions,
 *   the mailing address of the state election office (and for some states the local office to send
 *   the form to). Read through the search tool's GitHub file reader; these machines cannot fetch
 *   vote.gov itself.
 * - Some local-office titles come from further official pages (state or county government sites),
 *   listed per entry in `also` with the titles each confirms.
 * - Anything in an entry that no source read confirms is listed in its `unverified` (kept from the
 *   authors' original list, written from memory; every such portal is a .gov or state.XX.us domain,
 *   which only government bodies can hold). Plural and singular of a title read count as the same title.
 * - Office structure (chief election official by state; New England towns; Michigan and Wisconsin
 *   municipal clerks) was first taken from NASED's "Election FAQs" (nased.org/faqs), read
 *   2026-12-04.
 * Review by REFERRALS_REVIEW_BY.
 */
export interface ReferralSource {
  url: string;
  /** Date the page was read (YYYY-MM-DD). */
  read: string;
  /** Portals or office titles of the entry this page confirms. */
  confirms: string[];
}

export interface StateReferral {
  state: string;
  /** Official domains (subdomains count). Lower case, no scheme or path. */
  portals: string[];
  /** Office titles as a model would write them (lower case; matched as phrases). */
  offices: string[];
  /** The state-level election office as the source names it (one of `offices` or a generic office), when the source names one. */
  stateOffice?: string;
  /** True when the entry was checked against `source`: every portal and office not in `unverified` was read there or in `also`. */
  verified: boolean;
  /** URL of the directory the entry was checked against. */
  source?: string;
  /** Date `source` was read (YYYY-MM-DD). */
  read?: string;
  also?: ReferralSource[];
  /** Portals and titles kept from the original list that no source read confirms. */
  unverified?: string[];
}

export const REFERRALS_READ = '2026-12-05';
export const REFERRALS_REVIEW_BY = '2027-06-30';
export const VOTE_GOV_STATES = 'https://github.com/usagov/vote-gov-nvrf-app/blob/025bf84903d8af625f4adbc29531b6f277ea905a/public/data/en/states.json';
export const REFERRALS_SOURCE = `vote.gov state data (${VOTE_GOV_STATES}, read ${REFERRALS_READ} via the search tool) for portals and state offices; local-office titles from official state or county pages listed per entry; NASED Election FAQs (nased.org/faqs, read 2026-12-04) for office structure`;

const READ = REFERRALS_READ;
const also = (url: string, ...confirms: string[]): ReferralSource => ({ url, read: READ, confirms });
interface Extra {
  stateOffice?: string;
  also?: ReferralSource[];
  unverified?: string[];
}
/** An entry checked against vote.gov's state data. */
const V = (state: string, portals: string[], offices: string[], x: Extra = {}): StateReferral => ({
  state,
  portals,
  offices,
  ...(x.stateOffice ? { stateOffice: x.stateOffice } : {}),
  verified: true,
  source: VOTE_GOV_STATES,
  read: READ,
  ...(x.also?.length ? { also: x.also } : {}),
  ...(x.unverified?.length ? { unverified: x.unverified } : {}),
});

export const STATE_REFERRALS: StateReferral[] = [
  V('Alabama', ['sos.alabama.gov', 'alabamavotes.gov'], ['secretary of state', 'board of registrars', 'probate judge', 'judge of probate'], {
    stateOffice: 'secretary of state',
    also: [also('http://alabamavotes.gov/vb/borjop1.aspx', 'board of registrars', 'probate judge', 'judge of probate')],
  }),
  V('Alaska', ['elections.alaska.gov', 'voterregistration.alaska.gov', 'myvoterinformation.alaska.gov'], ['division of elections', 'lieutenant governor'], {
    stateOffice: 'division of elections', unverified: ['lieutenant governor'],
  }),
  V('Arizona', ['azsos.gov', 'arizona.vote'], ['secretary of state', 'county recorder', 'county elections department'], {
    stateOffice: 'secretary of state', also: [also('https://www.azsos.gov/elections', 'county recorder')], unverified: ['county elections department'],
  }),
  V('Arkansas', ['sos.arkansas.gov', 'voterview.ar-nova.org'], ['secretary of state', 'county clerk', 'county election commission'], {
    stateOffice: 'secretary of state', unverified: ['county clerk', 'county election commission'],
  }),
  V('California', ['sos.ca.gov', 'registertovote.ca.gov'], ['secretary of state', 'registrar of voters', 'county elections official', 'county elections office'], {
    stateOffice: 'secretary of state',
    also: [
      also('https://www.sos.ca.gov/elections/best-practices.htm', 'county elections official'),
      also('https://sonomacounty.ca.gov/administrative-support-and-fiscal-services/clerk-recorder-assessor-registrar-of-voters/registrar-of-voters', 'registrar of voters'),
    ],
    unverified: ['county elections office'],
  }),
  V('Colorado', ['sos.state.co.us', 'coloradosos.gov', 'govotecolorado.gov'], ['secretary of state', 'county clerk and recorder', 'county clerk'], {
    stateOffice: 'secretary of state',
    also: [also('https://www.gunnisoncounty.org/822/Mail-Ballot-Election', 'county clerk')],
    unverified: ['govotecolorado.gov', 'county clerk and recorder'],
  }),
  V('Connecticut', ['portal.ct.gov', 'voterregistration.ct.gov', 'myvote.ct.gov'], ['secretary of the state', 'registrars of voters', 'registrar of voters', 'town clerk'], {
    stateOffice: 'secretary of the state', unverified: ['myvote.ct.gov', 'town clerk'],
  }),
  V('Delaware', ['elections.delaware.gov', 'ivote.de.gov'], ['state election commissioner', 'department of elections'], {
    stateOffice: 'state election commissioner',
    also: [also('https://alpha.delaware.gov/guides/voting-in-delaware/', 'department of elections')],
  }),
  V('District of Columbia', ['dcboe.org'], ['board of elections'], { stateOffice: 'board of elections' }),
  V('Florida', ['dos.myflorida.com', 'elections.myflorida.com', 'registertovoteflorida.gov', 'dos.fl.gov'], ['division of elections', 'supervisor of elections', 'supervisors of elections'], {
    stateOffice: 'division of elections',
    also: [also('https://results.elections.myflorida.com/TitlePage.asp', 'supervisor of elections', 'supervisors of elections')],
    unverified: ['dos.fl.gov'],
  }),
  V('Georgia', ['sos.ga.gov', 'mvp.sos.ga.gov'], ['secretary of state', 'county registrar', 'county board of elections', 'board of elections and registration', 'my voter page'], {
    stateOffice: 'secretary of state',
    also: [also('https://gmcc.georgia.gov/services?field_service_category_target_id=17966', 'county registrar')],
    unverified: ['county board of elections', 'board of elections and registration', 'my voter page'],
  }),
  V('Hawaii', ['elections.hawaii.gov', 'olvr.hawaii.gov'], ['office of elections', 'county clerk'], {
    stateOffice: 'office of elections', unverified: ['county clerk'],
  }),
  V('Idaho', ['idahovotes.gov', 'sos.idaho.gov', 'voteidaho.gov'], ['secretary of state', 'county clerk'], {
    stateOffice: 'secretary of state',
    also: [also('http://clerk.co.washington.id.us/elections/voter-registration/', 'county clerk')],
    unverified: ['voteidaho.gov'],
  }),
  V('Illinois', ['elections.il.gov'], ['state board of elections', 'county clerk', 'board of election commissioners'], {
    stateOffice: 'state board of elections',
    also: [also('https://www.elections.il.gov/ElectionAdministration.aspx', 'board of election commissioners')],
    unverified: ['county clerk'],
  }),
  V('Indiana', ['in.gov', 'indianavoters.in.gov'], ['election division', 'county clerk', 'county election board'], {
    stateOffice: 'election division', unverified: ['county clerk', 'county election board'],
  }),
  V('Iowa', ['sos.iowa.gov', 'voterready.iowa.gov'], ['secretary of state', 'county auditor', 'county commissioner of elections'], {
    stateOffice: 'secretary of state',
    also: [
      also('https://www.hardincountyia.gov/271/Elections', 'county auditor'),
      also('https://www.woodburycountyiowa.gov/component/content/article?id=25&Itemid=169', 'county commissioner of elections'),
    ],
    unverified: ['voterready.iowa.gov'],
  }),
  V('Kansas', ['sos.ks.gov', 'sos.kansas.gov', 'myvoteinfo.voteks.org'], ['secretary of state', 'county election officer', 'county clerk', 'election commissioner'], {
    stateOffice: 'secretary of state',
    also: [
      also('https://sos.kansas.gov/elections/registration-voting/', 'sos.kansas.gov', 'county election officer'),
      also('https://mgcountyks.org/home/government/county-clerk/voting-and-elections', 'county clerk'),
    ],
    unverified: ['election commissioner'],
  }),
  V('Kentucky', ['elect.ky.gov', 'sos.ky.gov'], ['state board of elections', 'county clerk'], {
    stateOffice: 'state board of elections', unverified: ['county clerk'],
  }),
  V('Louisiana', ['sos.la.gov', 'voterportal.sos.la.gov'], ['secretary of state', 'registrar of voters', 'parish registrar', 'clerk of court'], {
    stateOffice: 'secretary of state', unverified: ['parish registrar', 'clerk of court'],
  }),
  V('Maine', ['maine.gov'], ['bureau of corporations, elections and commissions', 'municipal clerk', 'town clerk', 'city clerk', 'registrar of voters'], {
    stateOffice: 'bureau of corporations, elections and commissions', unverified: ['town clerk', 'city clerk', 'registrar of voters'],
  }),
  V('Maryland', ['elections.maryland.gov'], ['state board of elections', 'local board of elections', 'county board of elections'], {
    stateOffice: 'state board of elections',
    also: [also('https://2022mdmanual.msa.maryland.gov/msa/mdmanual/41electp/html/local.html', 'local board of elections', 'county board of elections')],
  }),
  V('Massachusetts', ['sec.state.ma.us', 'mass.gov'], ['secretary of the commonwealth', 'elections division', 'town clerk', 'city clerk', 'local election office'], {
    stateOffice: 'secretary of the commonwealth',
    also: [
      also('http://www.northreadingma.gov/town-clerk/pages/election-overview', 'town clerk'),
      also('https://www.lexingtonma.gov/town-clerk/pages/elections-voting', 'town clerk', 'local election office'),
    ],
    unverified: ['mass.gov', 'city clerk'],
  }),
  V('Michigan', ['michigan.gov', 'mvic.sos.state.mi.us'], ['bureau of elections', 'city or township clerk', 'city clerk', 'township clerk', 'local clerk', 'voter information center'], {
    stateOffice: 'bureau of elections', unverified: ['local clerk', 'voter information center'],
  }),
  V('Minnesota', ['sos.state.mn.us', 'sos.mn.gov', 'mnvotes.gov'], ['secretary of state', 'county auditor', 'city clerk', 'township clerk'], {
    stateOffice: 'secretary of state',
    also: [also('https://sos.mn.gov/elections-voting/how-elections-work/state-county-and-local-roles', 'sos.mn.gov')],
    unverified: ['mnvotes.gov', 'county auditor', 'city clerk', 'township clerk'],
  }),
  V('Mississippi', ['sos.ms.gov'], ['secretary of state', 'circuit clerk', 'county circuit clerk'], { stateOffice: 'secretary of state' }),
  V('Missouri', ['sos.mo.gov'], ['secretary of state', 'local election authority', 'county clerk', 'board of election commissioners'], {
    stateOffice: 'secretary of state',
    also: [also('https://www.sos.mo.gov/elections/', 'local election authority', 'county clerk', 'board of election commissioners')],
  }),
  V('Montana', ['sosmt.gov', 'prodvoterportal.mt.gov'], ['secretary of state', 'county election office', 'county elections office', 'county election administrator', 'county clerk and recorder'], {
    stateOffice: 'secretary of state', unverified: ['county election administrator', 'county clerk and recorder'],
  }),
  V('Nebraska', ['sos.nebraska.gov', 'votercheck.necvr.ne.gov'], ['secretary of state', 'county clerk', 'election commissioner'], {
    stateOffice: 'secretary of state',
    also: [also('https://nemahacounty.ne.gov/webpages/election/election.html', 'county clerk', 'election commissioner')],
  }),
  V('Nevada', ['nvsos.gov', 'registertovote.nv.gov'], ['secretary of state', 'county clerk', 'registrar of voters'], {
    stateOffice: 'secretary of state', unverified: ['registertovote.nv.gov'],
  }),
  V('New Hampshire', ['sos.nh.gov'], ['secretary of state', 'town clerk', 'city clerk', 'supervisors of the checklist'], {
    stateOffice: 'secretary of state', unverified: ['supervisors of the checklist'],
  }),
  V('New Jersey', ['nj.gov', 'state.nj.us', 'vote.nj.gov'], ['division of elections', 'county clerk', 'county commissioner of registration', 'county board of elections', 'superintendent of elections'], {
    stateOffice: 'division of elections',
    also: [also('http://nj.gov/counties/mercer/commissions/elections/', 'county commissioner of registration', 'superintendent of elections', 'county clerk')],
    unverified: ['vote.nj.gov', 'county board of elections'],
  }),
  V('New Mexico', ['sos.state.nm.us', 'sos.nm.gov'], ['bureau of elections', 'county clerk'], {
    stateOffice: 'bureau of elections', unverified: ['sos.nm.gov'],
  }),
  V('New York', ['elections.ny.gov'], ['board of elections', 'state board of elections', 'county board of elections'], {
    stateOffice: 'board of elections',
    also: [also('https://stlawco.gov/Departments/Board-of-Elections/News', 'state board of elections')],
    unverified: ['county board of elections'],
  }),
  V('North Carolina', ['ncsbe.gov'], ['state board of elections', 'county board of elections'], {
    stateOffice: 'state board of elections',
    also: [also('https://www.ncsbe.gov/about-elections/county-boards-elections', 'county board of elections')],
  }),
  V('North Dakota', ['sos.nd.gov', 'vote.nd.gov'], ['county auditor'], { unverified: ['vote.nd.gov', 'county auditor'] }),
  V('Ohio', ['ohiosos.gov', 'sos.state.oh.us', 'voteohio.gov'], ['secretary of state', 'board of elections', 'county board of elections'], {
    stateOffice: 'secretary of state',
    also: [also('https://www.wayneohio.org/agencies-departments/vanover-building/board-elections', 'county board of elections')],
    unverified: ['voteohio.gov'],
  }),
  V('Oklahoma', ['ok.gov', 'oklahoma.gov', 'okvoterportal.okelections.us', 'elections.ok.gov'], ['state election board', 'county election board'], {
    stateOffice: 'state election board', unverified: ['elections.ok.gov', 'county election board'],
  }),
  V('Oregon', ['sos.oregon.gov', 'sos.state.or.us', 'oregonvotes.gov'], ['elections division', 'county elections office', 'county clerk', 'county elections official'], {
    stateOffice: 'elections division',
    also: [also('https://www.co.sherman.or.us/faq-tags/official-drop-sites/', 'county clerk')],
    unverified: ['oregonvotes.gov', 'county elections office', 'county elections official'],
  }),
  V('Pennsylvania', ['pa.gov', 'vote.pa.gov'], ['secretary of the commonwealth', 'county election office', 'county board of elections', 'county voter registration office'], {
    stateOffice: 'secretary of the commonwealth',
    unverified: ['vote.pa.gov', 'county election office', 'county board of elections', 'county voter registration office'],
  }),
  V('Rhode Island', ['elections.ri.gov', 'sos.ri.gov', 'vote.ri.gov'], ['state board of elections', 'board of elections', 'local board of canvassers', 'board of canvassers'], {
    stateOffice: 'state board of elections', unverified: ['vote.ri.gov', 'local board of canvassers', 'board of canvassers'],
  }),
  V('South Carolina', ['scvotes.gov', 'scvotes.sc.gov'], ['state election commission', 'county voter registration and elections office', 'county board of voter registration and elections', 'county voter registration office'], {
    stateOffice: 'state election commission',
    also: [also('https://scvotes.gov/voters/voter-faq/', 'county voter registration and elections office')],
    unverified: ['county board of voter registration and elections', 'county voter registration office'],
  }),
  V('South Dakota', ['sdsos.gov'], ['secretary of state', 'county auditor'], { stateOffice: 'secretary of state' }),
  V('Tennessee', ['sos.tn.gov', 'govote.tn.gov', 'govotetn.gov'], ['coordinator of elections', 'county election commission', 'administrator of elections'], {
    stateOffice: 'coordinator of elections',
    also: [also('https://sos.tn.gov/elections', 'county election commission')],
    unverified: ['govotetn.gov', 'administrator of elections'],
  }),
  V('Texas', ['votetexas.gov', 'sos.texas.gov', 'sos.state.tx.us'], ['secretary of state', 'voter registrar', 'county voter registrar', 'tax assessor-collector', 'county elections administrator', 'elections administrator', 'county clerk'], {
    stateOffice: 'secretary of state',
    also: [
      also('https://www.co.fayette.tx.us/page/fayette.Elections', 'voter registrar', 'county voter registrar', 'elections administrator'),
      also('http://www.hctax.net/voter/Deputy/acknowledge.aspx', 'tax assessor-collector'),
    ],
    unverified: ['sos.state.tx.us', 'county elections administrator', 'county clerk'],
  }),
  V('Utah', ['elections.utah.gov', 'voteinfo.utah.gov', 'votesearch.utah.gov', 'vote.utah.gov'], ['lieutenant governor', 'county clerk'], {
    stateOffice: 'lieutenant governor',
    also: [also('https://www.kaysville.gov/806/Voter-Registration', 'county clerk')],
    unverified: ['vote.utah.gov'],
  }),
  V('Vermont', ['sos.vermont.gov', 'olvr.vermont.gov', 'mvp.vermont.gov'], ['secretary of state', 'town clerk', 'city clerk'], {
    stateOffice: 'secretary of state',
    also: [also('https://sos.vermont.gov/elections/town-clerks/faqs', 'town clerk')],
    unverified: ['city clerk'],
  }),
  V('Virginia', ['elections.virginia.gov'], ['state board of elections', 'general registrar', 'department of elections', 'voter registration office'], {
    stateOffice: 'state board of elections',
    also: [also('https://www.co.campbell.va.us/307/Voter-Registration', 'general registrar', 'department of elections')],
    unverified: ['voter registration office'],
  }),
  V('Washington', ['sos.wa.gov', 'votewa.gov'], ['secretary of state', 'county auditor', 'county elections office', 'county elections department'], {
    stateOffice: 'secretary of state',
    also: [also('https://www.snohomishcountywa.gov/CivicAlerts.aspx?AID=295&ARC=723', 'county auditor')],
    unverified: ['county elections office', 'county elections department'],
  }),
  V('West Virginia', ['sos.wv.gov'], ['secretary of state', 'clerk of the county commission', 'county clerk'], {
    stateOffice: 'secretary of state',
    also: [also('https://code.wvlegislature.gov/email/3-2-4/', 'clerk of the county commission')],
    unverified: ['county clerk'],
  }),
  V('Wisconsin', ['elections.wi.gov', 'myvote.wi.gov'], ['wisconsin elections commission', 'municipal clerk', 'city clerk', 'town clerk', 'village clerk', 'myvote wisconsin'], {
    stateOffice: 'wisconsin elections commission',
    also: [also('https://elections.wi.gov/clerks', 'wisconsin elections commission', 'municipal clerk')],
    unverified: ['city clerk', 'town clerk', 'village clerk', 'myvote wisconsin'],
  }),
  V('Wyoming', ['sos.wyo.gov'], ['county clerk'], { unverified: ['county clerk'] }),
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

const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** Domains only government bodies can hold: .gov and the states' state.XX.us namespaces. */
const GOVERNMENT_DOMAIN = /(?:\.gov|(?:^|\.)state\.[a-z]{2}\.us)$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const isUrl = (u: unknown) => typeof u === 'string' && /^https?:\/\/[^\s/]+\.[^\s/]+/.test(u);

/**
 * Problems with referral entries, each naming the state and the field: a verified entry without a
 * source URL and read date, a portal that is not a bare lower-case domain (no scheme, path or
 * upper case), an office title not in lower case, an `also` page without URL/date or confirming
 * something the entry does not list, an `unverified` item the entry does not list (or that a page
 * confirms), an unverified portal outside .gov and state.XX.us, a state office not among the entry's or the
 * generic offices. Empty when the list is sound.
 */
export function referralProblems(entries: StateReferral[]): string[] {
  const out: string[] = [];
  for (const r of entries) {
    const at = (field: string, msg: string) => out.push(`${r.state}: ${field}: ${msg}`);
    const items = new Set([...r.portals, ...r.offices]);
    if (!r.portals.length) at('portals', 'none listed');
    if (!r.offices.length) at('offices', 'none listed');
    for (const d of r.portals) if (!DOMAIN.test(d)) at('portals', `"${d}" is not a bare lower-case domain`);
    for (const o of r.offices) if (o !== o.toLowerCase() || o !== o.trim() || !o) at('offices', `"${o}" is not a trimmed lower-case title`);
    if (r.verified) {
      if (!isUrl(r.source)) at('source', 'a verified entry needs the URL it was checked against');
      if (!r.read || !DATE.test(r.read)) at('read', 'a verified entry needs the date (YYYY-MM-DD) its source was read');
    }
    const confirmed = new Set<string>();
    for (const [i, a] of (r.also ?? []).entries()) {
      if (!isUrl(a.url)) at(`also[${i}].url`, 'not a URL');
      if (!DATE.test(a.read ?? '')) at(`also[${i}].read`, 'needs a date (YYYY-MM-DD)');
      if (!a.confirms.length) at(`also[${i}].confirms`, 'confirms nothing');
      for (const c of a.confirms) {
        if (!items.has(c)) at(`also[${i}].confirms`, `"${c}" is not among the entry's portals or offices`);
        confirmed.add(c);
      }
    }
    for (const u of r.unverified ?? []) {
      if (!items.has(u)) at('unverified', `"${u}" is not among the entry's portals or offices`);
      if (confirmed.has(u)) at('unverified', `"${u}" is confirmed by an also page`);
      if (r.portals.includes(u) && !GOVERNMENT_DOMAIN.test(u)) at('unverified', `portal "${u}" is unverified and not a .gov or state.XX.us domain`);
    }
    if (r.stateOffice !== undefined && !r.offices.includes(r.stateOffice) && !GENERIC_OFFICES.includes(r.stateOffice)) at('stateOffice', `"${r.stateOffice}" is not among the offices`);
  }
  return out;
}
