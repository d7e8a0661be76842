import { type Kysely } from 'kysely'

/**
 * `events.calendar_changed_at`: when the event's time, place or joining details last changed (the
 * edit's own instant, as the change emails use). The public calendar file takes its SEQUENCE from
 * it, so calendars that imported the file replace the entry after such a change, and not after a
 * new title or description. Null until the first such change: SEQUENCE 0, as every file had before.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('events').addColumn('calendar_changed_at', 'timestamptz').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('events').dropColumn('calendar_changed_at').execute()
}
