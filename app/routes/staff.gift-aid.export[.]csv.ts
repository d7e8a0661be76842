import type { LoaderFunctionArgs } from '@remix-run/node'
import { z } from 'zod'
import { csvHeaders } from '#app/utils/csv.ts'
import { getDb } from '#app/utils/db.server.ts'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { auditExport } from '#app/modules/donations/donations-csv.server.ts'
import { giftAidCsvStream, giftAidRangeSchema, type ScheduleSource } from '#app/modules/donations/gift-aid.server.ts'
import { getGiftAidClaimRange } from '#app/modules/donations/gift-aid-claims.server.ts'

/**
 * HMRC's Gift Aid schedule as CSV: by default the eligible gifts in the dates given that are in no
 * claim yet (the next claim); `gifts=all` lists them claimed or not, at what they are worth now;
 * `claim=<id>` is a past claim's schedule as it was claimed.
 */

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

const rangeQuerySchema = z.intersection(
  giftAidRangeSchema,
  z.object({ gifts: z.enum(['unclaimed', 'all'], { message: 'gifts is unclaimed (the default) or all' }).default('unclaimed') }),
)
const claimQuerySchema = z.object({ claim: z.string().uuid('claim is the id of a claim on the Gift Aid page') })

const plainText = (message: string, status: number) =>
  new Response(message, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } })

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, handle.staffRole)
  const params = new URL(request.url).searchParams
  const db = getDb()
  let source: ScheduleSource
  let name: string
  if (params.has('claim')) {
    const parsed = claimQuerySchema.safeParse({ claim: params.get('claim') })
    if (!parsed.success) return plainText(parsed.error.issues.map((issue) => issue.message).join('. '), 400)
    const range = await getGiftAidClaimRange(db, parsed.data.claim)
    if (!range) return plainText('There is no such Gift Aid claim', 404)
    source = { kind: 'claim', claimId: parsed.data.claim, range }
    name = `gift-aid-claim-${range.from}-to-${range.to}.csv`
  } else {
    const parsed = rangeQuerySchema.safeParse({ from: params.get('from') ?? '', to: params.get('to') ?? '', gifts: params.get('gifts') || undefined })
    if (!parsed.success) {
      return plainText(`Give the claim's first and last days as from=YYYY-MM-DD&to=YYYY-MM-DD. ${parsed.error.issues.map((issue) => issue.message).join('. ')}`, 400)
    }
    const { gifts, ...range } = parsed.data
    source = { kind: 'range', range, which: gifts }
    name = `gift-aid-${gifts === 'all' ? 'all' : 'unclaimed'}-${range.from}-to-${range.to}.csv`
  }
  await auditExport(db, staff.id, 'gift_aid.export', source.kind === 'claim' ? { claim: source.claimId } : { ...source.range, gifts: source.which })
  return new Response(giftAidCsvStream(db, source), { headers: csvHeaders(name) })
}
