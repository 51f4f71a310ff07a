import { AssayError } from '../common/errors.js';

/**
 * A small typed client for the registry API (`/api/v1`), used by `assay registry …`, the demo
 * and the tests: one code path for every caller. Errors are the server's problem+json, kept whole.
 */
export class RegistryHttpError extends AssayError {
  constructor(
    readonly status: number,
    readonly body: { title?: string; detail?: string; field?: string } | null,
    method: string,
    path: string,
  ) {
    super('REGISTRY_HTTP', `${method} ${path}: HTTP ${status}${body?.title ? ` ${body.title}` : ''}${body?.detail ? `: ${body.detail}` : ''}`, body?.field ? { field: body.field } : {});
  }
}

export class RegistryClient {
  constructor(
    readonly baseUrl: string,
    public token: string | null = null,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  async call<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, query?: Record<string, string | number | boolean | undefined>): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), redirect: 'error' });
    } catch (err) {
      throw new AssayError('REGISTRY_UNREACHABLE', `cannot reach the registry at ${this.baseUrl}: ${(err as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!res.ok) throw new RegistryHttpError(res.status, parsed as RegistryHttpError['body'], method, path);
    return parsed as T;
  }

  get = <T = unknown>(path: string, query?: Record<string, string | number | boolean | undefined>) => this.call<T>('GET', path, undefined, query);
  post = <T = unknown>(path: string, body: unknown = {}) => this.call<T>('POST', path, body);
  del = <T = unknown>(path: string) => this.call<T>('DELETE', path);

  /** Follows cursors to the end (bounded by `max` items). */
  async all<T>(path: string, query: Record<string, string | number | boolean | undefined> = {}, max = 100_000): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.get<{ items: T[]; next: string | null }>(path, { ...query, cursor, limit: 200 });
      out.push(...page.items);
      cursor = page.next ?? undefined;
    } while (cursor && out.length < max);
    return out;
  }
}
