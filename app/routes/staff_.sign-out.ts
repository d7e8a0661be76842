import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { clearSessionCookie, getStaffSession, requireStaff, signOut, signOutEverywhere, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'

export const handle = { staffRole: 'viewer' } as const satisfies { staffRole: StaffRole }

/** Signing out is a POST: a GET must never change anything, and a link could sign people out. */
export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  return new Response('Method not allowed', { status: 405, headers: { Allow: 'POST', 'Cache-Control': 'no-store' } })
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const form = await readFormData(request)
  const db = getDb()
  const session = await getStaffSession(request, db)
  let setCookie: string
  if (session && form.get('everywhere') === '1') {
    await signOutEverywhere(db, session.staff.id)
    setCookie = clearSessionCookie()
  } else {
    setCookie = await signOut(request, db)
  }
  if (session) {
    await recordAudit(db, { staffUserId: session.staff.id, action: form.get('everywhere') === '1' ? 'staff.signed_out_everywhere' : 'staff.signed_out', subjectType: 'staff_user', subjectId: session.staff.id })
  }
  return redirect('/staff/sign-in', { status: 303, headers: { 'Set-Cookie': setCookie, 'Cache-Control': 'no-store' } })
}
