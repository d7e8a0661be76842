import { type Kysely } from 'kysely'

/** A double-submitted registration form is one registration, found again by its submission id. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('registrations')
    .addColumn('submission_id', 'uuid', (col) => col.unique())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('registrations').dropColumn('submission_id').execute()
}
