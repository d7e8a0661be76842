import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'

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

/** The organisation as every email's layout needs it. */
export async function getEmailOrganisation(db: Database | DatabaseTransaction) {
  const organisation = await db
    .selectFrom('organisation')
    .select(['name', 'primary_colour', 'accent_colour', 'contact_email', 'charity_number'])
    .where('id', '=', 1)
    .executeTakeFirst()
  return {
    name: organisation?.name ?? 'Sanad',
    primaryColour: organisation?.primary_colour ?? '#1f4e5f',
    accentColour: organisation?.accent_colour ?? '#a63f24',
    contactEmail: organisation?.contact_email ?? null,
    charityNumber: organisation?.charity_number ?? null,
  }
}
