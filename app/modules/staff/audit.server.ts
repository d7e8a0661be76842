import { sql } from 'kysely'
import { z } from 'zod'
import { escapeLike, type Database, type DatabaseTransaction } from '#app/utils/db.server.ts'
import { isUuid } from '#app/utils/ids.ts'
import { startOfNextDayInZone, startOfDayInZone } from '#app/utils/time-zone.server.ts'

export type AuditSubject = 'organisation' | 'appeal' | 'event' | 'donation' | 'registration' | 'staff_user' | 'supporter' | 'email' | 'export' | 'stripe_event' | 'gift_aid_claim'

/**
 * The one way anything writes to the audit log: who did it (null for the system or a command
 * line), what, to which record, with details that never hold personal data (ADR 011). Written in
 * the caller's transaction, so the entry exists exactly when the change does.
 */
export async function recordAudit(
  db: Database | DatabaseTransaction,
  entry: { staffUserId: string | null; action: string; subjectType: AuditSubject | null; subjectId: string | null; details?: Record<string, unknown> },
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      staff_user_id: entry.staffUserId,
      action: entry.action,
      subject_type: entry.subjectType,
      subject_id: entry.subjectId,
      details: JSON.stringify(entry.details ?? {}),
    })
    .execute()
}

/**
 * The audit log as administrators read it: newest first, a page at a time. Reading it writes
 * nothing, so looking at the log never changes the log.
 */

export const AUDIT_PAGE_SIZE = 50
const DETAIL_VALUE_MAX = 80
const DETAILS_SHOWN = 8

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'Enter the date like 2027-06-14')
  .refine((text) => !Number.isNaN(Date.parse(`${text}T00:00:00Z`)) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text), 'Enter a real date')
  .optional()

export const auditFilterSchema = z
  .object({
    action: z
      .string()
      .trim()
      .max(60, 'Keep the action to 60 characters')
      .regex(/^[a-z0-9_.]*$/, 'Actions are lower-case words joined by dots, like event. or staff.invite')
      .optional(),
    staff: z.string().refine((value) => isUuid(value), 'Choose a staff member from the list').optional(),
    from: day,
    to: day,
  })
  .refine((filters) => !filters.from || !filters.to || filters.from <= filters.to, { path: ['to'], message: 'The end date must be on or after the start date' })

export type AuditFilters = z.output<typeof auditFilterSchema>

export function parseAuditFilters(params: URLSearchParams):
  | { ok: true; filters: AuditFilters }
  | { ok: false; fieldErrors: Record<string, string>; fields: Record<string, string> } {
  const fields: Record<string, string> = {}
  for (const name of ['action', 'staff', 'from', 'to']) {
    const value = params.get(name)?.trim()
    if (value) fields[name] = value
  }
  const parsed = auditFilterSchema.safeParse(fields)
  if (parsed.success) return { ok: true, filters: parsed.data }
  const fieldErrors: Record<string, string> = {}
  for (const issue of parsed.error.issues) fieldErrors[String(issue.path[0] ?? 'form')] ??= issue.message
  return { ok: false, fieldErrors, fields }
}

export function auditFiltersToSearchParams(filters: AuditFilters): URLSearchParams {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(filters)) if (value) params.set(name, value)
  return params
}

/** The cursor is the id of the last row shown; the page after it starts below its (created_at, id). */
export function parseAuditCursor(text: string | null): number | null | 'invalid' {
  if (text === null || text === '') return null
  return /^\d{1,18}$/.test(text) ? Number(text) : 'invalid'
}


export type AuditEntry = {
  id: number
  createdAt: Date
  action: string
  who: string
  whoEmail: string | null
  subject: { type: string; id: string; label: string | null; href: string | null } | null
  details: { key: string; value: string }[]
  moreDetails: number
}

export async function listAuditLog(db: Database, filters: AuditFilters, after: number | null, pageSize = AUDIT_PAGE_SIZE) {
  let query = db
    .selectFrom('audit_log as a')
    .leftJoin('staff_users as actor', 'actor.id', 'a.staff_user_id')
    .leftJoin('staff_users as subject_user', (join) =>
      join.on(sql<boolean>`a.subject_type = 'staff_user' and subject_user.id::text = a.subject_id`),
    )
    .leftJoin('events as subject_event', (join) => join.on(sql<boolean>`a.subject_type = 'event' and subject_event.id::text = a.subject_id`))
    .select([
      'a.id',
      'a.created_at',
      'a.action',
      'a.subject_type',
      'a.subject_id',
      'a.details',
      'actor.name as actor_name',
      'actor.email as actor_email',
      'subject_user.name as subject_user_name',
      'subject_event.title as subject_event_title',
    ])
  if (filters.action) query = query.where(sql<boolean>`a.action like ${`${escapeLike(filters.action)}%`}`)
  if (filters.staff) query = query.where('a.staff_user_id', '=', filters.staff)
  // Days are the organisation's days (London), as on the donations page.
  if (filters.from) query = query.where('a.created_at', '>=', startOfDayInZone(filters.from))
  if (filters.to) query = query.where('a.created_at', '<', startOfNextDayInZone(filters.to))
  // Compared in the database, at the database's own (microsecond) precision.
  if (after !== null) query = query.where(sql<boolean>`(a.created_at, a.id) < (select c.created_at, c.id from audit_log c where c.id = ${after})`)
  const rows = await query
    .orderBy('a.created_at', 'desc')
    .orderBy('a.id', 'desc')
    .limit(pageSize + 1)
    .execute()
  const page = rows.slice(0, pageSize)
  const entries: AuditEntry[] = page.map((row) => {
    const details = Object.entries(row.details ?? {})
    return {
      id: Number(row.id),
      createdAt: row.created_at,
      action: row.action,
      who: row.actor_name ?? (row.actor_email ? row.actor_email : 'System'),
      whoEmail: row.actor_email,
      subject:
        row.subject_type && row.subject_id
          ? {
              type: row.subject_type,
              id: row.subject_id,
              label: row.subject_user_name ?? row.subject_event_title ?? null,
              href: subjectHref(row.subject_type, row.subject_id),
            }
          : null,
      details: details.slice(0, DETAILS_SHOWN).map(([key, value]) => ({ key, value: detailValue(value) })),
      moreDetails: Math.max(0, details.length - DETAILS_SHOWN),
    }
  })
  return { entries, nextCursor: rows.length > pageSize ? String(entries.at(-1)!.id) : null }
}

function subjectHref(type: string, id: string): string | null {
  if (!isUuid(id)) return null
  if (type === 'event') return `/staff/events/${id}`
  if (type === 'donation') return `/staff/donations/${id}`
  if (type === 'staff_user') return '/staff/users'
  if (type === 'gift_aid_claim') return '/staff/gift-aid'
  return null
}

/** A detail as one short line: strings as they are, anything else as compact JSON, cut to fit. */
export function detailValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value)
  return text.length > DETAIL_VALUE_MAX ? `${text.slice(0, DETAIL_VALUE_MAX - 1)}…` : text
}

export async function listStaffForAuditFilter(db: Database) {
  return db.selectFrom('staff_users').select(['id', 'name', 'email']).orderBy('name').orderBy('email').execute()
}
