import type { Kysely } from 'kysely'

/**
 * What a supporter checks before trusting a charity with a gift: its registered address (beside
 * the charity number the organisation row already has), and the privacy notice's text, which
 * administrators edit on a staff page. A null notice means the default text in the app is shown.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('organisation')
    .addColumn('registered_address', 'text')
    .addColumn('privacy_notice_markdown', 'text')
    .addColumn('privacy_notice_updated_at', 'timestamptz')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('organisation')
    .dropColumn('registered_address')
    .dropColumn('privacy_notice_markdown')
    .dropColumn('privacy_notice_updated_at')
    .execute()
}
