import { type Kysely } from 'kysely'

/** A double-submitted donation form is one donation, found again by the id rendered into the form. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('donations')
    .addColumn('checkout_submission_id', 'uuid', (col) => col.unique())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('donations').dropColumn('checkout_submission_id').execute()
}
