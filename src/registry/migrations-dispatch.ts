import type { Kysely, Migration } from 'kysely';

/** Issue 26: run specifications dispatched to testers' coordinators (src/registry/run-dispatch.ts). */
export const RUN_SPECS_MIGRATION = '2026_12_26_run_specs';
export const runSpecsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('run_specs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('engagement_id', 'text', (c) => c.notNull().references('engagements.id'))
      .addColumn('developer_id', 'text', (c) => c.notNull().references('orgs.id'))
      .addColumn('tester_id', 'text', (c) => c.notNull().references('orgs.id'))
      .addColumn('suite', 'text', (c) => c.notNull())
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('claim_id', 'text')
      .addColumn('claimed_by', 'text')
      .addColumn('lease_until', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('result', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('run_specs_tester').on('run_specs').columns(['tester_id', 'state', 'id']).execute();
    await db.schema.createIndex('run_specs_developer').on('run_specs').columns(['developer_id', 'state', 'id']).execute();
    await db.schema.createIndex('run_specs_engagement').on('run_specs').columns(['engagement_id', 'state']).execute();
  },
};
