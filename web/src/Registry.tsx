import { useEffect, useState } from 'react';
import { href } from './hooks';
import { useQ } from './FollowUp';
import { PlotFigure, intervalPlot } from './Plot';
import { recognitionGraph } from './graph';
import { registry, rget, signIn, type Accreditation, type Engagement, type Me, type Model, type Org, type Page, type Recognition, type Report, type ReportWithBundle } from './registry-api';

function useR<T>(path: string | null, deps: unknown[] = []): { data: T | null; error: string | null } {
  const [s, set] = useState<{ data: T | null; error: string | null }>({ data: null, error: null });
  useEffect(() => {
    if (!path) return;
    let live = true;
    set({ data: null, error: null });
    rget<T>(path).then((data) => live && set({ data, error: null }), (e: Error) => live && set({ data: null, error: e.message }));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [path, ...deps]);
  return s;
}

/** Organisation names for ids (the public directory). */
function useOrgs(): Map<string, Org> {
  const { data } = useR<Page<Org>>('/api/v1/orgs?limit=200');
  return new Map((data?.items ?? []).map((o) => [o.id, o]));
}
const orgName = (orgs: Map<string, Org>, id: string) => orgs.get(id)?.name ?? id;

/** Verification badge of a report as the registry verified it on arrival (same checks as `assay verify`). */
export function Badge({ r }: { r: Report }) {
  const exit = r.verification?.exitCode;
  return r.verified ? <span className="badge verified" data-testid="badge">Verified</span> : <span className="badge failed" data-testid="badge">Not verified{exit !== undefined ? ` (exit ${exit})` : ''}</span>;
}

/** Public pages: no sign-in. Models, published reports with their badge, accreditations and the recognition graph. */
export function RegistryHome() {
  const orgs = useOrgs();
  const models = useR<Page<Model>>('/api/v1/models?limit=200');
  const reports = useR<Page<Report>>('/api/v1/reports?limit=200');
  return (
    <section>
      <h1>Registry</h1>
      <p><a href={href(['signin'])}>Sign in</a> for your organisation&apos;s dashboard and engagements.</p>
      <h2>Models</h2>
      <table data-testid="models"><thead><tr><th scope="col">Model</th><th scope="col">Developer</th><th scope="col">In scope</th><th scope="col">Release digest</th></tr></thead>
        <tbody>{(models.data?.items ?? []).map((m) => <tr key={m.id}><td><a href={href(['model', m.id])}>{m.name}</a></td><td>{orgName(orgs, m.developerId)}</td><td>{m.scopeDecision ? (m.scopeDecision.inScope ? 'yes' : 'no') : 'undecided'}</td><td className="mono">{m.releaseDigest}</td></tr>)}</tbody></table>
      <h2>Published reports</h2>
      <table data-testid="published"><thead><tr><th scope="col">Report</th><th scope="col">Model</th><th scope="col">Tester</th><th scope="col">Published</th><th scope="col">Verification</th></tr></thead>
        <tbody>{(reports.data?.items ?? []).map((r) => <tr key={r.id}><td className="mono">{r.id}</td><td>{r.modelId ? <a href={href(['model', r.modelId])}>{models.data?.items.find((m) => m.id === r.modelId)?.name ?? r.modelId}</a> : '—'}</td><td>{orgName(orgs, r.testerId)}</td><td>{r.publishedAt}</td><td><Badge r={r} /></td></tr>)}</tbody></table>
      <Accreditations orgs={orgs} />
    </section>
  );
}

function Accreditations({ orgs }: { orgs: Map<string, Org> }) {
  const acc = useR<Page<Accreditation>>('/api/v1/accreditations?limit=200');
  const rec = useR<Page<Recognition>>('/api/v1/recognitions?limit=200');
  return (
    <>
      <h2>Accreditations</h2>
      <table data-testid="accreditations"><thead><tr><th scope="col">Accreditor</th><th scope="col">Tester</th><th scope="col">Risk areas</th><th scope="col">State</th><th scope="col">Reassess by</th></tr></thead>
        <tbody>{(acc.data?.items ?? []).map((a) => <tr key={a.id}><td>{orgName(orgs, a.accreditorId)}</td><td>{orgName(orgs, a.testerId)}</td><td>{a.riskAreas.join(', ')}</td><td>{a.state}</td><td>{a.reassessBy}</td></tr>)}</tbody></table>
      <h2>Mutual recognition</h2>
      <p>Each arrow is an agreement: the accreditor it starts from accepts the accreditations of the one it points to, for the risk areas named; the table below lists the same edges.</p>
      {rec.data && rec.data.items.length > 0 && <PlotFigure label="mutual-recognition graph between accreditors" options={recognitionGraph(rec.data.items.map((r) => ({ from: `${orgName(orgs, r.recogniserId)} (${orgs.get(r.recogniserId)?.jurisdiction ?? '?'})`, to: `${orgName(orgs, r.recognisedId)} (${orgs.get(r.recognisedId)?.jurisdiction ?? '?'})`, label: r.riskAreas.join(', '), active: r.state === 'active' })))} />}
      <table data-testid="recognitions"><thead><tr><th scope="col">Recogniser</th><th scope="col">Recognised</th><th scope="col">Risk areas</th><th scope="col">State</th></tr></thead>
        <tbody>{(rec.data?.items ?? []).map((r) => <tr key={r.id}><td>{orgName(orgs, r.recogniserId)} ({orgs.get(r.recogniserId)?.jurisdiction ?? '?'})</td><td>{orgName(orgs, r.recognisedId)} ({orgs.get(r.recognisedId)?.jurisdiction ?? '?'})</td><td>{r.riskAreas.join(', ')}</td><td>{r.state}</td></tr>)}</tbody></table>
    </>
  );
}

/** A model's public page: its release, declared facts and scope decision. */
export function ModelPage({ id }: { id: string }) {
  const orgs = useOrgs();
  const { data: m, error } = useR<Model>(`/api/v1/models/${encodeURIComponent(id)}`);
  if (error) return <p role="alert" className="error">{error}</p>;
  if (!m) return <p>Loading…</p>;
  return (
    <section>
      <h1>{m.name}</h1>
      <dl className="facts" data-testid="model"><dt>Developer</dt><dd>{orgName(orgs, m.developerId)}</dd><dt>Release digest</dt><dd className="mono">{m.releaseDigest}</dd><dt>In scope</dt><dd>{m.scopeDecision ? `${m.scopeDecision.inScope ? 'yes' : 'no'}${m.scopeDecision.reason ? ` — ${m.scopeDecision.reason}` : ''}` : 'undecided'}</dd><dt>Registered</dt><dd>{m.createdAt}</dd></dl>
      <PublishedResults modelId={m.id} orgs={orgs} />
      <h2>Declared facts</h2><pre>{JSON.stringify(m.facts, null, 2)}</pre>
    </section>
  );
}

/** The headline numbers of a signed report, read from its signed statement (in-toto, predicate run-report). */
interface StatementMetric { name: string; n: number; mean: number; interval?: { method: string; lo: number | null; hi: number | null }; ci: { lo: number; hi: number } }
interface Statement { predicate: { suite: { id: string; version: string; title?: string; riskArea?: string }; model: { name: string; simulated: boolean }; metrics: StatementMetric[]; tester: { name: string }; timestamps: { runFinishedAt: string | null } } }

function statementOf(r: ReportWithBundle): Statement | null {
  try {
    const bytes = Uint8Array.from(atob(r.bundle.payload), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Statement;
  } catch {
    return null;
  }
}
const f3 = (x: number | null | undefined) => (typeof x === 'number' ? x.toFixed(3) : '—');

/** A model's published reports, each with its verification badge and the numbers its signed statement carries. Public. */
function PublishedResults({ modelId, orgs }: { modelId: string; orgs: Map<string, Org> }) {
  const { data, error } = useQ<ReportWithBundle[]>(modelId, async () => Promise.all((await registry.publishedReports({ model: modelId })).items.map((r) => registry.report(r.id))));
  return (
    <>
      <h2>Published results</h2>
      {error && <p role="alert" className="error">{error}</p>}
      {data && !data.length && <p data-testid="no-results">No published report on this release yet.</p>}
      {(data ?? []).map((r) => {
        const st = statementOf(r);
        const p = st?.predicate;
        return (
          <article key={r.id} data-testid="result" data-report={r.id}>
            <h3>{p ? `${p.suite.title ?? p.suite.id} (${p.suite.id}@${p.suite.version})` : r.id} <Badge r={r} /></h3>
            <p>Tested by {orgName(orgs, r.testerId)}; published {r.publishedAt}; report <span className="mono">{r.id}</span>, payload <span className="mono">{r.payloadDigest}</span>{p?.model.simulated ? <span className="badge sim">simulated model</span> : null}</p>
            {r.verification?.failures?.length ? <ul>{r.verification.failures.map((f, i) => <li key={i}>{f.check}: {f.message}</li>)}</ul> : null}
            {p && (
              <>
                <table data-testid="result-metrics">
                  <thead><tr><th scope="col">Metric</th><th scope="col" className="num">Mean</th><th scope="col" className="num">95% interval</th><th scope="col">Method</th><th scope="col" className="num">n</th></tr></thead>
                  <tbody>{p.metrics.map((mt) => {
                    const iv = mt.interval && mt.interval.lo !== null ? mt.interval : { method: 'normal', lo: mt.ci.lo, hi: mt.ci.hi };
                    return <tr key={mt.name} data-metric={mt.name}><th scope="row">{mt.name}</th><td className="num" data-field="mean">{f3(mt.mean)}</td><td className="num" data-field="interval">[{f3(iv.lo)}, {f3(iv.hi)}]</td><td>{iv.method}</td><td className="num" data-field="n">{mt.n}</td></tr>;
                  })}</tbody>
                </table>
                <PlotFigure label={`metrics of report ${r.id} with 95% intervals`} options={intervalPlot(p.metrics.map((mt) => ({ label: mt.name, mean: mt.mean, lo: mt.interval?.lo ?? mt.ci.lo, hi: mt.interval?.hi ?? mt.ci.hi })))} />
              </>
            )}
          </article>
        );
      })}
    </>
  );
}

export function SignIn() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <section>
      <h1>Sign in</h1>
      <form onSubmit={(e) => { e.preventDefault(); signIn(email, password).then(() => (window.location.hash = href(['dashboard'])), (err: Error) => setError(err.message)); }}>
        <p><label>E-mail <input type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} data-testid="email" required /></label></p>
        <p><label>Password <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} data-testid="password" required /></label></p>
        <button type="submit">Sign in</button>
      </form>
      {error && <p role="alert" className="error" data-testid="signin-error">{error}</p>}
    </section>
  );
}

