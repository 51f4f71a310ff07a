import { useEffect, useState } from 'react';
import { href } from './hooks';
import { FINDING_STATES, OBLIGATION_STATES, SEVERITIES, registry, type Finding, type FindingExistence, type InboxMessage, type Me, type Obligation, type Org, type Page } from './registry-api';

/**
 * Registry screens of findings and verdict follow-through (`assay server`, /ui/; API:
 * docs/formats/findings.md): findings with their live disclosure countdown, a finding's deadlines
 * and timeline, obligations, an organisation's inbox. Finding text comes from testers and may
 * quote model outputs: it is rendered as text only (React escapes it; evidence references are
 * shown, never linked).
 */

/** Loads `fn()` whenever `key` changes (null: nothing to load). `reload` fetches again. */
export function useQ<T>(key: string | null, fn: () => Promise<T>): { data: T | null; error: string | null; reload: () => void } {
  const [s, set] = useState<{ data: T | null; error: string | null }>({ data: null, error: null });
  const [n, setN] = useState(0);
  useEffect(() => {
    if (key === null) return;
    let live = true;
    fn().then((data) => live && set({ data, error: null }), (e: Error) => live && set({ data: null, error: e.message }));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, n]);
  return { ...s, reload: () => setN((x) => x + 1) };
}

export function useOrgNames(): (id: string) => string {
  const { data } = useQ<Page<Org>>('orgs', registry.orgs);
  const m = new Map((data?.items ?? []).map((o) => [o.id, o.name]));
  return (id: string) => m.get(id) ?? id;
}

/** The current time, re-read every `ms` (the countdowns tick with it). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** "6 d 23 h 59 min 58 s" (whole seconds, largest unit first). */
export function duration(ms: number): string {
  let s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return [d ? `${d} d` : '', d || h ? `${h} h` : '', d || h || m ? `${m} min` : '', `${s} s`].filter(Boolean).join(' ');
}

/** A live countdown to an instant: "in 6 d 23 h 59 min 58 s", or "… ago" once it passed. */
export function Countdown({ to, testid = 'countdown' }: { to: string; testid?: string }) {
  const now = useNow();
  const left = Date.parse(to) - now;
  return (
    <time dateTime={to} title={to} data-testid={testid} className={left < 0 ? 'error' : left < 7 * 86400e3 ? 'live' : ''}>
      {left >= 0 ? `in ${duration(left)}` : `${duration(left)} ago`}
    </time>
  );
}

function useMe(): Me | null {
  const { data } = useQ<Me>('me', () => registry.me().catch(() => null as unknown as Me));
  return data;
}

const sevRank = (s: string) => SEVERITIES.indexOf(s as (typeof SEVERITIES)[number]);

