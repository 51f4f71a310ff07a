import type { Generated } from 'kysely';

/**
 * The registry's tables (one schema for SQLite and PostgreSQL; `migrations.ts` creates them).
 * Times are ISO 8601 UTC strings, JSON columns are text: both dialects store them the same way,
 * so the two back-ends answer byte-identically. Every state change also writes an `events` row
 * in the same transaction, and every event's digest is appended to the registry's transparency
 * log through the outbox columns (`tlog_index` null until drained).
 */
export interface OrgsTable {
  id: string;
  kind: 'developer' | 'tester' | 'accreditor' | 'agency';
  sub_kind: string | null;
  name: string;
  jurisdiction: string;
  created_at: string;
}

export interface OrgKeysTable {
  key_id: string;
  org_id: string;
  public_jwk: string;
  added_at: string;
  revoked_at: string | null;
}

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string | null;
  created_at: string;
  /** Registry operators (may create organisations). */
  operator: number;
}

export interface MembershipsTable {
  user_id: string;
  org_id: string;
  role: 'admin' | 'member' | 'viewer';
}

export interface TokensTable {
  id: string;
  user_id: string;
  token_hash: string;
  scopes: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

export interface AccreditationsTable {
  id: string;
  accreditor_id: string;
  tester_id: string;
  scope: string;
  state: 'granted' | 'suspended' | 'withdrawn';
  reassess_by: string;
  /** The latest signed statement (DSSE envelope JSON) of this accreditation's state. */
  statement: string;
  created_at: string;
  updated_at: string;
}

export interface RecognitionsTable {
  id: string;
  /** The accreditor that accepts… */
  recogniser_id: string;
  /** …accreditations issued by this one, within `scope`. */
  recognised_id: string;
  scope: string;
  state: 'active' | 'ended';
  statement: string;
  created_at: string;
}

export interface ConflictsTable {
  tester_id: string;
  developer_id: string;
  reason: string;
  declared_at: string;
}

export interface ModelsTable {
  id: string;
  developer_id: string;
  name: string;
  release_digest: string;
  release: string;
  facts: string | null;
  scope_decision: string | null;
  /** 1 in scope, 0 not, null undecided (from scope_decision; indexed for the public list). */
  in_scope: number | null;
  created_at: string;
}

export interface EngagementsTable {
  id: string;
  developer_id: string;
  tester_id: string;
  model_id: string;
  suites: string;
  policy_digest: string | null;
  access_level: string;
  window_start: string;
  window_end: string;
  state: string;
  grant_digest: string | null;
  grant_level: string | null;
  created_at: string;
  updated_at: string;
}

export interface ReportsTable {
  id: string;
  engagement_id: string;
  tester_id: string;
  payload_digest: string;
  bundle: string;
  run_log_digest: string | null;
  verification: string;
  verified: number;
  published_at: string | null;
  created_at: string;
}

export interface EventsTable {
  seq: Generated<number>;
  id: string;
  at: string;
  actor_user: string | null;
  actor_org: string | null;
  kind: string;
  subject: string;
  data: string;
  prev_digest: string;
  digest: string;
  tlog_index: number | null;
}

export interface RegistryDB {
  orgs: OrgsTable;
  org_keys: OrgKeysTable;
  users: UsersTable;
  memberships: MembershipsTable;
  tokens: TokensTable;
  accreditations: AccreditationsTable;
  recognitions: RecognitionsTable;
  conflicts: ConflictsTable;
  models: ModelsTable;
  engagements: EngagementsTable;
  reports: ReportsTable;
  events: EventsTable;
}
