import type { RedisOptions } from 'ioredis';
import { AssayError } from '../common/errors.js';

/** Where a distributed run's queue lives: a Redis URL, and the key prefix that keeps runs of different deployments apart. */
export interface QueueTarget {
  /** The URL without its password (safe to print and to record). */
  display: string;
  prefix: string;
  connection: RedisOptions;
}

/** The BullMQ queue all units go to (the prefix separates deployments; the run id separates runs). */
export const QUEUE_NAME = 'assay-units';

const PREFIX = /^[A-Za-z0-9_.-]{1,64}$/;

/** Parses `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS). */
export function parseQueueUrl(url: string, prefix = 'assay'): QueueTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AssayError('QUEUE_URL', `--queue "${url}" is not a URL; expected redis://host:6379/0`, { field: 'queue' });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new AssayError('QUEUE_URL', `--queue must be a redis:// or rediss:// URL, not ${u.protocol}//`, { field: 'queue' });
  if (!u.hostname) throw new AssayError('QUEUE_URL', '--queue names no host', { field: 'queue' });
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 15 || !/^\d*$/.test(dbText)) throw new AssayError('QUEUE_URL', `--queue database "${dbText}" must be a number 0-15 (redis://host:6379/0)`, { field: 'queue' });
  const port = u.port === '' ? 6379 : Number(u.port);
  if (!PREFIX.test(prefix)) throw new AssayError('QUEUE_PREFIX', `--queue-prefix "${prefix}" must be 1-64 letters, digits, '_', '.', '-'`, { field: 'queue-prefix' });
  const connection: RedisOptions = {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    // BullMQ's blocking connections need this; a lost server is detected by our own watchdog.
    maxRetriesPerRequest: null,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  const shown = new URL(url);
  if (shown.password) shown.password = '***';
  return { display: shown.toString(), prefix, connection };
}