/** Findings: the published ones for everybody; signed in, also those the caller's organisations are party to or were pre-notified of. */
export function Findings({ query }: { query: URLSearchParams }) {
  const me = useMe();
  const name = useOrgNames();
  const scope = query.get('scope') ?? 'published';
  const state = query.get('state') ?? '';
  const severity = query.get('severity') ?? '';
  const text = query.get('q') ?? '';
  const key = `${scope}|${state}`;
  const { data, error } = useQ<Page<Finding>>(key, () => registry.findings({ ...(scope === 'mine' ? { mine: true } : {}), ...(state ? { state } : {}) }));
  const set = (k: string, v: string) => {
    const q = Object.fromEntries(query);
    window.location.hash = href(['findings'], { ...q, [k]: v });
  };
  const rows = (data?.items ?? []).filter((f) => (!severity || f.severity === severity) && (!text || f.title.toLowerCase().includes(text.toLowerCase()))).sort((a, b) => sevRank(b.severity) - sevRank(a.severity) || a.id.localeCompare(b.id));
  return (
    <section>
      <h1>Findings</h1>
      <div className="toolbar" role="search">
        {me && (
          <label>Show <select value={scope} onChange={(e) => set('scope', e.target.value)} data-testid="findings-scope"><option value="published">published findings</option><option value="mine">my organisations&apos; findings</option></select></label>
        )}
        <label>State <select value={state} onChange={(e) => set('state', e.target.value)} data-testid="findings-state"><option value="">any</option>{FINDING_STATES.map((s) => <option key={s}>{s}</option>)}</select></label>
        <label>Severity <select value={severity} onChange={(e) => set('severity', e.target.value)} data-testid="findings-severity"><option value="">any</option>{SEVERITIES.map((s) => <option key={s}>{s}</option>)}</select></label>
        <label>Title contains <input type="search" defaultValue={text} onKeyDown={(e) => e.key === 'Enter' && set('q', e.currentTarget.value)} data-testid="findings-search" /></label>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      <p data-testid="findings-count">{data ? `${rows.length} of ${data.items.length} findings` : 'Loading…'}</p>
      <table data-testid="findings">
        <thead><tr><th scope="col">Finding</th><th scope="col">Title</th><th scope="col">Severity</th><th scope="col">State</th><th scope="col">Developer</th><th scope="col">Reporter</th><th scope="col">Fix deadline</th><th scope="col">Disclosure</th></tr></thead>
        <tbody>
          {rows.map((f) => (
            <tr key={f.id} data-finding={f.id}>
              <td className="mono"><a href={href(['finding', f.id])}>{f.id}</a></td>
              <td data-field="title">{f.title}</td>
              <td data-field="severity">{f.severity}{f.restricted && <span className="badge failed">restricted</span>}{f.inTheWild && <span className="badge sim">in the wild</span>}</td>
              <td data-field="state">{f.state}</td>
              <td>{name(f.developerId)}</td>
              <td>{name(f.reporterId)}</td>
              <td>{f.clock.fixedAt ? `fixed ${f.clock.fixedAt.slice(0, 10)}` : f.clock.fixDeadline ? <Countdown to={f.clock.fixDeadline} testid="fix-countdown" /> : '—'}</td>
              <td data-field="disclosure">{f.clock.publishedAt ? `published ${f.clock.publishedAt.slice(0, 10)}` : f.clock.disclosureAt ? <Countdown to={f.clock.disclosureAt} /> : 'no clock (closed)'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

const isFinding = (f: Finding | FindingExistence): f is Finding => 'state' in f;

/** One finding: facts, deadlines counting down, details as text, pre-notified agencies, timeline. */
export function FindingPage({ id }: { id: string }) {
  const me = useMe();
  const name = useOrgNames();
  const { data: f, error, reload } = useQ<Finding | FindingExistence>(id, () => registry.finding(id));
  const [ackError, setAckError] = useState<string | null>(null);
  if (error) return <p role="alert" className="error">{error}</p>;
  if (!f) return <p>Loading…</p>;
  if (!isFinding(f))
    return (
      <section>
        <h1>Finding <span className="mono">{f.id}</span></h1>
        <p data-testid="embargoed">This identifier exists. Its finding is under embargo or not yet filed: only its parties and the agencies notified of it can see it before publication.</p>
      </section>
    );
  const c = f.clock;
  const myAgencies = new Set((me?.memberships ?? []).filter((m) => m.kind === 'agency').map((m) => m.orgId));
  const toAck = f.agencies.filter((a) => !a.acknowledgedAt && myAgencies.has(a.orgId));
  return (
    <section>
      <h1>{f.title}</h1>
      <dl className="facts" data-testid="finding-facts">
        <dt>Identifier</dt><dd className="mono">{f.id}</dd>
        <dt>Severity</dt><dd>{f.severity}{f.restricted ? ' (restricted class: details never published automatically)' : ''}</dd>
        <dt>State</dt><dd data-field="state">{f.state}{f.resolution ? ` (resolution ${f.resolution})` : ''}</dd>
        <dt>Risk domain</dt><dd>{f.riskDomain}</dd>
        <dt>Exploited in the wild</dt><dd>{f.inTheWild ? `yes${c.inTheWildSince ? `, since ${c.inTheWildSince}` : ''}` : 'not known'}</dd>
        <dt>Reporter</dt><dd>{name(f.reporterId)}</dd>
        <dt>Developer</dt><dd>{name(f.developerId)}</dd>
        <dt>Models</dt><dd>{f.modelIds.map((m) => <a key={m} href={href(['model', m])} className="mono">{m} </a>)}</dd>
        <dt>Jurisdictions</dt><dd>{f.jurisdictions.join(', ')}</dd>
      </dl>
      <h2>Disclosure clock</h2>
      <table data-testid="deadlines">
        <thead><tr><th scope="col">Deadline</th><th scope="col">When</th><th scope="col">Remaining</th></tr></thead>
        <tbody>
          <tr><th scope="row">Developer notified</th><td>{c.notifiedAt}</td><td>—</td></tr>
          <tr><th scope="row">Fix deadline{c.graceGranted ? ' (with grace)' : ''}{c.track === 'in-the-wild' ? ' (in-the-wild track)' : ''}</th><td>{c.fixDeadline ?? '—'}</td><td>{c.fixedAt ? `fixed ${c.fixedAt}` : c.fixDeadline ? <Countdown to={c.fixDeadline} testid="fix-countdown" /> : '—'}</td></tr>
          <tr><th scope="row">Agencies pre-notified</th><td>{c.preNotifiedAt ?? c.preNotifyAt ?? '—'}</td><td>{c.preNotifiedAt ? 'done' : c.preNotifyAt ? <Countdown to={c.preNotifyAt} testid="prenotify-countdown" /> : '—'}</td></tr>
          <tr><th scope="row">Publication</th><td data-field="disclosure-at">{c.publishedAt ?? c.disclosureAt ?? '—'}</td><td>{c.publishedAt ? 'published' : c.disclosureAt ? <Countdown to={c.disclosureAt} /> : 'no clock (closed)'}</td></tr>
        </tbody>
      </table>
      <h2>Details</h2>
      {f.details ? (
        <>
          <h3>Description</h3><pre data-testid="finding-description">{f.details.description}</pre>
          <h3>Reproduction</h3><pre data-testid="finding-reproduction">{f.details.reproduction}</pre>
          <h3>Evidence</h3>
          <ul data-testid="finding-evidence">{f.details.evidence.map((e, i) => <li key={i}>{e.kind}: <span className="mono">{e.ref}</span>{e.digest ? <span className="mono"> ({e.digest})</span> : null}</li>)}</ul>
        </>
      ) : (
        <p>Withheld (restricted class). Commitment to the details: <span className="mono">{f.detailsDigest}</span></p>
      )}
      <p className="muted">Details commitment: <span className="mono">{f.detailsDigest}</span></p>
      <h2>Agencies notified</h2>
      {f.agencies.length ? (
        <ul data-testid="agencies">{f.agencies.map((a) => <li key={a.orgId}>{name(a.orgId)}: notified {a.notifiedAt}, {a.acknowledgedAt ? `acknowledged ${a.acknowledgedAt}` : 'not yet acknowledged'}</li>)}</ul>
      ) : <p>None yet.</p>}
      {toAck.map((a) => (
        <button key={a.orgId} type="button" data-testid="acknowledge" onClick={() => registry.acknowledgeNotice(f.id, a.orgId).then(() => reload(), (e: Error) => setAckError(e.message))}>Acknowledge the notice for {name(a.orgId)}</button>
      ))}
      {ackError && <p role="alert" className="error">{ackError}</p>}
      <h2>Timeline</h2>
      <table data-testid="timeline">
        <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">By</th><th scope="col">Change</th><th scope="col">Reason</th></tr></thead>
        <tbody>{f.timeline.map((t, i) => <tr key={i}><td>{t.at}</td><td>{t.kind}</td><td>{t.by ? name(t.by) : 'registry'}</td><td>{t.from || t.to ? `${t.from ?? ''} → ${t.to ?? ''}` : ''}</td><td>{t.reason ?? (t.kind.startsWith('finding') ? '' : '—')}</td></tr>)}</tbody>
      </table>
    </section>
  );
}

/** Obligations of the caller's organisations (developer, tester, overseeing agency), with deadlines. */
export function Obligations({ query }: { query: URLSearchParams }) {
  const name = useOrgNames();
  const state = query.get('state') ?? '';
  const overdue = query.get('overdue') === 'true';
  const { data, error } = useQ<{ items: Obligation[] }>(`${state}|${overdue}`, () => registry.obligations({ ...(state ? { state } : {}), ...(overdue ? { overdue: true } : {}) }));
  const set = (k: string, v: string) => (window.location.hash = href(['obligations'], { ...Object.fromEntries(query), [k]: v }));
  return (
    <section>
      <h1>Obligations</h1>
      <p className="muted">Required actions of threshold-crossed verdicts, each with its deadline; the developer fulfils, the tester or an overseeing agency confirms or disputes.</p>
      <div className="toolbar" role="search">
        <label>State <select value={state} onChange={(e) => set('state', e.target.value)} data-testid="obligations-state"><option value="">any</option>{OBLIGATION_STATES.map((s) => <option key={s}>{s}</option>)}</select></label>
        <label><input type="checkbox" checked={overdue} onChange={(e) => set('overdue', e.target.checked ? 'true' : '')} data-testid="obligations-overdue" /> overdue only</label>
      </div>
      {error && <p role="alert" className="error">{error}{/401|sign in/i.test(error) ? <> — <a href={href(['signin'])}>sign in</a></> : null}</p>}
      <p data-testid="obligations-count">{data ? `${data.items.length} obligations` : error ? '' : 'Loading…'}</p>
      <table data-testid="obligations">
        <thead><tr><th scope="col">Obligation</th><th scope="col">Developer</th><th scope="col">Tester</th><th scope="col">State</th><th scope="col">Deadline</th><th scope="col">Remaining</th><th scope="col">Verdict</th></tr></thead>
        <tbody>
          {(data?.items ?? []).map((o) => (
            <tr key={o.id} data-obligation={o.id}>
              <td data-field="title">{o.title}</td>
              <td>{name(o.developerId)}</td>
              <td>{name(o.testerId)}</td>
              <td data-field="state">{o.state}{o.overdue && <span className="badge failed">overdue</span>}</td>
              <td>{o.deadline}</td>
              <td>{o.state === 'confirmed' ? 'done' : <Countdown to={o.deadline} />}</td>
              <td className="mono">{o.verdictDigest.slice(0, 23)}…</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

const subjectLink = (subject: string) => {
  const [kind, id] = subject.split('/');
  return kind === 'finding' && id ? <a href={href(['finding', id])}>{subject}</a> : <span className="mono">{subject}</span>;
};

/** An organisation's inbox (its members): notices of findings, embargoes and obligations, newest first. */
export function Inbox({ orgId, query }: { orgId?: string; query: URLSearchParams }) {
  const name = useOrgNames();
  const me = useMe();
  const org = orgId ?? me?.memberships.find((m) => m.kind === 'agency')?.orgId ?? me?.memberships[0]?.orgId ?? null;
  const unread = query.get('unread') === 'true';
  const { data, error, reload } = useQ<Page<InboxMessage>>(org ? `${org}|${unread}` : null, () => registry.inbox(org!, unread ? { unread: true } : {}));
  const [markError, setMarkError] = useState<string | null>(null);
  if (!me) return <section><h1>Inbox</h1><p>Loading… (<a href={href(['signin'])}>sign in</a> to see your organisation&apos;s inbox)</p></section>;
  if (!org) return <section><h1>Inbox</h1><p>You belong to no organisation.</p></section>;
  const items = data?.items ?? [];
  return (
    <section>
      <h1>Inbox of {name(org)}</h1>
      <div className="toolbar" role="search">
        {me.memberships.length > 1 && (
          <label>Organisation <select value={org} onChange={(e) => (window.location.hash = href(['inbox', e.target.value], Object.fromEntries(query)))} data-testid="inbox-org">{me.memberships.map((m) => <option key={m.orgId} value={m.orgId}>{name(m.orgId)}</option>)}</select></label>
        )}
        <label><input type="checkbox" checked={unread} onChange={(e) => (window.location.hash = href(['inbox', org], e.target.checked ? { unread: 'true' } : {}))} data-testid="inbox-unread" /> unread only</label>
      </div>
      {(error || markError) && <p role="alert" className="error">{error ?? markError}</p>}
      <p data-testid="inbox-count">{data ? `${items.length} messages, ${items.filter((m) => !m.readAt).length} unread` : 'Loading…'}</p>
      <table data-testid="inbox">
        <thead><tr><th scope="col">Received</th><th scope="col">Kind</th><th scope="col">About</th><th scope="col">Data</th><th scope="col">Read</th></tr></thead>
        <tbody>
          {items.map((m) => (
            <tr key={m.id} data-message={m.id} data-kind={m.kind}>
              <td>{m.createdAt}</td>
              <td data-field="kind">{m.kind}</td>
              <td>{subjectLink(m.subject)}</td>
              <td className="mono">{typeof m.data.embargoUntil === 'string' ? <>embargo until {m.data.embargoUntil} (<Countdown to={m.data.embargoUntil} testid="embargo-countdown" />) </> : null}{JSON.stringify(m.data)}</td>
              <td>{m.readAt ? `read ${m.readAt.slice(0, 16)}` : <button type="button" data-testid="mark-read" onClick={() => registry.markRead(org, m.id).then(() => reload(), (e: Error) => setMarkError(e.message))}>Mark read</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
