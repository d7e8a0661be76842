import type { LoaderFunctionArgs } from '@remix-run/node'
import { csvHeaders } from '#app/utils/csv.ts'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { auditExport, donationsCsvStream } from '#app/modules/donations/donations-csv.server.ts'
import { donationFiltersFromUrl } from '#app/modules/donations/staff-donations.server.ts'

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, handle.staffRole)
  // The same search as the list: a name or email only ever sealed in `s` (docs/decisions/022).
  const parsed = donationFiltersFromUrl(new URL(request.url).searchParams, staff.id)
  if (!parsed.ok) return new Response(parsed.error, { status: 400, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } })
  const db = getDb()
  // Recorded before the first row goes out: a download cut short has still shown personal data.
  // The audit log records that a search narrowed the export, never what was searched for.
  const { q, ...filters } = parsed.filters
  await auditExport(db, staff.id, 'donations.export', { filters, searchedByNameOrEmail: Boolean(q) })
  const day = new Date().toISOString().slice(0, 10)
  return new Response(donationsCsvStream(db, parsed.filters), { headers: csvHeaders(`donations-${day}.csv`) })
}
