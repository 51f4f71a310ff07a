/**
 * Typed client of the registry API (`assay server`, /api/v1; schemas/registry-api.v1.openapi.json).
 * Browser sign-in uses the HttpOnly session cookie; unsafe requests carry the CSRF token the
 * sign-in returned (kept in memory only).
 */
import { ApiError } from './api';

let csrf: { header: string; token: string } | null = null;

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown, signingIn = false): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && !signingIn) {
    // The CSRF token lives in memory: after a reload, ask the session for it again.
    csrf ??= await fetch('/api/v1/session', { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(async (r) => (r.ok ? ((await r.json()) as { csrfToken: string; csrfHeader: string }) : null))
      .then((r) => (r ? { header: r.csrfHeader, token: r.csrfToken } : null));
    if (csrf) headers[csrf.header] = csrf.token;
  }
  const res = await fetch(path, { method, credentials: 'same-origin', headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const data = (await res.json().catch(() => ({}))) as { title?: string; detail?: string; code?: string; message?: string };
  if (!res.ok) throw new ApiError(res.status, data.title ?? data.code ?? 'HTTP', data.detail ?? data.message ?? `HTTP ${res.status}`);
  return data as T;
}

export const rget = <T,>(path: string) => call<T>('GET', path);

export async function signIn(email: string, password: string): Promise<void> {
  const r = await call<{ csrfToken: string; csrfHeader: string }>('POST', '/api/v1/session', { email, password }, true);
  csrf = { header: r.csrfHeader, token: r.csrfToken };
}

/** Whether this page is served by the registry (`assay server`) rather than `assay view`. */
export const isRegistry = (): boolean => window.location.pathname.startsWith('/ui');

export interface Page<T> { items: T[]; next: string | null }
export interface Org { id: string; kind: string; subKind: string | null; name: string; jurisdiction: string }
export interface Model { id: string; developerId: string; name: string; releaseDigest: string; facts: unknown; scopeDecision: { inScope: boolean; policyDigest: string; reason?: string } | null; createdAt: string }
export interface Engagement { id: string; developerId: string; testerId: string; modelId: string; suites: string[]; accessLevel: string; windowStart: string; windowEnd: string; state: string; updatedAt: string }
export interface Accreditation { id: string; accreditorId: string; testerId: string; riskAreas: string[]; state: string; reassessBy: string }
export interface Recognition { id: string; recogniserId: string; recognisedId: string; riskAreas: string[]; state: string }
export interface Report { id: string; modelId?: string; engagementId: string; testerId: string; payloadDigest: string; verified: boolean; verification: { ok?: boolean; exitCode?: number; failures?: { check: string; message: string }[] } | null; publishedAt: string | null }
export interface Me { userId: string; operator: boolean; memberships: { orgId: string; kind: string; role: string }[] }

export const FINDING_STATES = ['reported', 'acknowledged', 'triaged', 'fix-in-progress', 'fixed', 'mitigated', 'wont-fix', 'disclosed', 'duplicate', 'not-applicable', 'withdrawn'] as const;
export const SEVERITIES = ['low', 'moderate', 'high', 'critical'] as const;
export const OBLIGATION_STATES = ['open', 'fulfilled', 'confirmed', 'disputed'] as const;

/** A finding as its parties and pre-notified agencies see it (docs/formats/findings.md). */
export interface Finding {
  id: string; published: true; state: (typeof FINDING_STATES)[number]; resolution: string | null; title: string; riskDomain: string; severity: (typeof SEVERITIES)[number]; restricted: boolean; inTheWild: boolean;
  reporterId: string; developerId: string; engagementId: string | null; modelIds: string[]; jurisdictions: string[];
  details: { description: string; reproduction: string; evidence: { kind: string; ref: string; digest?: string }[] } | null; detailsDigest: string;
  clock: { track: string | null; notifiedAt: string; fixDeadline: string | null; graceGranted: boolean; fixedAt: string | null; preNotifyAt: string | null; disclosureAt: string | null; preNotifiedAt: string | null; publishedAt: string | null; inTheWildSince: string | null };
  agencies: { orgId: string; notifiedAt: string; acknowledgedAt: string | null }[];
  timeline: { at: string; kind: string; by: string | null; from?: string; to?: string; reason: string | null }[];
  createdAt: string; updatedAt: string;
}
/** All a non-party learns of an embargoed or reserved identifier. */
export interface FindingExistence { id: string; published: false }
export interface Obligation { id: string; verdictDigest: string; developerId: string; testerId: string; action: Record<string, unknown>; title: string; deadline: string; state: (typeof OBLIGATION_STATES)[number]; overdue: boolean; overdueAt: string | null; fulfilment: Record<string, unknown> | null; review: Record<string, unknown> | null; createdAt: string; updatedAt: string }
export interface InboxMessage { id: string; kind: string; subject: string; data: Record<string, unknown>; createdAt: string; readAt: string | null }
export interface ReportWithBundle extends Report { bundle: { payloadType: string; payload: string } }

const qs = (q: Record<string, string | number | boolean | undefined>) => {
  const p = new URLSearchParams(Object.entries(q).filter((e): e is [string, string | number | boolean] => e[1] !== undefined && e[1] !== '').map(([k, v]) => [k, String(v)])).toString();
  return p ? `?${p}` : '';
};
const e = encodeURIComponent;

/** The calls the registry screens make, one typed function per endpoint. */
export const registry = {
  me: () => rget<Me>('/api/v1/me'),
  orgs: () => rget<Page<Org>>('/api/v1/orgs?limit=200'),
  models: () => rget<Page<Model>>('/api/v1/models?limit=200'),
  model: (id: string) => rget<Model>(`/api/v1/models/${e(id)}`),
  publishedReports: (q: { model?: string; tester?: string } = {}) => rget<Page<Report & { modelId: string }>>(`/api/v1/reports${qs({ ...q, limit: 200 })}`),
  report: (id: string) => rget<ReportWithBundle>(`/api/v1/reports/${e(id)}?bundle=true`),
  findings: (q: { mine?: boolean; state?: string } = {}) => rget<Page<Finding>>(`/api/v1/findings${qs({ ...q, limit: 200 })}`),
  finding: (id: string) => rget<Finding | FindingExistence>(`/api/v1/findings/${e(id)}`),
  obligations: (q: { state?: string; overdue?: boolean } = {}) => rget<{ items: Obligation[] }>(`/api/v1/obligations${qs(q)}`),
  inbox: (orgId: string, q: { unread?: boolean } = {}) => rget<Page<InboxMessage>>(`/api/v1/orgs/${e(orgId)}/inbox${qs({ ...q, limit: 200 })}`),
  markRead: (orgId: string, messageId: string) => call<{ ok: true }>('POST', `/api/v1/orgs/${e(orgId)}/inbox/${e(messageId)}/read`, {}),
  acknowledgeNotice: (findingId: string, agencyId: string) => call<Finding>('POST', `/api/v1/findings/${e(findingId)}/acknowledge-notice`, { agencyId }),
};
