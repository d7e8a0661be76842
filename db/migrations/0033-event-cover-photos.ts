import { sql, type Kysely } from 'kysely'

/**
 * A cover photo per event, optional (issue 13: events that read like Eventbrite or Luma). It is
 * kept where appeal photos are (appeal_photos, docs/decisions/015), uploaded and re-encoded by the
 * same code, and served at the same /photos/ addresses while an appeal or an event uses it
 * (docs/decisions/027). `cover_photo_path` is the address pages show; the demo events' covers are
 * files in public/ with a path and no id, as the demo appeals' photos are.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('events')
    .addColumn('cover_photo_id', 'uuid', (col) => col.references('appeal_photos.id'))
    .addColumn('cover_photo_path', 'text')
    .addColumn('cover_photo_alt', 'text')
    .execute()
  await db.schema
    .alterTable('events')
    .addCheckConstraint('events_cover_photo_id_has_path', sql`cover_photo_id is null or cover_photo_path is not null`)
    .execute()
  // Serving a photo asks whether an event still uses it; the foreign key's checks ask the same.
  await db.schema.createIndex('events_cover_photo_id_idx').on('events').column('cover_photo_id').where('cover_photo_id', 'is not', null).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('events_cover_photo_id_idx').execute()
  await db.schema.alterTable('events').dropConstraint('events_cover_photo_id_has_path').execute()
  await db.schema.alterTable('events').dropColumn('cover_photo_id').dropColumn('cover_photo_path').dropColumn('cover_photo_alt').execute()
}
