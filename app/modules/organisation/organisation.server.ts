import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'

export async function getOrganisation(db: Database) {
  return db
    .selectFrom('organisation')
    .select(['name', 'short_name', 'tagline', 'vision', 'mission', 'focus_areas', 'contact_email', 'charity_number', 'registered_address'])
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

/** The organisation's columns every email's layout needs. */
export const EMAIL_ORGANISATION_COLUMNS = ['name', 'primary_colour', 'accent_colour', 'contact_email', 'charity_number'] as const

type EmailOrganisationRow = {
  name: string | null
  primary_colour: string | null
  accent_colour: string | null
  contact_email: string | null
  charity_number: string | null
}

/** The organisation as every email's layout needs it, with defaults before it is set up. */
export function toEmailOrganisation(organisation: EmailOrganisationRow | undefined) {
  return {
    name: organisation?.name ?? 'Sanad',
    primaryColour: organisation?.primary_colour ?? '#1f4e5f',
    accentColour: organisation?.accent_colour ?? '#a63f24',
    contactEmail: organisation?.contact_email ?? null,
    charityNumber: organisation?.charity_number ?? null,
  }
}

/** The organisation as every email's layout needs it. */
export async function getEmailOrganisation(db: Database | DatabaseTransaction) {
  const organisation = await db.selectFrom('organisation').select(EMAIL_ORGANISATION_COLUMNS).where('id', '=', 1).executeTakeFirst()
  return toEmailOrganisation(organisation)
}
