import { useEffect, useRef, useState } from 'react';
import { get } from './api';

export type Loaded<T> = { data: T | null; error: string | null; loading: boolean };

/** Fetches a path and re-fetches when it changes (or every `pollMs`, for runs in flight). */
export function useApi<T>(path: string | null, pollMs = 0): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null, loading: true });
  const shown = useRef<string | null>(null);
  useEffect(() => {
    if (!path) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () =>
      get<T>(path)
        .then((data) => live && setState({ data, error: null, loading: false }))
        .catch((e: Error) => live && setState({ data: null, error: e.message, loading: false }))
        .finally(() => {
          if (live && pollMs) timer = setTimeout(load, pollMs);
        });
    // A new path shows nothing stale while it loads; a new polling interval keeps what is shown.
    if (shown.current !== path) setState({ data: null, error: null, loading: true });
    shown.current = path;
    void load();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [path, pollMs]);
  return state;
}

/** The hash route: `#/run/<id>/samples?errored=true` → ['run', id, 'samples'] and its query. */
export function useRoute(): { parts: string[]; query: URLSearchParams } {
  const read = () => {
    const h = window.location.hash.replace(/^#\/?/, '');
    const [p, q] = h.split('?');
    return { parts: (p ?? '').split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q ?? '') };
  };
  const [r, setR] = useState(read);
  useEffect(() => {
    const on = () => setR(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return r;
}

export const href = (parts: string[], query?: Record<string, string | undefined>): string => {
  const q = new URLSearchParams(Object.entries(query ?? {}).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')).toString();
  return '#/' + parts.map(encodeURIComponent).join('/') + (q ? `?${q}` : '');
};
