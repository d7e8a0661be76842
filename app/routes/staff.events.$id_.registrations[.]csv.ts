import type { LoaderFunctionArgs } from '@remix-run/node'
import { registrationsCsvStream } from '#app/modules/registrations/registrations-csv.server.ts'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { getStaffEvent } from '#app/modules/events/staff-events.server.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

/**
 * `/staff/events/:id/registrations.csv`: every registration of one event, streamed. The export is
 * recorded before the first byte goes out: a file of names and emails that left the building is
 * worth a line in the audit log even if the download is then abandoned.
 */
export async function loader({ request, params }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, handle.staffRole)
  const db = getDb()
  const event = await getStaffEvent(db, params.id)
  if (!event) throw new Response('Not found', { status: 404, headers: { 'Cache-Control': 'no-store' } })
  await recordAudit(db, { staffUserId: staff.id, action: 'registrations.export', subjectType: 'event', subjectId: event.id, details: { format: 'csv' } })
  // Slugs are already plain; this keeps a header safe whatever staff typed.
  const filename = `registrations-${event.slug.replace(/[^A-Za-z0-9._-]/g, '-')}.csv`
  return new Response(registrationsCsvStream(db, event.id), {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8; header=present',
      'Content-Disposition': `attachment; filename="${filename}"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    },
  })
}
