import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { grantRequestsMigration } from './migrations-grants.js';
import { RUN_SPECS_MIGRATION, runSpecsMigration } from './migrations-dispatch.js';
import { FINDINGS_MIGRATION, findingsMigration } from './findings-schema.js';

/**
 * One migration set for SQLite and PostgreSQL. Only the event sequence differs by dialect
 * (SQLite's INTEGER PRIMARY KEY AUTOINCREMENT, PostgreSQL's bigserial); everything else is text
 * and integers, so the two stores hold the same bytes.
 */
type Dialect = 'sqlite' | 'postgres';

function m001(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.createTable('orgs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('sub_kind', 'text')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('jurisdiction', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('org_keys')
        .addColumn('key_id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('operator', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createTable('memberships')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('memberships_pk', ['user_id', 'org_id'])
        .execute();
      await db.schema.createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createTable('accreditations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('accreditor_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('tester_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reassess_by', 'text', (c) => c.notNull())
        .addColumn('statement', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('recognitions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('recogniser_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('recognised_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('statement', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('conflicts')
        .addColumn('tester_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('developer_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('declared_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('conflicts_pk', ['tester_id', 'developer_id'])
        .execute();
      await db.schema.createTable('models')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('developer_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('release_digest', 'text', (c) => c.notNull().unique())
        .addColumn('release', 'text', (c) => c.notNull())
        .addColumn('facts', 'text')
        .addColumn('scope_decision', 'text')
        .addColumn('in_scope', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('engagements')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('developer_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('tester_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('model_id', 'text', (c) => c.notNull().references('models.id'))
        .addColumn('suites', 'text', (c) => c.notNull())
        .addColumn('policy_digest', 'text')
        .addColumn('access_level', 'text', (c) => c.notNull())
        .addColumn('window_start', 'text', (c) => c.notNull())
        .addColumn('window_end', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('grant_digest', 'text')
        .addColumn('grant_level', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('reports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('engagement_id', 'text', (c) => c.notNull().references('engagements.id'))
        .addColumn('tester_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('payload_digest', 'text', (c) => c.notNull().unique())
        .addColumn('bundle', 'text', (c) => c.notNull())
        .addColumn('run_log_digest', 'text')
        .addColumn('verification', 'text', (c) => c.notNull())
        .addColumn('verified', 'integer', (c) => c.notNull())
        .addColumn('published_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('events')
        .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor_user', 'text')
        .addColumn('actor_org', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('prev_digest', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull().unique())
        .addColumn('tlog_index', 'bigint')
        .execute();
      await db.schema.createIndex('reports_published').on('reports').columns(['published_at', 'id']).execute();
      await db.schema.createIndex('reports_engagement').on('reports').columns(['engagement_id']).execute();
      await db.schema.createIndex('events_subject').on('events').columns(['subject', 'seq']).execute();
      await db.schema.createIndex('events_undrained').on('events').columns(['tlog_index', 'seq']).execute();
      await db.schema.createIndex('engagements_parties').on('engagements').columns(['developer_id', 'tester_id']).execute();
      await db.schema.createIndex('models_scope').on('models').columns(['in_scope', 'id']).execute();
      await db.schema.createIndex('accreditations_tester').on('accreditations').columns(['tester_id']).execute();
      void sql;
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => ({ '001_registry': m001(dialect), '2026_12_23_grant_requests': grantRequestsMigration, [FINDINGS_MIGRATION]: findingsMigration(), [RUN_SPECS_MIGRATION]: runSpecsMigration }) };
}
