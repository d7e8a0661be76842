import { sql, type Kysely } from 'kysely'

/**
 * How much of a paid registration has been refunded, as Stripe's cumulative figure: a refund made
 * in Stripe's dashboard is told to the person once per amount, and an older event arriving late
 * (a lower figure) changes nothing.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('registrations')
    .addColumn('refunded_minor', 'bigint', (col) => col.notNull().defaultTo(0).check(sql`refunded_minor >= 0`))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('registrations').dropColumn('refunded_minor').execute()
}
