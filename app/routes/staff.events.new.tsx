import { parseWithZod } from '@conform-to/zod'
import { getEnv } from '#app/utils/env.server.ts'
import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Link, useActionData, useLoaderData } from '@remix-run/react'
import { StaffEventForm } from '#app/components/staff-event-form.tsx'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { UploadRefused } from '#app/modules/appeals/photos/upload.server.ts'
import { organisationTimeZone } from '#app/utils/time-zone.server.ts'
import { eventFormSchema, readEventSubmission } from '#app/modules/events/event-form.server.ts'
import { blankTicketRows, createEvent } from '#app/modules/events/event-admin.server.ts'
import { timeZoneChoices } from '#app/utils/time-zone.ts'

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction = () => [{ title: 'New event' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

const schema = eventFormSchema

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  return {
    timeZones: timeZoneChoices(),
    unpaidHoldsDefault: getEnv().UNPAID_HOLDS_PER_CLIENT,
    defaultValue: {
      timeZone: organisationTimeZone(),
      mode: 'in_person',
      capacity: '50',
      maxPerOrder: '4',
      status: 'draft',
      tickets: blankTicketRows(),
    },
  }
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  const form = await readEventSubmission(request).catch((error: unknown) => {
    if (error instanceof UploadRefused) throw new Response('This is not the event form', { status: 400, headers: { 'Cache-Control': 'no-store' } })
    throw error
  })
  const submission = parseWithZod(form.formData, { schema })
  // No status: a button of the form ("Add a ticket") asked for the form back with a change, not to save.
  if (submission.status !== 'success' || form.photo.error) {
    const reply = form.photo.error ? submission.reply({ fieldErrors: { photo: [form.photo.error] } }) : submission.reply()
    return data(reply, { status: submission.status === 'error' || form.photo.error ? 400 : 200 })
  }
  const result = await createEvent(getDb(), staff.id, submission.value, { photo: form.photo.photo })
  if (!result.ok) return data(submission.reply({ fieldErrors: result.fieldErrors, formErrors: result.formErrors }), { status: 400 })
  return redirect(`/staff/events/${result.eventId}`, { status: 303, headers: { 'Cache-Control': 'no-store' } })
}

export default function NewStaffEvent() {
  const { timeZones, defaultValue, unpaidHoldsDefault } = useLoaderData<typeof loader>()
  const lastResult = useActionData<typeof action>()
  return (
    <div className="container page">
      <p>
        <Link to="/staff/events">All events</Link>
      </p>
      <h1>New event</h1>
      <StaffEventForm defaultValue={defaultValue} lastResult={lastResult} timeZones={timeZones} submitLabel="Create the event" unpaidHoldsDefault={unpaidHoldsDefault} />
    </div>
  )
}
