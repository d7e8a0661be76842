import { sql, type Kysely } from 'kysely'

/**
 * Appeal photos move from files under UPLOADS_DIR into the database (docs/decisions/015): any web
 * server can serve any photo, and one backup holds everything. An appeal points at its photo by
 * `photo_id` (and keeps `photo_path`, the address pages show, which for the demo appeals is an
 * SVG in public/). Moving files already on disk is `npm run photos:import`, not this migration:
 * a migration cannot rely on the files being on the machine that runs it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('appeal_photos')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('bytes', 'bytea', (col) => col.notNull())
    .addColumn('content_type', 'text', (col) => col.notNull().check(sql`content_type in ('image/jpeg', 'image/png', 'image/webp')`))
    .addColumn('byte_size', 'integer', (col) => col.notNull())
    // The ETag and part of the address: checked here, so a served hash can never be stale.
    .addColumn('sha256', 'text', (col) => col.notNull())
    .addColumn('width', 'integer', (col) => col.notNull().check(sql`width > 0`))
    .addColumn('height', 'integer', (col) => col.notNull().check(sql`height > 0`))
    // The file name under /uploads/ a photo was imported from, so links shared before keep working.
    .addColumn('legacy_name', 'text', (col) => col.unique())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('appeal_photos_byte_size_check', sql`byte_size = octet_length(bytes)`)
    .addCheckConstraint('appeal_photos_sha256_check', sql`sha256 = encode(sha256(bytes), 'hex')`)
    .execute()
  // JPEG, PNG and WebP are compressed already: PostgreSQL's own compression would cost CPU on
  // every write and save nothing, so the bytes are stored out of line as they are.
  await sql`alter table appeal_photos alter column bytes set storage external`.execute(db)

  await db.schema
    .alterTable('appeals')
    .addColumn('photo_id', 'uuid', (col) => col.references('appeal_photos.id'))
    .execute()
  await db.schema.alterTable('appeals').addCheckConstraint('appeals_photo_id_has_path', sql`photo_id is null or photo_path is not null`).execute()
  // Serving a photo asks whether an appeal still uses it; the foreign key's checks ask the same.
  await db.schema.createIndex('appeals_photo_id_idx').on('appeals').column('photo_id').where('photo_id', 'is not', null).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('appeals').dropConstraint('appeals_photo_id_has_path').execute()
  await db.schema.alterTable('appeals').dropColumn('photo_id').execute()
  await db.schema.dropTable('appeal_photos').execute()
}