/** The signed-in organisation dashboard: memberships, engagements with their states, models in scope. */
export function Dashboard() {
  const orgs = useOrgs();
  const me = useR<Me>('/api/v1/me');
  const eng = useR<Page<Engagement>>(me.data ? '/api/v1/engagements?limit=200' : null, [me.data]);
  const models = useR<Page<Model>>('/api/v1/models?limit=200');
  if (me.error) return <section><h1>Dashboard</h1><p role="alert" className="error">{me.error}: <a href={href(['signin'])}>sign in</a></p></section>;
  if (!me.data) return <p>Loading…</p>;
  const mine = new Set(me.data.memberships.map((m) => m.orgId));
  return (
    <section>
      <h1>Dashboard</h1>
      <ul data-testid="memberships">{me.data.memberships.map((m) => <li key={m.orgId}>{orgName(orgs, m.orgId)} ({m.kind}), role {m.role}</li>)}</ul>
      <h2>Engagements</h2>
      <table data-testid="engagements"><thead><tr><th scope="col">Engagement</th><th scope="col">Developer</th><th scope="col">Tester</th><th scope="col">Model</th><th scope="col">Access</th><th scope="col">Window</th><th scope="col">State</th></tr></thead>
        <tbody>{(eng.data?.items ?? []).map((e) => <tr key={e.id}><td className="mono">{e.id}</td><td>{orgName(orgs, e.developerId)}</td><td>{orgName(orgs, e.testerId)}</td><td><a href={href(['model', e.modelId])}>{e.modelId}</a></td><td>{e.accessLevel}</td><td>{e.windowStart} → {e.windowEnd}</td><td data-field="state">{e.state}</td></tr>)}</tbody></table>
      {eng.data && !eng.data.items.length && <p>No engagements.</p>}
      <h2>Models in scope</h2>
      <ul data-testid="in-scope">{(models.data?.items ?? []).filter((m) => m.scopeDecision?.inScope && (mine.has(m.developerId) || me.data!.memberships.some((x) => x.kind !== 'developer'))).map((m) => <li key={m.id}><a href={href(['model', m.id])}>{m.name}</a></li>)}</ul>
    </section>
  );
}
