import type { Database } from '#app/utils/db.server.ts'

export async function getOrganisation(db: Database) {
  return db
    .selectFrom('organisation')
    .select(['name', 'short_name', 'tagline', 'vision', 'mission', 'focus_areas', 'contact_email'])
    .where('id', '=', 1)
    .executeTakeFirst()
}

export async function listTestimonials(db: Database) {
  return db
    .selectFrom('testimonials')
    .select(['id', 'quote', 'author', 'author_context'])
    .where('published', '=', true)
    .orderBy('position')
    .execute()
}
