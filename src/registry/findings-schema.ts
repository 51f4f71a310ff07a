import type { Kysely, Migration } from 'kysely';

/**
 * Tables of findings, obligations and notifications (issue 24). Declared by module augmentation
 * of `RegistryDB` and created by their own migration, so the registry's base schema is untouched.
 * Times are ISO 8601 UTC strings; JSON columns are text (identical on SQLite and PostgreSQL).
 */
export interface FindingsTable {
  /** AF-<year>-<scope>-<seq>, e.g. AF-2026-3FA2C1-00001. */
  id: string;
  reporter_id: string;
  developer_id: string;
  engagement_id: string | null;
  title: string;
  risk_domain: string;
  severity: string;
  restricted: number;
  /** JSON: model ids affected. */
  models: string;
  /** JSON: jurisdictions where the affected releases are available (agency matching). */
  jurisdictions: string;
  /** JSON: description, reproduction, evidence (withheld from the public while embargoed or restricted). */
  details: string;
  /** Hiding commitment to the details: SHA-256("assay/commit/v1\n" ‖ nonce ‖ SHA-256(JCS(details))). */
  details_digest: string;
  details_nonce: string;
  /** JSON: the clock policy in force when filed (a later registry setting moves nothing). */
  clock: string;
  state: string;
  in_the_wild: number;
  notified_at: string;
  fix_deadline: string | null;
  disclosure_at: string | null;
  prenotify_at: string | null;
  prenotified_at: string | null;
  published_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface FindingIdsTable {
  id: string;
  scope: string;
  year: number;
  seq: number;
  tester_id: string;
  reserved_at: string;
  filed: number;
}

export interface FindingPartiesTable {
  finding_id: string;
  org_id: string;
  /** agency: pre-notified under embargo; reveal: a named party the restricted details were revealed to. */
  role: string;
  at: string;
  acknowledged_at: string | null;
}

export interface AgencyDomainsTable {
  agency_id: string;
  domains: string;
  updated_at: string;
}

export interface VerdictsTable {
  digest: string;
  tester_id: string;
  developer_id: string;
  model_id: string | null;
  /** JSON: jurisdictions whose agencies oversee the follow-through (told when an obligation is overdue). */
  jurisdictions: string;
  verdict: string;
  envelope: string;
  created_at: string;
}

export interface ObligationsTable {
  id: string;
  verdict_digest: string;
  developer_id: string;
  tester_id: string;
  /** JSON: the policy action this obligation discharges. */
  action: string;
  title: string;
  deadline: string;
  state: string;
  /** JSON: the developer's fulfilment (how, evidence), or null. */
  fulfilment: string | null;
  /** JSON: the tester's or agency's confirmation or dispute, or null. */
  review: string | null;
  overdue_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface InboxTable {
  id: string;
  org_id: string;
  kind: string;
  subject: string;
  data: string;
  created_at: string;
  read_at: string | null;
}

export interface WebhooksTable {
  id: string;
  org_id: string;
  url: string;
  /** whsec_<base64> (Standard Webhooks secret). */
  secret: string;
  created_at: string;
  disabled_at: string | null;
}

export interface DeliveriesTable {
  /** msg_…: the webhook-id header, the receiver's idempotency key (the same on every retry). */
  id: string;
  webhook_id: string;
  inbox_id: string;
  state: string;
  attempts: number;
  next_attempt_at: string;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
}

declare module './schema.js' {
  interface RegistryDB {
    findings: FindingsTable;
    finding_ids: FindingIdsTable;
    finding_parties: FindingPartiesTable;
    agency_domains: AgencyDomainsTable;
    verdicts: VerdictsTable;
    obligations: ObligationsTable;
    inbox: InboxTable;
    webhooks: WebhooksTable;
    deliveries: DeliveriesTable;
  }
}

export const FINDINGS_MIGRATION = '2026_12_24_findings_obligations_notifications';

export function findingsMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.createTable('finding_ids')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('year', 'integer', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('tester_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('reserved_at', 'text', (c) => c.notNull())
        .addColumn('filed', 'integer', (c) => c.notNull())
        .addUniqueConstraint('finding_ids_seq', ['scope', 'year', 'seq'])
        .execute();
      await db.schema.createTable('findings')
        .addColumn('id', 'text', (c) => c.primaryKey().references('finding_ids.id'))
        .addColumn('reporter_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('developer_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('engagement_id', 'text', (c) => c.references('engagements.id'))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('risk_domain', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('restricted', 'integer', (c) => c.notNull())
        .addColumn('models', 'text', (c) => c.notNull())
        .addColumn('jurisdictions', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('details_digest', 'text', (c) => c.notNull())
        .addColumn('details_nonce', 'text', (c) => c.notNull())
        .addColumn('clock', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('in_the_wild', 'integer', (c) => c.notNull())
        .addColumn('notified_at', 'text', (c) => c.notNull())
        .addColumn('fix_deadline', 'text')
        .addColumn('disclosure_at', 'text')
        .addColumn('prenotify_at', 'text')
        .addColumn('prenotified_at', 'text')
        .addColumn('published_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('finding_parties')
        .addColumn('finding_id', 'text', (c) => c.notNull().references('findings.id'))
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('acknowledged_at', 'text')
        .addPrimaryKeyConstraint('finding_parties_pk', ['finding_id', 'org_id', 'role'])
        .execute();
      await db.schema.createTable('agency_domains')
        .addColumn('agency_id', 'text', (c) => c.primaryKey().references('orgs.id'))
        .addColumn('domains', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('verdicts')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('tester_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('developer_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('model_id', 'text', (c) => c.references('models.id'))
        .addColumn('jurisdictions', 'text', (c) => c.notNull())
        .addColumn('verdict', 'text', (c) => c.notNull())
        .addColumn('envelope', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('obligations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('verdict_digest', 'text', (c) => c.notNull().references('verdicts.digest'))
        .addColumn('developer_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('tester_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('deadline', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('fulfilment', 'text')
        .addColumn('review', 'text')
        .addColumn('overdue_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('inbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('read_at', 'text')
        .execute();
      await db.schema.createTable('webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('disabled_at', 'text')
        .execute();
      await db.schema.createTable('deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id'))
        .addColumn('inbox_id', 'text', (c) => c.notNull().references('inbox.id'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'text', (c) => c.notNull())
        .addColumn('last_status', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('delivered_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('findings_due').on('findings').columns(['published_at', 'disclosure_at']).execute();
      await db.schema.createIndex('findings_published').on('findings').columns(['published_at', 'id']).execute();
      await db.schema.createIndex('obligations_due').on('obligations').columns(['state', 'deadline']).execute();
      await db.schema.createIndex('inbox_org').on('inbox').columns(['org_id', 'created_at']).execute();
      await db.schema.createIndex('deliveries_due').on('deliveries').columns(['state', 'next_attempt_at']).execute();
    },
  };
}
