/**
 * Typed client of the registry API (`assay server`, /api/v1; schemas/registry-api.v1.openapi.json).
 * Browser sign-in uses the HttpOnly session cookie; unsafe requests carry the CSRF token the
 * sign-in returned (kept in memory only).
 */
import { ApiError } from './api';

let csrf: { header: string; token: string } | null = null;

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers[csrf.header] = csrf.token;
  const res = await fetch(path, { method, credentials: 'same-origin', headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const data = (await res.json().catch(() => ({}))) as { title?: string; detail?: string; code?: string; message?: string };
  if (!res.ok) throw new ApiError(res.status, data.title ?? data.code ?? 'HTTP', data.detail ?? data.message ?? `HTTP ${res.status}`);
  return data as T;
}

export const rget = <T,>(path: string) => call<T>('GET', path);

export async function signIn(email: string, password: string): Promise<void> {
  const r = await call<{ csrfToken: string; csrfHeader: string }>('POST', '/api/v1/session', { email, password });
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
export interface Report { id: string; engagementId: string; testerId: string; payloadDigest: string; verified: boolean; verification: { ok?: boolean; exitCode?: number; failures?: { check: string; message: string }[] } | null; publishedAt: string | null }
export interface Me { userId: string; operator: boolean; memberships: { orgId: string; kind: string; role: string }[] }
