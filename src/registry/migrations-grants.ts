import type { Kysely, Migration } from 'kysely';

/** Issue 23: grant requests (src/registry/grant-requests.ts). */
export const grantRequestsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('grant_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('engagement_id', 'text', (c) => c.notNull().references('engagements.id'))
      .addColumn('developer_id', 'text', (c) => c.notNull().references('orgs.id'))
      .addColumn('tester_id', 'text', (c) => c.notNull().references('orgs.id'))
      .addColumn('origin', 'text', (c) => c.notNull())
      .addColumn('requested_by', 'text')
      .addColumn('level', 'text', (c) => c.notNull())
      .addColumn('budget', 'text')
      .addColumn('note', 'text')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('decision', 'text')
      .addColumn('decided_by', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('decided_at', 'text')
      .execute();
    await db.schema.createIndex('grant_requests_engagement').on('grant_requests').columns(['engagement_id', 'state']).execute();
    await db.schema.createIndex('grant_requests_developer').on('grant_requests').columns(['developer_id', 'state', 'id']).execute();
    await db.schema.createIndex('grant_requests_tester').on('grant_requests').columns(['tester_id', 'state', 'id']).execute();
  },
};
