import type { Transaction } from 'kysely';
import { canonicalJson } from '../common/canonical.js';
import { newId } from './events.js';
import type { RegistryDB } from './schema.js';

/**
 * Notifications: one inbox row per organisation and one pending delivery per active webhook of
 * that organisation, written in the SAME transaction as the state change they announce. A crash
 * therefore either loses both or neither; the delivery worker (webhooks.ts) sends what is pending.
 */
export interface Notice {
  kind: string;
  subject: string;
  data: Record<string, unknown>;
}

export async function notify(trx: Transaction<RegistryDB>, orgIds: Iterable<string>, n: Notice, at: Date): Promise<void> {
  const seen = new Set<string>();
  for (const orgId of orgIds) {
    if (seen.has(orgId)) continue;
    seen.add(orgId);
    const inboxId = newId('msg');
    const iso = at.toISOString();
    await trx.insertInto('inbox').values({ id: inboxId, org_id: orgId, kind: n.kind, subject: n.subject, data: canonicalJson(n.data), created_at: iso, read_at: null }).execute();
    const hooks = await trx.selectFrom('webhooks').select('id').where('org_id', '=', orgId).where('disabled_at', 'is', null).execute();
    for (const h of hooks)
      await trx.insertInto('deliveries').values({ id: newId('msg'), webhook_id: h.id, inbox_id: inboxId, state: 'pending', attempts: 0, next_attempt_at: iso, last_status: null, last_error: null, delivered_at: null, created_at: iso }).execute();
  }
}
