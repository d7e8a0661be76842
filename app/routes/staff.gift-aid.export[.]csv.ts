import type { LoaderFunctionArgs } from '@remix-run/node'
import { csvHeaders } from '#app/utils/csv.ts'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { auditExport } from '#app/modules/donations/donations-csv.server.ts'
import { giftAidRangeSchema, giftAidCsvStream } from '#app/modules/donations/gift-aid.server.ts'

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, handle.staffRole)
  const params = new URL(request.url).searchParams
  const parsed = giftAidRangeSchema.safeParse({ from: params.get('from') ?? '', to: params.get('to') ?? '' })
  if (!parsed.success) {
    const message = `Give the claim's first and last days as from=YYYY-MM-DD&to=YYYY-MM-DD. ${parsed.error.issues.map((issue) => issue.message).join('. ')}`
    return new Response(message, { status: 400, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } })
  }
  const db = getDb()
  await auditExport(db, staff.id, 'gift_aid.export', parsed.data)
  return new Response(giftAidCsvStream(db, parsed.data), {
    headers: csvHeaders(`gift-aid-${parsed.data.from}-to-${parsed.data.to}.csv`),
  })
}
