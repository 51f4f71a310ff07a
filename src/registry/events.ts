import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import { canonicalJson, sha256Hex } from '../common/canonical.js';
import { encodeEntry } from '../tlog/entry.js';
import type { RegistryDB } from './schema.js';

/**
 * Registry events: every state change writes one row in the same transaction as the change.
 * Rows form a hash chain (each names its predecessor's digest) and each digest is appended to the
 * registry's transparency log by the outbox drain, so an edited, deleted or reordered row is
 * detected by `assay registry audit` against the log.
 */
export const EVENT_ENTRY_TYPE = 'registry-event';
export const GENESIS = `sha256:${'0'.repeat(64)}`;

export interface EventContent {
  id: string;
  at: string;
  actorUser: string | null;
  actorOrg: string | null;
  kind: string;
  subject: string;
  data: unknown;
  prev: string;
}

/** The event's digest: SHA-256 of the RFC 8785 form of its content (what the log commits to). */
export const eventDigest = (e: EventContent): string => `sha256:${sha256Hex(canonicalJson(e as unknown as Record<string, unknown>))}`;

/** The transparency-log entry for an event (public metadata: kind and sequence number only). */
export const eventEntry = (digest: string, kind: string, seq: number): Uint8Array =>
  encodeEntry({ type: EVENT_ENTRY_TYPE, digest, metadata: { kind, seq } });

export const newId = (prefix: string): string => `${prefix}_${randomBytes(12).toString('base64url')}`;

export interface EventInput {
  actorUser: string | null;
  actorOrg: string | null;
  kind: string;
  subject: string;
  data: unknown;
  at: Date;
}

/** Appends an event row inside the caller's transaction (which must serialise writers). */
export async function appendEvent(trx: Transaction<RegistryDB>, ev: EventInput): Promise<{ digest: string }> {
  const last = await trx.selectFrom('events').select('digest').orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const content: EventContent = {
    id: newId('ev'),
    at: ev.at.toISOString(),
    actorUser: ev.actorUser,
    actorOrg: ev.actorOrg,
    kind: ev.kind,
    subject: ev.subject,
    data: ev.data ?? null,
    prev: last?.digest ?? GENESIS,
  };
  const digest = eventDigest(content);
  await trx
    .insertInto('events')
    .values({
      id: content.id,
      at: content.at,
      actor_user: content.actorUser,
      actor_org: content.actorOrg,
      kind: content.kind,
      subject: content.subject,
      data: canonicalJson(content.data as Record<string, unknown>),
      prev_digest: content.prev,
      digest,
      tlog_index: null,
    })
    .execute();
  return { digest };
}

/** Rebuilds an event's content from its row (for audit). */
export function contentOfRow(r: { id: string; at: string; actor_user: string | null; actor_org: string | null; kind: string; subject: string; data: string; prev_digest: string }): EventContent {
  return { id: r.id, at: r.at, actorUser: r.actor_user, actorOrg: r.actor_org, kind: r.kind, subject: r.subject, data: JSON.parse(r.data) as unknown, prev: r.prev_digest };
}
