import { data, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node'
import { z } from 'zod'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { exportSupporter } from '#app/modules/supporters/supporter-records.server.ts'
import { supporterEmailSchema } from '#app/modules/supporters/supporters.server.ts'

/**
 * `POST /staff/supporters/export.json` (form field `email`): everything held about one supporter,
 * as a download. POST, so the address is never in a URL; the export is in the audit log before
 * the file leaves.
 */

const schema = z.object({ email: supporterEmailSchema })

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

const NO_STORE = { 'Cache-Control': 'no-store' }

/** Only the form on /staff/supporters asks for this file; a visit by address is told so. */
export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  throw new Response('Find the supporter on /staff/supporters and use its download button', { status: 405, headers: { ...NO_STORE, Allow: 'POST' } })
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  const parsed = schema.safeParse(Object.fromEntries(await readFormData(request)))
  if (!parsed.success) {
    return data({ fieldErrors: { email: parsed.error.issues[0]?.message ?? 'Enter the supporter’s email address' } }, { status: 400, headers: NO_STORE })
  }
  const { json, filename } = await exportSupporter(getDb(), staff.id, parsed.data.email)
  return new Response(json, {
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Disposition': `attachment; filename="${filename}"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    },
  })
}
